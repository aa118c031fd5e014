#include "workloads/output_manager/output_manager.h"

#include <openssl/rand.h>

#include <array>
#include <charconv>
#include <set>
#include <utility>

#include "workloads/common/http_errors.h"
#include "workloads/common/logging.h"
#include "workloads/common/ssrf_guard.h"

namespace va::output_manager {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxIdBytes = 128;
constexpr std::size_t kMaxTextBytes = 16384;
constexpr std::size_t kMaxUrlBytes = 2048;

Reply invalidField(std::string_view field, std::string_view reason) {
  std::string message(field);
  message.append(": ").append(reason);
  return va::service::jsonErrorReply(400, "invalid_field", message);
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

std::string randomId() {
  std::array<unsigned char, 16> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (const unsigned char b : bytes) {
    out.push_back(kHex[b >> 4U]);
    out.push_back(kHex[b & 0x0FU]);
  }
  return out;
}

// The cheap part of the SSRF guard, at acceptance: the URL's form and, for an IP literal, its
// range; no DNS lookup (each delivery attempt checks the name's addresses).
std::optional<Reply> checkUrl(const va::service::SsrfGuard& guard, const std::string& url) {
  if (url.size() > kMaxUrlBytes) return invalidField("callback_url", "longer than 2048 bytes");
  const va::service::Result<va::service::Destination, va::service::Refusal> checked =
      guard.checkWithoutResolving(url, {});
  if (!checked) return invalidField("callback_url", checked.error().reason);
  return std::nullopt;
}

}  // namespace

OutputManager::OutputManager(WebhookDeliverer* deliverer, const DeadLetterStore& deadLetters,
                             prometheus::Registry& registry)
    : deliverer_(deliverer),
      deadLetters_(deadLetters),
      replies_(prometheus::BuildCounter()
                   .Name("va_output_manager_replies_total")
                   .Help("Replies answered, by what happened to the callback: none, queued, "
                         "or queue_full (answered 503).")
                   .Register(registry)) {
  for (const char* callback : {"none", "queued", "queue_full"}) {
    replies_.Add({{"callback", callback}});
  }
}

Reply OutputManager::reply(std::string_view body) const {
  const json request = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (request.is_discarded()) {
    return va::service::jsonErrorReply(400, "malformed_json", "body is not valid JSON");
  }
  if (!request.is_object()) {
    return va::service::jsonErrorReply(400, "invalid_body", "body must be a JSON object");
  }
  static const std::set<std::string, std::less<>> kAllowed = {"conversation_id", "message_id",
                                                              "reply", "callback_url"};
  for (const auto& [key, value] : request.items()) {
    if (!kAllowed.contains(key)) return invalidField(key, "unknown field");
  }
  if (!request.contains("conversation_id")) return invalidField("conversation_id", "is required");
  if (!request["conversation_id"].is_string() ||
      !validId(request["conversation_id"].get<std::string>())) {
    return invalidField("conversation_id",
                        "must be 1 to 128 characters of letters, digits, '.', '_', ':', '-'");
  }
  const std::string conversationId = request["conversation_id"].get<std::string>();
  std::string messageId;
  if (request.contains("message_id") && !request["message_id"].is_null()) {
    if (!request["message_id"].is_string() || !validId(request["message_id"].get<std::string>())) {
      return invalidField("message_id",
                          "must be 1 to 128 characters of letters, digits, '.', '_', ':', '-'");
    }
    messageId = request["message_id"].get<std::string>();
  } else {
    messageId = randomId();
  }
  if (!request.contains("reply")) return invalidField("reply", "is required");
  const json& replyBody = request["reply"];
  if (!replyBody.is_object()) return invalidField("reply", "must be an object");
  if (!replyBody.contains("text") || !replyBody["text"].is_string()) {
    return invalidField("reply.text", "is required and must be a string");
  }
  if (replyBody["text"].get<std::string>().size() > kMaxTextBytes) {
    return invalidField("reply.text", "longer than 16384 bytes");
  }
  std::optional<std::string> callbackUrl;
  if (request.contains("callback_url") && !request["callback_url"].is_null()) {
    if (!request["callback_url"].is_string())
      return invalidField("callback_url", "must be a string");
    callbackUrl = request["callback_url"].get<std::string>();
    const std::optional<Reply> error = deliverer_ != nullptr
                                           ? checkUrl(deliverer_->guard(), *callbackUrl)
                                           : checkUrl(va::service::SsrfGuard(), *callbackUrl);
    if (error) return *error;
    if (deliverer_ == nullptr) {
      return invalidField("callback_url",
                          "webhooks are off here (no WEBHOOK_SIGNING_SECRET_FILE is configured)");
    }
  }

  json out = {{"conversation_id", conversationId},
              {"message_id", messageId},
              {"reply", replyBody},
              {"callback", nullptr}};
  if (!callbackUrl) {
    replies_.Add({{"callback", "none"}}).Increment();
    return {200, std::move(out), std::nullopt};
  }
  Delivery delivery{randomId(), conversationId, *callbackUrl, ""};
  delivery.body = json{{"conversation_id", conversationId},
                       {"message_id", messageId},
                       {"reply", replyBody},
                       {"delivery_id", delivery.id},
                       {"sent_at", va::service::formatTimestamp(std::chrono::system_clock::now())}}
                      .dump();
  const std::string deliveryId = delivery.id;
  if (!deliverer_->enqueue(std::move(delivery))) {
    replies_.Add({{"callback", "queue_full"}}).Increment();
    Reply full = va::service::jsonErrorReply(503, "webhook_queue_full",
                                             "the webhook queue is full; retry after a second");
    full.retryAfterSeconds = 1;
    return full;
  }
  replies_.Add({{"callback", "queued"}}).Increment();
  out["callback"] = {{"delivery_id", deliveryId}, {"url", *callbackUrl}, {"status", "queued"}};
  return {200, std::move(out), std::nullopt};
}

Reply OutputManager::deadLetters(const std::optional<std::string>& limit) const {
  std::size_t n = 50;
  if (limit) {
    const auto [end, ec] = std::from_chars(limit->data(), limit->data() + limit->size(), n);
    if (ec != std::errc() || end != limit->data() + limit->size() || n == 0 || n > 1000) {
      return invalidField("limit", "must be a whole number from 1 to 1000");
    }
  }
  return {200, {{"items", deadLetters_.recent(n)}}, std::nullopt};
}

void OutputManager::addRoutes(va::service::HttpServer& server) const {
  using va::service::writeJsonReply;
  server.post("/v1/replies", [this](const httplib::Request& req, httplib::Response& res) {
    writeJsonReply(res, reply(req.body));
  });
  server.get("/v1/dead-letters", [this](const httplib::Request& req, httplib::Response& res) {
    std::optional<std::string> limit;
    if (req.has_param("limit")) limit = req.get_param_value("limit");
    writeJsonReply(res, deadLetters(limit));
  });
}

}  // namespace va::output_manager
