#include "workloads/short_term_mem/short_term_mem.h"

#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <random>
#include <set>
#include <stdexcept>
#include <utility>
#include <vector>

#include "workloads/common/logging.h"

namespace va::short_term_mem {
namespace {

using nlohmann::json;
using va::service::Error;
using va::service::jsonErrorReply;
using va::service::Result;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxIdBytes = 128;
constexpr std::size_t kMaxStringBytes = 65536;
constexpr std::size_t kSummaryTurns = 5;
constexpr std::size_t kSummaryBytes = 500;
constexpr std::size_t kLeaseHexChars = 32;
constexpr std::chrono::milliseconds kFirstBackoff{1};
constexpr std::chrono::milliseconds kMaxBackoff{20};
// The queue's keys outlive any waiter (each poll refreshes them) and vanish when idle.
constexpr std::chrono::milliseconds kQueueKeyTtl{std::chrono::hours(1)};

// KEYS: queue (ticket -> ticket), alive (ticket -> heartbeat deadline), tickets, lease, ctx.
// ARGV: the ticket ('' for a new one), the lease token, LEASE_TTL ms, ticket TTL ms, queue TTL ms.
// -> {1, ticket, context JSON or '', last sequence} when the lease was taken, else
//    {0, ticket, the number of tickets ahead}.
const RedisScript& acquireScript() {
  static const RedisScript kScript(R"lua(
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ticket = ARGV[1]
if ticket == '' then ticket = tostring(redis.call('INCR', KEYS[3])) end
redis.call('ZADD', KEYS[1], tonumber(ticket), ticket)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ticket)
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[5]) end
local dead = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. now)
for _, d in ipairs(dead) do
  redis.call('ZREM', KEYS[1], d)
  redis.call('ZREM', KEYS[2], d)
end
local ahead = redis.call('ZRANK', KEYS[1], ticket)
if ahead > 0 or redis.call('EXISTS', KEYS[4]) == 1 then return {0, ticket, ahead} end
redis.call('SET', KEYS[4], ARGV[2], 'PX', ARGV[3])
redis.call('ZREM', KEYS[1], ticket)
redis.call('ZREM', KEYS[2], ticket)
local ctx = redis.call('HMGET', KEYS[5], 'ctx', 'seq')
return {1, ticket, ctx[1] or '', ctx[2] or '0'}
)lua");
  return kScript;
}

// KEYS: lease, ctx. ARGV: the lease token, the context JSON, its last_sequence, CONTEXT_TTL ms.
// -> {1, the turn's sequence} | {0, 'lease_lost'} | {0, 'bad_sequence', stored sequence}.
const RedisScript& commitScript() {
  static const RedisScript kScript(R"lua(
local prev = tonumber(redis.call('HGET', KEYS[2], 'seq') or '0')
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  if redis.call('HGET', KEYS[2], 'lease') == ARGV[1] then
    return {1, tonumber(redis.call('HGET', KEYS[2], 'turn') or '0')}
  end
  return {0, 'lease_lost'}
end
local last = tonumber(ARGV[3])
if last ~= prev and last ~= prev + 1 then return {0, 'bad_sequence', prev} end
redis.call('HSET', KEYS[2], 'ctx', ARGV[2], 'seq', ARGV[3], 'lease', ARGV[1], 'turn', prev + 1)
redis.call('PEXPIRE', KEYS[2], ARGV[4])
redis.call('DEL', KEYS[1])
return {1, prev + 1}
)lua");
  return kScript;
}

// KEYS: lease, queue, alive. ARGV: the lease token or '', the ticket or ''.
// -> 1 when the lease was held by that token and is released now, else 0.
const RedisScript& releaseScript() {
  static const RedisScript kScript(R"lua(
local released = 0
if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  released = 1
end
if ARGV[2] ~= '' then
  redis.call('ZREM', KEYS[2], ARGV[2])
  redis.call('ZREM', KEYS[3], ARGV[2])
end
return released
)lua");
  return kScript;
}

struct Keys {
  std::string queue, alive, tickets, lease, ctx;
};

