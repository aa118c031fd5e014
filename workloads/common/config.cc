#include "workloads/common/config.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "workloads/common/logging.h"

namespace va::service {
namespace {

std::string quoteValue(std::string_view text) {
  // Enough for a message: long values are cut so one bad variable cannot flood the log.
  constexpr std::size_t kMaxShown = 64;
  std::string shown(text.substr(0, kMaxShown));
  if (text.size() > kMaxShown) shown += "...";
  return "\"" + shown + "\"";
}

std::optional<std::int64_t> parseInt(std::string_view text) {
  std::int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  return value;
}

std::optional<bool> parseBool(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "true" || lower == "1" || lower == "yes" || lower == "on") return true;
  if (lower == "false" || lower == "0" || lower == "no" || lower == "off") return false;
  return std::nullopt;
}

std::optional<std::chrono::milliseconds> parseDuration(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || digits > 12) return std::nullopt;
  const auto number = parseInt(text.substr(0, digits));
  if (!number) return std::nullopt;
  const std::string_view unit = text.substr(digits);
  std::int64_t factor = 0;
  if (unit.empty() || unit == "ms") {
    factor = 1;
  } else if (unit == "s") {
    factor = 1000;
  } else if (unit == "m") {
    factor = std::int64_t{60} * 1000;
  } else if (unit == "h") {
    factor = std::int64_t{60} * 60 * 1000;
  } else {
    return std::nullopt;
  }
  return std::chrono::milliseconds(*number * factor);
}

Result<std::string> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error("cannot read " + quoteValue(path) + ": " + std::strerror(errno));
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) return Error("cannot read " + quoteValue(path));
  std::string text = content.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

// Turns the raw text of one variable into its typed value, or says why it cannot.
Result<Config::Value> parseValue(const ConfigSpec::Entry& entry, const std::string& text) {
  using Kind = ConfigSpec::Kind;
  switch (entry.kind) {
    case Kind::kString:
      return Config::Value(text);
    case Kind::kChoice: {
      if (std::find(entry.allowed.begin(), entry.allowed.end(), text) != entry.allowed.end()) {
        return Config::Value(text);
      }
      std::string list;
      for (const auto& allowed : entry.allowed) list += (list.empty() ? "" : ", ") + allowed;
      return Error(quoteValue(text) + " is not one of: " + list);
    }
    case Kind::kInteger: {
      const auto value = parseInt(text);
      if (!value) return Error(quoteValue(text) + " is not an integer");
      if (*value < entry.min || *value > entry.max) {
        return Error(quoteValue(text) + " is out of range (" + std::to_string(entry.min) + "-" +
                     std::to_string(entry.max) + ")");
      }
      return Config::Value(*value);
    }
    case Kind::kPort: {
      const auto value = parseInt(text);
      if (!value || *value < 1 || *value > 65535) {
        return Error(quoteValue(text) + " is not a port number (1-65535)");
      }
      return Config::Value(*value);
    }
    case Kind::kBoolean: {
      const auto value = parseBool(text);
      if (!value) return Error(quoteValue(text) + " is not a boolean (true/false)");
      return Config::Value(*value);
    }
    case Kind::kDuration: {
      const auto value = parseDuration(text);
      if (!value) return Error(quoteValue(text) + " is not a duration (e.g. 500ms, 5s, 2m)");
      return Config::Value(*value);
    }
    case Kind::kSecretFile:
    case Kind::kTextFile: {
      auto content = readFile(text);
      if (!content) return content.error();
      if (entry.kind == Kind::kTextFile) return Config::Value(std::move(content).value());
      if (content->empty()) return Error("secret file " + quoteValue(text) + " is empty");
      return Config::Value(Secret(std::move(content).value()));
    }
  }
  return Error("unknown kind");
}

const char* kindName(ConfigSpec::Kind kind) {
  using Kind = ConfigSpec::Kind;
  switch (kind) {
    case Kind::kString:
    case Kind::kChoice:
      return "string";
    case Kind::kInteger:
      return "integer";
    case Kind::kPort:
      return "port";
    case Kind::kBoolean:
      return "boolean";
    case Kind::kDuration:
      return "duration";
    case Kind::kSecretFile:
      return "secret file";
    case Kind::kTextFile:
      return "text file";
  }
  return "value";
}

}  // namespace

