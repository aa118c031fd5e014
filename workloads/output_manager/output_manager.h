// output-manager's HTTP API: turns the dialogue manager's reply into the answer the channel
// gets, at once, and, when the conversation has a callback URL, delivers it as a signed webhook
// (delivery.h, webhook.h) in the background.
//   POST /v1/replies {"conversation_id", "message_id"?, "reply": {"text", ...}, "callback_url"?}
//     -> 200 {"conversation_id","message_id","reply",
//             "callback": null | {"delivery_id","url","status":"queued"}}
//     503 + Retry-After when the webhook queue is full (nothing is half accepted).
//   GET /v1/dead-letters?limit=N   the newest failed deliveries (default 50, at most 1000)
// The webhook body is {"conversation_id","message_id","reply","delivery_id","sent_at"}.
// Bad input gets 400 naming the field; a callback_url too when it is not a plain http(s) URL
// or is an IP literal in a blocked range (loopback, private, link-local...: the SSRF guard,
// common/ssrf_guard.h, without a DNS lookup; each delivery attempt runs the full check).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "workloads/common/http_errors.h"
#include "workloads/common/http_server.h"
#include "workloads/output_manager/delivery.h"

namespace va::output_manager {

// An HTTP answer before it is written (the service library's).
using Reply = va::service::JsonReply;

class OutputManager {
 public:
  // Without a deliverer (no signing secret configured), a callback_url is refused with 400.
  OutputManager(WebhookDeliverer* deliverer, const DeadLetterStore& deadLetters,
                prometheus::Registry& registry);

  [[nodiscard]] Reply reply(std::string_view body) const;
  [[nodiscard]] Reply deadLetters(const std::optional<std::string>& limit) const;

  void addRoutes(va::service::HttpServer& server) const;

 private:
  WebhookDeliverer* deliverer_;
  const DeadLetterStore& deadLetters_;
  prometheus::Family<prometheus::Counter>& replies_;
};

}  // namespace va::output_manager
