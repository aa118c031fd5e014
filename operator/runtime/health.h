// The operator's HTTP endpoints, served as controller-runtime serves them: /healthz and /readyz
// with named checks on the health-probe address, /metrics (Prometheus text format) on the
// metrics address. Each address may be "0" (off) and port 0 picks a free port.
//   auto server = HealthServer::start({.metricsBindAddress = ":8080",
//                                      .healthProbeBindAddress = ":8081", .registry = registry});
//   if (!server) return server.error();
//   (*server)->addReadyzCheck("informers", [&] { return synced ? Status() : Error("syncing"); });
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "operator/kube/result.h"

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace va::runtime {

// A named health check: success, or an error saying why the check fails. Called on a server
// thread for each request, so it must be thread-safe and quick.
using HealthCheck = std::function<kube::Status()>;

// Always healthy (controller-runtime's healthz.Ping).
kube::Status ping();

struct BindAddress {
  std::string host{};  // "0.0.0.0" for all interfaces; IPv6 without brackets
  int port = 0;
};

// Parses a --*-bind-address value: "host:port", ":port" (all interfaces) or "[v6]:port";
// "0" turns the endpoint off (nullopt).
kube::Result<std::optional<BindAddress>> parseBindAddress(std::string_view text);

// The checks behind one endpoint ("healthz" or "readyz"), as controller-runtime's
// healthz.Handler answers them. Thread-safe.
class HealthChecks {
 public:
  struct Answer {
    int status = 200;
    std::string body;
  };

  explicit HealthChecks(std::string endpoint) : endpoint_(std::move(endpoint)) {}

  // Adds a check, or replaces the check of the same name.
  void add(std::string name, HealthCheck check);

  // GET /<endpoint>: 200 "ok" when every check passes, else 500 and one line per check,
  // "[+]name ok" or "[-]name failed: reason" (sorted by name), then "<endpoint> check failed".
  // `verbose` lists the checks on success too. Checks named in `exclude` are skipped. With no
  // checks at all, a "ping" check stands in.
  [[nodiscard]] Answer all(bool verbose, const std::set<std::string>& exclude = {}) const;

  // GET /<endpoint>/<name>: 200 "ok", 500 "internal server error: reason", or 404.
  [[nodiscard]] Answer one(const std::string& name) const;

 private:
  const std::string endpoint_;
  mutable std::mutex mutex_;
  std::map<std::string, HealthCheck> checks_;
};

struct HealthServerOptions {
  std::string metricsBindAddress = ":8080";      // --metrics-bind-address; "0" turns it off
  std::string healthProbeBindAddress = ":8081";  // --health-probe-bind-address; "0" turns it off
  // Served at /metrics; an empty exposition when null.
  std::shared_ptr<prometheus::Registry> registry{};
};

// Listens on both addresses at once, each served by a thread of its own plus a few handler
// threads. Checks may be added at any time.
class HealthServer {
 public:
  // Binds both addresses; an error names the address that failed.
  static kube::Result<std::unique_ptr<HealthServer>> start(HealthServerOptions options);

  ~HealthServer();
  HealthServer(const HealthServer&) = delete;
  HealthServer& operator=(const HealthServer&) = delete;

  void addHealthzCheck(std::string name, HealthCheck check);
  void addReadyzCheck(std::string name, HealthCheck check);

  // The bound ports (the real one when 0 was asked for); 0 when the endpoint is off.
  [[nodiscard]] int metricsPort() const;
  [[nodiscard]] int healthProbePort() const;

  // Stops listening and waits for the server threads; the destructor does it too.
  void stop();

 private:
  class Listener;

  explicit HealthServer(std::shared_ptr<prometheus::Registry> registry);

  const std::shared_ptr<prometheus::Registry> registry_;
  HealthChecks healthz_{"healthz"};
  HealthChecks readyz_{"readyz"};
  std::unique_ptr<Listener> metrics_;
  std::unique_ptr<Listener> probes_;
};

}  // namespace va::runtime
