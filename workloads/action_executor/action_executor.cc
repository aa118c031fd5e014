#include "workloads/action_executor/action_executor.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <map>
#include <utility>

#include "workloads/common/http_client.h"
#include "workloads/common/signature.h"
#include "workloads/nlu/templates.h"

namespace va::action_executor {
namespace {

using nlohmann::json;
using StringMap = std::map<std::string, std::string, std::less<>>;

constexpr std::size_t kMaxSlotBytes = 4096;
constexpr std::size_t kMaxSlots = 64;
constexpr std::size_t kMaxKeyBytes = 255;
constexpr std::size_t kMaxResponseBytes = 1U << 20U;  // beyond this the call fails (502)

constexpr std::array<const char*, 5> kOutcomes = {"ok", "blocked", "timeout", "upstream_error",
                                                  "invalid"};

Reply invalidField(std::string_view field, std::string_view reason) {
  std::string message(field);
  message.append(": ").append(reason);
  return va::service::jsonErrorReply(400, "invalid_field", message);
}

bool isControl(char c) { return static_cast<unsigned char>(c) < ' ' || c == 0x7F; }

// The text between the quotes of the value as a JSON string (invalid UTF-8 replaced).
std::string jsonEscaped(const std::string& value) {
  const std::string quoted = json(value).dump(-1, ' ', false, json::error_handler_t::replace);
  return quoted.substr(1, quoted.size() - 2);
}

// Placeholders of the action's URL, body and headers, and whether each goes into a header.
std::map<std::string, bool> usedSlots(const nlu::ActionSpec& action) {
  std::map<std::string, bool> used;
  const auto add = [&](const std::string& text, bool header) {
    const Result<std::vector<std::string>> names = nlu::templatePlaceholders(text);
    if (!names) return;  // validated when the assistant was loaded
    for (const std::string& name : *names) used[name] = used[name] || header;
  };
  add(action.url, false);
  add(action.body, false);
  for (const auto& [header, value] : action.headers) add(value, true);
  return used;
}

// The URL of a Location header, against the URL that answered with it.
std::string resolveLocation(const Url& base, const std::string& location) {
  const std::size_t colon = location.find(':');
  if (colon != std::string::npos && colon < location.find_first_of("/?#")) return location;
  if (location.rfind("//", 0) == 0) return base.scheme + ":" + location;
  if (!location.empty() && location.front() == '/') return base.origin + location;
  const std::string path = base.target.substr(0, base.target.find('?'));
  if (!location.empty() && location.front() == '?') return base.origin + path + location;
  return base.origin + path.substr(0, path.rfind('/') + 1) + location;
}

bool isRedirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

std::string unixSeconds() {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count());
}

// The response as data: its JSON when it is JSON and small enough, otherwise its first bytes
// as text.
json resultOf(const std::string& body, bool& parsed) {
  parsed = false;
  if (body.size() <= kMaxResultBytes) {
    json value = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (!value.is_discarded()) {
      parsed = true;
      return value;
    }
  }
  return {{"text", body.substr(0, kMaxTextBytes)},
          {"truncated", body.size() > kMaxTextBytes},
          {"bytes", body.size()}};
}

json mapResultSlots(const nlu::ActionSpec& action, const json& result) {
  json slots = json::object();
  for (const auto& [slot, pointer] : action.result_slots) {
    try {
      const json::json_pointer where(pointer);
      if (!result.contains(where)) continue;
      const json& value = result.at(where);
      if (value.is_null()) continue;
      slots[slot] = value.is_string() ? value.get<std::string>()
                                      : value.dump(-1, ' ', false, json::error_handler_t::replace);
    } catch (const json::exception&) {
      continue;  // a pointer that does not fit this document's shape
    }
  }
  return slots;
}

}  // namespace

struct ActionExecutor::Outcome {
  Reply reply;
  std::string outcome;  // the metric's label
};

std::string signRequest(const va::service::Secret& secret, std::string_view timestamp,
                        std::string_view body) {
  return va::service::signTimestamped(secret, timestamp, body);
}

std::string urlEncode(std::string_view value, bool inPath) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : value) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '_' || c == '~' || (c == '.' && !inPath);
    if (plain) {
      out.push_back(c);
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[byte >> 4U]);
      out.push_back(kHex[byte & 0x0FU]);
    }
  }
  return out;
}

ActionExecutor::ActionExecutor(nlu::Assistant assistant, ExecutorOptions options,
                               prometheus::Registry& registry)
    : assistant_(std::move(assistant)),
      options_(std::move(options)),
      guard_(options_.allowedAddresses, options_.resolver),
      runs_(prometheus::BuildCounter()
                .Name("va_action_executor_runs_total")
                .Help("Action runs, by action and outcome: ok, blocked (SSRF guard or "
                      "allowlist), timeout, upstream_error or invalid (bad request).")
                .Register(registry)),
      durations_(prometheus::BuildHistogram()
                     .Name("va_action_executor_run_duration_seconds")
                     .Help("Time to run an action, retries and redirects included.")
                     .Register(registry)) {
  for (const nlu::ActionSpec& action : assistant_.actions) {
    for (const char* outcome : kOutcomes) {
      runs_.Add({{"action", action.name}, {"outcome", outcome}});
    }
  }
}

