// ClientImpl::stream(): a long GET driven through a curl multi handle, so that the loop wakes at
// least every 100 ms to honour a CancelToken and the idle timeout.
#include <curl/curl.h>

#include <chrono>
#include <exception>
#include <string>
#include <utility>

#include "operator/kube/client.h"
#include "operator/kube/client_metrics.h"
#include "operator/kube/curl_call.h"

namespace va::kube {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr int kPollMilliseconds = 100;
// A non-2xx body is a Status (small); an HTML error page from a proxy is cut here.
constexpr std::size_t kMaxErrorBody = std::size_t{64} * 1024;

struct CurlMultiDeleter {
  void operator()(CURLM* multi) const { curl_multi_cleanup(multi); }
};
using CurlMulti = std::unique_ptr<CURLM, CurlMultiDeleter>;

// Shared between the transfer loop and libcurl's callbacks (same thread).
struct StreamState {
  CURL* handle = nullptr;
  const LineHandler* onLine = nullptr;
  const CancelToken* cancel = nullptr;
  long status = 0;      // known from the first body byte on
  std::string partial;  // a line still waiting for its '\n' (or the error body for non-2xx)
  SteadyClock::time_point lastActivity;
  bool stopped = false;       // onLine returned false
  std::exception_ptr thrown;  // from onLine; rethrown once libcurl is out of the way
};

bool isSuccess(long status) { return status >= 200 && status <= 299; }

bool deliver(StreamState& state, std::string_view line) {
  try {
    if (!(*state.onLine)(line)) state.stopped = true;
  } catch (...) {
    state.thrown = std::current_exception();
    state.stopped = true;
  }
  return !state.stopped;
}

size_t onHeader(char* /*data*/, size_t size, size_t count, void* target) {
  static_cast<StreamState*>(target)->lastActivity = SteadyClock::now();
  return size * count;
}

size_t onBody(char* data, size_t size, size_t count, void* target) {
  auto& state = *static_cast<StreamState*>(target);
  const size_t bytes = size * count;
  state.lastActivity = SteadyClock::now();
  if (state.status == 0) curl_easy_getinfo(state.handle, CURLINFO_RESPONSE_CODE, &state.status);
  if (!isSuccess(state.status)) {
    const size_t room = kMaxErrorBody - std::min(kMaxErrorBody, state.partial.size());
    state.partial.append(data, std::min(room, bytes));
    return bytes;
  }
  if (state.cancel != nullptr && state.cancel->cancelled()) return 0;  // ends the transfer

  std::string_view chunk(data, bytes);
  while (!chunk.empty()) {
    const auto newline = chunk.find('\n');
    if (newline == std::string_view::npos) {
      state.partial.append(chunk);
      break;
    }
    bool more = true;
    if (state.partial.empty()) {
      more = deliver(state, chunk.substr(0, newline));
    } else {
      state.partial.append(chunk.substr(0, newline));
      more = deliver(state, state.partial);
      state.partial.clear();
    }
    if (!more) return 0;  // a short write makes libcurl end the transfer
    chunk.remove_prefix(newline + 1);
  }
  return bytes;
}

}  // namespace

Result<void, ApiError> ClientImpl::stream(std::string_view path, const LineHandler& onLine,
                                          const CancelToken* cancel) {
  const auto fail = [&](const ApiError& error) { return error.withRequest("GET", path); };
  if (path.empty() || path.front() != '/') {
    return fail(ApiError::encode("the path must start with \"/\""));
  }
  if (limiter_) limiter_->acquire();
  detail::CurlEasy handle(curl_easy_init());
  CurlMulti multi(curl_multi_init());
  if (!handle || !multi) return fail(ApiError::transport("libcurl could not create a handle"));

  detail::CurlSlist headerList;
  char errorBuffer[CURL_ERROR_SIZE] = {};
  detail::CallSpec spec{"GET", path, {}, {}, nullptr, bearerToken()};
  spec.compressed = false;
  if (auto prepared =
          detail::prepareHandle(handle.get(), config_, options_, spec, headerList, errorBuffer);
      !prepared) {
    return fail(prepared.error());
  }
  StreamState state;
  state.handle = handle.get();
  state.onLine = &onLine;
  state.cancel = cancel;
  state.lastActivity = SteadyClock::now();
  curl_easy_setopt(handle.get(), CURLOPT_WRITEFUNCTION, &onBody);
  curl_easy_setopt(handle.get(), CURLOPT_WRITEDATA, &state);
  curl_easy_setopt(handle.get(), CURLOPT_HEADERFUNCTION, &onHeader);
  curl_easy_setopt(handle.get(), CURLOPT_HEADERDATA, &state);
  if (curl_multi_add_handle(multi.get(), handle.get()) != CURLM_OK) {
    return fail(ApiError::transport("libcurl could not start the transfer"));
  }

  bool cancelled = false;
  bool idle = false;
  CURLMcode multiCode = CURLM_OK;
  while (true) {
    int running = 0;
    multiCode = curl_multi_perform(multi.get(), &running);
    if (multiCode != CURLM_OK || running == 0) break;
    if (cancel != nullptr && cancel->cancelled()) {
      cancelled = true;
      break;
    }
    if (SteadyClock::now() - state.lastActivity > options_.streamIdleTimeout) {
      idle = true;
      break;
    }
    multiCode = curl_multi_poll(multi.get(), nullptr, 0, kPollMilliseconds, nullptr);
    if (multiCode != CURLM_OK) break;
  }

  CURLcode result = CURLE_OK;
  int queued = 0;
  while (CURLMsg* message = curl_multi_info_read(multi.get(), &queued)) {
    if (message->msg == CURLMSG_DONE) result = message->data.result;
  }
  if (state.status == 0) curl_easy_getinfo(handle.get(), CURLINFO_RESPONSE_CODE, &state.status);
  const std::string retryAfter = detail::responseHeader(handle.get(), "Retry-After");
  curl_multi_remove_handle(multi.get(), handle.get());
  // A stream's length says nothing about the server's latency: it is counted, not timed.
  if (metrics_) metrics_->count("GET", static_cast<int>(state.status));
  if (limiter_ && state.status == 429) limiter_->onThrottled();

  if (state.thrown) std::rethrow_exception(state.thrown);  // onLine's own exception
  if (cancelled || state.stopped) return {};
  if (cancel != nullptr && cancel->cancelled() && result == CURLE_WRITE_ERROR) return {};
  if (idle) {
    return fail(ApiError::timeout("the stream was silent for longer than " +
                                  std::to_string(options_.streamIdleTimeout.count()) + " ms"));
  }
  if (multiCode != CURLM_OK) {
    return fail(ApiError::transport(std::string("libcurl: ") + curl_multi_strerror(multiCode)));
  }
  if (result != CURLE_OK) {
    std::string message = detail::curlMessage(result, errorBuffer);
    return fail(result == CURLE_OPERATION_TIMEDOUT ? ApiError::timeout(std::move(message))
                                                   : ApiError::transport(std::move(message)));
  }
  if (!isSuccess(state.status)) {
    return fail(ApiError::fromResponse(static_cast<int>(state.status), state.partial, retryAfter));
  }
  // The server ended the response cleanly after a last line without '\n': deliver it too.
  if (!state.partial.empty()) deliver(state, state.partial);
  if (state.thrown) std::rethrow_exception(state.thrown);
  return {};
}

}  // namespace va::kube
