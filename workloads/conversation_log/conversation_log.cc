#include "workloads/conversation_log/conversation_log.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

namespace va::conversation_log {
namespace {

using nlohmann::json;
using va::service::DbErrorKind;
using va::service::jsonErrorReply;

constexpr std::size_t kMaxIdBytes = 128;
constexpr std::size_t kMaxUserBytes = 256;
constexpr std::size_t kMaxTextBytes = 16384;
constexpr std::int64_t kDefaultLimit = 100;
constexpr std::int64_t kMaxLimit = 1000;
constexpr std::int64_t kMicrosPerSecond = 1000000;

Reply invalidField(std::string_view field, std::string_view reason) {
  std::string message(field);
  message.append(": ").append(reason);
  return jsonErrorReply(400, "invalid_field", message);
}

Reply invalidParameter(std::string_view name, std::string_view reason) {
  std::string message(name);
  message.append(": ").append(reason);
  return jsonErrorReply(400, "invalid_parameter", message);
}

Reply unavailable(std::string_view code, std::string_view message) {
  Reply reply = jsonErrorReply(503, code, message);
  reply.retryAfterSeconds = 1;
  return reply;
}

bool validId(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdBytes) return false;
  for (const char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

constexpr std::string_view kIdRule =
    "must be 1 to 128 characters of letters, digits, '.', '_', ':', '-'";

// A string field of the request: an error reply, or the text.
std::optional<Reply> readText(const json& request, const char* field, std::size_t minBytes,
                              std::size_t maxBytes, std::string& out) {
  if (!request.contains(field)) return invalidField(field, "is required");
  const json& value = request[field];
  if (!value.is_string()) return invalidField(field, "must be a string");
  out = value.get<std::string>();
  if (out.size() < minBytes) return invalidField(field, "must not be empty");
  if (out.size() > maxBytes) {
    return invalidField(field, "longer than " + std::to_string(maxBytes) + " bytes");
  }
  // PostgreSQL's text cannot hold NUL.
  if (out.find('\0') != std::string::npos) return invalidField(field, "must not contain NUL");
  return std::nullopt;
}

bool digits(std::string_view text, std::size_t from, std::size_t count, int& out) {
  if (from + count > text.size()) return false;
  out = 0;
  for (std::size_t i = from; i < from + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    out = out * 10 + (text[i] - '0');
  }
  return true;
}

// "YYYY-MM-DD HH:MM:SS.ffffff+00" in UTC, which PostgreSQL reads as timestamptz exactly.
std::string formatMicros(std::int64_t micros) {
  using namespace std::chrono;  // NOLINT(google-build-using-namespace): calendar arithmetic
  const sys_time<microseconds> time{microseconds(micros)};
  const sys_days day = floor<days>(time);
  const year_month_day ymd{day};
  const hh_mm_ss<microseconds> clock{time - day};
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}+00", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     clock.hours().count(), clock.minutes().count(), clock.seconds().count(),
                     clock.subseconds().count());
}

std::optional<std::int64_t> parseInteger(std::string_view text) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

const std::vector<va::service::Migration>& migrations() {
  // IF NOT EXISTS: the table may have been made by hand or by a test of a reader of it with the
  // same definition; the migration then only records itself.
  static const std::vector<va::service::Migration> kMigrations = {
      {1, "conversation_log table",
       "CREATE TABLE IF NOT EXISTS conversation_log ("
       " id bigserial PRIMARY KEY,"
       " conversation_id text NOT NULL,"
       " sequence bigint NOT NULL,"
       " message_id text NOT NULL,"
       " user_id text NOT NULL,"
       " user_text text NOT NULL,"
       " reply text NOT NULL,"
       " intent text NOT NULL DEFAULT '',"
       " created_at timestamptz NOT NULL DEFAULT now(),"
       " UNIQUE (conversation_id, sequence));"
       "CREATE INDEX IF NOT EXISTS conversation_log_conversation_time"
       " ON conversation_log (conversation_id, created_at);"},
      // Retention deletes by age across conversations. Rows arrive in created_at order, so a
      // BRIN index finds the old ones for a fraction of a B-tree's size and write cost.
      {2, "conversation_log created_at BRIN index for retention",
       "CREATE INDEX IF NOT EXISTS conversation_log_created_at_brin ON conversation_log USING brin "
       "(created_at);"},
  };
  return kMigrations;
}

std::optional<std::int64_t> parseRfc3339(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)
  int year = 0;
  int month = 0;
  int day = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
  if (text.size() < 20 || !digits(text, 0, 4, year) || text[4] != '-' ||
      !digits(text, 5, 2, month) || text[7] != '-' || !digits(text, 8, 2, day) ||
      (text[10] != 'T' && text[10] != 't') || !digits(text, 11, 2, hour) || text[13] != ':' ||
      !digits(text, 14, 2, minute) || text[16] != ':' || !digits(text, 17, 2, second)) {
    return std::nullopt;
  }
  if (year < 1 || hour > 23 || minute > 59 || second > 59) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year(year),
                                        std::chrono::month(static_cast<unsigned>(month)),
                                        std::chrono::day(static_cast<unsigned>(day))};
  if (!ymd.ok()) return std::nullopt;
  std::size_t at = 19;
  std::int64_t fraction = 0;
  if (at < text.size() && text[at] == '.') {
    ++at;
    std::size_t count = 0;
    std::int64_t scale = 100000;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
      fraction += (text[at] - '0') * scale;  // digits beyond microseconds are dropped
      scale /= 10;
      ++at;
      ++count;
    }
    if (count == 0 || count > 9) return std::nullopt;
  }
  std::int64_t offsetSeconds = 0;
  if (at < text.size() && (text[at] == 'Z' || text[at] == 'z')) {
    ++at;
  } else if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
    int offsetHours = 0;
    int offsetMinutes = 0;
    if (!digits(text, at + 1, 2, offsetHours) || at + 3 >= text.size() || text[at + 3] != ':' ||
        !digits(text, at + 4, 2, offsetMinutes) || offsetHours > 23 || offsetMinutes > 59) {
      return std::nullopt;
    }
    offsetSeconds = (std::int64_t{offsetHours} * 3600 + std::int64_t{offsetMinutes} * 60) *
                    (text[at] == '-' ? -1 : 1);
    at += 6;
  } else {
    return std::nullopt;
  }
  if (at != text.size()) return std::nullopt;
  const std::int64_t days = std::chrono::sys_days(ymd).time_since_epoch().count();
  const std::int64_t seconds =
      days * 86400 + std::int64_t{hour} * 3600 + std::int64_t{minute} * 60 + second - offsetSeconds;
  // 0001-01-01T00:00:00Z: PostgreSQL has no year 0 in ISO input.
  constexpr std::int64_t kFirstSecond = -62135596800;
  if (seconds < kFirstSecond) return std::nullopt;
  return seconds * kMicrosPerSecond + fraction;
}

