#include "operator/kube/client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <mutex>
#include <sstream>

namespace va::kube {
namespace {

constexpr std::chrono::minutes kTokenRereadPeriod{1};
constexpr std::string_view kDefaultPageSize = "500";

std::string lowerCase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

size_t appendToString(char* data, size_t size, size_t count, void* target) {
  static_cast<std::string*>(target)->append(data, size * count);
  return size * count;
}

struct CurlSlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using CurlSlist = std::unique_ptr<curl_slist, CurlSlistDeleter>;

// Adds a header line; returns false only when libcurl cannot allocate.
bool addHeader(CurlSlist& list, const std::string& line) {
  curl_slist* grown = curl_slist_append(list.get(), line.c_str());
  if (grown == nullptr) return false;
  static_cast<void>(list.release());
  list.reset(grown);
  return true;
}

void initCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool hasQueryKey(std::string_view path, std::string_view key) {
  const auto query = path.find('?');
  if (query == std::string_view::npos) return false;
  const std::string needle = std::string(key) + "=";
  for (auto at = path.find(needle, query); at != std::string_view::npos;
       at = path.find(needle, at + 1)) {
    if (path[at - 1] == '?' || path[at - 1] == '&') return true;
  }
  return false;
}

}  // namespace

std::string Response::header(std::string_view name) const {
  const auto it = headers.find(lowerCase(name));
  return it == headers.end() ? std::string() : it->second;
}

// Easy handles kept between calls: a handle keeps its connections and TLS sessions, so taking
// an idle one reuses them.
class ClientImpl::HandlePool {
 public:
  explicit HandlePool(std::size_t maxIdle) : maxIdle_(maxIdle) {}
  ~HandlePool() {
    for (CURL* handle : idle_) curl_easy_cleanup(handle);
  }
  HandlePool(const HandlePool&) = delete;
  HandlePool& operator=(const HandlePool&) = delete;

  CURL* acquire() {
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

  void release(CURL* handle) {
    {
      std::lock_guard lock(mutex_);
      if (idle_.size() < maxIdle_) {
        idle_.push_back(handle);
        return;
      }
    }
    curl_easy_cleanup(handle);
  }

 private:
  const std::size_t maxIdle_;
  std::mutex mutex_;
  std::vector<CURL*> idle_;
};

// A bearer token read from a file and re-read periodically, as client-go does for projected
// service-account tokens; the last good token stays in use when a re-read fails.
class ClientImpl::TokenSource {
 public:
  TokenSource(std::string path, std::string initial)
      : path_(std::move(path)),
        token_(std::move(initial)),
        readAt_(std::chrono::steady_clock::now()) {}

  std::string token() {
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
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

 private:
  const std::string path_;
  std::mutex mutex_;
  std::string token_;
  std::chrono::steady_clock::time_point readAt_;
};

ClientImpl::ClientImpl(RestConfig config, ClientOptions options)
    : config_(std::move(config)),
      options_(std::move(options)),
      handles_(std::make_unique<HandlePool>(options_.maxIdleConnections)) {
  initCurlOnce();
  if (!config_.tokenFile.empty()) {
    token_ = std::make_unique<TokenSource>(config_.tokenFile, config_.bearerToken);
  }
}

ClientImpl::~ClientImpl() = default;

ApiResult<Response> ClientImpl::request(std::string_view method, std::string_view path,
                                        std::string_view body, std::string_view contentType,
                                        const Headers& headers) {
  const auto fail = [&](const ApiError& error) { return error.withRequest(method, path); };
  if (path.empty() || path.front() != '/') {
    return fail(ApiError::encode("the path must start with \"/\""));
  }

  CURL* handle = handles_->acquire();
  if (handle == nullptr) return fail(ApiError::transport("libcurl could not create a handle"));
  struct GiveBack {
    HandlePool& pool;
    CURL* handle;
    ~GiveBack() { pool.release(handle); }
  } giveBack{*handles_, handle};
  // reset() clears the options of the last call but keeps its connections and TLS sessions.
  curl_easy_reset(handle);

  CURLcode setup = CURLE_OK;
  const auto set = [&](CURLoption option, auto value) {
    if (setup == CURLE_OK) setup = curl_easy_setopt(handle, option, value);
  };

  const std::string url = config_.server + std::string(path);
  char errorBuffer[CURL_ERROR_SIZE] = {};
  std::string responseBody;
  set(CURLOPT_ERRORBUFFER, errorBuffer);
  set(CURLOPT_URL, url.c_str());
  set(CURLOPT_PROTOCOLS_STR, "https,http");
  set(CURLOPT_PATH_AS_IS, 1L);  // the path is already escaped; curl must not rewrite it
  set(CURLOPT_NOSIGNAL, 1L);
  set(CURLOPT_TIMEOUT_MS, static_cast<long>(options_.requestTimeout.count()));
  set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connectTimeout.count()));
  set(CURLOPT_TCP_KEEPALIVE, 1L);
  set(CURLOPT_USERAGENT, options_.userAgent.c_str());
  set(CURLOPT_ACCEPT_ENCODING, "");  // whatever libcurl can decompress; lists shrink a lot
  set(CURLOPT_WRITEFUNCTION, &appendToString);
  set(CURLOPT_WRITEDATA, &responseBody);

