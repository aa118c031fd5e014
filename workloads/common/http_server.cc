#include "workloads/common/http_server.h"

#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <mutex>
#include <thread>

#include "workloads/common/bounded_task_queue.h"
#include "workloads/common/http_connection.h"
#include "workloads/common/http_errors.h"
#include "workloads/common/http_metrics.h"
#include "workloads/common/tracing.h"

namespace va::service {
namespace {

using Clock = std::chrono::steady_clock;

// Set while the accepting thread runs a connection the queue had no room for.
thread_local bool tOverloaded = false;

// httplib::Server with our connection loop in place of its own (process_and_close_socket
// is a private virtual: overridable, though not callable, from here).
class RoutingServer : public httplib::Server {
 public:
  using OnConnection = std::function<void(int fd, bool overloaded)>;
  explicit RoutingServer(OnConnection onConnection) : onConnection_(std::move(onConnection)) {}

  bool processRequest(httplib::Stream& stream, bool closeConnection, bool& connectionClosed) {
    return process_request(stream, closeConnection, connectionClosed, nullptr);
  }

 private:
  bool process_and_close_socket(socket_t sock) override {
    onConnection_(sock, tOverloaded);
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
    return true;
  }

  OnConnection onConnection_;
};

// httplib deletes the queue it is given when listening ends; the real one is the server's.
class QueueRef : public httplib::TaskQueue {
 public:
  explicit QueueRef(BoundedTaskQueue& queue) : queue_(queue) {}
  void enqueue(std::function<void()> fn) override { queue_.enqueue(std::move(fn)); }
  void shutdown() override { queue_.shutdown(); }

 private:
  BoundedTaskQueue& queue_;
};

std::atomic<int> gSignalWakeFd{-1};

extern "C" void onShutdownSignal(int /*signal*/) {
  const int savedErrno = errno;
  const int fd = gSignalWakeFd.load();
  const char byte = 1;
  if (fd >= 0 && ::write(fd, &byte, 1) < 0) {
    // Nothing to do in a signal handler; the pipe is non-blocking and one byte is enough.
  }
  errno = savedErrno;
}

bool isProbeRoute(const std::string& route) {
  return route == "/healthz" || route == "/readyz" || route == "/metrics";
}

std::string pathOf(const std::string& target) { return target.substr(0, target.find('?')); }

}  // namespace

class HttpServer::Impl {
 public:
  Impl(HttpServerOptions options, std::shared_ptr<prometheus::Registry> registry)
      : options_(std::move(options)),
        registry_(registry ? std::move(registry) : std::make_shared<prometheus::Registry>()),
        metrics_(*registry_),
        server_([this](int fd, bool overloaded) {
          if (overloaded) {
            connections_.rejectOverloaded(fd);
          } else {
            connections_.serve(fd);
          }
        }),
        connections_(
            ConnectionSettings{options_.headLimits, options_.maxBodyBytes, options_.readTimeout,
                               options_.writeTimeout, options_.idleTimeout,
                               options_.keepAliveMaxRequests, options_.retryAfter},
            metrics_,
            [this](httplib::Stream& stream, bool closeConnection, bool& closed) {
              return server_.processRequest(stream, closeConnection, closed);
            },
            [this] { return queue_ && queue_->stats().queued > 0; }) {
    if (::pipe2(wakePipe_, O_CLOEXEC | O_NONBLOCK) != 0) {
      wakePipe_[0] = wakePipe_[1] = -1;
    }
    installHooks();
    installProbes();
  }

  ~Impl() {
    stopAccepting();
    if (listener_.joinable()) listener_.join();
    for (const int fd : wakePipe_) {
      if (fd >= 0) ::close(fd);
    }
  }

  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void route(const std::string& method, const std::string& pattern, Handler handler) {
    auto wrapped = [pattern, handler = std::move(handler)](const httplib::Request& req,
                                                           httplib::Response& res) {
      if (RequestScope* scope = currentRequestScope()) scope->route = pattern;
      handler(req, res);
    };
    if (method == "GET") {
      server_.Get(pattern, std::move(wrapped));
    } else if (method == "POST") {
      server_.Post(pattern, std::move(wrapped));
    } else if (method == "PUT") {
      server_.Put(pattern, std::move(wrapped));
    } else if (method == "PATCH") {
      server_.Patch(pattern, std::move(wrapped));
    } else if (method == "DELETE") {
      server_.Delete(pattern, std::move(wrapped));
    }
  }

