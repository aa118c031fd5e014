// va-action-executor: the action executor of a VirtualAssistant (see action_executor.h for the
// API). Configuration, all from the environment:
//   VA_PORT (8080), VA_LISTEN_ADDR, VA_HTTP_* limits, VA_DRAIN_TIMEOUT, VA_LOG_LEVEL,
//   VA_LOG_FORMAT
//   ASSISTANT_FILE              the assistant definition (YAML, mounted from a ConfigMap) whose
//                               actions are run; without it the default assistant built in
//   ACTION_ALLOW_ADDRESSES      a comma list of IP literals the SSRF guard lets through although
//                               they are internal (for tests: 127.0.0.1); empty by default
//   ACTION_SIGNING_SECRET_FILE  the HMAC key (a mounted Secret); with it every call is signed
//                               (X-VA-Timestamp, X-VA-Signature)
//   OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME  span export when set
// Exits 78 with a JSON log line naming the variable or field when the configuration or the
// assistant definition is invalid.
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <optional>
#include <string>

#include "workloads/action_executor/action_executor.h"
#include "workloads/common/config.h"
#include "workloads/common/http_server.h"
#include "workloads/common/logging.h"
#include "workloads/common/otlp_exporter.h"
#include "workloads/common/ssrf_guard.h"
#include "workloads/common/tracing.h"
#include "workloads/nlu/assistant.h"
#include "workloads/nlu/default_assistant.h"

int main() {
  using namespace va::service;  // NOLINT(google-build-using-namespace): a main of this library
  ConfigSpec spec;
  declareHttpServerConfig(spec, 8080);
  declareLoggingConfig(spec);
  spec.textFile("ASSISTANT_FILE", Presence::kOptional)
      .string("ACTION_ALLOW_ADDRESSES", "")
      .secretFile("ACTION_SIGNING_SECRET_FILE", Presence::kOptional);
  const Config config = valueOrExit(spec.load(), "configuration");
  va::action_executor::ExecutorOptions options;
  const Result<std::vector<std::string>> allowed =
      SsrfGuard::parseAddressList(config.string("ACTION_ALLOW_ADDRESSES"));
  if (!allowed) {
    exitWithError("configuration", allowed.error().withContext("ACTION_ALLOW_ADDRESSES"));
  }
  options.allowedAddresses = *allowed;
  options.signingSecret = config.secret("ACTION_SIGNING_SECRET_FILE");
  initLogging("action-executor", config);
  spdlog::info("configuration {}", config.describe().dump());

  const std::optional<std::string> assistantYaml = config.text("ASSISTANT_FILE");
  va::nlu::Assistant assistant =
      assistantYaml ? valueOrExit(va::nlu::parseAssistant(*assistantYaml), "ASSISTANT_FILE")
                    : valueOrExit(va::nlu::defaultAssistant(), "the built-in assistant");
  if (!options.allowedAddresses.empty()) {
    spdlog::warn("ACTION_ALLOW_ADDRESSES lets actions call {} internal address(es)",
                 options.allowedAddresses.size());
  }
  if (!options.signingSecret) spdlog::info("no ACTION_SIGNING_SECRET_FILE: calls are not signed");
  std::shared_ptr<OtlpHttpExporter> exporter =
      otlpExporterFromEnv(processEnvironment(), "action-executor");
  if (exporter) setSpanSink(exporter);

  auto registry = std::make_shared<prometheus::Registry>();
  HttpServer server(httpServerOptionsFrom(config), registry);
  const va::action_executor::ActionExecutor executor(std::move(assistant), options, *registry);
  spdlog::info("assistant {}: {} actions", executor.assistant().name,
               executor.assistant().actions.size());
  executor.addRoutes(server);
  const Status status = server.runUntilSignal(config.durationMs("VA_DRAIN_TIMEOUT"));
  if (exporter) exporter->flush(std::chrono::seconds(2));
  if (!status.ok()) {
    spdlog::error("{}", status.error().message());
    return 1;
  }
  return 0;
}
