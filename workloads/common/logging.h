// JSON logs, one object per line on stdout (Fluent Bit reads them), with the request,
// trace and conversation ids of the current thread's log context.
//   initLogging("input-processor", spdlog::level::info);
//   ScopedLogContext scope(currentLogContext().withConversationId(id));
//   spdlog::info("accepted message of {} bytes", body.size());
//   -> {"ts":"2026-01-02T03:04:05.678Z","level":"info","logger":"input-processor",
//       "msg":"accepted message of 12 bytes","conversation_id":"c-1"}
#pragma once

#include <spdlog/formatter.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "workloads/common/config.h"
#include "workloads/common/result.h"
#include "workloads/common/trace_context.h"

namespace va::service {

// Ids that every log line written on this thread carries while a ScopedLogContext is alive.
// Loggers must be synchronous (the formatter reads the context on the logging thread).
struct LogContext {
  std::string requestId;
  std::string conversationId;
  TraceContext trace;  // empty ids when there is no trace

  [[nodiscard]] LogContext withConversationId(std::string id) const;
  [[nodiscard]] LogContext withRequestId(std::string id) const;
  [[nodiscard]] LogContext withTrace(TraceContext context) const;
};

const LogContext& currentLogContext();

// Sets the thread's log context for its lifetime and restores the previous one after.
class ScopedLogContext {
 public:
  explicit ScopedLogContext(LogContext context);
  ~ScopedLogContext();
  ScopedLogContext(const ScopedLogContext&) = delete;
  ScopedLogContext& operator=(const ScopedLogContext&) = delete;

 private:
  LogContext previous_;
};

// Formats each record as one JSON object; strings are escaped by nlohmann::json and invalid
// UTF-8 is replaced, so a line always parses.
class JsonLogFormatter : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  [[nodiscard]] std::unique_ptr<spdlog::formatter> clone() const override;
};

// "trace", "debug", "info", "warn"/"warning", "error", "critical", "off".
Result<spdlog::level::level_enum> parseLogLevel(std::string_view text);

// A synchronous logger named after the component, writing JSON lines to the sink.
std::shared_ptr<spdlog::logger> makeJsonLogger(std::string component, spdlog::sink_ptr sink);

// Makes a JSON stdout logger the default one (spdlog::info and friends use it).
void initLogging(std::string component, spdlog::level::level_enum level);

// VA_LOG_LEVEL: trace, debug, info (default), warn, error, critical, off.
// VA_LOG_FORMAT: json (default; one object a line) or text (for a person at a terminal).
void declareLoggingConfig(ConfigSpec& spec);
spdlog::level::level_enum logLevelFrom(const Config& config);
// initLogging with VA_LOG_LEVEL and VA_LOG_FORMAT (the text format carries no context ids).
void initLogging(std::string component, const Config& config);

// RFC 3339 in UTC with milliseconds: 2026-01-02T03:04:05.678Z.
std::string formatTimestamp(std::chrono::system_clock::time_point time);

}  // namespace va::service