Keys keysOf(std::string_view conversationId) {
  // The braces make every key of a conversation hash to one Redis Cluster slot.
  const std::string base = "va:stm:{" + std::string(conversationId) + "}:";
  return {base + "queue", base + "alive", base + "tickets", base + "lease", base + "ctx"};
}

prometheus::Histogram::BucketBoundaries durationBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}

std::string ms(std::chrono::milliseconds value) { return std::to_string(value.count()); }

Reply invalidField(std::string_view field, std::string_view reason) {
  std::string message(field);
  message.append(": ").append(reason);
  return jsonErrorReply(400, "invalid_field", message);
}

bool validId(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdBytes) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == ':' || c == '-';
  });
}

bool validLease(std::string_view lease) {
  return lease.size() == kLeaseHexChars && std::all_of(lease.begin(), lease.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string randomToken() {
  std::array<unsigned char, kLeaseHexChars / 2> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  static constexpr std::string_view kHex = "0123456789abcdef";
  std::string out;
  for (const unsigned char b : bytes) {
    out.push_back(kHex[b >> 4U]);
    out.push_back(kHex[b & 0x0FU]);
  }
  return out;
}

// A non-negative integer that fits an int64, or nothing.
std::optional<std::int64_t> integerOf(const json& value) {
  if (value.is_number_unsigned()) {
    const auto v = value.get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return std::nullopt;
    }
    return static_cast<std::int64_t>(v);
  }
  if (value.is_number_integer()) return value.get<std::int64_t>();
  return std::nullopt;
}

// Copies an optional string field of `in` into `out` (null or missing: ""); an error names it.
std::optional<Error> copyString(const json& in, json& out, const std::string& key,
                                const std::string& path) {
  const auto it = in.find(key);
  if (it == in.end() || it->is_null()) {
    out[key] = "";
    return std::nullopt;
  }
  if (!it->is_string()) return Error(path + ": must be a string");
  if (it->get_ref<const std::string&>().size() > kMaxStringBytes) {
    return Error(path + ": longer than 65536 bytes");
  }
  out[key] = *it;
  return std::nullopt;
}

Result<json> normalizeTurns(const json& turns, std::int64_t lastSequence, std::size_t maxTurns) {
  if (!turns.is_array()) return Error("context.turns: must be an array");
  static const std::set<std::string, std::less<>> kAllowed = {"sequence", "message_id", "user_text",
                                                              "intent", "reply"};
  json out = json::array();
  std::int64_t previous = 0;
  for (std::size_t i = 0; i < turns.size(); ++i) {
    const std::string path = "context.turns[" + std::to_string(i) + "]";
    const json& turn = turns[i];
    if (!turn.is_object()) return Error(path + ": must be an object");
    for (const auto& [key, value] : turn.items()) {
      if (!kAllowed.contains(key)) {
        std::string message = path;
        message.append(".").append(key).append(": unknown field");
        return Error(message);
      }
    }
    const auto sequenceIt = turn.find("sequence");
    if (sequenceIt == turn.end()) return Error(path + ".sequence: is required");
    const std::optional<std::int64_t> sequence = integerOf(*sequenceIt);
    if (!sequence) return Error(path + ".sequence: must be an integer");
    if (*sequence < 1) return Error(path + ".sequence: must be at least 1");
    if (*sequence <= previous) {
      return Error(path + ".sequence: must be greater than the previous turn's");
    }
    if (*sequence > lastSequence) return Error(path + ".sequence: must not exceed last_sequence");
    previous = *sequence;
    json normalized = {{"sequence", *sequence}};
    for (const char* key : {"message_id", "user_text", "intent", "reply"}) {
      if (std::optional<Error> error = copyString(turn, normalized, key, path + "." + key)) {
        return *error;
      }
    }
    out.push_back(std::move(normalized));
  }
  if (out.size() > maxTurns) {
    out.erase(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(out.size() - maxTurns));
  }
  return out;
}

}  // namespace

json emptyContext() {
  return {{"last_sequence", 0},   {"turns", json::array()},
          {"pending_intent", ""}, {"slots", json::object()},
          {"callback_url", ""},   {"user", ""},
          {"summary", ""}};
}

