// JSON logs in the shape of controller-runtime's zap encoder, one object per line:
//   {"level":"info","ts":"2024-05-01T12:00:00.123Z","logger":"controller","msg":"Reconciling",
//    "namespace":"default","name":"va-1","reconcileID":"4f1c..."}
// through spdlog, so that sinks, levels and flushing work as spdlog users expect:
//   auto log = makeJsonLogger("controller", {.level = LogLevel::kInfo});
//   logInfo(*log, "Reconciling", {{"namespace", ns}, {"name", name}, {"reconcileID", id}});
#pragma once

#include <spdlog/common.h>
#include <spdlog/logger.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace va::runtime {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

// Parses a --zap-log-level value: "debug", "info", "warn", "error", or a verbosity integer
// (0 is info, anything above is debug, as logr's V(n) maps onto zap). nullopt if invalid.
std::optional<LogLevel> parseLogLevel(std::string_view text);

enum class LogStream { kStderr, kStdout };

struct LogOptions {
  LogLevel level = LogLevel::kInfo;
  LogStream stream = LogStream::kStderr;
};

// One structured key/value after "msg". Any JSON value is allowed.
struct LogField {
  std::string key;
  nlohmann::json value;
};
using LogFields = std::vector<LogField>;

// A logger named `name` writing JSON lines to stderr or stdout, flushed after every line.
std::shared_ptr<spdlog::logger> makeJsonLogger(std::string name, const LogOptions& options = {});

// The same with a sink of the caller's choosing (tests pass an ostream sink).
std::shared_ptr<spdlog::logger> makeJsonLogger(std::string name, spdlog::sink_ptr sink,
                                               LogLevel level = LogLevel::kInfo);

// A logger sharing `parent`'s sinks and level, named "<parent>.<name>" (logr's WithName).
std::shared_ptr<spdlog::logger> withName(const spdlog::logger& parent, std::string_view name);

// Writes one record: msg plus `fields` in their order. Plain spdlog calls on a JSON logger
// (logger.info("text")) also come out as valid JSON, with no extra fields.
void logAt(spdlog::logger& logger, LogLevel level, std::string_view msg,
           const LogFields& fields = {});

inline void logDebug(spdlog::logger& logger, std::string_view msg, const LogFields& fields = {}) {
  logAt(logger, LogLevel::kDebug, msg, fields);
}
inline void logInfo(spdlog::logger& logger, std::string_view msg, const LogFields& fields = {}) {
  logAt(logger, LogLevel::kInfo, msg, fields);
}
inline void logError(spdlog::logger& logger, std::string_view msg, const LogFields& fields = {}) {
  logAt(logger, LogLevel::kError, msg, fields);
}

// RFC 3339 in UTC with milliseconds, e.g. "2024-05-01T12:00:00.123Z" (the `ts` field).
std::string formatTimestamp(spdlog::log_clock::time_point time);

}  // namespace va::runtime