std::ostream& operator<<(std::ostream& out, const Secret& /*secret*/) {
  return out << "<redacted>";
}

EnvLookup processEnvironment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());  // NOLINT(concurrency-mt-unsafe): start-up
    if (value == nullptr || *value == '\0') return std::nullopt;
    return std::string(value);
  };
}

EnvLookup mapEnvironment(std::map<std::string, std::string> values) {
  return [values = std::move(values)](const std::string& name) -> std::optional<std::string> {
    const auto it = values.find(name);
    if (it == values.end() || it->second.empty()) return std::nullopt;
    return it->second;
  };
}

ConfigSpec& ConfigSpec::add(Entry entry) {
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(),
                                [&](const Entry& e) { return e.name == entry.name; }),
                 entries_.end());
  entries_.push_back(std::move(entry));
  return *this;
}

ConfigSpec& ConfigSpec::string(std::string name, std::optional<std::string> defaultValue) {
  const bool required = !defaultValue.has_value();
  return add(Entry{std::move(name), Kind::kString, required, std::move(defaultValue), {}, 0, 0});
}

ConfigSpec& ConfigSpec::choice(std::string name, std::vector<std::string> allowed,
                               std::optional<std::string> defaultValue) {
  const bool required = !defaultValue.has_value();
  return add(Entry{std::move(name), Kind::kChoice, required, std::move(defaultValue),
                   std::move(allowed), 0, 0});
}

ConfigSpec& ConfigSpec::integer(std::string name, std::optional<std::int64_t> defaultValue,
                                std::int64_t min, std::int64_t max) {
  std::optional<std::string> text;
  if (defaultValue) text = std::to_string(*defaultValue);
  return add(Entry{std::move(name), Kind::kInteger, !defaultValue, std::move(text), {}, min, max});
}

ConfigSpec& ConfigSpec::port(std::string name, std::optional<int> defaultValue) {
  std::optional<std::string> text;
  if (defaultValue) text = std::to_string(*defaultValue);
  return add(Entry{std::move(name), Kind::kPort, !defaultValue, std::move(text), {}, 1, 65535});
}

ConfigSpec& ConfigSpec::boolean(std::string name, std::optional<bool> defaultValue) {
  std::optional<std::string> text;
  if (defaultValue) text = *defaultValue ? "true" : "false";
  return add(Entry{std::move(name), Kind::kBoolean, !defaultValue, std::move(text), {}, 0, 0});
}

ConfigSpec& ConfigSpec::durationMs(std::string name,
                                   std::optional<std::chrono::milliseconds> defaultValue) {
  std::optional<std::string> text;
  if (defaultValue) text = std::to_string(defaultValue->count()) + "ms";
  return add(Entry{std::move(name), Kind::kDuration, !defaultValue, std::move(text), {}, 0, 0});
}

ConfigSpec& ConfigSpec::secretFile(std::string name, Presence presence) {
  return add(Entry{
      std::move(name), Kind::kSecretFile, presence == Presence::kRequired, std::nullopt, {}, 0, 0});
}

ConfigSpec& ConfigSpec::textFile(std::string name, Presence presence) {
  return add(Entry{
      std::move(name), Kind::kTextFile, presence == Presence::kRequired, std::nullopt, {}, 0, 0});
}

Result<Config> ConfigSpec::load(const EnvLookup& env) const {
  Config config;
  std::vector<std::string> problems;
  for (const auto& entry : entries_) {
    const std::optional<std::string> raw = env(entry.name);
    const bool isFile = entry.kind == Kind::kSecretFile || entry.kind == Kind::kTextFile;
    if (!raw && !entry.defaultText) {
      if (entry.required) {
        problems.push_back(entry.name + ": required " +
                           (isFile ? std::string("(a path to a mounted file) ") : std::string()) +
                           "but not set");
      } else {
        config.items_.emplace(entry.name, Config::Item{entry.kind, std::monostate{}, "unset"});
      }
      continue;
    }
    const std::string& text = raw ? *raw : *entry.defaultText;
    auto value = parseValue(entry, text);
    if (!value) {
      problems.push_back(entry.name + ": " + value.error().message());
      continue;
    }
    const std::string source = isFile ? text : (raw ? "env" : "default");
    config.items_.emplace(entry.name, Config::Item{entry.kind, std::move(value).value(), source});
  }
  if (!problems.empty()) {
    std::string message;
    for (const auto& problem : problems) message += (message.empty() ? "" : "; ") + problem;
    return Error(message);
  }
  return config;
}