  // TLS material goes to libcurl from memory; it copies the blobs.
  if (!config_.caPem.empty()) {
    curl_blob ca{const_cast<char*>(config_.caPem.data()), config_.caPem.size(),  // NOLINT
                 CURL_BLOB_COPY};
    set(CURLOPT_CAINFO_BLOB, &ca);
    // The blob replaces the default CA file but not the default CA directory: trust only the
    // cluster's CA, as kubectl does.
    set(CURLOPT_CAPATH, static_cast<char*>(nullptr));
  }
  if (!config_.clientCertPem.empty()) {
    curl_blob cert{const_cast<char*>(config_.clientCertPem.data()),  // NOLINT
                   config_.clientCertPem.size(), CURL_BLOB_COPY};
    curl_blob key{const_cast<char*>(config_.clientKeyPem.data()),  // NOLINT
                  config_.clientKeyPem.size(), CURL_BLOB_COPY};
    set(CURLOPT_SSLCERT_BLOB, &cert);
    set(CURLOPT_SSLCERTTYPE, "PEM");
    set(CURLOPT_SSLKEY_BLOB, &key);
    set(CURLOPT_SSLKEYTYPE, "PEM");
  }
  if (config_.insecureSkipTlsVerify) {
    set(CURLOPT_SSL_VERIFYPEER, 0L);
    set(CURLOPT_SSL_VERIFYHOST, 0L);
  }

  const bool sendsBody = !body.empty() || method == "POST" || method == "PUT" || method == "PATCH";
  if (method == "GET") {
    set(CURLOPT_HTTPGET, 1L);
  } else {
    const std::string methodName(method);
    set(CURLOPT_CUSTOMREQUEST, methodName.c_str());  // libcurl copies strings
  }
  if (sendsBody) {
    set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    set(CURLOPT_POSTFIELDS, body.data());
  }

  CurlSlist headerList;
  bool headersOk = addHeader(headerList, "Accept: application/json");
  if (sendsBody) {
    headersOk = headersOk &&
                addHeader(headerList,
                          "Content-Type: " +
                              std::string(contentType.empty() ? "application/json" : contentType));
  }
  // Without this libcurl waits for "100 Continue" before sending bodies above 1 KiB.
  headersOk = headersOk && addHeader(headerList, "Expect:");
  if (const std::string token = token_ ? token_->token() : config_.bearerToken; !token.empty()) {
    headersOk = headersOk && addHeader(headerList, "Authorization: Bearer " + token);
  }
  for (const auto& [name, value] : headers) {
    headersOk = headersOk && addHeader(headerList, std::string(name).append(": ").append(value));
  }
  if (!headersOk) return fail(ApiError::transport("out of memory building request headers"));
  set(CURLOPT_HTTPHEADER, headerList.get());

  if (setup != CURLE_OK) {
    return fail(ApiError::transport(std::string("libcurl rejected an option: ") +
                                    curl_easy_strerror(setup)));
  }

  const CURLcode performed = curl_easy_perform(handle);
  // headerList dies with this call; leave libcurl no pointer to it.
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, static_cast<curl_slist*>(nullptr));
  if (performed != CURLE_OK) {
    // The error buffer says more than curl_easy_strerror (host, port, TLS reason) when set.
    std::string message = errorBuffer[0] != '\0' ? errorBuffer : curl_easy_strerror(performed);
    return fail(performed == CURLE_OPERATION_TIMEDOUT ? ApiError::timeout(std::move(message))
                                                      : ApiError::transport(std::move(message)));
  }

