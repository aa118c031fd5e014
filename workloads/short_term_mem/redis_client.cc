#include "workloads/short_term_mem/redis_client.h"

#include <hiredis/hiredis.h>
#include <openssl/sha.h>
#include <sys/time.h>

#include <array>
#include <charconv>
#include <utility>

namespace va::short_term_mem {
namespace {

using va::service::Error;
using va::service::Result;
using va::service::Secret;

timeval toTimeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

std::optional<int> parseInt(std::string_view text, int min, int max) {
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    return std::nullopt;
  }
  return value;
}

// %XX escapes in the user and password parts.
std::optional<std::string> percentDecode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    int value = 0;
    const auto [end, ec] = std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
    if (ec != std::errc() || end != text.data() + i + 3) return std::nullopt;
    out.push_back(static_cast<char>(value));
    i += 2;
  }
  return out;
}

RedisReply convert(const redisReply& reply) {
  RedisReply out;
  switch (reply.type) {
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = reply.integer;
      break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
      out.type =
          reply.type == REDIS_REPLY_STRING ? RedisReply::Type::kString : RedisReply::Type::kStatus;
      out.str.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      out.elements.reserve(reply.elements);
      for (std::size_t i = 0; i < reply.elements; ++i) {
        out.elements.push_back(convert(*reply.element[i]));  // NOLINT: hiredis's array
      }
      break;
    default:
      out.type = RedisReply::Type::kNil;
      break;
  }
  return out;
}

// Error replies that mean "not now" rather than "wrong": a Redis still loading its data, a
// replica, a master without its replicas.
bool transientReplyError(std::string_view message) {
  for (const std::string_view prefix : {"LOADING", "READONLY", "MASTERDOWN", "TRYAGAIN", "BUSY "}) {
    if (message.starts_with(prefix)) return true;
  }
  return false;
}

}  // namespace

std::string RedisUrl::describe() const {
  const bool v6 = host.find(':') != std::string::npos;
  return "redis://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port) + "/" +
         std::to_string(db);
}

Result<RedisUrl> parseRedisUrl(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  if (!url.starts_with(kScheme)) return Error("must start with redis://");
  std::string_view rest = url.substr(kScheme.size());
  RedisUrl out;
  if (const std::size_t at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const std::size_t colon = userinfo.find(':');
    const std::optional<std::string> user = percentDecode(userinfo.substr(0, colon));
    if (!user) return Error("bad %-escape in the user name");
    out.user = *user;
    if (colon != std::string_view::npos) {
      std::optional<std::string> password = percentDecode(userinfo.substr(colon + 1));
      if (!password) return Error("bad %-escape in the password");
      if (!password->empty()) out.password = Secret(std::move(*password));
    }
  }
  std::string_view path;
  if (const std::size_t slash = rest.find('/'); slash != std::string_view::npos) {
    path = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  std::string_view portText;
  if (rest.starts_with('[')) {
    const std::size_t close = rest.find(']');
    if (close == std::string_view::npos) return Error("unclosed [ in the host");
    out.host = std::string(rest.substr(1, close - 1));
    const std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (!after.starts_with(':')) return Error("unexpected text after the host");
      portText = after.substr(1);
    }
  } else {
    const std::size_t colon = rest.find(':');
    out.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) portText = rest.substr(colon + 1);
  }
  if (out.host.empty()) return Error("the host is missing");
  if (!portText.empty()) {
    const std::optional<int> port = parseInt(portText, 1, 65535);
    if (!port) return Error("the port must be a number from 1 to 65535");
    out.port = *port;
  }
  if (const std::size_t query = path.find('?'); query != std::string_view::npos) {
    path = path.substr(0, query);
  }
  if (!path.empty()) {
    const std::optional<int> db = parseInt(path, 0, 1 << 20);
    if (!db) return Error("the database must be a number (redis://host:port/0)");
    out.db = *db;
  }
  return out;
}

RedisScript::RedisScript(std::string source) : source_(std::move(source)) {
  std::array<unsigned char, SHA_DIGEST_LENGTH> digest{};
  SHA1(reinterpret_cast<const unsigned char*>(source_.data()),  // NOLINT: OpenSSL's bytes
       source_.size(), digest.data());
  static constexpr std::string_view kHex = "0123456789abcdef";
  for (const unsigned char b : digest) {
    sha_.push_back(kHex[b >> 4U]);
    sha_.push_back(kHex[b & 0x0FU]);
  }
}

void RedisClient::ContextDeleter::operator()(redisContext* context) const { redisFree(context); }

RedisClient::RedisClient(RedisUrl url, RedisOptions options)
    : url_(std::move(url)), options_(options) {}

