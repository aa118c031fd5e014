#include "workloads/input_processor/input_processor.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <utility>

#include "workloads/common/logging.h"
#include "workloads/common/ssrf_guard.h"

namespace va::input_processor {

using nlohmann::json;
using va::service::HttpErrorKind;
using va::service::jsonErrorReply;
using va::service::JsonReply;

namespace {

constexpr std::size_t kMaxTextBytes = 4000;
constexpr std::size_t kMaxIdBytes = 128;
constexpr std::size_t kMaxMetadataBytes = 4096;
constexpr std::size_t kMaxUrlBytes = 2048;

MessageReply plain(JsonReply reply) { return MessageReply{std::move(reply), {}}; }

MessageReply invalidField(const std::string& field, std::string_view reason) {
  return plain(jsonErrorReply(400, "invalid_field", field + ": " + std::string(reason)));
}

bool validConversationId(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdBytes) return false;
  return std::all_of(id.begin(), id.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == ':';
  });
}

std::string randomMessageId() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "m-";
  for (int i = 0; i < 2; ++i) {
    std::uint64_t bits = random();
    for (int nibble = 0; nibble < 16; ++nibble, bits >>= 4U) id += kHex[bits & 0xFU];
  }
  return id;
}

// Checks the body against the schema: the error names the field.
std::optional<MessageReply> checkMessage(const json& body,
                                         const va::service::SsrfGuard& callbackGuard) {
  static const std::set<std::string, std::less<>> kAllowed = {"text", "user", "metadata",
                                                              "callback_url"};
  for (const auto& [key, value] : body.items()) {
    if (!kAllowed.contains(key)) return invalidField(key, "unknown field");
  }
  if (!body.contains("text")) return invalidField("text", "is required");
  if (!body["text"].is_string()) return invalidField("text", "must be a string");
  const auto& text = body["text"].get_ref<const std::string&>();
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    return invalidField("text", "must not be empty");
  }
  if (text.size() > kMaxTextBytes) {
    return invalidField("text", "longer than " + std::to_string(kMaxTextBytes) + " bytes");
  }
  if (body.contains("user")) {
    if (!body["user"].is_string()) return invalidField("user", "must be a string");
    const auto& user = body["user"].get_ref<const std::string&>();
    if (user.empty() || user.size() > kMaxIdBytes) {
      return invalidField("user", "must be 1 to " + std::to_string(kMaxIdBytes) + " bytes");
    }
  }
  if (body.contains("metadata")) {
    if (!body["metadata"].is_object()) return invalidField("metadata", "must be an object");
    if (body["metadata"].dump().size() > kMaxMetadataBytes) {
      return invalidField("metadata",
                          "larger than " + std::to_string(kMaxMetadataBytes) + " bytes");
    }
  }
  if (body.contains("callback_url")) {
    if (!body["callback_url"].is_string()) return invalidField("callback_url", "must be a string");
    const auto& url = body["callback_url"].get_ref<const std::string&>();
    if (url.size() > kMaxUrlBytes) {
      return invalidField("callback_url", "longer than " + std::to_string(kMaxUrlBytes) + " bytes");
    }
    // The checks that need no DNS lookup (output-manager checks the resolved address again
    // before each delivery): a strict http(s) URL, not localhost, not a blocked IP literal.
    const auto checked = callbackGuard.checkWithoutResolving(url, {});
    if (!checked.ok()) return invalidField("callback_url", checked.error().reason);
  }
  return std::nullopt;
}

}  // namespace

InputProcessor::InputProcessor(const Authenticator& auth, RateLimiter& limiter,
                               IdempotencyStore& idempotency, const va::service::HttpClient& client,
                               InputOptions options, prometheus::Registry& registry)
    : auth_(auth),
      limiter_(limiter),
      idempotency_(idempotency),
      client_(client),
      options_(std::move(options)),
      callbackGuard_(options_.callbackAllowAddresses),
      messages_(prometheus::BuildCounter()
                    .Name("va_input_processor_messages_total")
                    .Help("Messages received, by outcome (ok, replayed, unauthorized, "
                          "rate_limited, invalid, conflict, failed)")
                    .Register(registry)) {}

MessageReply InputProcessor::count(std::string_view outcome, MessageReply reply) {
  messages_.Add({{"outcome", std::string(outcome)}}).Increment();
  return reply;
}

