#include "workloads/common/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <random>
#include <thread>

#include "workloads/common/logging.h"
#include "workloads/common/tracing.h"

namespace va::service {
namespace {

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool hasHeader(const HttpHeaders& headers, std::string_view name) {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const auto& header) { return equalsIgnoreCase(header.first, name); });
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' ||
                           text.back() == '\n')) {
    text.remove_suffix(1);
  }
  return text;
}

bool isToken(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

bool isIdempotent(const HttpRequest& request) {
  if (request.idempotent) return *request.idempotent;
  const std::string& m = request.method;
  return m == "GET" || m == "HEAD" || m == "PUT" || m == "DELETE" || m == "OPTIONS";
}

bool retryableStatus(int status) {
  return status == 429 || status == 502 || status == 503 || status == 504;
}

void initCurlOnce() {
  static std::once_flag globalInit;
  std::call_once(globalInit, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct EasyDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};

// One curl easy handle per thread: curl keeps that handle's connections open between calls.
CURL* threadHandle() {
  initCurlOnce();
  struct Handle {
    CURL* curl = curl_easy_init();
    ~Handle() { curl_easy_cleanup(curl); }
  };
  thread_local Handle handle;
  if (handle.curl != nullptr) curl_easy_reset(handle.curl);
  return handle.curl;
}

struct Received {
  std::string body;
  HttpHeaders headers;
  std::size_t limit = 0;
  bool tooLarge = false;
};

std::size_t onBody(char* data, std::size_t size, std::size_t count, void* user) {
  auto* received = static_cast<Received*>(user);
  const std::size_t bytes = size * count;
  if (received->body.size() + bytes > received->limit) {
    received->tooLarge = true;
    return 0;
  }
  received->body.append(data, bytes);
  return bytes;
}

std::size_t onHeader(char* data, std::size_t size, std::size_t count, void* user) {
  auto* received = static_cast<Received*>(user);
  const std::size_t bytes = size * count;
  const std::string_view line(data, bytes);
  if (line.rfind("HTTP/", 0) == 0) {
    received->headers.clear();  // a new response (after 100 Continue): keep the final one only
  } else if (const auto colon = line.find(':'); colon != std::string_view::npos) {
    received->headers.emplace_back(std::string(trim(line.substr(0, colon))),
                                   std::string(trim(line.substr(colon + 1))));
  }
  return bytes;
}

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

struct Attempt {
  std::optional<HttpResponse> response;
  std::optional<HttpError> error;
  bool retryable = false;
};

std::string withoutQuery(const std::string& url) { return url.substr(0, url.find_first_of("?#")); }

Attempt attemptOnce(const HttpClientOptions& options, const HttpRequest& request,
                    const HttpHeaders& extraHeaders) {
  Attempt attempt;
  // A pinned call gets a fresh handle: its CURLOPT_RESOLVE entries stay in the handle's DNS
  // cache, and must not answer for later calls of this thread.
  std::unique_ptr<CURL, EasyDeleter> ownHandle;
  if (!options.resolve.empty()) {
    initCurlOnce();
    ownHandle.reset(curl_easy_init());
  }
  CURL* curl = options.resolve.empty() ? threadHandle() : ownHandle.get();
  if (curl == nullptr) {
    attempt.error = HttpError{HttpErrorKind::kTransport, "curl_easy_init failed", 1, {}};
    return attempt;
  }
  std::unique_ptr<curl_slist, SlistDeleter> headerList;
  const auto append = [&](const std::string& line) {
    headerList.reset(curl_slist_append(headerList.release(), line.c_str()));
  };
  for (const HttpHeaders* headers : {&request.headers, &extraHeaders}) {
    for (const auto& [name, value] : *headers) {
      std::string line = name;
      line += ": ";
      line += value;
      append(line);
    }
  }
  append("Expect:");  // no 100-continue round trip for larger bodies
  std::unique_ptr<curl_slist, SlistDeleter> resolveList;
  for (const std::string& entry : options.resolve) {
    resolveList.reset(curl_slist_append(resolveList.release(), entry.c_str()));
  }

  Received received;
  received.limit = options.maxResponseBytes;
  char errorText[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options.connectTimeout.count()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options.totalTimeout.count()));
  curl_easy_setopt(curl, CURLOPT_USERAGENT, options.userAgent.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headerList.get());
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errorText);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &onBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &received);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &onHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &received);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  if (resolveList) {
    curl_easy_setopt(curl, CURLOPT_RESOLVE, resolveList.get());
    curl_easy_setopt(curl, CURLOPT_PROXY, "");  // the pinned address, not a proxy's lookup
  }
  if (request.method == "GET") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else {
    if (request.method != "POST")
      curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    if (request.method == "POST" || !request.body.empty()) {
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
    }
  }

  const CURLcode code = curl_easy_perform(curl);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  if (ownHandle) {  // cleaned up after the locals these point to
    curl_easy_setopt(curl, CURLOPT_RESOLVE, nullptr);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
  }
  if (code == CURLE_OK) {
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    attempt.response = HttpResponse{static_cast<int>(status), std::move(received.headers),
                                    std::move(received.body)};
    attempt.retryable = isIdempotent(request) && retryableStatus(attempt.response->status);
    return attempt;
  }

  // Whether the request may have left: if not, any method can be retried safely.
  curl_off_t pretransfer = 0;
  curl_easy_getinfo(curl, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
  const bool notSent = pretransfer == 0;
  const std::string detail = errorText[0] != '\0' ? errorText : curl_easy_strerror(code);
  HttpErrorKind kind = HttpErrorKind::kTransport;
  switch (code) {
    case CURLE_COULDNT_CONNECT: {
      long osErrno = 0;
      curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &osErrno);
      kind = osErrno == ECONNREFUSED ? HttpErrorKind::kConnectionRefused
                                     : HttpErrorKind::kConnectFailed;
      attempt.retryable = true;
      break;
    }
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      kind = HttpErrorKind::kConnectFailed;
      attempt.retryable = true;
      break;
    case CURLE_OPERATION_TIMEDOUT:
      kind = HttpErrorKind::kTimeout;
      attempt.retryable = notSent || isIdempotent(request);
      break;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      kind = HttpErrorKind::kInvalidRequest;
      break;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
      kind = HttpErrorKind::kTls;
      break;
    case CURLE_WRITE_ERROR:
      kind = received.tooLarge ? HttpErrorKind::kResponseTooLarge : HttpErrorKind::kTransport;
      break;
    default:
      kind = HttpErrorKind::kTransport;
      attempt.retryable = notSent || isIdempotent(request);
      break;
  }
  attempt.error = HttpError{kind, request.method + " " + withoutQuery(request.url) + ": " + detail,
                            1, std::nullopt};
  return attempt;
}

}  // namespace

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (equalsIgnoreCase(key, name)) return value;
  }
  return std::nullopt;
}