RedisClient::~RedisClient() = default;

Result<RedisClient::Connection, RedisError> RedisClient::connect() const {
  const std::string where = url_.describe();
  Connection connection(
      redisConnectWithTimeout(url_.host.c_str(), url_.port, toTimeval(options_.connectTimeout)));
  if (!connection) return RedisError{RedisErrorKind::kUnavailable, where + ": out of memory"};
  if (connection->err != 0) {
    return RedisError{RedisErrorKind::kUnavailable,
                      where + ": cannot connect: " + std::string(connection->errstr)};
  }
  if (redisSetTimeout(connection.get(), toTimeval(options_.commandTimeout)) != REDIS_OK) {
    return RedisError{RedisErrorKind::kUnavailable, where + ": cannot set the timeout"};
  }
  redisEnableKeepAlive(connection.get());
  if (url_.password) {
    std::vector<std::string> auth = {"AUTH"};
    if (!url_.user.empty()) auth.push_back(url_.user);
    auth.push_back(url_.password->reveal());
    RedisResult authed = run(connection.get(), auth);
    if (!authed) {
      // The reply never repeats the password; say only that authentication failed.
      return RedisError{authed.error().kind == RedisErrorKind::kReply ? RedisErrorKind::kUnavailable
                                                                      : authed.error().kind,
                        where + ": authentication failed"};
    }
  }
  if (url_.db != 0) {
    RedisResult selected = run(connection.get(), {"SELECT", std::to_string(url_.db)});
    if (!selected) {
      return RedisError{RedisErrorKind::kUnavailable,
                        where + ": SELECT failed: " + selected.error().message};
    }
  }
  return connection;
}

Result<RedisClient::Connection, RedisError> RedisClient::borrow() {
  {
    const std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      Connection connection = std::move(idle_.back());
      idle_.pop_back();
      return connection;
    }
  }
  return connect();
}

void RedisClient::giveBack(Connection connection) {
  if (!connection || connection->err != 0) return;  // broken: the next call connects anew
  const std::lock_guard lock(mutex_);
  if (idle_.size() < options_.maxIdleConnections) idle_.push_back(std::move(connection));
}

RedisResult RedisClient::run(redisContext* context, const std::vector<std::string>& args) const {
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  argv.reserve(args.size());
  lengths.reserve(args.size());
  for (const std::string& arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  auto* raw = static_cast<redisReply*>(
      redisCommandArgv(context, static_cast<int>(args.size()), argv.data(), lengths.data()));
  if (raw == nullptr) {
    const std::string reason = context->err != 0 ? std::string(context->errstr) : "no reply";
    return RedisError{RedisErrorKind::kUnavailable, url_.describe() + ": " + reason};
  }
  const std::unique_ptr<redisReply, void (*)(void*)> reply(raw, freeReplyObject);
  if (reply->type == REDIS_REPLY_ERROR) {
    std::string message(reply->str, reply->len);
    const RedisErrorKind kind =
        transientReplyError(message) ? RedisErrorKind::kUnavailable : RedisErrorKind::kReply;
    return RedisError{kind, url_.describe() + ": " + message};
  }
  return convert(*reply);
}

RedisResult RedisClient::command(const std::vector<std::string>& args) {
  Result<Connection, RedisError> connection = borrow();
  if (!connection) return connection.error();
  RedisResult reply = run(connection->get(), args);
  giveBack(std::move(*connection));
  return reply;
}

RedisResult RedisClient::eval(const RedisScript& script, const std::vector<std::string>& keys,
                              const std::vector<std::string>& args) {
  Result<Connection, RedisError> connection = borrow();
  if (!connection) return connection.error();
  std::vector<std::string> argv = {"EVALSHA", script.sha(), std::to_string(keys.size())};
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  RedisResult reply = run(connection->get(), argv);
  if (!reply && reply.error().kind == RedisErrorKind::kReply &&
      reply.error().message.find("NOSCRIPT") != std::string::npos) {
    RedisResult loaded = run(connection->get(), {"SCRIPT", "LOAD", script.source()});
    if (!loaded) {
      giveBack(std::move(*connection));
      return loaded;
    }
    reply = run(connection->get(), argv);
  }
  giveBack(std::move(*connection));
  return reply;
}

va::service::Status RedisClient::ping() {
  RedisResult reply = command({"PING"});
  if (!reply) return reply.error().toError();
  if (reply->type != RedisReply::Type::kStatus || reply->str != "PONG") {
    return Error(url_.describe() + ": unexpected reply to PING");
  }
  return {};
}

}  // namespace va::short_term_mem
