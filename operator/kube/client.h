// Calls to the Kubernetes API with typed errors. Client is the interface the operator codes
// against (tests substitute fakes); ClientImpl speaks HTTPS through libcurl.
//   ClientImpl client(*loadDefaultConfig());
//   auto cm = client.get(resourcePath("", "v1", "configmaps", "default", "settings"));
//   if (!cm && cm.error().isNotFound()) { /* create it */ }
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "operator/kube/api_error.h"
#include "operator/kube/kubeconfig.h"
#include "operator/kube/resource_path.h"
#include "operator/kube/result.h"

namespace va::kube {

template <typename T>
using ApiResult = Result<T, ApiError>;

using Headers = std::vector<std::pair<std::string, std::string>>;

// A 2xx answer from the API server.
struct Response {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased; repeats joined with ", "
  std::string body;

  // The header's value, "" when absent; `name` in any case, e.g. header("Content-Type").
  [[nodiscard]] std::string header(std::string_view name) const;
};

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
};

struct ClientOptions {
  std::chrono::milliseconds requestTimeout = std::chrono::seconds(30);
  std::chrono::milliseconds connectTimeout = std::chrono::seconds(10);
  std::string userAgent = "va-operator";
  // Idle connections kept for reuse; calls beyond this many at once open extra connections.
  std::size_t maxIdleConnections = 4;
};

// The libcurl client. Thread-safe: concurrent calls each take a connection from a small pool
// and put it back afterwards, so TLS sessions are reused. Certificates and keys go to TLS from
// memory. A RestConfig::tokenFile is re-read at most once a minute (rotated tokens).
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

  [[nodiscard]] const RestConfig& config() const { return config_; }

 private:
  class HandlePool;
  class TokenSource;

  ApiResult<nlohmann::json> jsonCall(std::string_view method, std::string_view path,
                                     const nlohmann::json* body);

  const RestConfig config_;
  const ClientOptions options_;
  std::unique_ptr<HandlePool> handles_;
  std::unique_ptr<TokenSource> token_;  // null without RestConfig::tokenFile
};

// The server's version (gitVersion of GET /version), e.g. "v1.35.0".
ApiResult<std::string> serverVersion(Client& client);

}  // namespace va::kube
