// input-processor, the VA's public API (the OpenAPI document is workloads/input_processor/
// openapi.json, served at GET /openapi.json):
//   POST /v1/conversations/{id}/messages   {"text", "user"?, "metadata"?, "callback_url"?}
//     Authorization: Bearer <API key or JWT>      (auth.h)
//     Idempotency-Key: <1-255 visible characters>  (optional; idempotency.h)
//   -> 200 {"conversation_id","message_id","turn","reply":{"text","intent",...},"callback"}
// In order: authentication (401 with WWW-Authenticate), the caller's token bucket (429 with
// Retry-After), the conversation id and the body (400 naming the field), the idempotency key
// (400; 422 when reused with another body; the stored reply again, with Idempotent-Replayed:
// true, when it is a retry), then prefrontal-cortex's /v1/turns. The message id sent on is
// derived from the idempotency key, so prefrontal-cortex recognises a retry that another
// replica received too; prefrontal-cortex processes a conversation's turns one at a time, in
// arrival order. A prefrontal-cortex that is down or overloaded gives 503 with Retry-After, one
// that times out 504, one that fails 502; nothing is stored for a retry then. Each answered
// turn is appended to conversation-log before the reply is returned: when the log cannot take
// it the answer is 503 (a retry with the same Idempotency-Key replays the turn and logs it; the
// log is idempotent on the conversation and turn).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "workloads/common/http_client.h"
#include "workloads/common/http_errors.h"
#include "workloads/common/http_server.h"
#include "workloads/common/ssrf_guard.h"
#include "workloads/input_processor/auth.h"
#include "workloads/input_processor/idempotency.h"
#include "workloads/input_processor/rate_limit.h"

namespace va::input_processor {

// The OpenAPI 3.1 document (embedded from openapi.json at build time).
std::string_view openApiDocument();

struct MessageRequest {
  std::string conversationId;  // from the path
  std::string authorization;   // the Authorization header, "" when absent
  std::string idempotencyKey;  // the Idempotency-Key header, "" when absent
  bool hasIdempotencyKey = false;
  std::string body;
};

struct MessageReply {
  va::service::JsonReply reply;
  va::service::HttpHeaders headers;  // WWW-Authenticate, Idempotent-Replayed, RateLimit-*
};

struct InputOptions {
  std::string prefrontalCortexUrl;  // base URL
  std::string conversationLogUrl;   // base URL; empty: turns are not logged
  // IP literals a callback_url may name although private (tests: 127.0.0.1).
  std::vector<std::string> callbackAllowAddresses{};
  std::chrono::milliseconds idempotencyWait{30000};  // a retry waits this long for the first
};

class InputProcessor {
 public:
  InputProcessor(const Authenticator& auth, RateLimiter& limiter, IdempotencyStore& idempotency,
                 const va::service::HttpClient& client, InputOptions options,
                 prometheus::Registry& registry);

  [[nodiscard]] MessageReply handleMessage(const MessageRequest& request);
  void addRoutes(va::service::HttpServer& server);

 private:
  [[nodiscard]] MessageReply forward(const Principal& principal, const MessageRequest& request,
                                     const nlohmann::json& message, const std::string& messageId);
  MessageReply count(std::string_view outcome, MessageReply reply);

  const Authenticator& auth_;
  RateLimiter& limiter_;
  IdempotencyStore& idempotency_;
  const va::service::HttpClient& client_;
  InputOptions options_;
  va::service::SsrfGuard callbackGuard_;
  prometheus::Family<prometheus::Counter>& messages_;
};

}  // namespace va::input_processor
