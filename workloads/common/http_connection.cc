#include "workloads/common/http_connection.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <vector>

#include "workloads/common/http_errors.h"
#include "workloads/common/logging.h"

namespace va::service {
namespace {

using Clock = std::chrono::steady_clock;

thread_local RequestScope* tRequestScope = nullptr;

class RequestScopeGuard {
 public:
  explicit RequestScopeGuard(RequestScope* scope) { tRequestScope = scope; }
  ~RequestScopeGuard() { tRequestScope = nullptr; }
  RequestScopeGuard(const RequestScopeGuard&) = delete;
  RequestScopeGuard& operator=(const RequestScopeGuard&) = delete;
};

// How long to keep reading what a rejected client still sends before closing.
constexpr auto kRejectLinger = std::chrono::milliseconds(1000);
constexpr std::size_t kRejectDrainBytes = 8U << 20U;
// The overload path runs on the accepting thread: it may only wait very briefly.
constexpr auto kOverloadWait = std::chrono::milliseconds(20);

}  // namespace

RequestScope* currentRequestScope() { return tRequestScope; }

bool isAcceptableRequestId(const std::string& id) {
  return !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
           c == ':';
  });
}

ConnectionHandler::ConnectionHandler(ConnectionSettings settings, HttpMetrics& metrics,
                                     Process process, std::function<bool()> othersWaiting)
    : settings_(settings),
      metrics_(metrics),
      process_(std::move(process)),
      othersWaiting_(std::move(othersWaiting)) {}

void ConnectionHandler::serve(int fd) {
  SocketStream stream(fd, settings_.readTimeout, settings_.writeTimeout);
  // A client that connected gets its first request served; a kept-alive idle one may be
  // closed (clients reconnect) when the server stops or other connections wait.
  const std::function<bool()> stopWaiting = [this] { return stopping_.load(); };
  const std::function<bool()> yieldIdle = [this] {
    return stopping_.load() || (othersWaiting_ && othersWaiting_());
  };
  for (std::size_t served = 0; served < settings_.keepAliveMaxRequests; ++served) {
    // Wait for a request (idle time, given up when a stop begins), then for its whole head
    // (the read timeout from its first byte, so a slow trickle cannot hold a worker).
    const auto idleDeadline =
        Clock::now() + (served == 0 ? settings_.readTimeout : settings_.idleTimeout);
    std::optional<Clock::time_point> headDeadline;
    HeadScan scan;
    for (;;) {
      scan = scanRequestHead(stream.buffered(), settings_.limits);
      if (scan.status != HeadStatus::kIncomplete) break;
      const bool idle = stream.buffered().empty();
      if (!idle && !headDeadline) headDeadline = Clock::now() + settings_.readTimeout;
      const auto filled = idle ? stream.fill(idleDeadline, served == 0 ? stopWaiting : yieldIdle)
                               : stream.fill(*headDeadline);
      if (filled == SocketStream::Fill::kData) continue;
      if (filled == SocketStream::Fill::kTimeout && !idle) {
        reject(stream, 408, "", "request head not received within the read timeout", kRejectLinger);
      }
      return;
    }
    const RequestHead& head = scan.head;
    if (scan.status == HeadStatus::kRequestLineTooLong) {
      reject(stream, 414, head.method, scan.reason, kRejectLinger);
      return;
    }
    if (scan.status == HeadStatus::kHeadersTooLarge) {
      reject(stream, 431, head.method, scan.reason, kRejectLinger);
      return;
    }
    if (const auto length = head.contentLength(); length && *length > settings_.maxBodyBytes) {
      reject(stream, 413, head.method,
             "body of " + std::to_string(*length) + " bytes exceeds the limit of " +
                 std::to_string(settings_.maxBodyBytes) + " bytes",
             kRejectLinger);
      return;
    }

    RequestScope scope;
    scope.start = Clock::now();
    scope.method = head.method;
    scope.target = head.target;
    scope.stream = &stream;
    const auto clientId = head.header("X-Request-Id");
    scope.requestId = clientId && isAcceptableRequestId(*clientId) ? *clientId : newTraceId();
    const auto incoming = parseTraceparent(head.header("traceparent").value_or(""));
    if (incoming) {
      scope.span = childOf(*incoming);
      scope.parentSpanId = incoming->spanId;
    } else {
      scope.span = newRootTrace();
    }
    const RequestScopeGuard guard(&scope);
    const ScopedLogContext logContext(LogContext{scope.requestId, "", scope.span});

    // The budget covers head and body as read from the wire (chunk framing included).
    stream.beginRequest(head.length + settings_.maxBodyBytes);
    const bool closeAfter = served + 1 >= settings_.keepAliveMaxRequests || stopping_;
    bool closed = false;
    ++inFlight_;
    metrics_.requestStarted();
    const bool ok = process_(stream, closeAfter, closed);
    metrics_.requestFinished();
    --inFlight_;
    if (stream.budgetExceeded()) {
      stream.drainForClose(kRejectLinger, kRejectDrainBytes);
      return;
    }
    if (!ok || closed || closeAfter || stream.failed()) return;
  }
}

void ConnectionHandler::rejectOverloaded(int fd) {
  SocketStream stream(fd, kOverloadWait, settings_.writeTimeout);
  // Read what has arrived: it names the method for the metrics, and a socket closed with
  // unread bytes would reset the connection instead of delivering the 503.
  const auto deadline = Clock::now() + kOverloadWait;
  while (scanRequestHead(stream.buffered(), settings_.limits).status == HeadStatus::kIncomplete &&
         stream.fill(deadline) == SocketStream::Fill::kData) {
  }
  const HeadScan scan = scanRequestHead(stream.buffered(), settings_.limits);
  reject(stream, 503, scan.head.method, "the server is busy; retry later", kOverloadWait);
}

void ConnectionHandler::reject(SocketStream& stream, int status, const std::string& method,
                               const std::string& message, std::chrono::milliseconds linger) {
  std::vector<std::pair<std::string, std::string>> headers;
  if (status == 503)
    headers.emplace_back("Retry-After", std::to_string(settings_.retryAfter.count()));
  stream.writeAll(rawErrorResponse(status, errorCodeForStatus(status), message, headers));
  metrics_.observe("none", method, status, 0.0);
  if (status == 503) {
    spdlog::debug("rejected a connection with 503: {}", message);
  } else {
    spdlog::info("rejected a request with {}: {}", status, message);
  }
  stream.drainForClose(linger, kRejectDrainBytes);
}

}  // namespace va::service
