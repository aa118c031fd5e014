// ClientImpl's HTTP calls: one attempt through a pooled curl handle, and the retry loop around
// it (rate limit, Retry-After, backoff, metrics).
#include <curl/curl.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <utility>

#include "operator/kube/client.h"
#include "operator/kube/client_metrics.h"
#include "operator/kube/curl_call.h"
#include "operator/kube/retry.h"

namespace va::kube {
namespace {

// A backoff's random share on top of its exponential base.
constexpr double kRetryJitter = 0.25;

size_t appendToString(char* data, size_t size, size_t count, void* target) {
  static_cast<std::string*>(target)->append(data, size * count);
  return size * count;
}

ClientOptions withDefaults(ClientOptions options) {
  if (!options.time.now || !options.time.sleepFor) options.time = TimeSource::steady();
  return options;
}

int httpVersion(CURL* handle) {
  long version = 0;
  curl_easy_getinfo(handle, CURLINFO_HTTP_VERSION, &version);
  switch (version) {
    case CURL_HTTP_VERSION_1_0:
      return 10;
    case CURL_HTTP_VERSION_1_1:
      return 11;
    case CURL_HTTP_VERSION_2_0:
      return 20;
    case CURL_HTTP_VERSION_3:
      return 30;
    default:
      return 0;
  }
}

}  // namespace

struct ClientImpl::Attempt {
  ApiResult<Response> result;
  CURLcode curlCode = CURLE_OK;  // why no answer arrived, when none did
};

ClientImpl::ClientImpl(RestConfig config, ClientOptions options)
    : config_(std::move(config)),
      options_(withDefaults(std::move(options))),
      handles_(std::make_unique<detail::HandlePool>(options_.maxIdleConnections)) {
  detail::initCurlOnce();
  if (!config_.tokenFile.empty()) {
    token_ = std::make_unique<detail::TokenSource>(config_.tokenFile, config_.bearerToken,
                                                   options_.time);
  }
  if (options_.rateLimit.qps > 0) {
    limiter_ = std::make_unique<AdaptiveRateLimiter>(options_.rateLimit, options_.time);
  }
  if (options_.metrics) {
    try {
      metrics_ = std::make_unique<detail::RequestMetrics>(*options_.metrics,
                                                          detail::hostOf(config_.server));
    } catch (const std::exception& e) {
      // Only a family of the same name and another type in the registry gets here: a wiring
      // mistake that must not stop the client.
      std::fprintf(stderr, "va::kube::ClientImpl: REST client metrics disabled: %s\n", e.what());
    }
  }
}

ClientImpl::~ClientImpl() = default;

std::string ClientImpl::bearerToken() const {
  return token_ ? token_->token() : config_.bearerToken;
}

ApiResult<Response> ClientImpl::request(std::string_view method, std::string_view path,
                                        std::string_view body, std::string_view contentType,
                                        const Headers& headers) {
  if (path.empty() || path.front() != '/') {
    return ApiError::encode("the path must start with \"/\"").withRequest(method, path);
  }
  for (int retry = 0;; ++retry) {
    if (limiter_) limiter_->acquire();
    const auto started = options_.time.now();
    Attempt outcome = attempt(method, path, body, contentType, headers);
    if (metrics_) {
      const int code = outcome.result ? outcome.result->status : outcome.result.error().code();
      metrics_->observe(method, code, options_.time.now() - started);
    }
    if (outcome.result) return std::move(outcome.result);
    if (limiter_ && outcome.result.error().isTooManyRequests()) limiter_->onThrottled();
    if (retry >= options_.maxRetries) return std::move(outcome.result);
    const auto delay = retryDelay(method, outcome, retry);
    if (!delay) return std::move(outcome.result);
    options_.time.sleepFor(*delay);
  }
}

std::optional<TimeSource::Clock::duration> ClientImpl::retryDelay(std::string_view method,
                                                                  const Attempt& failed,
                                                                  int retry) const {
  const ApiError& error = failed.result.error();
  const bool idempotent = method == "GET" || method == "HEAD";
  const Backoff backoff{options_.retryBaseDelay, 2.0, kRetryJitter, options_.maxRetries + 1,
                        options_.maxRetryDelay};
  const auto wait = [&]() -> TimeSource::Clock::duration {
    if (const auto seconds = error.retryAfterSeconds()) {
      return std::min<std::chrono::seconds>(std::chrono::seconds(*seconds), options_.maxRetryAfter);
    }
    return backoff.delay(retry, jitterFraction());
  };

  if (error.isTooManyRequests()) return wait();
  if (error.isServerError()) return idempotent ? std::optional(wait()) : std::nullopt;
  switch (failed.curlCode) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
      return wait();  // refused or unresolvable: nothing reached the server
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return idempotent ? std::optional(wait()) : std::nullopt;  // lost mid-call
    default:
      return std::nullopt;  // timeouts, TLS and setup failures
  }
}

ClientImpl::Attempt ClientImpl::attempt(std::string_view method, std::string_view path,
                                        std::string_view body, std::string_view contentType,
                                        const Headers& headers) {
  const auto fail = [&](const ApiError& error, CURLcode code = CURLE_OK) {
    return Attempt{error.withRequest(method, path), code};
  };
  CURL* handle = handles_->acquire();
  if (handle == nullptr) return fail(ApiError::transport("libcurl could not create a handle"));
  struct GiveBack {
    detail::HandlePool& pool;
    CURL* handle;
    ~GiveBack() { pool.release(handle); }
  } giveBack{*handles_, handle};

  detail::CurlSlist headerList;
  char errorBuffer[CURL_ERROR_SIZE] = {};
  const detail::CallSpec spec{method, path, body, contentType, &headers, bearerToken()};
  if (auto prepared =
          detail::prepareHandle(handle, config_, options_, spec, headerList, errorBuffer);
      !prepared) {
    return fail(prepared.error());
  }
  std::string responseBody;
  curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.requestTimeout.count()));
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, &appendToString);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &responseBody);

  const CURLcode performed = curl_easy_perform(handle);
  // headerList dies with this call; leave libcurl no pointer to it.
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, static_cast<curl_slist*>(nullptr));
  if (performed != CURLE_OK) {
    std::string message = detail::curlMessage(performed, errorBuffer);
    return fail(performed == CURLE_OPERATION_TIMEDOUT ? ApiError::timeout(std::move(message))
                                                      : ApiError::transport(std::move(message)),
                performed);
  }

  Response response;
  long status = 0;
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
  response.status = static_cast<int>(status);
  response.httpVersion = httpVersion(handle);
  for (curl_header* h = curl_easy_nextheader(handle, CURLH_HEADER, -1, nullptr); h != nullptr;
       h = curl_easy_nextheader(handle, CURLH_HEADER, -1, h)) {
    std::string& value = response.headers[detail::lowerCase(h->name)];
    value += value.empty() ? std::string(h->value) : ", " + std::string(h->value);
  }
  response.body = std::move(responseBody);

  if (response.status < 200 || response.status > 299) {
    return fail(
        ApiError::fromResponse(response.status, response.body, response.header("Retry-After")));
  }
  return Attempt{std::move(response)};
}

}  // namespace va::kube