std::string summarize(const json& turns) {
  std::vector<std::string> texts;
  if (turns.is_array()) {
    for (auto it = turns.rbegin(); it != turns.rend() && texts.size() < kSummaryTurns; ++it) {
      if (!it->is_object()) continue;
      const auto text = it->find("user_text");
      if (text == it->end() || !text->is_string() || text->get_ref<const std::string&>().empty()) {
        continue;
      }
      texts.push_back(text->get<std::string>());
    }
  }
  std::reverse(texts.begin(), texts.end());  // oldest first
  std::string out;
  for (const std::string& text : texts) {
    if (!out.empty()) out += " | ";
    out += text;
  }
  if (out.size() <= kSummaryBytes) return out;
  std::size_t start = out.size() - kSummaryBytes;
  // Never start inside a UTF-8 character (continuation bytes are 10xxxxxx).
  while (start < out.size() && (static_cast<unsigned char>(out[start]) & 0xC0U) == 0x80U) ++start;
  return out.substr(start);
}

Result<json> normalizeContext(const json& context, std::size_t maxTurns) {
  if (!context.is_object()) return Error("context: must be an object");
  static const std::set<std::string, std::less<>> kAllowed = {
      "last_sequence", "turns", "pending_intent", "slots", "callback_url", "user", "summary"};
  for (const auto& [key, value] : context.items()) {
    if (!kAllowed.contains(key)) return Error("context." + key + ": unknown field");
  }
  json out = emptyContext();
  std::int64_t lastSequence = 0;
  if (const auto it = context.find("last_sequence"); it != context.end() && !it->is_null()) {
    const std::optional<std::int64_t> value = integerOf(*it);
    if (!value) return Error("context.last_sequence: must be an integer");
    if (*value < 0) return Error("context.last_sequence: must not be negative");
    lastSequence = *value;
  }
  out["last_sequence"] = lastSequence;
  for (const char* key : {"pending_intent", "callback_url", "user", "summary"}) {
    if (std::optional<Error> error = copyString(context, out, key, std::string("context.") + key)) {
      return *error;
    }
  }
  if (const auto it = context.find("slots"); it != context.end() && !it->is_null()) {
    if (!it->is_object()) return Error("context.slots: must be an object");
    for (const auto& [name, value] : it->items()) {
      const std::string path = "context.slots." + name;
      if (name.empty() || name.size() > kMaxIdBytes) {
        return Error("context.slots: slot names must be 1 to 128 bytes");
      }
      if (!value.is_string()) return Error(path + ": must be a string");
      if (value.get_ref<const std::string&>().size() > kMaxStringBytes) {
        return Error(path + ": longer than 65536 bytes");
      }
      out["slots"][name] = value;
    }
  }
  if (const auto it = context.find("turns"); it != context.end() && !it->is_null()) {
    Result<json> turns = normalizeTurns(*it, lastSequence, maxTurns);
    if (!turns) return turns.error();
    out["turns"] = std::move(*turns);
  }
  out["summary"] = summarize(out["turns"]);
  return out;
}

ShortTermMemService::ShortTermMemService(RedisClient& redis, ShortTermMemOptions options,
                                         prometheus::Registry& registry)
    : redis_(redis),
      options_(options),
      operations_(prometheus::BuildCounter()
                      .Name("va_short_term_mem_operations_total")
                      .Help("Operations on conversation contexts, by operation (begin, commit, "
                            "abort, read) and outcome (ok, busy, lease_lost, not_found, invalid, "
                            "unavailable, error).")
                      .Register(registry)),
      durations_(prometheus::BuildHistogram()
                     .Name("va_short_term_mem_operation_duration_seconds")
                     .Help("Time to answer an operation, waiting for the turn included.")
                     .Register(registry)),
      leaseWait_(
          prometheus::BuildHistogram()
              .Name("va_short_term_mem_lease_wait_seconds")
              .Help("Time a turn waited for its conversation's lease (taken or not).")
              .Register(registry)
              .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                               0.25, 0.5, 1, 2.5, 5, 10, 30})) {
  for (const char* operation : {"begin", "commit", "abort", "read"}) {
    for (const char* outcome : {"ok", "unavailable"}) count(operation, outcome);
    durations_.Add({{"operation", operation}}, durationBuckets());
  }
}

