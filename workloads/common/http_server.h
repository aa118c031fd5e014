// The HTTP server every component runs: httplib routing plus limits (body 413, header size and
// count 431), timeouts, a bounded worker queue that answers 503 + Retry-After when full,
// X-Request-Id and W3C traceparent handling, /healthz, /readyz, /metrics, request metrics,
// JSON error bodies and a graceful drain on SIGTERM.
//   HttpServer server(httpServerOptionsFrom(config));
//   server.post(R"(/v1/conversations/([^/]+)/messages)", handleMessage);
//   server.addReadinessCheck("redis", [&] { return redis.ping(); });
//   return server.runUntilSignal(config.durationMs("VA_DRAIN_TIMEOUT")).ok() ? 0 : 1;
#pragma once

#include <httplib.h>
#include <prometheus/registry.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "workloads/common/config.h"
#include "workloads/common/readiness.h"
#include "workloads/common/request_head.h"
#include "workloads/common/result.h"

namespace va::service {

struct HttpServerOptions {
  std::string host = "0.0.0.0";
  int port = 8080;  // 0 picks a free port; port() tells which
  std::size_t maxBodyBytes = 1U << 20U;
  HeadLimits headLimits;  // header size, count and line length: 431 beyond them
  std::chrono::milliseconds readTimeout{10000};   // for a whole head, and each body read
  std::chrono::milliseconds writeTimeout{10000};  // for each write
  std::chrono::milliseconds idleTimeout{30000};   // between requests on a kept-alive connection
  std::size_t keepAliveMaxRequests = 100;
  std::size_t workers = 8;         // each serves one connection at a time
  std::size_t queueCapacity = 64;  // accepted connections waiting for a worker; then 503
  std::chrono::seconds retryAfter{1};
};

// Declares VA_LISTEN_ADDR, VA_PORT, VA_HTTP_MAX_BODY_BYTES, VA_HTTP_MAX_HEADER_BYTES,
// VA_HTTP_MAX_HEADER_COUNT, VA_HTTP_READ_TIMEOUT, VA_HTTP_WRITE_TIMEOUT, VA_HTTP_IDLE_TIMEOUT,
// VA_HTTP_WORKERS, VA_HTTP_QUEUE_CAPACITY and VA_DRAIN_TIMEOUT, and reads them back.
void declareHttpServerConfig(ConfigSpec& spec, int defaultPort);
HttpServerOptions httpServerOptionsFrom(const Config& config);

class HttpServer {
 public:
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

  // Metrics go to `registry` (a new one if null), which /metrics serves.
  explicit HttpServer(HttpServerOptions options,
                      std::shared_ptr<prometheus::Registry> registry = nullptr);
  // Stops without waiting for a drain timeout, but still waits for running handlers.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Routes are httplib regular expressions; the pattern is the metrics' handler label.
  // Register them before start(). A handler that throws gets a JSON 500.
  HttpServer& get(const std::string& pattern, Handler handler);
  HttpServer& post(const std::string& pattern, Handler handler);
  HttpServer& put(const std::string& pattern, Handler handler);
  HttpServer& patch(const std::string& pattern, Handler handler);
  HttpServer& del(const std::string& pattern, Handler handler);

  void addReadinessCheck(std::string name, ReadinessChecks::Check check);
  prometheus::Registry& registry();

  // Binds and serves on background threads. Fails (naming the address) if it cannot bind.
  Status start();
  // The bound port, after start().
  [[nodiscard]] int port() const;

  // Stops accepting (new connections are refused), closes idle connections, lets in-flight
  // requests finish for up to `drainTimeout`. On a timeout the error says how many requests
  // are still running; they keep running, and the process should exit rather than wait.
  Status shutdown(std::chrono::milliseconds drainTimeout);

  // start() if needed, wait for SIGTERM or SIGINT (or requestShutdown()), then shutdown().
  Status runUntilSignal(std::chrono::milliseconds drainTimeout);
  // Wakes runUntilSignal() as a signal would; safe from any thread.
  void requestShutdown();

  struct Stats {
    std::size_t inFlight = 0;  // requests being processed
    std::size_t busyWorkers = 0;
    std::size_t queued = 0;    // connections waiting for a worker
    std::size_t rejected = 0;  // connections answered 503 because the queue was full
    bool draining = false;
  };
  [[nodiscard]] Stats stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace va::service
