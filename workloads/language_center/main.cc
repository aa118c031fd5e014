// va-language-center: the language center of a VirtualAssistant (see language_center.h for the
// API). Configuration, all from the environment (the operator sets these in the pod):
//   VA_PORT (8080), VA_LISTEN_ADDR, VA_HTTP_* limits, VA_DRAIN_TIMEOUT, VA_LOG_LEVEL,
//   VA_LOG_FORMAT
//   ASSISTANT_FILE     the assistant definition (YAML, mounted from a ConfigMap); without it
//                      the default assistant built into the binary
//   LLM_PROVIDER       builtin (default) or openai; this build answers with the built-in NLU
//                      either way and says so at start-up (the OpenAI-compatible backend is
//                      not implemented yet)
//   OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME  span export when set
// Exits 78 with a JSON log line naming the variable or field when the configuration or the
// assistant definition is invalid.
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include <memory>

#include "workloads/common/config.h"
#include "workloads/common/http_server.h"
#include "workloads/common/logging.h"
#include "workloads/common/otlp_exporter.h"
#include "workloads/common/tracing.h"
#include "workloads/language_center/language_center.h"
#include "workloads/nlu/assistant.h"
#include "workloads/nlu/default_assistant.h"

int main() {
  using namespace va::service;  // NOLINT(google-build-using-namespace): a main of this library
  ConfigSpec spec;
  declareHttpServerConfig(spec, 8080);
  declareLoggingConfig(spec);
  spec.textFile("ASSISTANT_FILE", Presence::kOptional)
      .choice("LLM_PROVIDER", {"builtin", "openai"}, "builtin");
  const Config config = valueOrExit(spec.load(), "configuration");
  initLogging("language-center", config);
  spdlog::info("configuration {}", config.describe().dump());

  const std::optional<std::string> assistantYaml = config.text("ASSISTANT_FILE");
  va::nlu::Assistant assistant =
      assistantYaml ? valueOrExit(va::nlu::parseAssistant(*assistantYaml), "ASSISTANT_FILE")
                    : valueOrExit(va::nlu::defaultAssistant(), "the built-in assistant");
  if (config.string("LLM_PROVIDER") != "builtin") {
    spdlog::warn("LLM_PROVIDER={}: the OpenAI-compatible backend is not in this build; answering "
                 "with the built-in NLU",
                 config.string("LLM_PROVIDER"));
  }
  std::shared_ptr<OtlpHttpExporter> exporter =
      otlpExporterFromEnv(processEnvironment(), "language-center");
  if (exporter) setSpanSink(exporter);

  auto registry = std::make_shared<prometheus::Registry>();
  HttpServer server(httpServerOptionsFrom(config), registry);
  const auto center = valueOrExit(
      va::language_center::LanguageCenter::create(std::move(assistant), *registry), "assistant");
  spdlog::info("assistant {} trained: {} intents in {:.3f} s", center.engine().assistant().name,
               center.engine().assistant().intents.size(), center.trainingSeconds());
  center.addRoutes(server);
  const Status status = server.runUntilSignal(config.durationMs("VA_DRAIN_TIMEOUT"));
  if (exporter) exporter->flush(std::chrono::seconds(2));
  if (!status.ok()) {
    spdlog::error("{}", status.error().message());
    return 1;
  }
  return 0;
}