void ShortTermMemService::count(const char* operation, const char* outcome) {
  operations_.Add({{"operation", operation}, {"outcome", outcome}}).Increment(0);
}

void ShortTermMemService::observe(const char* operation, Clock::time_point started) {
  durations_.Add({{"operation", operation}}, durationBuckets())
      .Observe(std::chrono::duration<double>(Clock::now() - started).count());
}

Reply ShortTermMemService::unavailable(const RedisError& error) {
  if (error.kind != RedisErrorKind::kUnavailable) {
    spdlog::error("Redis error: {}", error.message);
    return jsonErrorReply(500, "store_error", "the context store failed");
  }
  if (!storeDown_.exchange(true)) spdlog::warn("Redis is unavailable: {}", error.message);
  Reply reply = jsonErrorReply(503, "store_unavailable",
                               "the context store is unavailable: " + error.message);
  reply.retryAfterSeconds = 1;
  return reply;
}

void ShortTermMemService::released(std::string_view conversationId) {
  {
    const std::lock_guard lock(wakeMutex_);
    const auto it = local_.find(conversationId);
    if (it == local_.end()) return;
    ++it->second.releases;
  }
  wake_.notify_all();
}

void ShortTermMemService::stored() {
  if (storeDown_.exchange(false)) spdlog::info("Redis is available again");
}

namespace {

// Counts a finished operation once, whatever path it leaves by.
class Outcome {
 public:
  Outcome(prometheus::Family<prometheus::Counter>& family, const char* operation)
      : family_(family), operation_(operation) {}
  ~Outcome() { family_.Add({{"operation", operation_}, {"outcome", outcome_}}).Increment(); }
  Outcome(const Outcome&) = delete;
  Outcome& operator=(const Outcome&) = delete;
  Reply operator()(const char* outcome, Reply reply) {
    outcome_ = outcome;
    return reply;
  }

 private:
  prometheus::Family<prometheus::Counter>& family_;
  const char* operation_;
  const char* outcome_ = "error";
};

// Holds one of the process's waiting places while a turn polls for its lease.
class WaitSlot {
 public:
  explicit WaitSlot(std::atomic<std::size_t>& waiting) : waiting_(waiting) {}
  ~WaitSlot() {
    if (taken_) --waiting_;
  }
  WaitSlot(const WaitSlot&) = delete;
  WaitSlot& operator=(const WaitSlot&) = delete;
  bool take(std::size_t limit) {
    if (taken_) return true;
    if (waiting_.fetch_add(1) >= limit) {
      --waiting_;
      return false;
    }
    taken_ = true;
    return true;
  }

 private:
  std::atomic<std::size_t>& waiting_;
  bool taken_ = false;
};

std::chrono::microseconds jittered(std::chrono::milliseconds backoff) {
  thread_local std::minstd_rand random{std::random_device{}()};
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(backoff).count();
  std::uniform_int_distribution<std::int64_t> spread(us / 2, us);
  return std::chrono::microseconds(spread(random));
}

Reply busy(std::string_view conversationId, std::string_view why) {
  Reply reply =
      jsonErrorReply(503, "conversation_busy",
                     "conversation " + std::string(conversationId) + ": " + std::string(why));
  reply.retryAfterSeconds = 1;
  return reply;
}

}  // namespace

