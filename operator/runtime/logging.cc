#include "operator/runtime/logging.h"

#include <spdlog/details/log_msg.h>
#include <spdlog/formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <utility>

namespace va::runtime {
namespace {

using nlohmann::json;

// Marks a payload built by logAt(): what follows is `"msg":...,"key":value...` ready to be
// wrapped. The ASCII record separator never occurs in text that callers log on purpose.
constexpr char kFieldsMarker = '\x1e';

std::string dumpJson(const json& value) {
  // replace: invalid UTF-8 becomes U+FFFD instead of an exception.
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

spdlog::level::level_enum toSpdlog(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return spdlog::level::debug;
    case LogLevel::kInfo:
      return spdlog::level::info;
    case LogLevel::kWarn:
      return spdlog::level::warn;
    case LogLevel::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

// zap's level names.
std::string_view levelName(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info";
    case spdlog::level::warn:
      return "warn";
    default:
      return "error";
  }
}

void append(spdlog::memory_buf_t& dest, std::string_view text) {
  dest.append(text.data(), text.data() + text.size());
}

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    append(dest, R"({"level":")");
    append(dest, levelName(msg.level));
    append(dest, R"(","ts":")");
    append(dest, formatTimestamp(msg.time));
    append(dest, "\"");
    if (msg.logger_name.size() > 0) {
      append(dest, R"(,"logger":)");
      append(dest, dumpJson(std::string(msg.logger_name.data(), msg.logger_name.size())));
    }
    append(dest, ",");
    const std::string_view payload(msg.payload.data(), msg.payload.size());
    if (!payload.empty() && payload.front() == kFieldsMarker) {
      append(dest, payload.substr(1));
    } else {
      append(dest, R"("msg":)");
      append(dest, dumpJson(std::string(payload)));
    }
    append(dest, "}\n");
  }

  [[nodiscard]] std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

}  // namespace

std::optional<LogLevel> parseLogLevel(std::string_view text) {
  if (text == "debug") return LogLevel::kDebug;
  if (text == "info") return LogLevel::kInfo;
  if (text == "warn") return LogLevel::kWarn;
  if (text == "error") return LogLevel::kError;
  int verbosity = -1;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, verbosity);
  if (text.empty() || ec != std::errc() || ptr != end || verbosity < 0) return std::nullopt;
  return verbosity == 0 ? LogLevel::kInfo : LogLevel::kDebug;
}

std::string formatTimestamp(spdlog::log_clock::time_point time) {
  const auto sinceEpoch = time.time_since_epoch();
  const auto seconds = std::chrono::floor<std::chrono::seconds>(sinceEpoch);
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(sinceEpoch - seconds);
  const std::time_t whole = seconds.count();
  std::tm utc{};
  gmtime_r(&whole, &utc);
  char buffer[96];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(millis.count()));
  return buffer;
}

std::shared_ptr<spdlog::logger> makeJsonLogger(std::string name, spdlog::sink_ptr sink,
                                               LogLevel level) {
  sink->set_formatter(std::make_unique<JsonFormatter>());
  auto logger = std::make_shared<spdlog::logger>(std::move(name), std::move(sink));
  logger->set_level(toSpdlog(level));
  logger->flush_on(spdlog::level::trace);
  return logger;
}

std::shared_ptr<spdlog::logger> makeJsonLogger(std::string name, const LogOptions& options) {
  spdlog::sink_ptr sink;
  if (options.stream == LogStream::kStdout) {
    sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
  } else {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  }
  return makeJsonLogger(std::move(name), std::move(sink), options.level);
}

std::shared_ptr<spdlog::logger> withName(const spdlog::logger& parent, std::string_view name) {
  std::string full = parent.name();
  if (!full.empty()) full += '.';
  full += name;
  auto child = std::make_shared<spdlog::logger>(std::move(full), parent.sinks().begin(),
                                                parent.sinks().end());
  child->set_level(parent.level());
  child->flush_on(parent.flush_level());
  return child;
}

void logAt(spdlog::logger& logger, LogLevel level, std::string_view msg, const LogFields& fields) {
  const auto spdLevel = toSpdlog(level);
  if (!logger.should_log(spdLevel)) return;
  std::string payload(1, kFieldsMarker);
  payload += R"("msg":)";
  payload += dumpJson(std::string(msg));
  for (const LogField& field : fields) {
    payload += ',';
    payload += dumpJson(field.key);
    payload += ':';
    payload += dumpJson(field.value);
  }
  logger.log(spdLevel, spdlog::string_view_t(payload.data(), payload.size()));
}

}  // namespace va::runtime
