#include "workloads/long_term_mem/long_term_mem.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>
#include <vector>

#include "workloads/nlu/facts.h"

namespace va::long_term_mem {
namespace {

using nlohmann::json;
using va::service::DbError;
using va::service::DbErrorKind;
using va::service::DbResult;
using va::service::jsonErrorReply;

constexpr std::size_t kMaxUserBytes = 128;
constexpr std::size_t kMaxKeyBytes = 200;
constexpr std::size_t kMaxValueBytes = 4000;
constexpr std::size_t kMaxConversationBytes = 128;
constexpr std::size_t kMaxQueryBytes = 4000;
constexpr std::size_t kDefaultRecallLimit = 5;
constexpr std::size_t kMaxRecallLimit = 100;
constexpr std::size_t kDefaultSummaryLimit = 50;
constexpr std::size_t kMaxSummaryLimit = 1000;

Reply invalidField(std::string_view field, std::string_view reason) {
  std::string message(field);
  message.append(": ").append(reason);
  return jsonErrorReply(400, "invalid_field", message);
}

// Well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
bool validUtf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t extra = 0;
    std::uint32_t code = 0;
    if (c < 0x80U) {
      ++i;
      continue;
    }
    if ((c & 0xE0U) == 0xC0U) {
      extra = 1;
      code = c & 0x1FU;
    } else if ((c & 0xF0U) == 0xE0U) {
      extra = 2;
      code = c & 0x0FU;
    } else if ((c & 0xF8U) == 0xF0U) {
      extra = 3;
      code = c & 0x07U;
    } else {
      return false;
    }
    if (i + extra >= text.size()) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0U) != 0x80U) return false;
      code = (code << 6U) | (next & 0x3FU);
    }
    static constexpr std::uint32_t kMinimum[] = {0, 0x80, 0x800, 0x10000};
    if (code < kMinimum[extra] || code > 0x10FFFFU || (code >= 0xD800U && code <= 0xDFFFU)) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

// Why `text` is not an acceptable field value, or empty when it is: UTF-8 of 1 (or 0 when
// `allowEmpty`) to `maxBytes` bytes, without control characters (NUL included) when
// `singleLine`, without NUL otherwise.
std::string textProblem(std::string_view text, std::size_t maxBytes, bool allowEmpty,
                        bool singleLine) {
  if (text.empty() && !allowEmpty) return "must not be empty";
  if (text.size() > maxBytes) return "longer than " + std::to_string(maxBytes) + " bytes";
  if (!validUtf8(text)) return "must be valid UTF-8";
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte == 0) return "must not contain NUL characters";
    if (singleLine && (byte < 0x20U || byte == 0x7FU)) return "must not contain control characters";
  }
  return {};
}

// A whole number from 1 to `max`, or `fallback` when absent; nullopt when invalid.
std::optional<std::size_t> parseLimit(const std::optional<std::string>& text, std::size_t fallback,
                                      std::size_t max) {
  if (!text) return fallback;
  std::size_t n = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
  if (ec != std::errc() || end != text->data() + text->size() || n == 0 || n > max) {
    return std::nullopt;
  }
  return n;
}

const prometheus::Histogram::BucketBoundaries& buckets() {
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return kBuckets;
}

}  // namespace

Reply storeErrorReply(const DbError& error) {
  if (error.kind == DbErrorKind::kStatement) {
    spdlog::error("database call failed: {}", error.message);
    return jsonErrorReply(500, "store_error", "the database call failed");
  }
  spdlog::warn("database unavailable: {}", error.message);
  Reply reply =
      jsonErrorReply(503, "store_unavailable", "PostgreSQL is unavailable; retry after a second");
  reply.retryAfterSeconds = 1;
  return reply;
}