Reply ShortTermMemService::beginTurn(std::string_view conversationId, std::string_view body) {
  const auto started = Clock::now();
  Outcome outcome(operations_, "begin");
  struct Timer {
    ShortTermMemService* self;
    Clock::time_point started;
    ~Timer() { self->observe("begin", started); }
  } const timer{this, started};
  if (!validId(conversationId)) {
    return outcome("invalid", invalidField("conversation_id",
                                           "must be 1 to 128 characters of letters, digits, '.', "
                                           "'_', ':', '-'"));
  }
  std::chrono::milliseconds wait = options_.defaultWait;
  if (!body.empty()) {
    const json request = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (request.is_discarded()) {
      return outcome("invalid", jsonErrorReply(400, "malformed_json", "body is not valid JSON"));
    }
    if (!request.is_object()) {
      return outcome("invalid", jsonErrorReply(400, "invalid_body", "body must be a JSON object"));
    }
    for (const auto& [key, value] : request.items()) {
      if (key != "wait_ms") return outcome("invalid", invalidField(key, "unknown field"));
    }
    if (const auto it = request.find("wait_ms"); it != request.end() && !it->is_null()) {
      const std::optional<std::int64_t> value = integerOf(*it);
      if (!value || *value < 0 || *value > options_.maxWait.count()) {
        return outcome("invalid",
                       invalidField("wait_ms", "must be an integer from 0 to " +
                                                   std::to_string(options_.maxWait.count())));
      }
      wait = std::chrono::milliseconds(*value);
    }
  }
  const va::service::ScopedLogContext scope(
      va::service::currentLogContext().withConversationId(std::string(conversationId)));
  const std::string conversation(conversationId);
  const Keys keys = keysOf(conversationId);
  const std::vector<std::string> keyList = {keys.queue, keys.alive, keys.tickets, keys.lease,
                                            keys.ctx};
  const std::string token = randomToken();
  const auto deadline = started + wait;
  std::string ticket;
  std::chrono::milliseconds backoff = kFirstBackoff;
  WaitSlot slot(waiting_);
  std::int64_t queued = 0;  // the ticket, once it waits in local_
  struct Unqueue {
    ShortTermMemService* self;
    const std::string& conversation;
    const std::int64_t& ticket;
    ~Unqueue() {
      if (ticket == 0) return;
      const std::lock_guard lock(self->wakeMutex_);
      const auto it = self->local_.find(conversation);
      if (it == self->local_.end()) return;
      it->second.tickets.erase(ticket);
      if (it->second.tickets.empty()) self->local_.erase(it);
    }
  } const unqueue{this, conversation, queued};
  const auto giveUp = [&] {
    leaseWait_.Observe(std::chrono::duration<double>(Clock::now() - started).count());
    // With the token too: an acquire that timed out on the client side may have taken the lease.
    (void)redis_.eval(releaseScript(), {keys.lease, keys.queue, keys.alive}, {token, ticket});
  };
  for (;;) {
    const std::uint64_t seen = [&] {
      const std::lock_guard lock(wakeMutex_);
      const auto it = local_.find(conversation);
      return it != local_.end() ? it->second.releases : 0;
    }();
    RedisResult reply = redis_.eval(
        acquireScript(), keyList,
        {ticket, token, ms(options_.leaseTtl), ms(options_.ticketTtl), ms(kQueueKeyTtl)});
    if (!reply) {
      giveUp();
      return outcome(reply.error().kind == RedisErrorKind::kUnavailable ? "unavailable" : "error",
                     unavailable(reply.error()));
    }
    stored();
    const std::vector<RedisReply>& parts = reply->elements;
    if (parts.size() < 2 || parts[1].type != RedisReply::Type::kString) {
      giveUp();
      return outcome("error", unavailable({RedisErrorKind::kReply, "unexpected script reply"}));
    }
    ticket = parts[1].str;
    if (parts[0].integer == 1 && parts.size() == 4) {
      leaseWait_.Observe(std::chrono::duration<double>(Clock::now() - started).count());
      json context = emptyContext();
      if (!parts[2].str.empty()) {
        context = json::parse(parts[2].str, nullptr, /*allow_exceptions=*/false);
        if (context.is_discarded()) {
          spdlog::error("the stored context is not JSON; starting from an empty one");
          context = emptyContext();
        }
      }
      const std::int64_t sequence = std::stoll(parts[3].str.empty() ? "0" : parts[3].str) + 1;
      return outcome(
          "ok",
          Reply{.status = 200,
                .body = {{"lease", token}, {"sequence", sequence}, {"context", std::move(context)}},
                .retryAfterSeconds = std::nullopt});
    }
    const auto now = Clock::now();
    if (now >= deadline) {
      giveUp();
      return outcome("busy", busy(conversationId, "the previous turn is still running after " +
                                                      std::to_string(wait.count()) + " ms"));
    }
    if (!slot.take(options_.maxWaiters)) {
      giveUp();
      return outcome("busy", busy(conversationId, "too many turns are waiting on this replica"));
    }
    // The next in line polls often, the others less often the further back they are (a poll
    // also refreshes the ticket's heartbeat); a release here wakes the oldest waiter here.
    const std::int64_t ahead = parts.size() >= 3 ? parts[2].integer : 0;
    const auto cap =
        ahead == 0 ? kMaxBackoff : std::min(kMaxBackoff * ahead, std::chrono::milliseconds(250));
    std::unique_lock lock(wakeMutex_);
    if (queued == 0) {
      queued = std::stoll(ticket);
      local_[conversation].tickets.insert(queued);
    }
    const LocalQueue& mine = local_[conversation];
    const bool woken =
        wake_.wait_for(lock, std::min<Clock::duration>(jittered(backoff), deadline - now),
                       [&] { return mine.releases != seen && *mine.tickets.begin() == queued; });
    backoff = woken ? kFirstBackoff : std::min(backoff * 2, cap);
  }
}

