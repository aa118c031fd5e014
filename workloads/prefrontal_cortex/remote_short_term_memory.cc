#include "workloads/prefrontal_cortex/remote_short_term_memory.h"

#include <algorithm>
#include <cstdint>
#include <utility>

namespace va::prefrontal_cortex {
namespace {

using nlohmann::json;
using va::service::Error;
using va::service::HttpRequest;
using va::service::HttpResult;
using va::service::Result;
using va::service::Status;

std::string percentEncode(const std::string& text) {
  static constexpr std::string_view kHex = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto b = static_cast<unsigned char>(c);
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '.' || c == '_' || c == '~' || c == ':';
    if (plain) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[b >> 4U]);
      out.push_back(kHex[b & 0x0FU]);
    }
  }
  return out;
}

// The error's code and message from a JSON error body, or the raw body.
std::pair<std::string, std::string> errorOf(const va::service::HttpResponse& response) {
  const json body = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_object() && body.contains("error") && body["error"].is_object()) {
    return {body["error"].value("code", std::string()),
            body["error"].value("message", std::string())};
  }
  return {"", response.body.substr(0, 200)};
}

// An error for a failed call: unavailable (no answer, or 503 from the store), busy, or other.
Error failure(const std::string& what, const HttpResult& result) {
  if (!result) return Error("short-term-mem unavailable: " + result.error().message);
  const auto [code, message] = errorOf(*result);
  if (result->status == 503 && code == "conversation_busy") {
    return Error("short-term-mem: conversation busy: " + message);
  }
  if (result->status == 503) {
    return Error("short-term-mem unavailable: " + (message.empty() ? code : message));
  }
  return Error("short-term-mem: " + what + " answered " + std::to_string(result->status) +
               (code.empty() ? "" : " " + code) + (message.empty() ? "" : ": " + message));
}

std::string stringOf(const json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

va::service::HttpClientOptions clientOptions(const RemoteShortTermMemoryOptions& options,
                                             std::chrono::milliseconds timeout, int attempts) {
  va::service::HttpClientOptions out;
  out.connectTimeout = options.connectTimeout;
  out.totalTimeout = timeout;
  out.maxAttempts = attempts;
  out.backoffBase = std::chrono::milliseconds(50);
  out.backoffCap = std::chrono::milliseconds(500);
  out.userAgent = options.userAgent;
  return out;
}

}  // namespace

json contextToJson(const ConversationContext& context) {
  json turns = json::array();
  for (const Turn& turn : context.turns) {
    turns.push_back({{"sequence", turn.sequence},
                     {"message_id", turn.messageId},
                     {"user_text", turn.userText},
                     {"intent", turn.intent},
                     {"reply", turn.reply}});
  }
  json slots = json::object();
  for (const auto& [name, value] : context.slots) slots[name] = value;
  return {{"last_sequence", context.lastSequence},   {"turns", std::move(turns)},
          {"pending_intent", context.pendingIntent}, {"slots", std::move(slots)},
          {"callback_url", context.callbackUrl},     {"user", context.user}};
}

Result<ConversationContext> contextFromJson(const json& value) {
  if (!value.is_object()) return Error("the context is not a JSON object");
  ConversationContext context;
  if (const auto it = value.find("last_sequence"); it != value.end() && it->is_number_integer()) {
    context.lastSequence = it->get<std::int64_t>();
  }
  if (const auto it = value.find("turns"); it != value.end() && it->is_array()) {
    for (const auto& turn : *it) {
      if (!turn.is_object()) return Error("a turn of the context is not a JSON object");
      Turn out;
      if (const auto seq = turn.find("sequence"); seq != turn.end() && seq->is_number_integer()) {
        out.sequence = seq->get<std::int64_t>();
      }
      out.messageId = stringOf(turn, "message_id");
      out.userText = stringOf(turn, "user_text");
      out.intent = stringOf(turn, "intent");
      out.reply = stringOf(turn, "reply");
      context.turns.push_back(std::move(out));
    }
  }
  context.pendingIntent = stringOf(value, "pending_intent");
  if (const auto it = value.find("slots"); it != value.end() && it->is_object()) {
    for (const auto& [name, slot] : it->items()) {
      if (slot.is_string()) context.slots[name] = slot.get<std::string>();
    }
  }
  context.callbackUrl = stringOf(value, "callback_url");
  context.user = stringOf(value, "user");
  return context;
}

