// action-executor's HTTP API: runs the HTTP actions an assistant defines (nlu/assistant.h,
// ActionSpec) for the dialogue manager, safely.
//   POST /v1/actions/{name}/run {"slots": {"date": "2026-05-01", ...}, "idempotency_key"?: "k1"}
//     -> 200 {"action","status":"ok","http_status":200,"result":<the response's JSON, or
//             {"text": its first 4 KiB, "truncated": bool}>,"slots":{<result_slots mapped>}}
//   Errors ({"error":{"code","message"}}): 404 unknown_action; 400 malformed_json,
//   invalid_body, invalid_field naming the field ("slots.date: required by action book_table");
//   403 blocked (the SSRF guard or the action's allowlist, with the reason); 504 timeout;
//   502 upstream_error (a host that does not resolve, a connection failure, a non-2xx status
//   after retries, with "http_status" in the error object, or too many redirects).
// Slot values are URL-encoded into the URL's path and query and JSON-escaped into the body
// (inside JSON strings), so a value can never add a path segment, a query parameter or a JSON
// field, nor change the host. Every call goes through the SsrfGuard (common/ssrf_guard.h), with
// the action's allowed_hosts (never empty: an action without any is refused, 403 blocked), and
// connects to the address it checked. Redirects are followed by hand, at most 3, each checked again
// (a header of the definition goes only to the action's own host). Retries (3 attempts, with
// backoff) only for GET, PUT and DELETE, or POST and PATCH with an idempotency_key (sent as
// Idempotency-Key). With a signing secret, each request carries X-VA-Timestamp and
// X-VA-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")> (output_manager/webhook.h's
// scheme). The response is data: returned as JSON, never interpreted; at most 64 KiB is parsed.
//   ActionExecutor executor(assistant, {.allowedAddresses = {}, .signingSecret = secret},
//                           *registry);
//   executor.addRoutes(server);
#pragma once

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "workloads/common/config.h"
#include "workloads/common/http_errors.h"
#include "workloads/common/http_server.h"
#include "workloads/common/ssrf_guard.h"
#include "workloads/nlu/assistant.h"

namespace va::action_executor {

// An HTTP answer before it is written (the service library's).
using Reply = va::service::JsonReply;
// The service library's SSRF guard (common/ssrf_guard.h) and its errors as values.
using va::service::Destination;
using va::service::Error;
using va::service::Refusal;
using va::service::Resolver;
using va::service::Result;
using va::service::SsrfGuard;
using va::service::Url;

inline constexpr std::size_t kMaxResultBytes = std::size_t{64} * 1024;  // parsed as JSON up to this
inline constexpr std::size_t kMaxTextBytes = std::size_t{4} * 1024;  // of a body that is not JSON

struct ExecutorOptions {
  // IP literals the guard lets through although they are internal (ACTION_ALLOW_ADDRESSES).
  std::vector<std::string> allowedAddresses{};
  std::optional<va::service::Secret> signingSecret{};
  std::shared_ptr<const Resolver> resolver{};  // the system's when null
  int maxAttempts = 3;
  std::chrono::milliseconds backoffBase{200};
  int maxRedirects = 3;
};

// "v1=" and the lowercase hex HMAC-SHA256 of "<timestamp>.<body>".
std::string signRequest(const va::service::Secret& secret, std::string_view timestamp,
                        std::string_view body);

// Percent-encodes all but letters, digits, '-', '_' and '~' (and '.' unless `inPath`, where it
// could make a dot segment).
std::string urlEncode(std::string_view value, bool inPath);

class ActionExecutor {
 public:
  ActionExecutor(nlu::Assistant assistant, ExecutorOptions options, prometheus::Registry& registry);

  // Runs action `name` with the request body `body` (see above).
  [[nodiscard]] Reply run(std::string_view name, std::string_view body) const;

  void addRoutes(va::service::HttpServer& server) const;

  [[nodiscard]] const nlu::Assistant& assistant() const { return assistant_; }

 private:
  struct Outcome;
  [[nodiscard]] Outcome execute(const nlu::ActionSpec& action, std::string_view body) const;

  nlu::Assistant assistant_;
  ExecutorOptions options_;
  SsrfGuard guard_;
  prometheus::Family<prometheus::Counter>& runs_;
  prometheus::Family<prometheus::Histogram>& durations_;
};

}  // namespace va::action_executor
