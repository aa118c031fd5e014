// va-long-term-mem: a VirtualAssistant's long-term memory (long_term_mem.h for the HTTP API)
// and, as `va-long-term-mem consolidate`, its consolidation job (consolidation.h), which the
// operator's CronJob runs with the same image and environment.
// Configuration, all from the environment:
//   POSTGRES_DSN_FILE      the PostgreSQL connection string (a mounted Secret; never logged)
//   DB_STARTUP_TIMEOUT     how long the first connection and the migrations are retried, once a
//                          second (default 60s); then the process exits 1
//   CONSOLIDATE_NAME       the consolidation checkpoint's name (default "default")
//   CONSOLIDATE_BATCH      entries per batch transaction (default 500)
//   CONSOLIDATE_LAG        only entries at least this old are consolidated (default 30s)
//   CONSOLIDATE_BATCH_DELAY_MS  a pause between batches, for tests (default 0)
//   VA_PORT (8080), VA_LISTEN_ADDR, VA_HTTP_* limits, VA_DRAIN_TIMEOUT, VA_LOG_LEVEL,
//   VA_LOG_FORMAT, OTEL_EXPORTER_OTLP_ENDPOINT
// Exits 78 with a JSON log line naming the variable when the configuration is invalid. The
// consolidate mode exits 0 when caught up (or when another job of the same name runs), 1 on a
// database error.
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>
#include <thread>

#include "workloads/common/http_server.h"
#include "workloads/common/logging.h"
#include "workloads/common/postgres.h"
#include "workloads/common/service_main.h"
#include "workloads/long_term_mem/consolidation.h"
#include "workloads/long_term_mem/long_term_mem.h"
#include "workloads/long_term_mem/store.h"

namespace {

// Applies the migrations, trying again every second until `timeout` has passed.
bool migrateWithRetry(va::service::Postgres& db, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const va::service::Status migrated =
        db.migrate(va::long_term_mem::kComponent, va::long_term_mem::migrations());
    if (migrated.ok()) return true;
    if (std::chrono::steady_clock::now() >= deadline) {
      spdlog::error("PostgreSQL not ready within {}ms: {}", timeout.count(),
                    migrated.error().message());
      return false;
    }
    spdlog::warn("waiting for PostgreSQL: {}", migrated.error().message());
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace va::service;  // NOLINT(google-build-using-namespace): a main of this library
  namespace ltm = va::long_term_mem;
  const bool consolidateMode = argc > 1 && std::string_view(argv[1]) == "consolidate";
  if (argc > 2 || (argc == 2 && !consolidateMode)) {
    std::fprintf(stderr, "usage: %s [consolidate]\n", argv[0]);
    return 64;
  }
  ConfigSpec spec;
  declareHttpServerConfig(spec, 8080);
  declareLoggingConfig(spec);
  spec.secretFile("POSTGRES_DSN_FILE", Presence::kRequired)
      .durationMs("DB_STARTUP_TIMEOUT", std::chrono::seconds(60))
      .string("CONSOLIDATE_NAME", "default")
      .integer("CONSOLIDATE_BATCH", 500, 1, 100000)
      .durationMs("CONSOLIDATE_LAG", std::chrono::seconds(30))
      .integer("CONSOLIDATE_BATCH_DELAY_MS", 0, 0, 600000);
  ServiceRuntime runtime =
      startService(consolidateMode ? "long-term-mem-consolidate" : "long-term-mem", spec);
  const Config& config = runtime.config;
  const std::string dsn = config.secret("POSTGRES_DSN_FILE")->reveal();

  if (consolidateMode) {
    // One connection: the consolidation lock is a session lock on it.
    Postgres db(dsn, {.maxConnections = 1});
    if (!migrateWithRetry(db, config.durationMs("DB_STARTUP_TIMEOUT"))) return 1;
    ltm::ConsolidationOptions options;
    options.name = config.string("CONSOLIDATE_NAME");
    options.batchSize = static_cast<std::size_t>(config.integer("CONSOLIDATE_BATCH"));
    options.lag = config.durationMs("CONSOLIDATE_LAG");
    options.batchDelay = std::chrono::milliseconds(config.integer("CONSOLIDATE_BATCH_DELAY_MS"));
    const Result<ltm::ConsolidationReport> report = ltm::consolidate(db, options);
    if (!report.ok()) {
      spdlog::error("consolidation {} failed: {}", options.name, report.error().message());
      return 1;
    }
    if (report->skipped) {
      spdlog::info("another consolidation {} is running; nothing to do", options.name);
      return 0;
    }
    spdlog::info(
        "consolidation {} caught up: {} entries in {} batches, facts added {} updated {} "
        "unchanged {}, {} summaries, checkpoint {}",
        options.name, report->entries, report->batches, report->factsAdded, report->factsUpdated,
        report->factsUnchanged, report->summaries, report->checkpoint);
    std::printf("%s\n", report->toJson().dump().c_str());
    return 0;
  }

  const HttpServerOptions serverOptions = httpServerOptionsFrom(config);
  Postgres db(dsn, {.maxConnections = serverOptions.workers + 1});  // + /readyz
  if (!migrateWithRetry(db, config.durationMs("DB_STARTUP_TIMEOUT"))) return 1;
  ltm::LongTermStore store(db);
  HttpServer server(serverOptions, runtime.registry);
  ltm::LongTermMem api(store, *runtime.registry);
  api.addRoutes(server);
  return runtime.serve(server);
}
