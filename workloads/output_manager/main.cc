// va-output-manager: the output manager of a VirtualAssistant (see output_manager.h for the API).
// Configuration, all from the environment:
//   VA_PORT (8080), VA_LISTEN_ADDR, VA_HTTP_* limits, VA_DRAIN_TIMEOUT, VA_LOG_LEVEL,
//   VA_LOG_FORMAT
//   WEBHOOK_SIGNING_SECRET_FILE  the HMAC key (a mounted Secret); without it callbacks are
//                                refused with 400
//   WEBHOOK_MAX_ATTEMPTS (5), WEBHOOK_TIMEOUT (5s a try), WEBHOOK_BACKOFF_BASE (500ms),
//   WEBHOOK_BACKOFF_CAP (30s), WEBHOOK_QUEUE_CAPACITY (1000), WEBHOOK_WORKERS (4)
//   DEAD_LETTER_FILE             JSON lines of failed deliveries (/tmp/va-dead-letters.jsonl,
//                                on the pod's emptyDir)
//   WEBHOOK_ALLOW_ADDRESSES      a comma list of IP literals the SSRF guard lets callbacks go to
//                                although they are internal (for tests: 127.0.0.1); empty by
//                                default: callbacks go to public addresses only
// Exits 78 with a JSON log line naming the variable when the configuration is invalid.
// On SIGTERM: stop accepting, drain requests, then deliver what is queued for up to
// VA_DRAIN_TIMEOUT and dead-letter the rest.
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "workloads/common/config.h"
#include "workloads/common/http_server.h"
#include "workloads/common/logging.h"
#include "workloads/common/otlp_exporter.h"
#include "workloads/common/ssrf_guard.h"
#include "workloads/common/tracing.h"
#include "workloads/output_manager/delivery.h"
#include "workloads/output_manager/output_manager.h"

int main() {
  using namespace va::service;  // NOLINT(google-build-using-namespace): a main of this library
  ConfigSpec spec;
  declareHttpServerConfig(spec, 8080);
  declareLoggingConfig(spec);
  spec.secretFile("WEBHOOK_SIGNING_SECRET_FILE", Presence::kOptional)
      .integer("WEBHOOK_MAX_ATTEMPTS", 5, 1, 20)
      .durationMs("WEBHOOK_TIMEOUT", std::chrono::seconds(5))
      .durationMs("WEBHOOK_BACKOFF_BASE", std::chrono::milliseconds(500))
      .durationMs("WEBHOOK_BACKOFF_CAP", std::chrono::seconds(30))
      .integer("WEBHOOK_QUEUE_CAPACITY", 1000, 1, 100000)
      .integer("WEBHOOK_WORKERS", 4, 1, 64)
      .string("DEAD_LETTER_FILE", "/tmp/va-dead-letters.jsonl")
      .string("WEBHOOK_ALLOW_ADDRESSES", "");
  const Config config = valueOrExit(spec.load(), "configuration");
  const Result<std::vector<std::string>> allowed =
      SsrfGuard::parseAddressList(config.string("WEBHOOK_ALLOW_ADDRESSES"));
  if (!allowed) {
    exitWithError("configuration", allowed.error().withContext("WEBHOOK_ALLOW_ADDRESSES"));
  }
  initLogging("output-manager", config);
  spdlog::info("configuration {}", config.describe().dump());
  std::shared_ptr<OtlpHttpExporter> exporter =
      otlpExporterFromEnv(processEnvironment(), "output-manager");
  if (exporter) setSpanSink(exporter);

  auto registry = std::make_shared<prometheus::Registry>();
  va::output_manager::FileDeadLetterStore deadLetters(config.string("DEAD_LETTER_FILE"));
  std::unique_ptr<va::output_manager::WebhookDeliverer> deliverer;
  if (std::optional<Secret> secret = config.secret("WEBHOOK_SIGNING_SECRET_FILE")) {
    va::output_manager::DeliveryOptions options;
    options.secret = *secret;
    options.maxAttempts = static_cast<int>(config.integer("WEBHOOK_MAX_ATTEMPTS"));
    options.timeout = config.durationMs("WEBHOOK_TIMEOUT");
    options.backoffBase = config.durationMs("WEBHOOK_BACKOFF_BASE");
    options.backoffCap = config.durationMs("WEBHOOK_BACKOFF_CAP");
    options.queueCapacity = static_cast<std::size_t>(config.integer("WEBHOOK_QUEUE_CAPACITY"));
    options.workers = static_cast<std::size_t>(config.integer("WEBHOOK_WORKERS"));
    options.allowedAddresses = *allowed;
    if (!allowed->empty()) {
      spdlog::warn("WEBHOOK_ALLOW_ADDRESSES lets callbacks go to {} internal address(es)",
                   allowed->size());
    }
    deliverer =
        std::make_unique<va::output_manager::WebhookDeliverer>(options, deadLetters, *registry);
  } else {
    spdlog::warn("no WEBHOOK_SIGNING_SECRET_FILE: callbacks are refused");
  }
  HttpServer server(httpServerOptionsFrom(config), registry);
  const va::output_manager::OutputManager manager(deliverer.get(), deadLetters, *registry);
  manager.addRoutes(server);
  const auto drain = config.durationMs("VA_DRAIN_TIMEOUT");
  const Status status = server.runUntilSignal(drain);
  if (deliverer) deliverer->stop(drain);
  if (exporter) exporter->flush(std::chrono::seconds(2));
  if (!status.ok()) {
    spdlog::error("{}", status.error().message());
    return 1;
  }
  return 0;
}
