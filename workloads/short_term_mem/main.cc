// va-short-term-mem: conversation contexts and turn order in Redis (short_term_mem.h for the
// API). Configuration, all from the environment:
//   VA_PORT (8080), VA_LISTEN_ADDR, VA_HTTP_* limits, VA_DRAIN_TIMEOUT, VA_LOG_LEVEL,
//   VA_LOG_FORMAT, OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME
//   REDIS_URL_FILE     a file holding redis://[[user]:password@]host:port/db (a mounted Secret;
//                      required; the password is never logged)
//   CONTEXT_TTL        how long an idle conversation's context is kept (24h), refreshed by each
//                      commit
//   CONTEXT_MAX_TURNS  turns kept per conversation (20)
//   LEASE_TTL          how long a turn may hold its conversation before the next one may start
//                      anyway (30s)
// Each turn waiting for its conversation holds an HTTP worker: VA_HTTP_WORKERS - 2 turns may wait
// at once (more get 503 at once), so give it as many workers as turns should queue.
// Exits 78 with a JSON log line naming the variable when the configuration is invalid.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>

#include "workloads/common/config.h"
#include "workloads/common/http_server.h"
#include "workloads/common/logging.h"
#include "workloads/common/service_main.h"
#include "workloads/short_term_mem/redis_client.h"
#include "workloads/short_term_mem/short_term_mem.h"

int main() {
  using namespace va::service;  // NOLINT(google-build-using-namespace): a main of this library
  namespace stm = va::short_term_mem;
  ConfigSpec spec;
  declareHttpServerConfig(spec, 8080);
  declareLoggingConfig(spec);
  spec.secretFile("REDIS_URL_FILE", Presence::kRequired)
      .durationMs("CONTEXT_TTL", std::chrono::hours(24))
      .integer("CONTEXT_MAX_TURNS", 20, 1, 1000)
      .durationMs("LEASE_TTL", std::chrono::seconds(30));
  ServiceRuntime runtime = startService("short-term-mem", spec);
  const Config& config = runtime.config;

  const std::optional<Secret> url = config.secret("REDIS_URL_FILE");
  const stm::RedisUrl redisUrl = valueOrExit(stm::parseRedisUrl(url->reveal()), "REDIS_URL_FILE");
  stm::ShortTermMemOptions options;
  options.contextTtl = config.durationMs("CONTEXT_TTL");
  options.maxTurns = static_cast<std::size_t>(config.integer("CONTEXT_MAX_TURNS"));
  options.leaseTtl = config.durationMs("LEASE_TTL");
  if (options.contextTtl.count() <= 0 || options.leaseTtl.count() <= 0) {
    exitWithError("configuration", Error("CONTEXT_TTL and LEASE_TTL must be positive"));
  }
  const HttpServerOptions serverOptions = httpServerOptionsFrom(config);
  options.maxWaiters = serverOptions.workers > 2 ? serverOptions.workers - 2 : 0;
  stm::RedisClient redis(redisUrl,
                         {.connectTimeout = std::chrono::seconds(1),
                          .commandTimeout = std::chrono::seconds(1),
                          .maxIdleConnections = std::max<std::size_t>(serverOptions.workers, 1)});
  spdlog::info("context store {}", redisUrl.describe());
  if (const Status ping = redis.ping(); !ping.ok()) {
    spdlog::warn("Redis is not reachable yet ({}); not ready until it is", ping.error().message());
  }

  HttpServer server(serverOptions, runtime.registry);
  stm::ShortTermMemService service(redis, options, *runtime.registry);
  service.addRoutes(server);
  return runtime.serve(server);
}
