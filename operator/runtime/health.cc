#include "operator/runtime/health.h"

#include <httplib.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <sys/socket.h>

#include <atomic>
#include <charconv>
#include <exception>
#include <thread>
#include <utility>
#include <vector>

namespace va::runtime {
namespace {

// Probes and scrapes are rare; a few handler threads per address are plenty.
constexpr std::size_t kHandlerThreads = 4;
// An idle keep-alive connection delays stop() by up to this long (httplib polls it).
constexpr time_t kKeepAliveSeconds = 2;

kube::Status runCheck(const HealthCheck& check) {
  if (!check) return kube::Error("no check function");
  try {
    return check();
  } catch (const std::exception& e) {
    return kube::Error(std::string("check threw: ") + e.what());
  } catch (...) {
    return kube::Error("check threw a non-standard exception");
  }
}

// A reason goes on one line of the report.
std::string oneLine(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

std::optional<int> parsePort(std::string_view text) {
  int port = -1;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, port);
  if (text.empty() || ec != std::errc() || ptr != end || port < 0 || port > 65535) {
    return std::nullopt;
  }
  return port;
}

std::set<std::string> excludedChecks(const httplib::Request& request) {
  std::set<std::string> excluded;
  const auto [begin, end] = request.params.equal_range("exclude");
  for (auto it = begin; it != end; ++it) {
    std::string_view values = it->second;
    while (!values.empty()) {
      const auto comma = values.find(',');
      const std::string_view value = values.substr(0, comma);
      if (!value.empty()) excluded.emplace(value);
      values = comma == std::string_view::npos ? std::string_view() : values.substr(comma + 1);
    }
  }
  return excluded;
}

httplib::Server::Handler probeHandler(const HealthChecks& checks) {
  return [&checks](const httplib::Request& request, httplib::Response& response) {
    const bool single = request.matches.size() > 1 && request.matches[1].matched;
    const HealthChecks::Answer answer =
        single ? checks.one(request.matches[1].str())
               : checks.all(request.has_param("verbose"), excludedChecks(request));
    response.status = answer.status;
    response.set_header("X-Content-Type-Options", "nosniff");
    response.set_content(answer.body, "text/plain; charset=utf-8");
  };
}

}  // namespace

kube::Status ping() { return {}; }

kube::Result<std::optional<BindAddress>> parseBindAddress(std::string_view text) {
  const auto invalid = [&](std::string_view why) {
    return kube::Error("invalid bind address \"" + std::string(text) + "\": " + std::string(why));
  };
  if (text == "0") return std::optional<BindAddress>();
  BindAddress address;
  std::string_view portText;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find("]:");
    if (close == std::string_view::npos) return invalid("want [host]:port");
    address.host = std::string(text.substr(1, close - 1));
    portText = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return invalid("want host:port, :port or 0");
    address.host = std::string(text.substr(0, colon));
    if (address.host.find(':') != std::string::npos) return invalid("put an IPv6 host in brackets");
    portText = text.substr(colon + 1);
  }
  if (address.host.empty()) address.host = "0.0.0.0";
  const auto port = parsePort(portText);
  if (!port) return invalid("the port must be a number from 0 to 65535");
  address.port = *port;
  return std::optional<BindAddress>(std::move(address));
}

void HealthChecks::add(std::string name, HealthCheck check) {
  const std::lock_guard lock(mutex_);
  checks_[std::move(name)] = std::move(check);
}

HealthChecks::Answer HealthChecks::all(bool verbose, const std::set<std::string>& exclude) const {
  std::map<std::string, HealthCheck> checks;
  {
    // A copy, so that slow checks do not hold up add().
    const std::lock_guard lock(mutex_);
    checks = checks_;
  }
  if (checks.empty()) checks.emplace("ping", ping);

  bool failed = false;
  std::string report;
  std::set<std::string> unknownExcludes = exclude;
  for (const auto& [name, check] : checks) {
    if (exclude.count(name) != 0) {
      unknownExcludes.erase(name);
      report += "[+]" + name + " excluded: ok\n";
      continue;
    }
    const kube::Status status = runCheck(check);
    if (status) {
      report += "[+]" + name + " ok\n";
    } else {
      failed = true;
      report += "[-]" + name + " failed: " + oneLine(status.error().message()) + "\n";
    }
  }
  if (!failed && !verbose) return {200, "ok"};
  if (!unknownExcludes.empty()) {
    report += "warn: some health checks cannot be excluded: no matches for";
    for (const std::string& name : unknownExcludes) report += " \"" + name + "\"";
    report += "\n";
  }
  report += endpoint_ + (failed ? " check failed\n" : " check passed\n");
  return {failed ? 500 : 200, std::move(report)};
}