MessageReply InputProcessor::handleMessage(const MessageRequest& request) {
  Result<Principal> principal = auth_.authenticate(request.authorization);
  if (!principal.ok()) {
    MessageReply reply = plain(jsonErrorReply(401, "unauthorized", principal.error().message()));
    reply.headers.emplace_back("WWW-Authenticate", R"(Bearer realm="va", error="invalid_token")");
    return count("unauthorized", std::move(reply));
  }
  const RateLimiter::Decision allowed = limiter_.take(principal->id);
  if (!allowed.allowed) {
    const auto seconds = std::max<std::int64_t>(
        1, (allowed.retryAfter.count() + 999) / 1000);  // whole seconds, rounded up
    JsonReply reply = jsonErrorReply(429, "rate_limited",
                                     "too many requests for " + principal->id + "; retry after " +
                                         std::to_string(seconds) + " s");
    reply.retryAfterSeconds = static_cast<int>(seconds);
    return count("rate_limited", plain(std::move(reply)));
  }
  if (!validConversationId(request.conversationId)) {
    return count("invalid", invalidField("conversation_id",
                                         "must be 1 to 128 of the characters A-Z a-z 0-9 - _ . :"));
  }
  json message = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (message.is_discarded()) {
    return count("invalid", plain(jsonErrorReply(400, "malformed_json", "body is not valid JSON")));
  }
  if (!message.is_object()) {
    return count("invalid",
                 plain(jsonErrorReply(400, "invalid_body", "body must be a JSON object")));
  }
  if (std::optional<MessageReply> bad = checkMessage(message, callbackGuard_)) {
    return count("invalid", *bad);
  }
  // A JWT names its user; the body may repeat it but not name someone else.
  std::string user = message.value("user", std::string());
  if (principal->method == "jwt") {
    const std::string subject = principal->id.substr(4);
    if (subject.size() > kMaxIdBytes) {
      return count("invalid", plain(jsonErrorReply(403, "forbidden",
                                                   "the token's sub is longer than " +
                                                       std::to_string(kMaxIdBytes) + " bytes")));
    }
    if (!user.empty() && user != subject) {
      return count("invalid", plain(jsonErrorReply(403, "forbidden",
                                                   "user: does not match the token's subject")));
    }
    user = subject;
  }
  if (user.empty()) user = principal->id;
  message["user"] = user;

  if (!request.hasIdempotencyKey) return forward(*principal, request, message, randomMessageId());
  if (const va::service::Status valid = validateIdempotencyKey(request.idempotencyKey);
      !valid.ok()) {
    return count("invalid", plain(jsonErrorReply(400, "invalid_header", valid.error().message())));
  }
  const std::string key =
      idempotencyKey(principal->id, request.conversationId, request.idempotencyKey);
  const std::string fingerprint = requestFingerprint(request.body);
  IdempotencyStore::Claim claim = idempotency_.begin(key, fingerprint);
  if (claim.outcome == IdempotencyStore::Outcome::kInProgress) {
    if (std::optional<StoredResponse> done = idempotency_.waitFor(key, options_.idempotencyWait)) {
      claim = {IdempotencyStore::Outcome::kDone, std::move(done)};
    } else {
      claim = idempotency_.begin(key, fingerprint);  // the first one failed: try again
    }
  }
  switch (claim.outcome) {
    case IdempotencyStore::Outcome::kDone: {
      MessageReply reply = plain(JsonReply{.status = claim.response->status,
                                           .body = json::parse(claim.response->body, nullptr,
                                                               /*allow_exceptions=*/false)});
      reply.headers.emplace_back("Idempotent-Replayed", "true");
      return count("replayed", std::move(reply));
    }
    case IdempotencyStore::Outcome::kMismatch:
      return count("invalid", plain(jsonErrorReply(
                                  422, "idempotency_key_reused",
                                  "Idempotency-Key: already used with a different request body")));
    case IdempotencyStore::Outcome::kInProgress:
      return count("conflict", plain(jsonErrorReply(
                                   409, "idempotency_key_in_use",
                                   "Idempotency-Key: a request with this key is still running")));
    case IdempotencyStore::Outcome::kNew:
      break;
  }
  // The same key gives the same message id, which prefrontal-cortex deduplicates on as well.
  MessageReply reply;
  try {
    reply = forward(*principal, request, message, "k-" + requestFingerprint(key).substr(0, 32));
  } catch (...) {
    idempotency_.abandon(key);  // never leave the key "in progress" for its whole TTL
    throw;
  }
  if (reply.reply.status < 500) {
    idempotency_.complete(key, {reply.reply.status, reply.reply.body.dump()});
  } else {
    idempotency_.abandon(key);
  }
  return reply;
}