ConversationLog::ConversationLog(va::service::Postgres& db, BatchWriter& writer,
                                 ConversationLogOptions options, prometheus::Registry& registry)
    : db_(db),
      writer_(writer),
      options_(options),
      appends_(prometheus::BuildCounter()
                   .Name("va_conversation_log_appends_total")
                   .Help("Appends by outcome: written, duplicate (already logged), unavailable "
                         "(PostgreSQL unreachable or too slow: 503, not acknowledged), rejected "
                         "(bad input 400, message_id conflict 409, queue full 503).")
                   .Register(registry)),
      appendDuration_(prometheus::BuildHistogram()
                          .Name("va_conversation_log_append_duration_seconds")
                          .Help("Time from an append's arrival to its outcome (batching, the "
                                "transaction and its commit).")
                          .Register(registry)
                          .Add({}, prometheus::Histogram::BucketBoundaries{
                                       0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                       2.5, 5, 10})) {
  for (const char* outcome : {"written", "duplicate", "unavailable", "rejected"}) {
    appends_.Add({{"outcome", outcome}});
  }
}

Reply ConversationLog::count(std::string_view outcome, Reply reply) {
  appends_.Add({{"outcome", std::string(outcome)}}).Increment();
  return reply;
}

Reply ConversationLog::append(std::string_view body) {
  const auto started = std::chrono::steady_clock::now();
  const json request = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (request.is_discarded()) {
    return count("rejected", jsonErrorReply(400, "malformed_json", "body is not valid JSON"));
  }
  if (!request.is_object()) {
    return count("rejected", jsonErrorReply(400, "invalid_body", "body must be a JSON object"));
  }
  static const std::set<std::string, std::less<>> kAllowed = {
      "conversation_id", "sequence", "message_id", "user", "text", "reply", "intent"};
  for (const auto& [key, value] : request.items()) {
    if (!kAllowed.contains(key)) return count("rejected", invalidField(key, "unknown field"));
  }
  Entry entry;
  if (auto bad = readText(request, "conversation_id", 1, kMaxIdBytes, entry.conversationId)) {
    return count("rejected", *bad);
  }
  if (!validId(entry.conversationId)) {
    return count("rejected", invalidField("conversation_id", kIdRule));
  }
  if (!request.contains("sequence")) {
    return count("rejected", invalidField("sequence", "is required"));
  }
  const json& sequence = request["sequence"];
  const bool inRange = (sequence.is_number_unsigned() &&
                        sequence.get<std::uint64_t>() <=
                            static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) ||
                       (sequence.is_number_integer() && !sequence.is_number_unsigned() &&
                        sequence.get<std::int64_t>() >= 0);
  if (!inRange) {
    return count("rejected",
                 invalidField("sequence", "must be a whole number from 0 to 9223372036854775807"));
  }
  entry.sequence = sequence.is_number_unsigned()
                       ? static_cast<std::int64_t>(sequence.get<std::uint64_t>())
                       : sequence.get<std::int64_t>();
  if (auto bad = readText(request, "message_id", 1, kMaxIdBytes, entry.messageId)) {
    return count("rejected", *bad);
  }
  if (!validId(entry.messageId)) return count("rejected", invalidField("message_id", kIdRule));
  if (auto bad = readText(request, "user", 1, kMaxUserBytes, entry.userId)) {
    return count("rejected", *bad);
  }
  if (auto bad = readText(request, "text", 0, kMaxTextBytes, entry.userText)) {
    return count("rejected", *bad);
  }
  if (auto bad = readText(request, "reply", 0, kMaxTextBytes, entry.reply)) {
    return count("rejected", *bad);
  }
  if (request.contains("intent") && !request["intent"].is_null()) {
    if (auto bad = readText(request, "intent", 0, kMaxIdBytes, entry.intent)) {
      return count("rejected", *bad);
    }
  }

  const std::string conversationId = entry.conversationId;
  const std::int64_t sequenceNumber = entry.sequence;
  std::future<AppendOutcome> done = writer_.append(std::move(entry));
  if (done.wait_for(options_.appendTimeout) != std::future_status::ready) {
    return count(
        "unavailable",
        unavailable("append_timeout", "the entry was not committed within " +
                                          std::to_string(options_.appendTimeout.count()) +
                                          " ms; retry (a retry of a written entry answers 200)"));
  }
  const AppendOutcome outcome = done.get();
  if (outcome.status != AppendStatus::kQueueFull) {
    appendDuration_.Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }
  switch (outcome.status) {
    case AppendStatus::kWritten:
      return count("written", Reply{201, {{"id", outcome.id}, {"duplicate", false}}, {}});
    case AppendStatus::kDuplicate:
      return count("duplicate", Reply{200, {{"id", outcome.id}, {"duplicate", true}}, {}});
    case AppendStatus::kConflict:
      return count("rejected",
                   jsonErrorReply(409, "message_id_conflict",
                                  fmt::format("message_id: sequence {} of conversation {} is "
                                              "already logged with another message_id ({})",
                                              sequenceNumber, conversationId, outcome.message)));
    case AppendStatus::kQueueFull:
      return count("rejected", unavailable("queue_full", outcome.message + "; retry"));
    case AppendStatus::kUnavailable:
      return count("unavailable",
                   unavailable("store_unavailable",
                               "the conversation log's database is unavailable; not written, "
                               "retry"));
    case AppendStatus::kFailed:
      break;
  }
  return count("unavailable",
               jsonErrorReply(500, "internal_error", "the entry could not be written"));
}

