// va-conversation-log: the append-only log of every turn of a VirtualAssistant, in PostgreSQL
// (conversation_log.h for the API, batch_writer.h for the write path).
// Configuration, all from the environment:
//   VA_PORT (8080), VA_LISTEN_ADDR, VA_HTTP_* limits, VA_DRAIN_TIMEOUT, VA_LOG_LEVEL,
//   VA_LOG_FORMAT, OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME
//   POSTGRES_DSN_FILE         the connection string (a mounted Secret; required, never logged)
//   POSTGRES_MAX_CONNECTIONS  the pool (8); must exceed LOG_WRITERS (reads, /readyz, retention)
//   DB_STARTUP_TIMEOUT        how long start-up waits for PostgreSQL, trying every second (60s);
//                             then exit 1
//   LOG_BATCH_MAX (256), LOG_BATCH_WAIT (5ms)   a batch is written when it has LOG_BATCH_MAX
//                             entries or its oldest waited LOG_BATCH_WAIT
//   LOG_QUEUE_CAPACITY (10000)  appends waiting for a writer; beyond it 503 queue_full
//   LOG_WRITERS (2)           batches written at once
//   LOG_APPEND_TIMEOUT (10s)  how long a request waits for its batch; then 503
//   LOG_RETENTION (720h; 0 keeps forever), LOG_RETENTION_INTERVAL (1h)
// Each append holds an HTTP worker until its batch commits, so VA_HTTP_WORKERS bounds the
// appends in flight and with them the batch size: give it the expected concurrency (say 64).
// Migrations are applied at start-up. On SIGTERM: stop accepting, drain requests, write what is
// queued (for up to VA_DRAIN_TIMEOUT).
#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include "workloads/common/http_server.h"
#include "workloads/common/logging.h"
#include "workloads/common/postgres.h"
#include "workloads/common/service_main.h"
#include "workloads/conversation_log/batch_writer.h"
#include "workloads/conversation_log/conversation_log.h"

int main() {
  using namespace va::service;  // NOLINT(google-build-using-namespace): a main of this library
  namespace cl = va::conversation_log;
  ConfigSpec spec;
  declareHttpServerConfig(spec, 8080);
  declareLoggingConfig(spec);
  spec.secretFile("POSTGRES_DSN_FILE", Presence::kRequired)
      .integer("POSTGRES_MAX_CONNECTIONS", 8, 2, 200)
      .durationMs("DB_STARTUP_TIMEOUT", std::chrono::seconds(60))
      .integer("LOG_BATCH_MAX", 256, 1, 10000)
      .durationMs("LOG_BATCH_WAIT", std::chrono::milliseconds(5))
      .integer("LOG_QUEUE_CAPACITY", 10000, 1, 1000000)
      .integer("LOG_WRITERS", 2, 1, 64)
      .durationMs("LOG_APPEND_TIMEOUT", std::chrono::seconds(10))
      .durationMs("LOG_RETENTION", std::chrono::hours(720))
      .durationMs("LOG_RETENTION_INTERVAL", std::chrono::hours(1));
  ServiceRuntime runtime = startService("conversation-log", spec);
  const Config& config = runtime.config;

  const auto maxConnections = config.integer("POSTGRES_MAX_CONNECTIONS");
  const auto writers = config.integer("LOG_WRITERS");
  if (writers >= maxConnections) {
    exitWithError("configuration",
                  Error("LOG_WRITERS: must be less than POSTGRES_MAX_CONNECTIONS (" +
                        std::to_string(maxConnections) + ")"));
  }
  if (config.durationMs("LOG_RETENTION_INTERVAL").count() <= 0) {
    exitWithError("configuration", Error("LOG_RETENTION_INTERVAL: must be more than 0"));
  }
  if (config.durationMs("LOG_APPEND_TIMEOUT").count() <= 0) {
    exitWithError("configuration", Error("LOG_APPEND_TIMEOUT: must be more than 0"));
  }

  PostgresOptions dbOptions;
  dbOptions.maxConnections = static_cast<std::size_t>(maxConnections);
  // NOLINTNEXTLINE(bugprone-unchecked-optional-access): a required variable, checked by load()
  Postgres db(config.secret("POSTGRES_DSN_FILE")->reveal(), dbOptions);

  const auto startupTimeout = config.durationMs("DB_STARTUP_TIMEOUT");
  const auto deadline = std::chrono::steady_clock::now() + startupTimeout;
  for (int attempt = 1;; ++attempt) {
    const Status reachable = db.ping();
    if (reachable.ok()) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      spdlog::error(
          "PostgreSQL unreachable for {} ms at start-up (DB_STARTUP_TIMEOUT): {}; exiting",
          startupTimeout.count(), reachable.error().message());
      return 1;
    }
    if (attempt == 1 || attempt % 10 == 0) {
      spdlog::warn("waiting for PostgreSQL: {}", reachable.error().message());
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  if (const Status migrated = db.migrate("conversation-log", cl::migrations()); !migrated.ok()) {
    spdlog::error("migrations failed: {}; exiting", migrated.error().message());
    return 1;
  }

  cl::BatchWriterOptions writerOptions;
  writerOptions.batchMax = static_cast<std::size_t>(config.integer("LOG_BATCH_MAX"));
  writerOptions.batchWait = config.durationMs("LOG_BATCH_WAIT");
  writerOptions.queueCapacity = static_cast<std::size_t>(config.integer("LOG_QUEUE_CAPACITY"));
  writerOptions.writers = static_cast<std::size_t>(writers);
  cl::BatchWriter writer(db, writerOptions, *runtime.registry);

  cl::ConversationLogOptions logOptions;
  logOptions.appendTimeout = config.durationMs("LOG_APPEND_TIMEOUT");
  cl::ConversationLog log(db, writer, logOptions, *runtime.registry);

  cl::RetentionOptions retentionOptions;
  retentionOptions.maxAge = config.durationMs("LOG_RETENTION");
  retentionOptions.interval = config.durationMs("LOG_RETENTION_INTERVAL");
  if (retentionOptions.maxAge.count() == 0) spdlog::info("LOG_RETENTION is 0: entries are kept");
  cl::Retention retention(db, retentionOptions);

  HttpServer server(httpServerOptionsFrom(config), runtime.registry);
  log.addRoutes(server);
  server.addReadinessCheck("postgres", [&db] { return db.ping(); });
  return runtime.serve(server, [&](std::chrono::milliseconds drain) {
    writer.stop(drain);
    retention.stop();
  });
}
