// Calls to the Kubernetes API with typed errors. Client is the interface the operator codes
// against (tests substitute fakes); ClientImpl speaks HTTPS through libcurl.
//   ClientImpl client(*loadDefaultConfig());
//   auto cm = client.get(resourcePath("", "v1", "configmaps", "default", "settings"));
//   if (!cm && cm.error().isNotFound()) { /* create it */ }
//   auto applied = client.apply(path, desired, "va-operator", /*force=*/true);
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "operator/kube/api_error.h"
#include "operator/kube/kubeconfig.h"
#include "operator/kube/rate_limiter.h"
#include "operator/kube/resource_path.h"
#include "operator/kube/result.h"
#include "operator/kube/time_source.h"

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace va::kube {

namespace detail {
class HandlePool;
class RequestMetrics;
class TokenSource;
}  // namespace detail

template <typename T>
using ApiResult = Result<T, ApiError>;

using Headers = std::vector<std::pair<std::string, std::string>>;

// A 2xx answer from the API server.
struct Response {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased; repeats joined with ", "
  std::string body;
  int httpVersion = 0;  // 11 for HTTP/1.1, 20 for HTTP/2; 0 when unknown

  // The header's value, "" when absent; `name` in any case, e.g. header("Content-Type").
  [[nodiscard]] std::string header(std::string_view name) const;
};

// Cancels a streaming call from another thread (checked at least every 100 ms).
class CancelToken {
 public:
  void cancel();
  [[nodiscard]] bool cancelled() const;

 private:
  std::atomic<bool> cancelled_{false};
};

// Receives one line of a streamed body (without the trailing newline); return false to stop.
using LineHandler = std::function<bool(std::string_view line)>;

// The PATCH flavours of the API server, by Content-Type.
enum class PatchType {
  kApply,           // server-side apply, application/apply-patch+yaml (JSON is valid YAML)
  kMerge,           // RFC 7386 JSON merge patch, application/merge-patch+json
  kJson,            // RFC 6902 JSON patch (a list of operations), application/json-patch+json
  kStrategicMerge,  // built-in kinds only, application/strategic-merge-patch+json
};

struct PatchOptions {
  // Who owns the fields written: required for kApply, optional for the others.
  std::string fieldManager{};
  // kApply only: take over fields that another manager owns instead of failing with 409.
  bool force = false;
};

// The Content-Type that the API server expects for `type`.
std::string_view patchContentType(PatchType type);

class Client {
 public:
  virtual ~Client() = default;

  // One HTTP call; `path` starts with "/" and may carry a query. A non-2xx answer, a transport
  // failure or a timeout is an ApiError.
  virtual ApiResult<Response> request(std::string_view method, std::string_view path,
                                      std::string_view body = {}, std::string_view contentType = {},
                                      const Headers& headers = {}) = 0;

  // The object at `path`.
  virtual ApiResult<nlohmann::json> get(std::string_view path) = 0;
  // The List at a collection `path`, following `continue` tokens so that `items` holds every
  // item (pages of 500 unless the path sets `limit`). The List's metadata is the first page's.
  virtual ApiResult<nlohmann::json> list(std::string_view path) = 0;
  // POST to a collection path; returns the object as stored.
  virtual ApiResult<nlohmann::json> create(std::string_view path, const nlohmann::json& object) = 0;
  // PUT to an object path; metadata.resourceVersion in `object` guards against lost updates.
  virtual ApiResult<nlohmann::json> replace(std::string_view path,
                                            const nlohmann::json& object) = 0;
  // DELETE; `options` is an optional DeleteOptions body (null sends none). Returns what the
  // server returns: the object (when deletion is deferred by finalizers) or a Status.
  virtual ApiResult<nlohmann::json> remove(std::string_view path,
                                           const nlohmann::json& options = nullptr) = 0;

  // A long-running GET (a watch) that hands each newline-terminated line of the body to onLine
  // until the server ends the response, onLine returns false or `cancel` is cancelled (all three:
  // success). A non-2xx answer is an ApiError with the server's Status; a connection that drops
  // mid-stream or goes silent for longer than ClientOptions::streamIdleTimeout is a
  // transport/timeout error.
  virtual Result<void, ApiError> stream(std::string_view path, const LineHandler& onLine,
                                        const CancelToken* cancel = nullptr) = 0;

  // PATCH an object path with `body` as `type`; returns the object as stored. The default sends
  // it through request(), so a fake that answers request() gets patches for free.
  virtual ApiResult<nlohmann::json> patch(std::string_view path, PatchType type,
                                          const nlohmann::json& body,
                                          const PatchOptions& options = {});

  // Conveniences over patch() and replace(); not virtual, so a fake overrides those two only.

  // Server-side apply of `object` (a full intent: apiVersion, kind, metadata.name and the
  // fields this manager owns) to its object path: creates it when absent, else merges, and
  // leaves it untouched (same resourceVersion) when nothing changes. Without `force`, fields
  // owned by another manager with other values give 409 Conflict naming them in causes().
  ApiResult<nlohmann::json> apply(std::string_view path, const nlohmann::json& object,
                                  std::string_view fieldManager, bool force = false);
  // RFC 7386 merge patch: objects merge, null deletes a key, lists are replaced whole.
  ApiResult<nlohmann::json> mergePatch(std::string_view path, const nlohmann::json& patch);
  // RFC 6902 JSON patch, e.g. [{"op":"test","path":"/metadata/resourceVersion","value":"7"},
  // {"op":"replace","path":"/data/a","value":"b"}].
  ApiResult<nlohmann::json> jsonPatch(std::string_view path, const nlohmann::json& operations);

  // The status subresource (`path` is the object's path, without "/status"): writes there
  // change only .status, and writes elsewhere ignore .status.
  ApiResult<nlohmann::json> replaceStatus(std::string_view path, const nlohmann::json& object);
  ApiResult<nlohmann::json> applyStatus(std::string_view path, const nlohmann::json& object,
                                        std::string_view fieldManager, bool force = false);
  ApiResult<nlohmann::json> patchStatus(std::string_view path, PatchType type,
                                        const nlohmann::json& body,
                                        const PatchOptions& options = {});
};

// `path` + "/status", before any query: "/apis/apps/v1/namespaces/a/deployments/b/status".
std::string statusPath(std::string_view path);

struct ClientOptions {
  // The deadline of one attempt; retries (below) each get their own.
  std::chrono::milliseconds requestTimeout = std::chrono::seconds(30);
  std::chrono::milliseconds connectTimeout = std::chrono::seconds(10);
  std::string userAgent = "va-operator";
  // Idle connections kept for reuse; calls beyond this many at once open extra connections.
  std::size_t maxIdleConnections = 4;
  // stream(): the longest silence (no bytes at all) before the stream is a timeout error. A
  // watch with allowWatchBookmarks gets a bookmark about once a minute.
  std::chrono::milliseconds streamIdleTimeout = std::chrono::minutes(5);

  // Retries in request(), for answers that are safe to repeat:
  //  - 429 for any method (the server did not run it), after Retry-After (at most
  //    maxRetryAfter) or else the backoff;
  //  - 5xx and a connection lost mid-call, for GET and HEAD only;
  //  - connection refused or a host that does not resolve, for any method (nothing was sent).
  // A timeout is not retried: the caller's time is spent. client-go retries up to 10 times; 5
  // keeps a failing call under about 6 s of backoff (or 5 Retry-After waits).
  int maxRetries = 5;
  // Backoff before retry n (0-based): retryBaseDelay * 2^n, at most maxRetryDelay, plus up to
  // 25% random jitter so that clients do not retry in lockstep.
  std::chrono::milliseconds retryBaseDelay = std::chrono::milliseconds(200);
  std::chrono::milliseconds maxRetryDelay = std::chrono::seconds(10);
  std::chrono::seconds maxRetryAfter = std::chrono::seconds(60);

  // The client-side limit (every attempt and stream start takes a token), adapting to 429s;
  // 20 QPS with bursts of 30 by default, qps <= 0 turns it off. See rate_limiter.h.
  RateLimit rateLimit;

  // Where rest_client_requests_total and rest_client_request_duration_seconds go; none when
  // null.
  std::shared_ptr<prometheus::Registry> metrics;

  // Time for retry waits, the rate limit and token-file re-reads; std::chrono::steady_clock
  // when unset. Tests pass a fake so that nothing sleeps for real.
  TimeSource time;
};

// The libcurl client. Thread-safe: concurrent calls each take a connection from a small pool
// and put it back afterwards, so TLS sessions are reused; HTTP/2 is used when the server offers
// it. Certificates and keys go to TLS from memory. A RestConfig::tokenFile is re-read at most
// once a minute (rotated tokens). request() waits for the client-side rate limit and retries
// what is safe to retry (see ClientOptions); every attempt is counted in the metrics.
class ClientImpl final : public Client {
 public:
  explicit ClientImpl(RestConfig config, ClientOptions options = {});
  ~ClientImpl() override;
  ClientImpl(const ClientImpl&) = delete;
  ClientImpl& operator=(const ClientImpl&) = delete;

  ApiResult<Response> request(std::string_view method, std::string_view path,
                              std::string_view body = {}, std::string_view contentType = {},
                              const Headers& headers = {}) override;
  ApiResult<nlohmann::json> get(std::string_view path) override;
  ApiResult<nlohmann::json> list(std::string_view path) override;
  ApiResult<nlohmann::json> create(std::string_view path, const nlohmann::json& object) override;
  ApiResult<nlohmann::json> replace(std::string_view path, const nlohmann::json& object) override;
  ApiResult<nlohmann::json> remove(std::string_view path,
                                   const nlohmann::json& options = nullptr) override;
  // Each stream has its own connection (not from the pool) and no total timeout. An exception
  // thrown by onLine ends the stream and propagates to the caller.
  Result<void, ApiError> stream(std::string_view path, const LineHandler& onLine,
                                const CancelToken* cancel = nullptr) override;

  [[nodiscard]] const RestConfig& config() const { return config_; }

 private:
  struct Attempt;

  Attempt attempt(std::string_view method, std::string_view path, std::string_view body,
                  std::string_view contentType, const Headers& headers);
  // How long to wait before retry number `retry` (0-based) of a failed attempt; nullopt when
  // it must not be retried.
  [[nodiscard]] std::optional<TimeSource::Clock::duration> retryDelay(std::string_view method,
                                                                      const Attempt& failed,
                                                                      int retry) const;
  [[nodiscard]] std::string bearerToken() const;

  const RestConfig config_;
  const ClientOptions options_;
  std::unique_ptr<detail::HandlePool> handles_;
  std::unique_ptr<detail::TokenSource> token_;       // null without RestConfig::tokenFile
  std::unique_ptr<AdaptiveRateLimiter> limiter_;     // null when the limit is off
  std::unique_ptr<detail::RequestMetrics> metrics_;  // null without ClientOptions::metrics
};

// The server's version (gitVersion of GET /version), e.g. "v1.35.0".
ApiResult<std::string> serverVersion(Client& client);

}  // namespace va::kube
