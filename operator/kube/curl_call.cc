#include "operator/kube/curl_call.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <utility>

namespace va::kube::detail {
namespace {

constexpr std::chrono::minutes kTokenRereadPeriod{1};

// Adds a header line; returns false only when libcurl cannot allocate.
bool addHeader(CurlSlist& list, const std::string& line) {
  curl_slist* grown = curl_slist_append(list.get(), line.c_str());
  if (grown == nullptr) return false;
  static_cast<void>(list.release());
  list.reset(grown);
  return true;
}

}  // namespace

void initCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string lowerCase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

HandlePool::~HandlePool() {
  for (CURL* handle : idle_) curl_easy_cleanup(handle);
}

CURL* HandlePool::acquire() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      CURL* handle = idle_.back();
      idle_.pop_back();
      return handle;
    }
  }
  return curl_easy_init();
}

void HandlePool::release(CURL* handle) {
  {
    std::lock_guard lock(mutex_);
    if (idle_.size() < maxIdle_) {
      idle_.push_back(handle);
      return;
    }
  }
  curl_easy_cleanup(handle);
}

TokenSource::TokenSource(std::string path, std::string initial, TimeSource time)
    : path_(std::move(path)),
      time_(std::move(time)),
      token_(std::move(initial)),
      readAt_(time_.now()) {}

std::string TokenSource::token() {
  std::lock_guard lock(mutex_);
  const auto now = time_.now();
  if (now - readAt_ >= kTokenRereadPeriod) {
    readAt_ = now;
    std::ifstream file(path_);
    std::stringstream contents;
    contents << file.rdbuf();
    std::string fresh = contents.str();
    fresh.erase(fresh.find_last_not_of(" \t\r\n") + 1);
    if (file && !fresh.empty()) token_ = std::move(fresh);
  }
  return token_;
}

Result<void, ApiError> prepareHandle(CURL* handle, const RestConfig& config,
                                     const ClientOptions& options, const CallSpec& spec,
                                     CurlSlist& headerList, char* errorBuffer) {
  // reset() clears the options of the last call but keeps its connections and TLS sessions.
  curl_easy_reset(handle);
  CURLcode setup = CURLE_OK;
  const auto set = [&](CURLoption option, auto value) {
    if (setup == CURLE_OK) setup = curl_easy_setopt(handle, option, value);
  };

  errorBuffer[0] = '\0';
  const std::string url = config.server + std::string(spec.path);  // libcurl copies strings
  set(CURLOPT_ERRORBUFFER, errorBuffer);
  set(CURLOPT_URL, url.c_str());
  set(CURLOPT_PROTOCOLS_STR, "https,http");
  set(CURLOPT_PATH_AS_IS, 1L);  // the path is already escaped; curl must not rewrite it
  set(CURLOPT_NOSIGNAL, 1L);
  set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connectTimeout.count()));
  set(CURLOPT_TCP_KEEPALIVE, 1L);
  set(CURLOPT_USERAGENT, options.userAgent.c_str());
  // HTTP/2 when the server offers it in the TLS handshake (ALPN), else HTTP/1.1; plain http://
  // stays on HTTP/1.1.
  set(CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
  if (spec.compressed) set(CURLOPT_ACCEPT_ENCODING, "");  // what libcurl can decompress

  // TLS material goes to libcurl from memory; it copies the blobs.
  if (!config.caPem.empty()) {
    curl_blob ca{const_cast<char*>(config.caPem.data()), config.caPem.size(),  // NOLINT
                 CURL_BLOB_COPY};
    set(CURLOPT_CAINFO_BLOB, &ca);
    // The blob replaces the default CA file but not the default CA directory: trust only the
    // cluster's CA, as kubectl does.
    set(CURLOPT_CAPATH, static_cast<char*>(nullptr));
  }
  if (!config.clientCertPem.empty()) {
    curl_blob cert{const_cast<char*>(config.clientCertPem.data()),  // NOLINT
                   config.clientCertPem.size(), CURL_BLOB_COPY};
    curl_blob key{const_cast<char*>(config.clientKeyPem.data()),  // NOLINT
                  config.clientKeyPem.size(), CURL_BLOB_COPY};
    set(CURLOPT_SSLCERT_BLOB, &cert);
    set(CURLOPT_SSLCERTTYPE, "PEM");
    set(CURLOPT_SSLKEY_BLOB, &key);
    set(CURLOPT_SSLKEYTYPE, "PEM");
  }
  if (config.insecureSkipTlsVerify) {
    set(CURLOPT_SSL_VERIFYPEER, 0L);
    set(CURLOPT_SSL_VERIFYHOST, 0L);
  }

  const bool sendsBody =
      !spec.body.empty() || spec.method == "POST" || spec.method == "PUT" || spec.method == "PATCH";
  if (spec.method == "GET") {
    set(CURLOPT_HTTPGET, 1L);
  } else if (spec.method == "HEAD") {
    set(CURLOPT_NOBODY, 1L);  // a custom "HEAD" would wait for a body that never comes
  } else {
    const std::string methodName(spec.method);
    set(CURLOPT_CUSTOMREQUEST, methodName.c_str());
  }
  if (sendsBody) {
    set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(spec.body.size()));
    set(CURLOPT_POSTFIELDS, spec.body.data());
  }

  headerList.reset();
  bool headersOk = addHeader(headerList, "Accept: application/json");
  if (sendsBody) {
    const std::string_view type = spec.contentType.empty() ? "application/json" : spec.contentType;
    headersOk = headersOk && addHeader(headerList, "Content-Type: " + std::string(type));
  }
  // Without this libcurl waits for "100 Continue" before sending bodies above 1 KiB.
  headersOk = headersOk && addHeader(headerList, "Expect:");
  if (!spec.bearerToken.empty()) {
    headersOk = headersOk && addHeader(headerList, "Authorization: Bearer " + spec.bearerToken);
  }
  if (spec.extraHeaders != nullptr) {
    for (const auto& [name, value] : *spec.extraHeaders) {
      headersOk = headersOk && addHeader(headerList, std::string(name).append(": ").append(value));
    }
  }
  if (!headersOk) return ApiError::transport("out of memory building request headers");
  set(CURLOPT_HTTPHEADER, headerList.get());

  if (setup != CURLE_OK) {
    return ApiError::transport(std::string("libcurl rejected an option: ") +
                               curl_easy_strerror(setup));
  }
  return {};
}

std::string curlMessage(CURLcode code, const char* errorBuffer) {
  return errorBuffer != nullptr && errorBuffer[0] != '\0' ? std::string(errorBuffer)
                                                          : std::string(curl_easy_strerror(code));
}

std::string responseHeader(CURL* handle, const char* name) {
  curl_header* header = nullptr;
  if (curl_easy_header(handle, name, 0, CURLH_HEADER, -1, &header) != CURLHE_OK ||
      header == nullptr) {
    return {};
  }
  return header->value;
}

}  // namespace va::kube::detail
