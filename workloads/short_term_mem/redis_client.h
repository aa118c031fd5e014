// A small Redis client over hiredis for the stores' services: connections from a URL, bounded
// connect and command timeouts, a pool shared by the HTTP server's workers (a broken connection
// is dropped and the next call connects again, so a restarted Redis is picked up by itself),
// commands as argument vectors (binary-safe) and Lua scripts run with EVALSHA, loaded on a
// NOSCRIPT reply.
//   RedisUrl url = valueOrExit(parseRedisUrl(secret.reveal()), "REDIS_URL_FILE");
//   RedisClient redis(url, {.connectTimeout = 1s, .commandTimeout = 1s});
//   RedisResult reply = redis.command({"SET", "k", "v", "PX", "30000"});
//   if (!reply && reply.error().kind == RedisErrorKind::kUnavailable) ...   // answer 503
//   static const RedisScript kTake("return redis.call('GET', KEYS[1])");
//   RedisResult got = redis.eval(kTake, {"k"}, {});
// The URL's password never appears in a message: errors and describe() name host:port/db only.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "workloads/common/config.h"
#include "workloads/common/result.h"

struct redisContext;

namespace va::short_term_mem {

// redis://[[user]:password@]host[:port][/db]
struct RedisUrl {
  std::string host;
  int port = 6379;
  int db = 0;
  std::string user;  // empty: AUTH with the password alone (requirepass)
  std::optional<va::service::Secret> password{};

  // "redis://host:port/db" with the credentials left out, for logs and errors.
  [[nodiscard]] std::string describe() const;
};

va::service::Result<RedisUrl> parseRedisUrl(std::string_view url);

struct RedisReply {
  enum class Type { kNil, kInteger, kString, kStatus, kArray };
  Type type = Type::kNil;
  std::int64_t integer = 0;
  std::string str{};  // kString and kStatus
  std::vector<RedisReply> elements{};

  [[nodiscard]] bool isNil() const { return type == Type::kNil; }
};

enum class RedisErrorKind {
  kUnavailable,  // cannot connect, timed out, connection lost, or Redis is loading/read-only
  kReply,        // Redis answered with an error (a bad command or script)
};

struct RedisError {
  RedisErrorKind kind;
  std::string message;

  [[nodiscard]] va::service::Error toError() const { return va::service::Error(message); }
};

using RedisResult = va::service::Result<RedisReply, RedisError>;

// A Lua script and its SHA1, for EVALSHA.
class RedisScript {
 public:
  explicit RedisScript(std::string source);
  [[nodiscard]] const std::string& source() const { return source_; }
  [[nodiscard]] const std::string& sha() const { return sha_; }

 private:
  std::string source_;
  std::string sha_;
};

struct RedisOptions {
  std::chrono::milliseconds connectTimeout{1000};
  std::chrono::milliseconds commandTimeout{1000};
  std::size_t maxIdleConnections = 16;  // kept open between calls; more are opened on demand
};

// Thread-safe: each call borrows a connection from the pool (or opens one) for its duration.
class RedisClient {
 public:
  explicit RedisClient(RedisUrl url, RedisOptions options = {});
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  [[nodiscard]] RedisResult command(const std::vector<std::string>& args);
  // EVALSHA; on NOSCRIPT (a restarted or flushed Redis) SCRIPT LOAD and once more.
  [[nodiscard]] RedisResult eval(const RedisScript& script, const std::vector<std::string>& keys,
                                 const std::vector<std::string>& args);
  // PING, for the readiness check.
  [[nodiscard]] va::service::Status ping();

  [[nodiscard]] const RedisUrl& url() const { return url_; }

 private:
  struct ContextDeleter {
    void operator()(redisContext* context) const;
  };
  using Connection = std::unique_ptr<redisContext, ContextDeleter>;

  [[nodiscard]] va::service::Result<Connection, RedisError> connect() const;
  va::service::Result<Connection, RedisError> borrow();
  void giveBack(Connection connection);
  RedisResult run(redisContext* context, const std::vector<std::string>& args) const;

  RedisUrl url_;
  RedisOptions options_;
  std::mutex mutex_;
  std::vector<Connection> idle_;
};

}  // namespace va::short_term_mem
