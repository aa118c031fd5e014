// va-input-processor: the public API of a VirtualAssistant (input_processor.h; GET /openapi.json).
// Configuration, all from the environment:
//   VA_PORT (8080), VA_LISTEN_ADDR, VA_HTTP_* limits, VA_DRAIN_TIMEOUT, VA_LOG_LEVEL,
//   VA_LOG_FORMAT, OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME
//   PREFRONTAL_CORTEX_URL        the dialogue manager (required)
//   WEBHOOK_ALLOW_ADDRESSES      IP literals a callback_url may name although private (tests'
//                                receivers on 127.0.0.1; as output-manager's)
//   CONVERSATION_LOG_URL         where every answered turn is logged before the reply is
//                                returned (the operator sets it; empty: no log)
//   API_KEYS_FILE                API keys, hashed: one "<name> sha256:<hex>" per line
//                                (`va-chat --hash-key KEY` prints the line's hash)
//   JWT_HS256_SECRET_FILE        or JWT_RS256_PUBLIC_KEY_FILE (PEM): accept JWTs signed so,
//   JWT_ISSUER, JWT_AUDIENCE     whose iss and aud must be these (required with a JWT key)
//   RATE_LIMIT_RPS, RATE_LIMIT_BURST   each caller's token bucket (default 20/s, bursts of 40;
//                                0 turns it off)
//   IDEMPOTENCY_TTL (24h), IDEMPOTENCY_CAPACITY (100000)   how long and how many replies kept
//   PEER_TIMEOUT                 the wait for prefrontal-cortex (default 30s)
// At least one of API_KEYS_FILE and a JWT key is required: the API never runs open.
#include <spdlog/spdlog.h>

#include "workloads/common/http_client.h"
#include "workloads/common/http_server.h"
#include "workloads/common/service_main.h"
#include "workloads/common/ssrf_guard.h"
#include "workloads/input_processor/auth.h"
#include "workloads/input_processor/idempotency.h"
#include "workloads/input_processor/input_processor.h"
#include "workloads/input_processor/rate_limit.h"

int main() {
  using namespace va::service;  // NOLINT(google-build-using-namespace): a main of this library
  namespace ip = va::input_processor;
  ConfigSpec spec;
  declareHttpServerConfig(spec, 8080);
  declareLoggingConfig(spec);
  spec.string("PREFRONTAL_CORTEX_URL")
      .string("CONVERSATION_LOG_URL", "")
      .string("WEBHOOK_ALLOW_ADDRESSES", "")
      .textFile("API_KEYS_FILE", Presence::kOptional)
      .secretFile("JWT_HS256_SECRET_FILE", Presence::kOptional)
      .textFile("JWT_RS256_PUBLIC_KEY_FILE", Presence::kOptional)
      .string("JWT_ISSUER", "")
      .string("JWT_AUDIENCE", "")
      .integer("RATE_LIMIT_RPS", 20, 0, 1000000)
      .integer("RATE_LIMIT_BURST", 40, 1, 1000000)
      .durationMs("IDEMPOTENCY_TTL", std::chrono::hours(24))
      .integer("IDEMPOTENCY_CAPACITY", 100000, 1, 10000000)
      .durationMs("PEER_TIMEOUT", std::chrono::seconds(30));
  ServiceRuntime runtime = startService("input-processor", spec);
  const Config& config = runtime.config;

  std::vector<ip::ApiKey> keys;
  if (std::optional<std::string> text = config.text("API_KEYS_FILE")) {
    keys = valueOrExit(ip::parseApiKeys(*text), "API_KEYS_FILE");
  }
  std::optional<ip::JwtOptions> jwt;
  const std::optional<Secret> hs256 = config.secret("JWT_HS256_SECRET_FILE");
  const std::optional<std::string> rs256 = config.text("JWT_RS256_PUBLIC_KEY_FILE");
  if (hs256 || rs256) {
    jwt = ip::JwtOptions{};
    jwt->hs256Secret = hs256;
    jwt->rs256PublicKeyPem = rs256;
    jwt->issuer = config.string("JWT_ISSUER");
    jwt->audience = config.string("JWT_AUDIENCE");
  }
  const ip::Authenticator auth = valueOrExit(ip::Authenticator::create(std::move(keys), jwt),
                                             "API_KEYS_FILE, JWT_HS256_SECRET_FILE, "
                                             "JWT_RS256_PUBLIC_KEY_FILE");
  ip::RateLimiter limiter(static_cast<double>(config.integer("RATE_LIMIT_RPS")),
                          static_cast<double>(config.integer("RATE_LIMIT_BURST")));
  ip::IdempotencyStore idempotency(
      static_cast<std::size_t>(config.integer("IDEMPOTENCY_CAPACITY")),
      std::chrono::duration_cast<std::chrono::seconds>(config.durationMs("IDEMPOTENCY_TTL")));

  HttpClientOptions clientOptions;
  clientOptions.totalTimeout = config.durationMs("PEER_TIMEOUT");
  clientOptions.maxAttempts = 2;
  clientOptions.userAgent = "va-input-processor";
  const HttpClient client(clientOptions);
  ip::InputOptions options;
  options.prefrontalCortexUrl = config.string("PREFRONTAL_CORTEX_URL");
  options.conversationLogUrl = config.string("CONVERSATION_LOG_URL");
  options.callbackAllowAddresses =
      valueOrExit(SsrfGuard::parseAddressList(config.string("WEBHOOK_ALLOW_ADDRESSES")),
                  "WEBHOOK_ALLOW_ADDRESSES");
  if (options.conversationLogUrl.empty()) {
    spdlog::warn("no CONVERSATION_LOG_URL: turns are not logged");
  }
  HttpServer server(httpServerOptionsFrom(config), runtime.registry);
  ip::InputProcessor processor(auth, limiter, idempotency, client, options, *runtime.registry);
  processor.addRoutes(server);
  return runtime.serve(server);
}
