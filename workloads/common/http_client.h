// An HTTP client over libcurl for calls between components and to external APIs: reused
// connections (one curl handle per thread), connect and total timeouts, bounded retries with
// exponential backoff and full jitter, and the caller's X-Request-Id and traceparent passed on.
//   HttpClient client({.totalTimeout = std::chrono::seconds(2)});
//   auto reply = client.send({.method = "POST", .url = url,
//                             .headers = {{"Content-Type", "application/json"}},
//                             .body = json.dump()});
//   if (!reply) return reply.error().toError();   // timeout, refused, ...
//   if (!reply->ok()) ...                          // any HTTP status is a value
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "workloads/common/result.h"

namespace va::service {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  HttpHeaders headers;
  std::string body;
  // Retry after a response or a timeout? Default: by method (GET, HEAD, PUT, DELETE, OPTIONS).
  // A POST carrying an idempotency key may say yes.
  std::optional<bool> idempotent;
};

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;  // names as received; header() compares case-insensitively
  std::string body;

  [[nodiscard]] std::optional<std::string> header(std::string_view name) const;
  [[nodiscard]] bool ok() const { return status >= 200 && status < 300; }
};

enum class HttpErrorKind {
  kInvalidRequest,     // bad URL or method; nothing was sent
  kConnectionRefused,  // nothing listens there
  kConnectFailed,      // name resolution or routing failed
  kTimeout,            // connect or total timeout
  kTls,
  kTransport,  // the connection broke or the reply was malformed
  kResponseTooLarge,
  kHttpStatus,  // only from requireSuccess(): a non-2xx reply
};

const char* toString(HttpErrorKind kind);

struct HttpError {
  HttpErrorKind kind;
  std::string message;
  int attempts = 1;
  std::optional<HttpResponse> response;  // for kHttpStatus

  [[nodiscard]] Error toError() const;
};

using HttpResult = Result<HttpResponse, HttpError>;

// Turns a non-2xx response into an HttpError of kind kHttpStatus.
HttpResult requireSuccess(HttpResult result);

struct HttpClientOptions {
  std::chrono::milliseconds connectTimeout{2000};
  std::chrono::milliseconds totalTimeout{10000};  // per attempt
  int maxAttempts = 3;
  std::chrono::milliseconds backoffBase{100};
  std::chrono::milliseconds backoffCap{2000};
  std::size_t maxResponseBytes = 16U << 20U;
  // Send X-Request-Id and traceparent from the log context and record client spans.
  bool propagateContext = true;
  std::string userAgent = "va-service";
  // How to wait between attempts; tests record the delays instead.
  std::function<void(std::chrono::milliseconds)> sleep;
  // Pinned addresses as curl's CURLOPT_RESOLVE entries, "host:port:address" ("[address]" for
  // IPv6): the call connects there without a DNS lookup of its own and without a proxy, so an
  // address checked before the call is the one used (no DNS rebinding in between). A pinned
  // call uses a curl handle of its own: no DNS cache or connection is shared with other calls.
  std::vector<std::string> resolve{};
};
// Redirects are never followed: a 3xx is returned like any other status.

class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options = {});

  [[nodiscard]] HttpResult send(const HttpRequest& request) const;
  [[nodiscard]] HttpResult get(std::string url, HttpHeaders headers = {}) const;
  [[nodiscard]] HttpResult postJson(std::string url, std::string body,
                                    HttpHeaders headers = {}) const;

  [[nodiscard]] const HttpClientOptions& options() const { return options_; }

 private:
  HttpClientOptions options_;
};

// The delay before retry number `retry` (1-based): uniform in [0, min(cap, base * 2^(retry-1))].
std::chrono::milliseconds backoffDelay(int retry, std::chrono::milliseconds base,
                                       std::chrono::milliseconds cap);

}  // namespace va::service
