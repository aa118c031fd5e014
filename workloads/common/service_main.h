// What every component's main() does around its own wiring: load and check the configuration
// (exit 78 naming the variable), JSON logging, the start-up configuration line (secrets
// redacted), OTLP span export when configured, the metrics registry; and at the end, serve until
// SIGTERM, drain, flush spans and turn the outcome into an exit code.
//   ServiceRuntime runtime = startService("prefrontal-cortex", spec);
//   HttpServer server(httpServerOptionsFrom(runtime.config), runtime.registry);
//   ... add routes ...
//   return runtime.serve(server);
#pragma once

#include <prometheus/registry.h>

#include <functional>
#include <memory>
#include <string>

#include "workloads/common/config.h"
#include "workloads/common/http_server.h"
#include "workloads/common/otlp_exporter.h"

namespace va::service {

struct ServiceRuntime {
  std::string component;
  Config config;
  std::shared_ptr<prometheus::Registry> registry;
  std::shared_ptr<OtlpHttpExporter> exporter;

  // Serves until SIGTERM or SIGINT, drains for VA_DRAIN_TIMEOUT, runs `beforeExit` (with the
  // drain timeout; to stop background workers), flushes spans. 0 on a clean stop, else 1.
  int serve(HttpServer& server,
            const std::function<void(std::chrono::milliseconds)>& beforeExit = nullptr);
};

// Loads `spec` from the environment (exits 78 with a JSON log line naming each bad variable),
// starts logging as `component` and span export, and logs the configuration.
ServiceRuntime startService(std::string component, const ConfigSpec& spec);

}  // namespace va::service