  Status start() {
    if (started_) return Error("the HTTP server is already started");
    queue_ = std::make_unique<BoundedTaskQueue>(options_.workers, options_.queueCapacity,
                                                [](const BoundedTaskQueue::Task& task) {
                                                  tOverloaded = true;
                                                  task();
                                                  tOverloaded = false;
                                                });
    server_.new_task_queue = [this] { return new QueueRef(*queue_); };
    const std::string address = options_.host + ":" + std::to_string(options_.port);
    errno = 0;
    if (options_.port == 0) {
      port_ = server_.bind_to_any_port(options_.host);
    } else {
      port_ = server_.bind_to_port(options_.host, options_.port) ? options_.port : -1;
    }
    if (port_ <= 0) {
      return Error("cannot listen on " + address + ": " +
                   (errno != 0 ? std::strerror(errno) : "bind failed"));
    }
    listener_ = std::thread([this] {
      server_.listen_after_bind();
      const std::lock_guard lock(mutex_);
      listenerFinished_ = true;
      listenerDone_.notify_all();
    });
    // stop() only works once httplib's loop runs; wait for it.
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (!server_.is_running()) {
      {
        const std::lock_guard lock(mutex_);
        if (listenerFinished_) return Error("the HTTP server on " + address + " stopped at once");
      }
      if (Clock::now() > deadline) return Error("the HTTP server on " + address + " did not start");
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    started_ = true;
    spdlog::info("listening on {}:{}", options_.host, port_);
    return {};
  }

  Status shutdown(std::chrono::milliseconds drainTimeout) {
    if (!started_) return {};
    stopAccepting();
    std::unique_lock lock(mutex_);
    if (!listenerDone_.wait_for(lock, drainTimeout, [&] { return listenerFinished_; })) {
      return Error("drain timed out after " + std::to_string(drainTimeout.count()) + "ms with " +
                   std::to_string(connections_.inFlight()) + " requests in flight");
    }
    lock.unlock();
    if (listener_.joinable()) listener_.join();
    return {};
  }

  Status runUntilSignal(std::chrono::milliseconds drainTimeout) {
    if (!started_) {
      if (Status started = start(); !started.ok()) return started;
    }
    if (wakePipe_[0] < 0) return Error("cannot wait for signals: no wake-up pipe");
    struct sigaction action {};
    action.sa_handler = &onShutdownSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    struct sigaction previousTerm {};
    struct sigaction previousInt {};
    gSignalWakeFd = wakePipe_[1];
    sigaction(SIGTERM, &action, &previousTerm);
    sigaction(SIGINT, &action, &previousInt);
    pollfd entry{wakePipe_[0], POLLIN, 0};
    while (::poll(&entry, 1, -1) < 0 && errno == EINTR) {
    }
    sigaction(SIGTERM, &previousTerm, nullptr);
    sigaction(SIGINT, &previousInt, nullptr);
    gSignalWakeFd = -1;
    char sink[64];
    while (::read(wakePipe_[0], sink, sizeof(sink)) > 0) {
    }
    spdlog::info("shutting down: draining {} requests for up to {}ms", connections_.inFlight(),
                 drainTimeout.count());
    Status drained = shutdown(drainTimeout);
    if (drained.ok()) {
      spdlog::info("drained; stopped");
    } else {
      spdlog::error("{}", drained.error().message());
    }
    return drained;
  }

  void requestShutdown() {
    const char byte = 1;
    if (wakePipe_[1] >= 0 && ::write(wakePipe_[1], &byte, 1) < 0) {
      // Full pipe: a wake-up is already pending.
    }
  }

  Stats stats() const {
    Stats stats;
    stats.inFlight = connections_.inFlight();
    stats.draining = connections_.stopping();
    if (queue_) {
      const auto queue = queue_->stats();
      stats.busyWorkers = queue.busy;
      stats.queued = queue.queued;
      stats.rejected = queue.rejected;
    }
    return stats;
  }

  int port() const { return port_; }
  prometheus::Registry& registry() { return *registry_; }
  ReadinessChecks& readiness() { return readiness_; }

 private:
  void stopAccepting() {
    connections_.beginStop();
    if (started_ && !stopCalled_.exchange(true)) server_.stop();
  }

  void installHooks() {
    // httplib's default sets SO_REUSEPORT, which lets a second server bind the same port
    // silently and share its traffic; SO_REUSEADDR alone still allows a quick restart.
    server_.set_socket_options([](socket_t sock) {
      const int yes = 1;
      ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    });
    // Replies go out at once: with Nagle's algorithm a kept-alive connection's small reply waits
    // for the client's delayed ACK (about 40 ms on Linux). Accepted sockets inherit the option.
    server_.set_tcp_nodelay(true);
    server_.set_payload_max_length(options_.maxBodyBytes);
    server_.set_read_timeout(options_.readTimeout);
    server_.set_write_timeout(options_.writeTimeout);
    server_.set_error_handler(httplib::Server::HandlerWithResponse(
        [](const httplib::Request& /*req*/, httplib::Response& res) {
          const RequestScope* scope = currentRequestScope();
          // httplib reads a chunked body past our budget as a broken request (400).
          if (scope != nullptr && scope->stream != nullptr && scope->stream->budgetExceeded()) {
            res.status = 413;
            res.set_header("Connection", "close");
          }
          if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
          setJsonError(res, res.status, errorCodeForStatus(res.status), reasonPhrase(res.status));
          return httplib::Server::HandlerResponse::Handled;
        }));
    server_.set_exception_handler(
        [](const httplib::Request& req, httplib::Response& res, std::exception_ptr error) {
          try {
            std::rethrow_exception(std::move(error));
          } catch (const std::exception& e) {
            spdlog::error("handler for {} {} threw: {}", req.method, req.path, e.what());
          } catch (...) {
            spdlog::error("handler for {} {} threw a non-exception", req.method, req.path);
          }
          setJsonError(res, 500, "internal", "internal error");
        });
    server_.set_post_routing_handler([](const httplib::Request& /*req*/, httplib::Response& res) {
      if (const RequestScope* scope = currentRequestScope()) {
        res.set_header("X-Request-Id", scope->requestId);
        res.set_header("traceparent", formatTraceparent(scope->span));
      }
    });
    server_.set_logger([this](const httplib::Request& /*req*/, const httplib::Response& res) {
      finishRequest(res.status);
    });
  }

  // Runs after the response is written: metrics, access log, server span.
  void finishRequest(int status) {
    const RequestScope* scope = currentRequestScope();
    if (scope == nullptr) return;
    const auto elapsed = Clock::now() - scope->start;
    const double seconds = std::chrono::duration<double>(elapsed).count();
    metrics_.observe(scope->route, scope->method, status, seconds);
    const auto level = isProbeRoute(scope->route) ? spdlog::level::debug : spdlog::level::info;
    spdlog::log(level, "{} {} {} {:.1f}ms", scope->method, pathOf(scope->target), status,
                seconds * 1000.0);
    if (!scope->span.sampled() || !spanSink()) return;
    const auto end = std::chrono::system_clock::now();
    const auto begin =
        end - std::chrono::duration_cast<std::chrono::system_clock::duration>(elapsed);
    recordSpan(SpanData{scope->span.traceId,
                        scope->span.spanId,
                        scope->parentSpanId,
                        scope->method + " " + scope->route,
                        SpanKind::kServer,
                        unixNanos(begin),
                        unixNanos(end),
                        {{"http.method", scope->method},
                         {"http.route", scope->route},
                         {"http.target", pathOf(scope->target)},
                         {"http.status_code", std::to_string(status)}},
                        status >= 500});
  }

  void installProbes() {
    route("GET", "/healthz", [](const httplib::Request& /*req*/, httplib::Response& res) {
      res.set_content(R"({"status":"ok"})", "application/json");
    });
    route("GET", "/readyz", [this](const httplib::Request& /*req*/, httplib::Response& res) {
      if (connections_.stopping()) {
        setJsonError(res, 503, "shutting_down", "the server is draining");
        return;
      }
      const ReadinessReport report = readiness_.run();
      nlohmann::json body = report.toJson();
      if (!report.ready) {
        body["error"] = {{"code", "not_ready"}, {"message", report.failing}};
        res.status = 503;
      }
      res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                      "application/json");
    });
    route("GET", "/metrics", [this](const httplib::Request& /*req*/, httplib::Response& res) {
      res.set_content(renderMetricsText(*registry_), "text/plain; version=0.0.4; charset=utf-8");
    });
  }