Reply ShortTermMemService::commit(std::string_view conversationId, std::string_view body) {
  const auto started = Clock::now();
  Outcome outcome(operations_, "commit");
  struct Timer {
    ShortTermMemService* self;
    Clock::time_point started;
    ~Timer() { self->observe("commit", started); }
  } const timer{this, started};
  if (!validId(conversationId)) {
    return outcome("invalid", invalidField("conversation_id",
                                           "must be 1 to 128 characters of letters, digits, '.', "
                                           "'_', ':', '-'"));
  }
  const json request = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (request.is_discarded()) {
    return outcome("invalid", jsonErrorReply(400, "malformed_json", "body is not valid JSON"));
  }
  if (!request.is_object()) {
    return outcome("invalid", jsonErrorReply(400, "invalid_body", "body must be a JSON object"));
  }
  for (const auto& [key, value] : request.items()) {
    if (key != "lease" && key != "context") {
      return outcome("invalid", invalidField(key, "unknown field"));
    }
  }
  const auto lease = request.find("lease");
  if (lease == request.end()) return outcome("invalid", invalidField("lease", "is required"));
  if (!lease->is_string() || !validLease(lease->get_ref<const std::string&>())) {
    return outcome("invalid", invalidField("lease", "must be a lease token from POST .../turns"));
  }
  const auto context = request.find("context");
  if (context == request.end()) return outcome("invalid", invalidField("context", "is required"));
  Result<json> normalized = normalizeContext(*context, options_.maxTurns);
  if (!normalized) {
    return outcome("invalid", jsonErrorReply(400, "invalid_field", normalized.error().message()));
  }
  const std::int64_t lastSequence = (*normalized)["last_sequence"].get<std::int64_t>();
  const Keys keys = keysOf(conversationId);
  RedisResult reply = redis_.eval(
      commitScript(), {keys.lease, keys.ctx},
      {lease->get<std::string>(), normalized->dump(-1, ' ', false, json::error_handler_t::replace),
       std::to_string(lastSequence), ms(options_.contextTtl)});
  if (!reply) {
    return outcome(reply.error().kind == RedisErrorKind::kUnavailable ? "unavailable" : "error",
                   unavailable(reply.error()));
  }
  stored();
  const std::vector<RedisReply>& parts = reply->elements;
  if (parts.size() >= 2 && parts[0].integer == 1) {
    released(conversationId);
    return outcome("ok", Reply{.status = 200,
                               .body = {{"sequence", parts[1].integer}},
                               .retryAfterSeconds = std::nullopt});
  }
  if (parts.size() >= 2 && parts[1].str == "lease_lost") {
    return outcome("lease_lost",
                   jsonErrorReply(409, "lease_lost",
                                  "the lease expired or was released; nothing was written"));
  }
  if (parts.size() >= 3 && parts[1].str == "bad_sequence") {
    const std::int64_t previous = parts[2].integer;
    return outcome("invalid",
                   invalidField("context.last_sequence", "must be " + std::to_string(previous) +
                                                             " or " + std::to_string(previous + 1) +
                                                             " (this turn's sequence)"));
  }
  return outcome("error", unavailable({RedisErrorKind::kReply, "unexpected script reply"}));
}