LongTermMem::LongTermMem(LongTermStore& store, prometheus::Registry& registry)
    : store_(store),
      facts_(prometheus::BuildCounter()
                 .Name("va_long_term_mem_facts_total")
                 .Help("Facts written, by outcome: added, updated (the old value kept as "
                       "history) or unchanged (the same value again).")
                 .Register(registry)),
      recalls_(prometheus::BuildCounter()
                   .Name("va_long_term_mem_recalls_total")
                   .Help("Fact recalls answered.")
                   .Register(registry)
                   .Add({})),
      durations_(prometheus::BuildHistogram()
                     .Name("va_long_term_mem_operation_duration_seconds")
                     .Help("Time of each store operation, by operation: remember, recall, "
                           "history, summaries (failed ones included).")
                     .Register(registry)) {
  for (const FactOutcome outcome :
       {FactOutcome::kAdded, FactOutcome::kUpdated, FactOutcome::kUnchanged}) {
    facts_.Add({{"outcome", toString(outcome)}});
  }
  for (const char* operation : {"remember", "recall", "history", "summaries"}) {
    durations_.Add({{"operation", operation}}, buckets());
  }
}

namespace {

// Runs `call`, recording its duration under `operation`.
template <typename T>
DbResult<T> timed(prometheus::Family<prometheus::Histogram>& durations, const char* operation,
                  const std::function<DbResult<T>()>& call) {
  const auto started = std::chrono::steady_clock::now();
  DbResult<T> result = call();
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
  durations.Add({{"operation", operation}}, buckets()).Observe(took.count());
  return result;
}

}  // namespace

Reply LongTermMem::addFact(std::string_view user, std::string_view body) {
  if (std::string why = textProblem(user, kMaxUserBytes, false, true); !why.empty()) {
    return invalidField("user", why);
  }
  const json request = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (request.is_discarded())
    return jsonErrorReply(400, "malformed_json", "body is not valid JSON");
  if (!request.is_object()) {
    return jsonErrorReply(400, "invalid_body", "body must be a JSON object");
  }
  static const std::set<std::string, std::less<>> kAllowed = {"key", "value", "source_conversation",
                                                              "source_turn", "confidence"};
  for (const auto& [name, value] : request.items()) {
    if (!kAllowed.contains(name)) return invalidField(name, "unknown field");
  }
  FactInput fact;
  if (!request.contains("key") || !request["key"].is_string()) {
    return invalidField("key", "is required and must be a string");
  }
  fact.key = request["key"].get<std::string>();
  if (std::string why = textProblem(fact.key, kMaxKeyBytes, false, true); !why.empty()) {
    return invalidField("key", why);
  }
  if (!request.contains("value") || !request["value"].is_string()) {
    return invalidField("value", "is required and must be a string");
  }
  fact.value = request["value"].get<std::string>();
  if (std::string why = textProblem(fact.value, kMaxValueBytes, false, false); !why.empty()) {
    return invalidField("value", why);
  }
  if (request.contains("source_conversation") && !request["source_conversation"].is_null()) {
    if (!request["source_conversation"].is_string()) {
      return invalidField("source_conversation", "must be a string");
    }
    fact.sourceConversation = request["source_conversation"].get<std::string>();
    if (std::string why = textProblem(fact.sourceConversation, kMaxConversationBytes, true, true);
        !why.empty()) {
      return invalidField("source_conversation", why);
    }
  }
  if (request.contains("source_turn") && !request["source_turn"].is_null()) {
    const json& turn = request["source_turn"];
    const bool tooLarge = turn.is_number_unsigned() &&
                          turn.get<std::uint64_t>() >
                              static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    if (!turn.is_number_integer() || tooLarge) {
      return invalidField("source_turn", "must be a whole number from 0");
    }
    fact.sourceTurn = turn.get<std::int64_t>();
    if (fact.sourceTurn < 0) return invalidField("source_turn", "must be a whole number from 0");
  }
  if (request.contains("confidence") && !request["confidence"].is_null()) {
    const json& confidence = request["confidence"];
    if (!confidence.is_number() || confidence.get<double>() < 0.0 ||
        confidence.get<double>() > 1.0) {
      return invalidField("confidence", "must be a number from 0 to 1");
    }
    fact.confidence = confidence.get<double>();
  }

  const std::string userId(user);
  DbResult<UpsertResult> saved =
      timed<UpsertResult>(durations_, "remember", [&] { return store_.remember(userId, fact); });
  if (!saved.ok()) return storeErrorReply(saved.error());
  facts_.Add({{"outcome", toString(saved->outcome)}}).Increment();
  return {
      200, {{"outcome", toString(saved->outcome)}, {"fact", saved->fact.toJson()}}, std::nullopt};
}