Reply ActionExecutor::run(std::string_view name, std::string_view body) const {
  const auto started = std::chrono::steady_clock::now();
  const nlu::ActionSpec* action = assistant_.findAction(name);
  if (action == nullptr) {
    std::string known;
    for (const nlu::ActionSpec& spec : assistant_.actions) {
      known += (known.empty() ? "" : ", ") + spec.name;
    }
    return va::service::jsonErrorReply(404, "unknown_action",
                                       "no action \"" + std::string(name) + "\" (actions: " +
                                           (known.empty() ? "none" : known) + ")");
  }
  Outcome outcome = execute(*action, body);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  runs_.Add({{"action", action->name}, {"outcome", outcome.outcome}}).Increment();
  static const prometheus::Histogram::BucketBoundaries kBuckets = {0.01, 0.05, 0.1, 0.25, 0.5, 1,
                                                                   2.5,  5,    10,  30,   60};
  durations_.Add({{"action", action->name}}, kBuckets).Observe(seconds);
  // Neither slot values nor the URL's query (made of them) are logged.
  spdlog::info("action {}: {} ({}, {:.3f} s)", action->name, outcome.outcome, outcome.reply.status,
               seconds);
  return std::move(outcome.reply);
}

ActionExecutor::Outcome ActionExecutor::execute(const nlu::ActionSpec& action,
                                                std::string_view body) const {
  const auto invalid = [](Reply reply) { return Outcome{std::move(reply), "invalid"}; };
  const json request = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (request.is_discarded()) {
    return invalid(va::service::jsonErrorReply(400, "malformed_json", "body is not valid JSON"));
  }
  if (!request.is_object()) {
    return invalid(va::service::jsonErrorReply(400, "invalid_body", "body must be a JSON object"));
  }
  for (const auto& [key, value] : request.items()) {
    if (key != "slots" && key != "idempotency_key")
      return invalid(invalidField(key, "unknown field"));
  }
  StringMap slots;
  if (request.contains("slots") && !request["slots"].is_null()) {
    const json& given = request["slots"];
    if (!given.is_object()) return invalid(invalidField("slots", "must be an object"));
    if (given.size() > kMaxSlots) return invalid(invalidField("slots", "more than 64 slots"));
    for (const auto& [slot, value] : given.items()) {
      const std::string where = "slots." + slot;
      if (!value.is_string()) return invalid(invalidField(where, "must be a string"));
      if (value.get_ref<const std::string&>().size() > kMaxSlotBytes) {
        return invalid(invalidField(where, "longer than 4096 bytes"));
      }
      slots[slot] = value.get<std::string>();
    }
  }
  std::optional<std::string> idempotencyKey;
  if (request.contains("idempotency_key") && !request["idempotency_key"].is_null()) {
    const json& key = request["idempotency_key"];
    const bool ok = key.is_string() && !key.get_ref<const std::string&>().empty() &&
                    key.get_ref<const std::string&>().size() <= kMaxKeyBytes &&
                    std::all_of(key.get_ref<const std::string&>().begin(),
                                key.get_ref<const std::string&>().end(),
                                [](char c) { return c > ' ' && c < 0x7F; });
    if (!ok) {
      return invalid(invalidField("idempotency_key",
                                  "must be a string of 1 to 255 printable ASCII characters"));
    }
    idempotencyKey = key.get<std::string>();
  }
  for (const auto& [slot, inHeader] : usedSlots(action)) {
    const auto value = slots.find(slot);
    if (value == slots.end()) {
      return invalid(invalidField("slots." + slot, "required by action " + action.name));
    }
    if (inHeader && std::any_of(value->second.begin(), value->second.end(), isControl)) {
      return invalid(
          invalidField("slots." + slot, "must not contain control characters (used in a header)"));
    }
  }

  // Fill the templates: URL-encoded in the URL, JSON-escaped in the body, as is in headers.
  StringMap pathValues;
  StringMap queryValues;
  StringMap bodyValues;
  for (const auto& [slot, value] : slots) {
    pathValues[slot] = urlEncode(value, true);
    queryValues[slot] = urlEncode(value, false);
    bodyValues[slot] = jsonEscaped(value);
  }
  const std::size_t queryStart = std::min(action.url.find('?'), action.url.size());
  const Result<std::string> path = nlu::fillTemplate(action.url.substr(0, queryStart), pathValues);
  const Result<std::string> query = nlu::fillTemplate(action.url.substr(queryStart), queryValues);
  Result<std::string> filledBody = nlu::fillTemplate(action.body, bodyValues);
  if (!path || !query || !filledBody) {
    return invalid(va::service::jsonErrorReply(400, "invalid_body", "cannot fill the templates"));
  }
  va::service::HttpHeaders templateHeaders;
  for (const auto& [header, value] : action.headers) {
    Result<std::string> filled = nlu::fillTemplate(value, slots);
    if (!filled) return invalid(invalidField("slots", filled.error().message()));
    templateHeaders.emplace_back(header, std::move(*filled));
  }

  std::string url = *path + *query;
  std::string method = action.method;
  std::string requestBody = std::move(*filledBody);
  const std::string ownHost = nlu::urlHost(action.url);
  const bool idempotent =
      idempotencyKey || method == "GET" || method == "PUT" || method == "DELETE";
  // The guard reads an empty host list as "any public host": never so for an action.
  if (action.allowed_hosts.empty()) {
    spdlog::warn("action {}: call refused: no allowed_hosts", action.name);
    return {va::service::jsonErrorReply(403, "blocked",
                                        "action " + action.name + " has no allowed_hosts"),
            "blocked"};
  }
  for (int hop = 0;; ++hop) {
    Result<Destination, Refusal> destination = guard_.check(url, action.allowed_hosts);
    if (!destination) {
      const Refusal& refusal = destination.error();
      spdlog::warn("action {}: call refused: {}", action.name, refusal.reason);
      if (refusal.kind == Refusal::Kind::kUnresolved) {
        return {va::service::jsonErrorReply(502, "upstream_error", refusal.reason),
                "upstream_error"};
      }
      return {va::service::jsonErrorReply(403, "blocked", refusal.reason), "blocked"};
    }
    va::service::HttpClientOptions http;
    http.totalTimeout = std::chrono::seconds(action.timeout_seconds);
    http.connectTimeout = std::min(http.totalTimeout, std::chrono::milliseconds(5000));
    http.maxAttempts = idempotent ? options_.maxAttempts : 1;
    http.backoffBase = options_.backoffBase;
    http.maxResponseBytes = kMaxResponseBytes;
    http.userAgent = "va-action-executor";
    if (const std::string entry = destination->resolveEntry(); !entry.empty()) {
      http.resolve = {entry};
    }
    va::service::HttpRequest call;
    call.method = method;
    call.url = url;
    call.body = requestBody;
    call.idempotent = idempotent;
    call.headers.emplace_back("Accept", "application/json");
    if (!requestBody.empty()) call.headers.emplace_back("Content-Type", "application/json");
    // The definition's headers may hold credentials: only for the action's own host.
    if (destination->url.host == ownHost) {
      call.headers.insert(call.headers.end(), templateHeaders.begin(), templateHeaders.end());
    }
    if (idempotencyKey) call.headers.emplace_back("Idempotency-Key", *idempotencyKey);
    if (options_.signingSecret) {
      const std::string timestamp = unixSeconds();
      call.headers.emplace_back("X-VA-Timestamp", timestamp);
      call.headers.emplace_back("X-VA-Signature",
                                signRequest(*options_.signingSecret, timestamp, requestBody));
    }
    const va::service::HttpClient client(http);
    const va::service::HttpResult result = client.send(call);
    if (!result) {
      const va::service::HttpError& error = result.error();
      if (error.kind == va::service::HttpErrorKind::kTimeout) {
        return {va::service::jsonErrorReply(
                    504, "timeout",
                    "action " + action.name + ": no answer from " + destination->url.host +
                        " within " + std::to_string(action.timeout_seconds) + " s" +
                        (error.attempts > 1 ? " (" + std::to_string(error.attempts) + " attempts)"
                                            : "")),
                "timeout"};
      }
      return {
          va::service::jsonErrorReply(502, "upstream_error",
                                      "action " + action.name + ": " + error.toError().message()),
          "upstream_error"};
    }
    const int status = result->status;
    if (isRedirect(status) && result->header("Location")) {
      if (hop >= options_.maxRedirects) {
        return {
            va::service::jsonErrorReply(502, "upstream_error",
                                        "action " + action.name + ": more than " +
                                            std::to_string(options_.maxRedirects) + " redirects"),
            "upstream_error"};
      }
      url = resolveLocation(destination->url, *result->header("Location"));
      if (status == 303 || ((status == 301 || status == 302) && method != "GET")) {
        method = "GET";
        requestBody.clear();
      }
      continue;
    }
    if (!result->ok()) {
      Reply reply =
          va::service::jsonErrorReply(502, "upstream_error",
                                      "action " + action.name + ": " + destination->url.host +
                                          " answered HTTP " + std::to_string(status));
      reply.body["error"]["http_status"] = status;
      return {std::move(reply), "upstream_error"};
    }
    bool parsed = false;
    json data = resultOf(result->body, parsed);
    json mapped = parsed ? mapResultSlots(action, data) : json::object();
    return {Reply{200,
                  {{"action", action.name},
                   {"status", "ok"},
                   {"http_status", status},
                   {"result", std::move(data)},
                   {"slots", std::move(mapped)}},
                  std::nullopt},
            "ok"};
  }
}

void ActionExecutor::addRoutes(va::service::HttpServer& server) const {
  server.post(R"(/v1/actions/([^/]+)/run)",
              [this](const httplib::Request& req, httplib::Response& res) {
                va::service::writeJsonReply(res, run(req.matches[1].str(), req.body));
              });
}

}  // namespace va::action_executor