Reply ShortTermMemService::abort(std::string_view conversationId, std::string_view lease) {
  const auto started = Clock::now();
  Outcome outcome(operations_, "abort");
  struct Timer {
    ShortTermMemService* self;
    Clock::time_point started;
    ~Timer() { self->observe("abort", started); }
  } const timer{this, started};
  if (!validId(conversationId)) {
    return outcome("invalid", invalidField("conversation_id",
                                           "must be 1 to 128 characters of letters, digits, '.', "
                                           "'_', ':', '-'"));
  }
  if (!validLease(lease)) {
    return outcome("invalid", invalidField("lease", "must be a lease token from POST .../turns"));
  }
  const Keys keys = keysOf(conversationId);
  RedisResult reply =
      redis_.eval(releaseScript(), {keys.lease, keys.queue, keys.alive}, {std::string(lease), ""});
  if (!reply) {
    return outcome(reply.error().kind == RedisErrorKind::kUnavailable ? "unavailable" : "error",
                   unavailable(reply.error()));
  }
  stored();
  if (reply->integer == 1) released(conversationId);
  return outcome("ok", Reply{.status = 200,
                             .body = {{"released", reply->integer == 1}},
                             .retryAfterSeconds = std::nullopt});
}

Reply ShortTermMemService::read(std::string_view conversationId) {
  const auto started = Clock::now();
  Outcome outcome(operations_, "read");
  struct Timer {
    ShortTermMemService* self;
    Clock::time_point started;
    ~Timer() { self->observe("read", started); }
  } const timer{this, started};
  if (!validId(conversationId)) {
    return outcome("invalid", invalidField("conversation_id",
                                           "must be 1 to 128 characters of letters, digits, '.', "
                                           "'_', ':', '-'"));
  }
  RedisResult reply = redis_.command({"HGET", keysOf(conversationId).ctx, "ctx"});
  if (!reply) {
    return outcome(reply.error().kind == RedisErrorKind::kUnavailable ? "unavailable" : "error",
                   unavailable(reply.error()));
  }
  stored();
  if (reply->isNil()) {
    return outcome("not_found",
                   jsonErrorReply(404, "conversation_not_found",
                                  "no context for conversation " + std::string(conversationId)));
  }
  json context = json::parse(reply->str, nullptr, /*allow_exceptions=*/false);
  if (context.is_discarded()) {
    return outcome("error",
                   jsonErrorReply(500, "corrupt_context", "the stored context is not JSON"));
  }
  return outcome("ok", Reply{.status = 200, .body = std::move(context), .retryAfterSeconds = {}});
}

void ShortTermMemService::addRoutes(va::service::HttpServer& server) {
  using va::service::writeJsonReply;
  server.post(R"(/v1/conversations/([^/]+)/turns)",
              [this](const httplib::Request& req, httplib::Response& res) {
                writeJsonReply(res, beginTurn(req.matches[1].str(), req.body));
              });
  server.put(R"(/v1/conversations/([^/]+)/context)",
             [this](const httplib::Request& req, httplib::Response& res) {
               writeJsonReply(res, commit(req.matches[1].str(), req.body));
             });
  server.get(R"(/v1/conversations/([^/]+)/context)",
             [this](const httplib::Request& req, httplib::Response& res) {
               writeJsonReply(res, read(req.matches[1].str()));
             });
  server.del(R"(/v1/conversations/([^/]+)/turns/([^/]+))",
             [this](const httplib::Request& req, httplib::Response& res) {
               writeJsonReply(res, abort(req.matches[1].str(), req.matches[2].str()));
             });
  server.addReadinessCheck("redis", [this] { return redis_.ping(); });
}

}  // namespace va::short_term_mem
