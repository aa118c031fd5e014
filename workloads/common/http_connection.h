// One accepted connection of the HTTP server, served on a worker thread: reads and checks
// each request head itself (limits, 413/414/431 before httplib buffers anything), sets up the
// request's ids and log context, and hands the request to httplib for routing. Also answers
// 503 + Retry-After for connections the worker queue had no room for. Internal to HttpServer.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

#include "workloads/common/http_metrics.h"
#include "workloads/common/request_head.h"
#include "workloads/common/socket_stream.h"
#include "workloads/common/trace_context.h"

namespace va::service {

// What the routing hooks need to know about the request being served on this thread.
struct RequestScope {
  std::chrono::steady_clock::time_point start;
  std::string method;
  std::string target;
  std::string route = "none";  // the matched route pattern, set by the route wrapper
  std::string requestId;
  TraceContext span;         // this server's span for the request
  std::string parentSpanId;  // the caller's span, if it sent a valid traceparent
  const SocketStream* stream = nullptr;
};

// Null outside a request.
RequestScope* currentRequestScope();

struct ConnectionSettings {
  HeadLimits limits;
  std::size_t maxBodyBytes = 1U << 20U;
  std::chrono::milliseconds readTimeout{10000};
  std::chrono::milliseconds writeTimeout{10000};
  std::chrono::milliseconds idleTimeout{30000};
  std::size_t keepAliveMaxRequests = 100;
  std::chrono::seconds retryAfter{1};
};

class ConnectionHandler {
 public:
  // Runs httplib's parsing, routing and response writing for one request.
  using Process =
      std::function<bool(httplib::Stream& stream, bool closeConnection, bool& connectionClosed)>;

  // `othersWaiting` says whether connections are queued for a worker: an idle kept-alive
  // connection then closes so that its worker serves them.
  ConnectionHandler(ConnectionSettings settings, HttpMetrics& metrics, Process process,
                    std::function<bool()> othersWaiting);

  // Serves requests until the client closes, a limit or timeout ends the connection, or the
  // connection is idle while a stop is under way or others wait. Does not close the socket.
  void serve(int fd);
  // Answers 503 with Retry-After without queueing (runs on the accepting thread, briefly).
  void rejectOverloaded(int fd);

  // From now on idle connections close and responses say "Connection: close".
  void beginStop() { stopping_ = true; }
  [[nodiscard]] bool stopping() const { return stopping_; }
  [[nodiscard]] std::size_t inFlight() const { return inFlight_; }

 private:
  void reject(SocketStream& stream, int status, const std::string& method,
              const std::string& message, std::chrono::milliseconds linger);

  const ConnectionSettings settings_;
  HttpMetrics& metrics_;
  Process process_;
  std::function<bool()> othersWaiting_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> inFlight_{0};
};

// A request id from the client is kept if it is 1-128 characters of [A-Za-z0-9._:-].
bool isAcceptableRequestId(const std::string& id);

}  // namespace va::service