const char* toString(HttpErrorKind kind) {
  switch (kind) {
    case HttpErrorKind::kInvalidRequest:
      return "invalid request";
    case HttpErrorKind::kConnectionRefused:
      return "connection refused";
    case HttpErrorKind::kConnectFailed:
      return "connect failed";
    case HttpErrorKind::kTimeout:
      return "timeout";
    case HttpErrorKind::kTls:
      return "tls";
    case HttpErrorKind::kTransport:
      return "transport";
    case HttpErrorKind::kResponseTooLarge:
      return "response too large";
    case HttpErrorKind::kHttpStatus:
      return "http status";
  }
  return "unknown";
}

Error HttpError::toError() const {
  return Error(std::string(toString(kind)) + ": " + message +
               (attempts > 1 ? " (after " + std::to_string(attempts) + " attempts)" : ""));
}

HttpResult requireSuccess(HttpResult result) {
  if (!result.ok() || result->ok()) return result;
  HttpResponse response = std::move(result).value();
  std::string message = "HTTP " + std::to_string(response.status);
  return HttpError{HttpErrorKind::kHttpStatus, std::move(message), 1, std::move(response)};
}

std::chrono::milliseconds backoffDelay(int retry, std::chrono::milliseconds base,
                                       std::chrono::milliseconds cap) {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  const int shift = std::clamp(retry - 1, 0, 30);
  const std::int64_t ceiling =
      std::min<std::int64_t>(cap.count(), base.count() * (std::int64_t{1} << shift));
  if (ceiling <= 0) return std::chrono::milliseconds(0);
  std::uniform_int_distribution<std::int64_t> pick(0, ceiling);
  return std::chrono::milliseconds(pick(engine));
}

HttpClient::HttpClient(HttpClientOptions options) : options_(std::move(options)) {
  if (!options_.sleep) {
    options_.sleep = [](std::chrono::milliseconds delay) { std::this_thread::sleep_for(delay); };
  }
  options_.maxAttempts = std::max(1, options_.maxAttempts);
}

HttpResult HttpClient::send(const HttpRequest& request) const {
  if (!isToken(request.method)) {
    return HttpError{
        HttpErrorKind::kInvalidRequest, "bad method \"" + request.method + "\"", 0, {}};
  }
  const LogContext& context = currentLogContext();
  for (int attemptNumber = 1;; ++attemptNumber) {
    HttpHeaders extra;
    std::optional<SpanData> span;
    if (options_.propagateContext) {
      if (!context.requestId.empty() && !hasHeader(request.headers, "X-Request-Id")) {
        extra.emplace_back("X-Request-Id", context.requestId);
      }
      const TraceContext trace = context.trace.valid() ? childOf(context.trace) : newRootTrace();
      if (!hasHeader(request.headers, "traceparent")) {
        extra.emplace_back("traceparent", formatTraceparent(trace));
      }
      if (trace.sampled()) {
        span = SpanData{trace.traceId,
                        trace.spanId,
                        context.trace.valid() ? context.trace.spanId : "",
                        request.method,
                        SpanKind::kClient,
                        unixNanos(std::chrono::system_clock::now()),
                        0,
                        {{"http.method", request.method}, {"http.url", withoutQuery(request.url)}},
                        false};
      }
    }
    Attempt attempt = attemptOnce(options_, request, extra);
    if (span) {
      span->endUnixNano = unixNanos(std::chrono::system_clock::now());
      if (attempt.response) {
        span->attributes.emplace_back("http.status_code", std::to_string(attempt.response->status));
        span->error = attempt.response->status >= 500;
      } else {
        span->attributes.emplace_back("error.type", toString(attempt.error->kind));
        span->error = true;
      }
      recordSpan(std::move(*span));
    }
    if (!attempt.retryable || attemptNumber >= options_.maxAttempts) {
      if (attempt.response) return std::move(*attempt.response);
      attempt.error->attempts = attemptNumber;
      return std::move(*attempt.error);
    }
    options_.sleep(backoffDelay(attemptNumber, options_.backoffBase, options_.backoffCap));
  }
}

HttpResult HttpClient::get(std::string url, HttpHeaders headers) const {
  return send(HttpRequest{"GET", std::move(url), std::move(headers), {}, std::nullopt});
}

HttpResult HttpClient::postJson(std::string url, std::string body, HttpHeaders headers) const {
  if (!hasHeader(headers, "Content-Type")) headers.emplace_back("Content-Type", "application/json");
  return send(
      HttpRequest{"POST", std::move(url), std::move(headers), std::move(body), std::nullopt});
}

}  // namespace va::service
