// va-language-center: the language center of a VirtualAssistant (see language_center.h for the
// API). Configuration, all from the environment (the operator sets these in the pod):
//   VA_PORT (8080), VA_LISTEN_ADDR, VA_HTTP_* limits, VA_DRAIN_TIMEOUT, VA_LOG_LEVEL,
//   VA_LOG_FORMAT
//   ASSISTANT_FILE     the assistant definition (YAML, mounted from a ConfigMap); without it
//                      the default assistant built into the binary
//   LLM_PROVIDER       builtin (default) or openai: an OpenAI-compatible chat-completions
//                      endpoint picks the intent and the slots, and the built-in NLU answers
//                      when it fails or takes longer than LLM_TIMEOUT_SECONDS (default 10)
//   LLM_ENDPOINT       the endpoint's base URL (".../v1"); required with openai
//   LLM_MODEL          the model's name; required with openai
//   LLM_API_KEY_FILE   a file holding the API key (a mounted Secret); optional
//   OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME  span export when set
// Exits 78 with a JSON log line naming the variable or field when the configuration or the
// assistant definition is invalid.
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <optional>
#include <string>

#include "workloads/common/config.h"
#include "workloads/common/http_server.h"
#include "workloads/common/logging.h"
#include "workloads/common/otlp_exporter.h"
#include "workloads/common/tracing.h"
#include "workloads/language_center/language_center.h"
#include "workloads/nlu/assistant.h"
#include "workloads/nlu/default_assistant.h"

namespace {

using va::language_center::OpenAiOptions;
using va::service::Config;
using va::service::Error;

// The model backend's options when LLM_PROVIDER is openai; exits naming the variable if the
// endpoint or the model is missing or malformed.
std::optional<OpenAiOptions> modelBackend(const Config& config) {
  if (config.string("LLM_PROVIDER") != "openai") return std::nullopt;
  for (const char* name : {"LLM_ENDPOINT", "LLM_MODEL"}) {
    if (config.string(name).empty()) {
      va::service::exitWithError("configuration",
                                 Error(std::string(name) + ": required with LLM_PROVIDER=openai"));
    }
  }
  const std::string& endpoint = config.string("LLM_ENDPOINT");
  if (endpoint.rfind("http://", 0) != 0 && endpoint.rfind("https://", 0) != 0) {
    va::service::exitWithError("configuration", Error("LLM_ENDPOINT: \"" + endpoint +
                                                      "\" is not an http:// or https:// URL"));
  }
  return OpenAiOptions{.baseUrl = endpoint,
                       .model = config.string("LLM_MODEL"),
                       .apiKey = config.secret("LLM_API_KEY_FILE"),
                       .timeout = std::chrono::seconds(config.integer("LLM_TIMEOUT_SECONDS"))};
}

}  // namespace

int main() {
  using namespace va::service;  // NOLINT(google-build-using-namespace): a main of this library
  ConfigSpec spec;
  declareHttpServerConfig(spec, 8080);
  declareLoggingConfig(spec);
  spec.textFile("ASSISTANT_FILE", Presence::kOptional)
      .choice("LLM_PROVIDER", {"builtin", "openai"}, "builtin")
      .string("LLM_ENDPOINT", "")
      .string("LLM_MODEL", "")
      .secretFile("LLM_API_KEY_FILE", Presence::kOptional)
      .integer("LLM_TIMEOUT_SECONDS", 10, 1, 300);
  const Config config = valueOrExit(spec.load(), "configuration");
  const std::optional<OpenAiOptions> backend = modelBackend(config);
  initLogging("language-center", config);
  spdlog::info("configuration {}", config.describe().dump());

  const std::optional<std::string> assistantYaml = config.text("ASSISTANT_FILE");
  va::nlu::Assistant assistant =
      assistantYaml ? valueOrExit(va::nlu::parseAssistant(*assistantYaml), "ASSISTANT_FILE")
                    : valueOrExit(va::nlu::defaultAssistant(), "the built-in assistant");
  std::shared_ptr<OtlpHttpExporter> exporter =
      otlpExporterFromEnv(processEnvironment(), "language-center");
  if (exporter) setSpanSink(exporter);

  auto registry = std::make_shared<prometheus::Registry>();
  HttpServer server(httpServerOptionsFrom(config), registry);
  const auto center = valueOrExit(va::language_center::LanguageCenter::create(
                                      std::move(assistant), *registry,
                                      va::language_center::LanguageCenter::systemToday, backend),
                                  "assistant");
  spdlog::info("assistant {} trained: {} intents in {:.3f} s", center.engine().assistant().name,
               center.engine().assistant().intents.size(), center.trainingSeconds());
  if (backend) {
    spdlog::info("model backend {} (model {}, timeout {} s; then the built-in NLU answers)",
                 backend->baseUrl, backend->model, backend->timeout.count() / 1000);
  }
  center.addRoutes(server);
  const Status status = server.runUntilSignal(config.durationMs("VA_DRAIN_TIMEOUT"));
  if (exporter) exporter->flush(std::chrono::seconds(2));
  if (!status.ok()) {
    spdlog::error("{}", status.error().message());
    return 1;
  }
  return 0;
}