Reply LongTermMem::recall(std::string_view user, const std::optional<std::string>& query,
                          const std::optional<std::string>& limit) {
  if (std::string why = textProblem(user, kMaxUserBytes, false, true); !why.empty()) {
    return invalidField("user", why);
  }
  const std::string text = query.value_or("");
  if (std::string why = textProblem(text, kMaxQueryBytes, true, false); !why.empty()) {
    return invalidField("q", why);
  }
  const std::optional<std::size_t> n = parseLimit(limit, kDefaultRecallLimit, kMaxRecallLimit);
  if (!n) return invalidField("limit", "must be a whole number from 1 to 100");
  const std::string userId(user);
  const std::vector<std::string> keywords = nlu::keywords(text);
  DbResult<std::vector<FactRecord>> found = timed<std::vector<FactRecord>>(
      durations_, "recall", [&] { return store_.recall(userId, keywords, *n); });
  if (!found.ok()) return storeErrorReply(found.error());
  recalls_.Increment();
  json facts = json::array();
  for (const FactRecord& fact : *found) facts.push_back(fact.toJson());
  return {200, {{"facts", std::move(facts)}}, std::nullopt};
}

Reply LongTermMem::history(std::string_view user, std::string_view key) {
  if (std::string why = textProblem(user, kMaxUserBytes, false, true); !why.empty()) {
    return invalidField("user", why);
  }
  if (std::string why = textProblem(key, kMaxKeyBytes, false, true); !why.empty()) {
    return invalidField("key", why);
  }
  const std::string userId(user);
  const std::string keyText(key);
  DbResult<std::optional<FactWithHistory>> found = timed<std::optional<FactWithHistory>>(
      durations_, "history", [&] { return store_.history(userId, keyText); });
  if (!found.ok()) return storeErrorReply(found.error());
  if (!found->has_value()) {
    return jsonErrorReply(404, "fact_not_found", "no fact \"" + keyText + "\" for this user");
  }
  json history = json::array();
  for (const HistoryRecord& entry : (*found)->history) history.push_back(entry.toJson());
  return {200, {{"fact", (*found)->fact.toJson()}, {"history", std::move(history)}}, std::nullopt};
}

Reply LongTermMem::summaries(const std::optional<std::string>& user,
                             const std::optional<std::string>& conversation,
                             const std::optional<std::string>& limit) {
  if (user.has_value() == conversation.has_value()) {
    return invalidField(user ? "conversation" : "user",
                        "give exactly one of the parameters user and conversation");
  }
  const char* field = user ? "user" : "conversation";
  const std::string& value = user ? *user : *conversation;
  if (std::string why =
          textProblem(value, user ? kMaxUserBytes : kMaxConversationBytes, false, true);
      !why.empty()) {
    return invalidField(field, why);
  }
  const std::optional<std::size_t> n = parseLimit(limit, kDefaultSummaryLimit, kMaxSummaryLimit);
  if (!n) return invalidField("limit", "must be a whole number from 1 to 1000");
  const SummaryFilter by = user ? SummaryFilter::kUser : SummaryFilter::kConversation;
  DbResult<std::vector<SummaryRecord>> found = timed<std::vector<SummaryRecord>>(
      durations_, "summaries", [&] { return store_.summaries(by, value, *n); });
  if (!found.ok()) return storeErrorReply(found.error());
  json out = json::array();
  for (const SummaryRecord& summary : *found) out.push_back(summary.toJson());
  return {200, {{"summaries", std::move(out)}}, std::nullopt};
}

namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hexValue(text[i + 1]) >= 0 &&
        hexValue(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hexValue(text[i + 1]) * 16 + hexValue(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

// The raw path's segments, each percent-decoded after the split, so that a user id or key
// holding "/" (sent as %2F) stays one segment. httplib routes on the decoded path, where it
// would not.
std::vector<std::string> pathSegments(const httplib::Request& req) {
  const std::string_view target(req.target);
  const std::string_view path = target.substr(0, target.find('?'));
  std::vector<std::string> segments;
  std::size_t start = 1;  // after the leading '/'
  while (start <= path.size()) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    segments.push_back(percentDecode(path.substr(start, end - start)));
    start = end + 1;
  }
  return segments;
}

// The segments [first, size - fromEnd) joined with '/': a user id sent with a raw '/'.
std::string joinSegments(const std::vector<std::string>& segments, std::size_t first,
                         std::size_t fromEnd) {
  std::string out;
  for (std::size_t i = first; i + fromEnd < segments.size(); ++i) {
    if (i > first) out.push_back('/');
    out += segments[i];
  }
  return out;
}

// Does the raw path have the route's shape: "v1", "users", a user (one or more segments), then
// `tail` ("facts", or "facts", a key and "history")? httplib routes on the decoded path, so an
// encoded '/' in the fixed parts ("/v1%2Fusers%2F...") matches a route whose raw segments differ.
bool routeShape(const std::vector<std::string>& segments, const std::vector<std::string>& tail) {
  if (segments.size() < 3 + tail.size() || segments[0] != "v1" || segments[1] != "users") {
    return false;
  }
  for (std::size_t i = 0; i < tail.size(); ++i) {
    const std::string& want = tail[i];
    if (!want.empty() && segments[segments.size() - tail.size() + i] != want) return false;
  }
  return true;
}

Reply badPath() {
  return va::service::jsonErrorReply(400, "invalid_path",
                                     "path: expected /v1/users/{user}/facts[/{key}/history]");
}

}  // namespace

void LongTermMem::addRoutes(va::service::HttpServer& server) {
  using va::service::writeJsonReply;
  auto param = [](const httplib::Request& req, const char* name) -> std::optional<std::string> {
    if (!req.has_param(name)) return std::nullopt;
    return req.get_param_value(name);
  };
  // v1/users/{user}/facts[/{key}/history]: the user is segment 2 (more when it holds a raw
  // '/'), taken from the raw path.
  server.post(R"(/v1/users/(.+)/facts)",
              [this](const httplib::Request& req, httplib::Response& res) {
                const std::vector<std::string> segments = pathSegments(req);
                if (!routeShape(segments, {"facts"})) return writeJsonReply(res, badPath());
                writeJsonReply(res, addFact(joinSegments(segments, 2, 1), req.body));
              });
  server.get(R"(/v1/users/(.+)/facts/(.+)/history)", [this](const httplib::Request& req,
                                                            httplib::Response& res) {
    const std::vector<std::string> segments = pathSegments(req);
    if (!routeShape(segments, {"facts", "", "history"})) return writeJsonReply(res, badPath());
    writeJsonReply(res, history(joinSegments(segments, 2, 3), segments[segments.size() - 2]));
  });
  server.get(R"(/v1/users/(.+)/facts)", [this, param](const httplib::Request& req,
                                                      httplib::Response& res) {
    const std::vector<std::string> segments = pathSegments(req);
    if (!routeShape(segments, {"facts"})) return writeJsonReply(res, badPath());
    writeJsonReply(res, recall(joinSegments(segments, 2, 1), param(req, "q"), param(req, "limit")));
  });
  server.get("/v1/summaries", [this, param](const httplib::Request& req, httplib::Response& res) {
    writeJsonReply(res,
                   summaries(param(req, "user"), param(req, "conversation"), param(req, "limit")));
  });
  server.addReadinessCheck("postgres", [this] { return store_.ping(); });
}

}  // namespace va::long_term_mem