HealthChecks::Answer HealthChecks::one(const std::string& name) const {
  HealthCheck check;
  {
    const std::lock_guard lock(mutex_);
    const auto it = checks_.find(name);
    if (it != checks_.end()) {
      check = it->second;
    } else if (checks_.empty() && name == "ping") {
      check = ping;
    } else {
      return {404, "404 page not found\n"};
    }
  }
  const kube::Status status = runCheck(check);
  if (status) return {200, "ok"};
  return {500, "internal server error: " + oneLine(status.error().message()) + "\n"};
}

// One httplib server listening on one address, accepting on a thread of its own.
class HealthServer::Listener {
 public:
  Listener() {
    server_.new_task_queue = [] { return new httplib::ThreadPool(kHandlerThreads); };
    server_.set_keep_alive_timeout(kKeepAliveSeconds);
    // httplib's default sets SO_REUSEPORT, which lets a second process listen on the same port
    // and take half the connections; a busy port must be an error instead.
    server_.set_socket_options([](socket_t socket) {
      const int yes = 1;
      setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
  }
  ~Listener() { stop(); }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  httplib::Server& server() { return server_; }
  [[nodiscard]] int port() const { return port_; }

  kube::Status listen(const BindAddress& address) {
    const std::string where = address.host + ":" + std::to_string(address.port);
    int port = address.port;
    if (port == 0) {
      port = server_.bind_to_any_port(address.host);
    } else if (!server_.bind_to_port(address.host, port)) {
      port = -1;
    }
    if (port <= 0) {
      return kube::Error("cannot listen on " + where +
                         " (the port is in use, or the host is not an address of this machine)");
    }
    port_ = port;
    thread_ = std::thread([this] {
      server_.listen_after_bind();
      finished_ = true;
    });
    // httplib's stop() does nothing until the accept loop runs, so wait for it to start.
    while (!server_.is_running() && !finished_) std::this_thread::yield();
    if (finished_) return kube::Error("the server on " + where + " stopped at once");
    return {};
  }

  void stop() {
    if (!thread_.joinable()) return;
    server_.stop();
    thread_.join();
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  std::atomic<bool> finished_{false};
  int port_ = 0;
};

HealthServer::HealthServer(std::shared_ptr<prometheus::Registry> registry)
    : registry_(std::move(registry)) {}

HealthServer::~HealthServer() { stop(); }

kube::Result<std::unique_ptr<HealthServer>> HealthServer::start(HealthServerOptions options) {
  auto metricsAddress = parseBindAddress(options.metricsBindAddress);
  if (!metricsAddress) return metricsAddress.error().withContext("metrics bind address");
  auto probeAddress = parseBindAddress(options.healthProbeBindAddress);
  if (!probeAddress) return probeAddress.error().withContext("health probe bind address");

  std::unique_ptr<HealthServer> server(new HealthServer(std::move(options.registry)));
  if (*metricsAddress) {
    server->metrics_ = std::make_unique<Listener>();
    server->metrics_->server().Get(
        "/metrics", [registry = server->registry_](const httplib::Request& /*request*/,
                                                   httplib::Response& response) {
          std::string body;
          if (registry) body = prometheus::TextSerializer().Serialize(registry->Collect());
          response.set_content(body, "text/plain; version=0.0.4; charset=utf-8");
        });
    if (auto listening = server->metrics_->listen(**metricsAddress); !listening) {
      return listening.error().withContext("metrics");
    }
  }
  if (*probeAddress) {
    server->probes_ = std::make_unique<Listener>();
    server->probes_->server()
        .Get(R"(/healthz(?:/([^/]+))?/?)", probeHandler(server->healthz_))
        .Get(R"(/readyz(?:/([^/]+))?/?)", probeHandler(server->readyz_));
    if (auto listening = server->probes_->listen(**probeAddress); !listening) {
      return listening.error().withContext("health probes");
    }
  }
  return server;
}

void HealthServer::addHealthzCheck(std::string name, HealthCheck check) {
  healthz_.add(std::move(name), std::move(check));
}

void HealthServer::addReadyzCheck(std::string name, HealthCheck check) {
  readyz_.add(std::move(name), std::move(check));
}

int HealthServer::metricsPort() const { return metrics_ ? metrics_->port() : 0; }

int HealthServer::healthProbePort() const { return probes_ ? probes_->port() : 0; }

void HealthServer::stop() {
  if (metrics_) metrics_->stop();
  if (probes_) probes_->stop();
}

}  // namespace va::runtime