MessageReply InputProcessor::forward(const Principal& principal, const MessageRequest& request,
                                     const json& message, const std::string& messageId) {
  json turn = message;
  turn["conversation_id"] = request.conversationId;
  turn["message_id"] = messageId;
  va::service::HttpRequest call{.method = "POST",
                                .url = options_.prefrontalCortexUrl + "/v1/turns",
                                .headers = {{"Content-Type", "application/json"}},
                                .body = turn.dump(),
                                // prefrontal-cortex answers a repeated message id once
                                .idempotent = true};
  const va::service::HttpResult answer = client_.send(call);
  if (!answer.ok()) {
    const va::service::HttpError& error = answer.error();
    spdlog::warn("prefrontal-cortex: {} ({} attempts)", error.message, error.attempts);
    if (error.kind == HttpErrorKind::kTimeout) {
      return count("failed", plain(jsonErrorReply(504, "upstream_timeout",
                                                  "the dialogue manager did not answer in time")));
    }
    JsonReply reply =
        jsonErrorReply(503, "upstream_unavailable", "the dialogue manager is unavailable");
    reply.retryAfterSeconds = 1;
    return count("failed", plain(std::move(reply)));
  }
  json body = json::parse(answer->body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    return count("failed", plain(jsonErrorReply(502, "upstream_failed",
                                                "the dialogue manager's answer is not JSON")));
  }
  if (answer->status == 503) {
    JsonReply reply = jsonErrorReply(503, "upstream_unavailable",
                                     body.contains("error") ? body["error"].value("message", "")
                                                            : "the dialogue manager is busy");
    reply.retryAfterSeconds = 1;
    return count("failed", plain(std::move(reply)));
  }
  if (!answer->ok()) {
    spdlog::warn("prefrontal-cortex answered {}: {}", answer->status, answer->body);
    return count("failed", plain(jsonErrorReply(502, "upstream_failed",
                                                "the dialogue manager failed (HTTP " +
                                                    std::to_string(answer->status) + ")")));
  }
  if (!options_.conversationLogUrl.empty()) {
    const json reply = body.contains("reply") && body["reply"].is_object() ? body["reply"] : json();
    const json entry = {{"conversation_id", request.conversationId},
                        {"sequence", body.value("turn", 0)},
                        {"message_id", body.value("message_id", messageId)},
                        {"user", message.value("user", std::string())},
                        {"text", message.value("text", std::string())},
                        {"reply", reply.is_object() ? reply.value("text", std::string()) : ""},
                        {"intent", reply.is_object() ? reply.value("intent", std::string()) : ""}};
    const va::service::HttpResult logged =
        client_.send({.method = "POST",
                      .url = options_.conversationLogUrl + "/v1/entries",
                      .headers = {{"Content-Type", "application/json"}},
                      .body = entry.dump(),
                      .idempotent = true});  // the log ignores a (conversation, turn) it has
    if (!logged.ok() || !logged->ok()) {
      spdlog::warn("conversation-log did not take turn {}: {}", body.value("turn", 0),
                   logged.ok() ? "HTTP " + std::to_string(logged->status) + " " + logged->body
                               : logged.error().message);
      JsonReply unavailable =
          jsonErrorReply(503, "log_unavailable",
                         "the turn could not be logged; retry with the same Idempotency-Key");
      unavailable.retryAfterSeconds = 1;
      return count("failed", plain(std::move(unavailable)));
    }
  }
  spdlog::info("message {} of {} answered (turn {})", messageId, principal.id,
               body.value("turn", 0));
  return count("ok", plain(JsonReply{.status = 200, .body = std::move(body)}));
}

void InputProcessor::addRoutes(va::service::HttpServer& server) {
  server.post(R"(/v1/conversations/([^/]+)/messages)", [this](const httplib::Request& req,
                                                              httplib::Response& res) {
    const std::string conversation = req.matches[1].str();
    const va::service::ScopedLogContext scope(va::service::currentLogContext().withConversationId(
        validConversationId(conversation) ? conversation : "invalid"));
    MessageRequest request{.conversationId = conversation,
                           .authorization = req.get_header_value("Authorization"),
                           .idempotencyKey = req.get_header_value("Idempotency-Key"),
                           .hasIdempotencyKey = req.has_header("Idempotency-Key"),
                           .body = req.body};
    const MessageReply reply = handleMessage(request);
    for (const auto& [name, value] : reply.headers) res.set_header(name, value);
    va::service::writeJsonReply(res, reply.reply);
  });
  server.get("/openapi.json", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(openApiDocument()), "application/json");
  });
}

}  // namespace va::input_processor