Reply ConversationLog::entries(std::string_view conversationId,
                               const httplib::Params& params) const {
  if (!validId(conversationId)) return invalidParameter("conversation_id", kIdRule);
  const auto param = [&](const char* name) -> std::optional<std::string> {
    const auto it = params.find(name);
    if (it == params.end()) return std::nullopt;
    return it->second;
  };
  std::optional<std::int64_t> since;
  std::optional<std::int64_t> until;
  if (const auto text = param("since")) {
    since = parseRfc3339(*text);
    if (!since) return invalidParameter("since", "must be an RFC 3339 time");
  }
  if (const auto text = param("until")) {
    until = parseRfc3339(*text);
    if (!until) return invalidParameter("until", "must be an RFC 3339 time");
  }
  std::int64_t afterSequence = std::numeric_limits<std::int64_t>::min();
  if (const auto text = param("after_sequence")) {
    const std::optional<std::int64_t> value = parseInteger(*text);
    if (!value) return invalidParameter("after_sequence", "must be a whole number");
    afterSequence = *value;
  }
  std::int64_t limit = kDefaultLimit;
  if (const auto text = param("limit")) {
    const std::optional<std::int64_t> value = parseInteger(*text);
    if (!value || *value < 1 || *value > kMaxLimit) {
      return invalidParameter("limit", "must be a whole number from 1 to 1000");
    }
    limit = *value;
  }

  const std::string id(conversationId);
  const auto rows = db_.transact<json>([&](pqxx::work& tx) {
    // One more than asked: tells whether there is a next page.
    const pqxx::result result = tx.exec_params(
        "SELECT id, conversation_id, sequence, message_id, user_id, user_text, reply, intent,"
        " to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
        " FROM conversation_log"
        " WHERE conversation_id = $1 AND sequence > $2"
        " AND ($3 OR created_at >= $4::timestamptz) AND ($5 OR created_at < $6::timestamptz)"
        " ORDER BY sequence LIMIT $7",
        id, afterSequence, !since.has_value(), since ? formatMicros(*since) : "epoch",
        !until.has_value(), until ? formatMicros(*until) : "epoch", limit + 1);
    json out = json::array();
    for (const pqxx::row& row : result) {
      out.push_back({{"id", row[0].as<std::int64_t>()},
                     {"conversation_id", row[1].as<std::string>()},
                     {"sequence", row[2].as<std::int64_t>()},
                     {"message_id", row[3].as<std::string>()},
                     {"user", row[4].as<std::string>()},
                     {"text", row[5].as<std::string>()},
                     {"reply", row[6].as<std::string>()},
                     {"intent", row[7].as<std::string>()},
                     {"created_at", row[8].as<std::string>()}});
    }
    return out;
  });
  if (!rows.ok()) {
    if (rows.error().kind == DbErrorKind::kStatement) {
      spdlog::error("conversation log: reading {} failed: {}", id, rows.error().message);
      return jsonErrorReply(500, "internal_error", "the entries could not be read");
    }
    return unavailable("store_unavailable", "the conversation log's database is unavailable");
  }
  json list = rows.value();
  json next = nullptr;
  if (static_cast<std::int64_t>(list.size()) > limit) {
    list.erase(list.end() - 1);
    next = list.back()["sequence"];
  }
  return Reply{200, {{"entries", std::move(list)}, {"next_after_sequence", std::move(next)}}, {}};
}

