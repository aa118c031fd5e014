#include "workloads/common/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <nlohmann/json.hpp>

namespace va::service {
namespace {

LogContext& threadContext() {
  thread_local LogContext context;
  return context;
}

}  // namespace

LogContext LogContext::withConversationId(std::string id) const {
  LogContext copy = *this;
  copy.conversationId = std::move(id);
  return copy;
}

LogContext LogContext::withRequestId(std::string id) const {
  LogContext copy = *this;
  copy.requestId = std::move(id);
  return copy;
}

LogContext LogContext::withTrace(TraceContext context) const {
  LogContext copy = *this;
  copy.trace = std::move(context);
  return copy;
}

const LogContext& currentLogContext() { return threadContext(); }

ScopedLogContext::ScopedLogContext(LogContext context)
    : previous_(std::exchange(threadContext(), std::move(context))) {}

ScopedLogContext::~ScopedLogContext() { threadContext() = std::move(previous_); }

std::string formatTimestamp(std::chrono::system_clock::time_point time) {
  const auto sinceEpoch = time.time_since_epoch();
  const auto seconds = std::chrono::floor<std::chrono::seconds>(sinceEpoch);
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(sinceEpoch - seconds);
  const auto whole = static_cast<std::time_t>(seconds.count());
  std::tm utc{};
  gmtime_r(&whole, &utc);
  char text[32];
  const std::size_t length = std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &utc);
  char fraction[8];
  std::snprintf(fraction, sizeof(fraction), ".%03dZ", static_cast<int>(millis.count()));
  return std::string(text, length) + fraction;
}

void JsonLogFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  nlohmann::ordered_json line;
  line["ts"] = formatTimestamp(msg.time);
  const auto level = spdlog::level::to_string_view(msg.level);
  line["level"] = std::string(level.data(), level.size());
  line["logger"] = std::string(msg.logger_name.data(), msg.logger_name.size());
  line["msg"] = std::string(msg.payload.data(), msg.payload.size());
  const LogContext& context = currentLogContext();
  if (!context.requestId.empty()) line["request_id"] = context.requestId;
  if (!context.trace.traceId.empty()) {
    line["trace_id"] = context.trace.traceId;
    line["span_id"] = context.trace.spanId;
  }
  if (!context.conversationId.empty()) line["conversation_id"] = context.conversationId;
  const std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  dest.append(text.data(), text.data() + text.size());
  dest.push_back('\n');
}

std::unique_ptr<spdlog::formatter> JsonLogFormatter::clone() const {
  return std::make_unique<JsonLogFormatter>();
}

Result<spdlog::level::level_enum> parseLogLevel(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  using spdlog::level::level_enum;
  if (lower == "trace") return level_enum::trace;
  if (lower == "debug") return level_enum::debug;
  if (lower == "info") return level_enum::info;
  if (lower == "warn" || lower == "warning") return level_enum::warn;
  if (lower == "error") return level_enum::err;
  if (lower == "critical") return level_enum::critical;
  if (lower == "off") return level_enum::off;
  return Error("\"" + std::string(text) +
               "\" is not a log level (trace, debug, info, warn, error, critical, off)");
}

std::shared_ptr<spdlog::logger> makeJsonLogger(std::string component, spdlog::sink_ptr sink) {
  auto logger = std::make_shared<spdlog::logger>(std::move(component), std::move(sink));
  logger->set_formatter(std::make_unique<JsonLogFormatter>());
  return logger;
}

void declareLoggingConfig(ConfigSpec& spec) {
  spec.choice("VA_LOG_LEVEL", {"trace", "debug", "info", "warn", "error", "critical", "off"},
              "info")
      .choice("VA_LOG_FORMAT", {"json", "text"}, "json");
}

spdlog::level::level_enum logLevelFrom(const Config& config) {
  const auto level = parseLogLevel(config.string("VA_LOG_LEVEL"));
  return level.ok() ? *level : spdlog::level::info;
}

void initLogging(std::string component, spdlog::level::level_enum level) {
  auto logger =
      makeJsonLogger(std::move(component), std::make_shared<spdlog::sinks::stdout_sink_mt>());
  logger->set_level(level);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(std::move(logger));
}

void initLogging(std::string component, const Config& config) {
  initLogging(std::move(component), logLevelFrom(config));
  if (config.string("VA_LOG_FORMAT") == "text") {
    spdlog::default_logger()->set_formatter(std::make_unique<spdlog::pattern_formatter>(
        "%Y-%m-%dT%H:%M:%S.%eZ %l %n: %v", spdlog::pattern_time_type::utc));
  }
}

}  // namespace va::service