RemoteShortTermMemory::RemoteShortTermMemory(RemoteShortTermMemoryOptions options)
    : options_(std::move(options)),
      waiting_(clientOptions(options_, options_.maxWait + options_.requestTimeout, 1)),
      quick_(clientOptions(options_, options_.requestTimeout, 3)) {
  while (!options_.baseUrl.empty() && options_.baseUrl.back() == '/') options_.baseUrl.pop_back();
}

std::string RemoteShortTermMemory::url(const std::string& conversationId,
                                       const std::string& tail) const {
  return options_.baseUrl + "/v1/conversations/" + percentEncode(conversationId) + tail;
}

std::optional<std::string> RemoteShortTermMemory::takeLease(const std::string& conversationId) {
  const std::lock_guard lock(mutex_);
  const auto it = leases_.find(conversationId);
  if (it == leases_.end()) return std::nullopt;
  std::string lease = std::move(it->second);
  leases_.erase(it);
  return lease;
}

Result<ConversationContext> RemoteShortTermMemory::begin(const std::string& conversationId,
                                                         std::chrono::milliseconds wait) {
  const std::chrono::milliseconds bounded =
      std::clamp(wait, std::chrono::milliseconds(0), options_.maxWait);
  HttpRequest request{.method = "POST",
                      .url = url(conversationId, "/turns"),
                      .headers = {{"Content-Type", "application/json"}},
                      .body = json{{"wait_ms", bounded.count()}}.dump(),
                      .idempotent = false};
  const HttpResult result = waiting_.send(request);
  if (!result || result->status != 200) return failure("POST .../turns", result);
  const json body = json::parse(result->body, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object() || !body.contains("lease") || !body["lease"].is_string() ||
      !body.contains("context")) {
    return Error("short-term-mem: POST .../turns answered an unexpected body");
  }
  Result<ConversationContext> context = contextFromJson(body["context"]);
  if (!context) return context.error().withContext("short-term-mem");
  const std::lock_guard lock(mutex_);
  leases_[conversationId] = body["lease"].get<std::string>();
  return context;
}

Status RemoteShortTermMemory::commit(const std::string& conversationId,
                                     const ConversationContext& context) {
  // Taken out before the call: once the service has released the lease, the conversation's
  // next begin() here may store its own.
  const std::optional<std::string> lease = takeLease(conversationId);
  if (!lease)
    return Error("short-term-mem: commit of conversation " + conversationId + " without begin");
  HttpRequest request{.method = "PUT",
                      .url = url(conversationId, "/context"),
                      .headers = {{"Content-Type", "application/json"}},
                      .body = json{{"lease", *lease}, {"context", contextToJson(context)}}.dump(
                          -1, ' ', false, json::error_handler_t::replace),
                      .idempotent = true};
  const HttpResult result = quick_.send(request);
  if (!result || result->status != 200) {
    if (result && result->status == 409) {
      return Error(
          "short-term-mem: lease lost (the turn took longer than the lease); "
          "nothing was saved");
    }
    return failure("PUT .../context", result);
  }
  return {};
}

void RemoteShortTermMemory::abort(const std::string& conversationId) {
  const std::optional<std::string> lease = takeLease(conversationId);
  if (!lease) return;
  // Best effort: a lease not released here expires after the service's LEASE_TTL.
  (void)quick_.send({.method = "DELETE",
                     .url = url(conversationId, "/turns/" + *lease),
                     .headers = {},
                     .body = {},
                     .idempotent = true});
}

Result<std::optional<ConversationContext>> RemoteShortTermMemory::read(
    const std::string& conversationId) {
  const HttpResult result = quick_.get(url(conversationId, "/context"));
  if (result && result->status == 404) return std::optional<ConversationContext>();
  if (!result || result->status != 200) return failure("GET .../context", result);
  const json body = json::parse(result->body, nullptr, /*allow_exceptions=*/false);
  Result<ConversationContext> context = contextFromJson(body);
  if (!context) return context.error().withContext("short-term-mem");
  return std::optional<ConversationContext>(std::move(*context));
}

}  // namespace va::prefrontal_cortex
