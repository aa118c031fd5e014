// libcurl plumbing shared by ClientImpl::request() and ClientImpl::stream(), internal to
// va::kube: the pool of easy handles, the rotating token file, and the one function that points
// an easy handle at the API server (URL, TLS material, auth and common headers).
#pragma once

#include <curl/curl.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "operator/kube/api_error.h"
#include "operator/kube/client.h"
#include "operator/kube/kubeconfig.h"
#include "operator/kube/time_source.h"

namespace va::kube::detail {

struct CurlSlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using CurlSlist = std::unique_ptr<curl_slist, CurlSlistDeleter>;

struct CurlEasyDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
using CurlEasy = std::unique_ptr<CURL, CurlEasyDeleter>;

void initCurlOnce();

std::string lowerCase(std::string_view text);

// Easy handles kept between calls: a handle keeps its connections and TLS sessions, so taking
// an idle one reuses them.
class HandlePool {
 public:
  explicit HandlePool(std::size_t maxIdle) : maxIdle_(maxIdle) {}
  ~HandlePool();
  HandlePool(const HandlePool&) = delete;
  HandlePool& operator=(const HandlePool&) = delete;

  CURL* acquire();
  void release(CURL* handle);

 private:
  const std::size_t maxIdle_;
  std::mutex mutex_;
  std::vector<CURL*> idle_;
};

// A bearer token read from a file and re-read at most once a minute, as client-go does for
// projected service-account tokens; the last good token stays in use when a re-read fails.
class TokenSource {
 public:
  TokenSource(std::string path, std::string initial, TimeSource time);
  std::string token();

 private:
  const std::string path_;
  const TimeSource time_;
  std::mutex mutex_;
  std::string token_;
  TimeSource::Clock::time_point readAt_;
};

// What one call sends, apart from the body bytes themselves.
struct CallSpec {
  std::string_view method;
  std::string_view path;
  std::string_view body;         // must outlive the transfer (libcurl does not copy it)
  std::string_view contentType;  // empty: application/json when a body is sent
  const Headers* extraHeaders = nullptr;
  std::string bearerToken;
  bool compressed = true;  // offer gzip and friends (not for streams: the server may buffer)
};

// Resets `handle` and sets every option a call to the API server needs. `headerList` and
// `errorBuffer` (CURL_ERROR_SIZE bytes) must outlive the transfer. No timeouts beyond the
// connect timeout and no write callback are set: the caller adds those.
Result<void, ApiError> prepareHandle(CURL* handle, const RestConfig& config,
                                     const ClientOptions& options, const CallSpec& spec,
                                     CurlSlist& headerList, char* errorBuffer);

// The message of a failed transfer: the error buffer (host, port, TLS reason) when libcurl
// filled it, else curl_easy_strerror.
std::string curlMessage(CURLcode code, const char* errorBuffer);

// The answer's header `name` (any case), "" when absent.
std::string responseHeader(CURL* handle, const char* name);

}  // namespace va::kube::detail