  Response response;
  long status = 0;
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
  response.status = static_cast<int>(status);
  for (curl_header* h = curl_easy_nextheader(handle, CURLH_HEADER, -1, nullptr); h != nullptr;
       h = curl_easy_nextheader(handle, CURLH_HEADER, -1, h)) {
    std::string& value = response.headers[lowerCase(h->name)];
    value += value.empty() ? std::string(h->value) : ", " + std::string(h->value);
  }
  response.body = std::move(responseBody);

  if (response.status < 200 || response.status > 299) {
    return fail(
        ApiError::fromResponse(response.status, response.body, response.header("Retry-After")));
  }
  return response;
}

ApiResult<nlohmann::json> ClientImpl::jsonCall(std::string_view method, std::string_view path,
                                               const nlohmann::json* body) {
  std::string encoded;
  if (body != nullptr) {
    try {
      encoded = body->dump();
    } catch (const nlohmann::json::exception&) {
      // The exception names the offending byte, which may belong to a secret.
      return ApiError::encode("the request body contains a string that is not valid UTF-8")
          .withRequest(method, path);
    }
  }
  auto response = request(method, path, encoded, body != nullptr ? "application/json" : "");
  if (!response) return response.error();
  if (response->body.empty()) return nlohmann::json();
  auto parsed = nlohmann::json::parse(response->body, nullptr, false);
  if (parsed.is_discarded()) {
    return ApiError::decode(response->status, "response body is not JSON (Content-Type \"" +
                                                  response->header("Content-Type") + "\")")
        .withRequest(method, path);
  }
  return parsed;
}

ApiResult<nlohmann::json> ClientImpl::get(std::string_view path) {
  return jsonCall("GET", path, nullptr);
}

ApiResult<nlohmann::json> ClientImpl::list(std::string_view path) {
  const std::string firstPage =
      hasQueryKey(path, "limit") ? std::string(path) : withQuery(path, "limit", kDefaultPageSize);
  nlohmann::json result;
  std::string pagePath = firstPage;
  while (true) {
    auto page = jsonCall("GET", pagePath, nullptr);
    if (!page) return page.error();
    if (!page->is_object() || !page->contains("items") ||
        !(page->at("items").is_array() || page->at("items").is_null())) {
      return ApiError::decode(200, "the answer is not a List (no items array)")
          .withRequest("GET", pagePath);
    }
    // The server sends "items": null for an empty list.
    if (page->at("items").is_null()) (*page)["items"] = nlohmann::json::array();
    std::string continueToken;
    if (const auto meta = page->find("metadata"); meta != page->end() && meta->is_object()) {
      if (const auto token = meta->find("continue"); token != meta->end() && token->is_string()) {
        continueToken = token->get<std::string>();
      }
    }
    if (result.is_null()) {
      result = std::move(*page);
    } else {
      auto& items = result["items"];
      for (auto& item : page->at("items")) items.push_back(std::move(item));
    }
    if (continueToken.empty()) break;
    pagePath = withQuery(firstPage, "continue", continueToken);
  }
  if (auto meta = result.find("metadata"); meta != result.end() && meta->is_object()) {
    meta->erase("continue");
    meta->erase("remainingItemCount");
  }
  return result;
}

ApiResult<nlohmann::json> ClientImpl::create(std::string_view path, const nlohmann::json& object) {
  return jsonCall("POST", path, &object);
}

ApiResult<nlohmann::json> ClientImpl::replace(std::string_view path, const nlohmann::json& object) {
  return jsonCall("PUT", path, &object);
}

ApiResult<nlohmann::json> ClientImpl::remove(std::string_view path, const nlohmann::json& options) {
  return jsonCall("DELETE", path, options.is_null() ? nullptr : &options);
}

ApiResult<std::string> serverVersion(Client& client) {
  auto version = client.get("/version");
  if (!version) return version.error();
  if (const auto git = version->find("gitVersion");
      version->is_object() && git != version->end() && git->is_string()) {
    return git->get<std::string>();
  }
  return ApiError::decode(200, "the answer has no gitVersion").withRequest("GET", "/version");
}

}  // namespace va::kube
