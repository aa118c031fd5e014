// Start-up configuration from environment variables and mounted files, declared once and
// validated before anything starts. Secrets come only from files named by a variable.
//   ConfigSpec spec;
//   spec.string("VA_LISTEN_ADDR", "0.0.0.0").port("VA_PORT", 8080)
//       .durationMs("VA_DRAIN_TIMEOUT", std::chrono::seconds(20))
//       .secretFile("VA_API_KEYS_FILE", Presence::kOptional);
//   Config config = valueOrExit(spec.load(), "configuration");
//   int port = config.port("VA_PORT");
#pragma once

#include <fmt/format.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "workloads/common/result.h"

namespace va::service {

// A secret value (API key, password). It prints as <redacted> through operator<< and fmt, so
// it cannot end up in a log line by accident; reveal() is the one explicit way to the text.
class Secret {
 public:
  explicit Secret(std::string value) : value_(std::move(value)) {}
  [[nodiscard]] const std::string& reveal() const { return value_; }
  bool operator==(const Secret&) const = default;

 private:
  std::string value_;
};

std::ostream& operator<<(std::ostream& out, const Secret& secret);

// Reads one environment variable; empty values count as unset. Tests pass a map instead.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
EnvLookup processEnvironment();
EnvLookup mapEnvironment(std::map<std::string, std::string> values);

enum class Presence { kRequired, kOptional };

class Config;

// The variables a component reads, with types, defaults and bounds.
class ConfigSpec {
 public:
  // Without a default the variable is required.
  ConfigSpec& string(std::string name, std::optional<std::string> defaultValue = std::nullopt);
  ConfigSpec& choice(std::string name, std::vector<std::string> allowed,
                     std::optional<std::string> defaultValue = std::nullopt);
  ConfigSpec& integer(std::string name, std::optional<std::int64_t> defaultValue, std::int64_t min,
                      std::int64_t max);
  ConfigSpec& port(std::string name, std::optional<int> defaultValue = std::nullopt);
  ConfigSpec& boolean(std::string name, std::optional<bool> defaultValue = std::nullopt);
  // "250ms", "5s", "2m", "1h" or a bare number of milliseconds.
  ConfigSpec& durationMs(std::string name,
                         std::optional<std::chrono::milliseconds> defaultValue = std::nullopt);
  // The variable holds a path; the file's content (trailing newlines trimmed) is the secret.
  ConfigSpec& secretFile(std::string name, Presence presence);
  // The variable holds a path to a mounted, non-secret file read as text.
  ConfigSpec& textFile(std::string name, Presence presence);

  // Reads and checks every variable; the error lists each bad one as "NAME: reason".
  [[nodiscard]] Result<Config> load(const EnvLookup& env = processEnvironment()) const;

  enum class Kind {
    kString,
    kChoice,
    kInteger,
    kPort,
    kBoolean,
    kDuration,
    kSecretFile,
    kTextFile
  };
  struct Entry {
    std::string name;
    Kind kind;
    bool required = false;
    std::optional<std::string> defaultText;  // the default, as it would be written in the env
    std::vector<std::string> allowed;
    std::int64_t min = 0;
    std::int64_t max = 0;
  };

 private:
  ConfigSpec& add(Entry entry);
  std::vector<Entry> entries_;
};

// Validated values. Reading a name that was not declared, or with the wrong type, is a
// programming mistake and aborts with a message naming the variable.
class Config {
 public:
  using Value = std::variant<std::monostate, std::string, std::int64_t, bool,
                             std::chrono::milliseconds, Secret>;

  [[nodiscard]] const std::string& string(std::string_view name) const;
  [[nodiscard]] std::int64_t integer(std::string_view name) const;
  [[nodiscard]] int port(std::string_view name) const;
  [[nodiscard]] bool boolean(std::string_view name) const;
  [[nodiscard]] std::chrono::milliseconds durationMs(std::string_view name) const;
  // Empty when an optional file variable was not set.
  [[nodiscard]] std::optional<Secret> secret(std::string_view name) const;
  [[nodiscard]] std::optional<std::string> text(std::string_view name) const;
  [[nodiscard]] bool has(std::string_view name) const;

  // Every value for a start-up log line, secrets shown as <redacted>.
  [[nodiscard]] nlohmann::json describe() const;

 private:
  friend class ConfigSpec;
  struct Item {
    ConfigSpec::Kind kind;
    Value value;
    std::string source;  // "env", "default" or the file path
  };
  [[nodiscard]] const Item& item(std::string_view name) const;
  std::map<std::string, Item, std::less<>> items_;
};

// Writes `what: message` as one JSON log line to stderr and exits with status 78 (EX_CONFIG).
[[noreturn]] void exitWithError(std::string_view what, const Error& error);

template <typename T>
T valueOrExit(Result<T> result, std::string_view what) {
  if (!result.ok()) exitWithError(what, result.error());
  return std::move(result).value();
}

}  // namespace va::service

template <>
struct fmt::formatter<va::service::Secret> : fmt::formatter<std::string_view> {
  template <typename FormatContext>
  auto format(const va::service::Secret& /*secret*/, FormatContext& ctx) const {
    return fmt::formatter<std::string_view>::format("<redacted>", ctx);
  }
};