  const HttpServerOptions options_;
  std::shared_ptr<prometheus::Registry> registry_;
  HttpMetrics metrics_;
  ReadinessChecks readiness_;
  RoutingServer server_;
  ConnectionHandler connections_;
  std::unique_ptr<BoundedTaskQueue> queue_;
  std::thread listener_;
  std::mutex mutex_;
  std::condition_variable listenerDone_;
  bool listenerFinished_ = false;
  bool started_ = false;
  std::atomic<bool> stopCalled_{false};
  int port_ = 0;
  int wakePipe_[2] = {-1, -1};
};

HttpServer::HttpServer(HttpServerOptions options, std::shared_ptr<prometheus::Registry> registry)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(registry))) {}

HttpServer::~HttpServer() = default;

HttpServer& HttpServer::get(const std::string& pattern, Handler handler) {
  impl_->route("GET", pattern, std::move(handler));
  return *this;
}
HttpServer& HttpServer::post(const std::string& pattern, Handler handler) {
  impl_->route("POST", pattern, std::move(handler));
  return *this;
}
HttpServer& HttpServer::put(const std::string& pattern, Handler handler) {
  impl_->route("PUT", pattern, std::move(handler));
  return *this;
}
HttpServer& HttpServer::patch(const std::string& pattern, Handler handler) {
  impl_->route("PATCH", pattern, std::move(handler));
  return *this;
}
HttpServer& HttpServer::del(const std::string& pattern, Handler handler) {
  impl_->route("DELETE", pattern, std::move(handler));
  return *this;
}