void ConversationLog::addRoutes(va::service::HttpServer& server) {
  using va::service::writeJsonReply;
  server.post("/v1/entries", [this](const httplib::Request& req, httplib::Response& res) {
    writeJsonReply(res, append(req.body));
  });
  server.get(R"(/v1/conversations/([^/]+)/entries)",
             [this](const httplib::Request& req, httplib::Response& res) {
               writeJsonReply(res, entries(req.matches[1].str(), req.params));
             });
}

Retention::Retention(va::service::Postgres& db, RetentionOptions options)
    : db_(db), options_(options) {
  if (options_.maxAge.count() > 0) thread_ = std::thread([this] { loop(); });
}

Retention::~Retention() { stop(); }

void Retention::stop() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

va::service::DbResult<std::int64_t> Retention::runOnce() {
  std::int64_t total = 0;
  for (;;) {
    const auto deleted = db_.transact<std::int64_t>([&](pqxx::work& tx) {
      const pqxx::result result = tx.exec_params(
          "DELETE FROM conversation_log WHERE id IN (SELECT id FROM conversation_log"
          " WHERE created_at < now() - $1::double precision * interval '1 millisecond' LIMIT $2)",
          static_cast<std::int64_t>(options_.maxAge.count()), options_.batchRows);
      return static_cast<std::int64_t>(result.affected_rows());
    });
    if (!deleted.ok()) {
      if (total == 0) return deleted.error();
      spdlog::warn("conversation log retention: stopped after {} entries: {}", total,
                   deleted.error().message);
      return total;
    }
    total += deleted.value();
    if (deleted.value() < options_.batchRows) return total;
    const std::lock_guard lock(mutex_);
    if (stopping_) return total;
  }
}

void Retention::loop() {
  for (;;) {
    const auto deleted = runOnce();
    if (!deleted.ok()) {
      spdlog::warn("conversation log retention: {}", deleted.error().message);
    } else if (deleted.value() > 0) {
      spdlog::info("conversation log retention: deleted {} entries older than {} ms",
                   deleted.value(), options_.maxAge.count());
    } else {
      spdlog::debug("conversation log retention: nothing older than {} ms",
                    options_.maxAge.count());
    }
    std::unique_lock lock(mutex_);
    if (wake_.wait_for(lock, options_.interval, [&] { return stopping_; })) return;
  }
}

}  // namespace va::conversation_log