const Config::Item& Config::item(std::string_view name) const {
  const auto it = items_.find(name);
  if (it == items_.end()) {
    std::fprintf(stderr, "va::service::Config: %.*s was not declared in the ConfigSpec\n",
                 static_cast<int>(name.size()), name.data());
    std::abort();
  }
  return it->second;
}

namespace {
template <typename T>
const T& typed(const Config::Value& value, std::string_view name, const char* wanted) {
  const T* typedValue = std::get_if<T>(&value);
  if (typedValue == nullptr) {
    std::fprintf(stderr, "va::service::Config: %.*s is not set or not a %s\n",
                 static_cast<int>(name.size()), name.data(), wanted);
    std::abort();
  }
  return *typedValue;
}
}  // namespace

const std::string& Config::string(std::string_view name) const {
  return typed<std::string>(item(name).value, name, "string");
}

std::int64_t Config::integer(std::string_view name) const {
  return typed<std::int64_t>(item(name).value, name, "integer");
}

int Config::port(std::string_view name) const {
  return static_cast<int>(typed<std::int64_t>(item(name).value, name, "port"));
}

bool Config::boolean(std::string_view name) const {
  return typed<bool>(item(name).value, name, "boolean");
}

std::chrono::milliseconds Config::durationMs(std::string_view name) const {
  return typed<std::chrono::milliseconds>(item(name).value, name, "duration");
}

std::optional<Secret> Config::secret(std::string_view name) const {
  const Item& found = item(name);
  if (std::holds_alternative<std::monostate>(found.value)) return std::nullopt;
  return typed<Secret>(found.value, name, "secret file");
}

std::optional<std::string> Config::text(std::string_view name) const {
  const Item& found = item(name);
  if (std::holds_alternative<std::monostate>(found.value)) return std::nullopt;
  return typed<std::string>(found.value, name, "text file");
}

bool Config::has(std::string_view name) const {
  const auto it = items_.find(name);
  return it != items_.end() && !std::holds_alternative<std::monostate>(it->second.value);
}

nlohmann::json Config::describe() const {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& item : items_) {
    const std::string& name = item.first;
    const Item& found = item.second;
    nlohmann::json shown;
    std::visit(
        [&](const auto& value) {
          using T = std::decay_t<decltype(value)>;
          if constexpr (std::is_same_v<T, std::monostate>) {
            shown = nullptr;
          } else if constexpr (std::is_same_v<T, Secret>) {
            shown = "<redacted>";
          } else if constexpr (std::is_same_v<T, std::chrono::milliseconds>) {
            shown = std::to_string(value.count()) + "ms";
          } else if constexpr (std::is_same_v<T, std::string>) {
            // Plain mounted files may be long: show their size, not their content.
            if (found.kind == ConfigSpec::Kind::kTextFile) {
              shown = std::to_string(value.size()) + " bytes";
            } else {
              shown = value;
            }
          } else {
            shown = value;
          }
        },
        found.value);
    out[name] = {{"value", shown}, {"type", kindName(found.kind)}, {"source", found.source}};
  }
  return out;
}

void exitWithError(std::string_view what, const Error& error) {
  nlohmann::ordered_json line;
  line["ts"] = formatTimestamp(std::chrono::system_clock::now());
  line["level"] = "critical";
  line["logger"] = "startup";
  line["msg"] = std::string(what) + ": " + error.message();
  const std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::fprintf(stderr, "%s\n", text.c_str());
  std::fflush(stderr);
  std::exit(78);  // NOLINT(concurrency-mt-unsafe): start-up, before threads
}

}  // namespace va::service