void HttpServer::addReadinessCheck(std::string name, ReadinessChecks::Check check) {
  impl_->readiness().add(std::move(name), std::move(check));
}

prometheus::Registry& HttpServer::registry() { return impl_->registry(); }
Status HttpServer::start() { return impl_->start(); }
int HttpServer::port() const { return impl_->port(); }
Status HttpServer::shutdown(std::chrono::milliseconds drainTimeout) {
  return impl_->shutdown(drainTimeout);
}
Status HttpServer::runUntilSignal(std::chrono::milliseconds drainTimeout) {
  return impl_->runUntilSignal(drainTimeout);
}
void HttpServer::requestShutdown() { impl_->requestShutdown(); }
HttpServer::Stats HttpServer::stats() const { return impl_->stats(); }

void declareHttpServerConfig(ConfigSpec& spec, int defaultPort) {
  const HttpServerOptions defaults;
  spec.string("VA_LISTEN_ADDR", defaults.host)
      .port("VA_PORT", defaultPort)
      .integer("VA_HTTP_MAX_BODY_BYTES", static_cast<std::int64_t>(defaults.maxBodyBytes), 1,
               std::int64_t{1} << 30)
      .integer("VA_HTTP_MAX_HEADER_BYTES",
               static_cast<std::int64_t>(defaults.headLimits.maxHeaderBytes), 1024, 1 << 20)
      .integer("VA_HTTP_MAX_HEADER_COUNT",
               static_cast<std::int64_t>(defaults.headLimits.maxHeaderCount), 1, 10000)
      .durationMs("VA_HTTP_READ_TIMEOUT", defaults.readTimeout)
      .durationMs("VA_HTTP_WRITE_TIMEOUT", defaults.writeTimeout)
      .durationMs("VA_HTTP_IDLE_TIMEOUT", defaults.idleTimeout)
      .integer("VA_HTTP_WORKERS", static_cast<std::int64_t>(defaults.workers), 1, 1024)
      .integer("VA_HTTP_QUEUE_CAPACITY", static_cast<std::int64_t>(defaults.queueCapacity), 0,
               100000)
      .durationMs("VA_DRAIN_TIMEOUT", std::chrono::seconds(20));
}

HttpServerOptions httpServerOptionsFrom(const Config& config) {
  HttpServerOptions options;
  options.host = config.string("VA_LISTEN_ADDR");
  options.port = config.port("VA_PORT");
  options.maxBodyBytes = static_cast<std::size_t>(config.integer("VA_HTTP_MAX_BODY_BYTES"));
  options.headLimits.maxHeaderBytes =
      static_cast<std::size_t>(config.integer("VA_HTTP_MAX_HEADER_BYTES"));
  options.headLimits.maxHeaderCount =
      static_cast<std::size_t>(config.integer("VA_HTTP_MAX_HEADER_COUNT"));
  options.readTimeout = config.durationMs("VA_HTTP_READ_TIMEOUT");
  options.writeTimeout = config.durationMs("VA_HTTP_WRITE_TIMEOUT");
  options.idleTimeout = config.durationMs("VA_HTTP_IDLE_TIMEOUT");
  options.workers = static_cast<std::size_t>(config.integer("VA_HTTP_WORKERS"));
  options.queueCapacity = static_cast<std::size_t>(config.integer("VA_HTTP_QUEUE_CAPACITY"));
  return options;
}

}  // namespace va::service
