// va-prefrontal-cortex: the dialogue manager of a VirtualAssistant (dialogue.h for the API).
// Configuration, all from the environment (the operator sets these in the pod):
//   VA_PORT (8080), VA_LISTEN_ADDR, VA_HTTP_* limits, VA_DRAIN_TIMEOUT, VA_LOG_LEVEL,
//   VA_LOG_FORMAT, OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME
//   LANGUAGE_CENTER_URL, ACTION_EXECUTOR_URL, OUTPUT_MANAGER_URL   the peers (required)
//   ASSISTANT_FILE     the assistant definition (the schema and allowlist of its actions); the
//                      default assistant built into the binary without it
//   PEER_TIMEOUT       each call to a peer (default 10s); TURN_WAIT how long a turn waits for
//                      the conversation's previous one (default 10s)
//   SHORT_TERM_MEM_URL conversation context and turn order in short-term-mem (Redis), shared by
//                      every replica; LONG_TERM_MEM_URL facts in long-term-mem (PostgreSQL).
//                      Without them (a single process, tests), both are kept in this process
//                      (memory.h), MEMORY_MAX_TURNS turns of context per conversation (20).
#include <spdlog/spdlog.h>

#include <memory>

#include "workloads/common/http_client.h"
#include "workloads/common/http_server.h"
#include "workloads/common/service_main.h"
#include "workloads/nlu/assistant.h"
#include "workloads/nlu/default_assistant.h"
#include "workloads/prefrontal_cortex/dialogue.h"
#include "workloads/prefrontal_cortex/memory.h"
#include "workloads/prefrontal_cortex/remote_long_term_memory.h"
#include "workloads/prefrontal_cortex/remote_short_term_memory.h"

int main() {
  using namespace va::service;  // NOLINT(google-build-using-namespace): a main of this library
  namespace pfc = va::prefrontal_cortex;
  ConfigSpec spec;
  declareHttpServerConfig(spec, 8080);
  declareLoggingConfig(spec);
  spec.string("LANGUAGE_CENTER_URL")
      .string("ACTION_EXECUTOR_URL")
      .string("OUTPUT_MANAGER_URL")
      .string("SHORT_TERM_MEM_URL", "")
      .string("LONG_TERM_MEM_URL", "")
      .textFile("ASSISTANT_FILE", Presence::kOptional)
      .durationMs("PEER_TIMEOUT", std::chrono::seconds(10))
      .durationMs("TURN_WAIT", std::chrono::seconds(10))
      .integer("MEMORY_MAX_TURNS", 20, 1, 1000);
  ServiceRuntime runtime = startService("prefrontal-cortex", spec);
  const Config& config = runtime.config;

  const std::optional<std::string> assistantYaml = config.text("ASSISTANT_FILE");
  va::nlu::Assistant assistant =
      assistantYaml ? valueOrExit(va::nlu::parseAssistant(*assistantYaml), "ASSISTANT_FILE")
                    : valueOrExit(va::nlu::defaultAssistant(), "the built-in assistant");
  pfc::InProcessOptions memoryOptions;
  memoryOptions.maxTurns = static_cast<std::size_t>(config.integer("MEMORY_MAX_TURNS"));
  std::unique_ptr<pfc::ShortTermMemory> shortTerm;
  if (const std::string& url = config.string("SHORT_TERM_MEM_URL"); !url.empty()) {
    pfc::RemoteShortTermMemoryOptions remote;
    remote.baseUrl = url;
    remote.requestTimeout = config.durationMs("PEER_TIMEOUT");
    shortTerm = std::make_unique<pfc::RemoteShortTermMemory>(remote);
  } else {
    shortTerm = std::make_unique<pfc::InProcessShortTermMemory>(memoryOptions);
    spdlog::warn("no SHORT_TERM_MEM_URL: conversation context is kept in this process only");
  }
  std::unique_ptr<pfc::LongTermMemory> longTerm;
  if (const std::string& url = config.string("LONG_TERM_MEM_URL"); !url.empty()) {
    pfc::RemoteLongTermMemoryOptions remote;
    remote.baseUrl = url;
    remote.requestTimeout = config.durationMs("PEER_TIMEOUT");
    longTerm = std::make_unique<pfc::RemoteLongTermMemory>(remote);
  } else {
    longTerm = std::make_unique<pfc::InProcessLongTermMemory>(memoryOptions);
    spdlog::warn("no LONG_TERM_MEM_URL: facts are kept in this process only");
  }

  HttpClientOptions clientOptions;
  clientOptions.totalTimeout = config.durationMs("PEER_TIMEOUT");
  clientOptions.maxAttempts = 2;
  clientOptions.userAgent = "va-prefrontal-cortex";
  const HttpClient client(clientOptions);
  pfc::DialogueOptions options;
  options.peers = {.languageCenter = config.string("LANGUAGE_CENTER_URL"),
                   .actionExecutor = config.string("ACTION_EXECUTOR_URL"),
                   .outputManager = config.string("OUTPUT_MANAGER_URL")};
  options.turnWait = config.durationMs("TURN_WAIT");
  HttpServer server(httpServerOptionsFrom(config), runtime.registry);
  pfc::DialogueManager dialogue(std::move(assistant), options, *shortTerm, *longTerm, client,
                                *runtime.registry);
  dialogue.addRoutes(server);
  return runtime.serve(server);
}
