#include "workloads/common/service_main.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "workloads/common/logging.h"
#include "workloads/common/tracing.h"

namespace va::service {

ServiceRuntime startService(std::string component, const ConfigSpec& spec) {
  Config config = valueOrExit(spec.load(), "configuration");
  initLogging(component, config);
  spdlog::info("configuration {}", config.describe().dump());
  std::shared_ptr<OtlpHttpExporter> exporter = otlpExporterFromEnv(processEnvironment(), component);
  if (exporter) setSpanSink(exporter);
  return ServiceRuntime{.component = std::move(component),
                        .config = std::move(config),
                        .registry = std::make_shared<prometheus::Registry>(),
                        .exporter = std::move(exporter)};
}

int ServiceRuntime::serve(HttpServer& server,
                          const std::function<void(std::chrono::milliseconds)>& beforeExit) {
  const auto drain = config.durationMs("VA_DRAIN_TIMEOUT");
  const Status status = server.runUntilSignal(drain);
  if (beforeExit) beforeExit(drain);
  if (exporter) exporter->flush(std::chrono::seconds(2));
  if (!status.ok()) {
    spdlog::error("{}", status.error().message());
    return 1;
  }
  spdlog::info("{} stopped", component);
  return 0;
}

}  // namespace va::service
