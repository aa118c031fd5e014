#include "operator/api/schema.h"

#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <string_view>

namespace va::api {
namespace {

using kube::Error;
using kube::Status;
using nlohmann::json;

std::string jsonText(const json& value) { return value.dump(); }

std::string childPath(const std::string& path, std::string_view key) {
  std::string out = path;
  out += '.';
  out += key;
  return out;
}

// Compiled patterns, shared: the CRD has a few dozen distinct ones.
const std::regex& compiledPattern(const std::string& pattern) {
  static std::mutex mutex;
  static std::map<std::string, std::regex> cache;
  const std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(pattern);
  if (it == cache.end()) it = cache.emplace(pattern, std::regex(pattern)).first;
  return it->second;
}

Status checkString(const std::string& text, const json& schema, const std::string& path) {
  if (schema.contains("enum")) {
    bool found = false;
    std::string allowed;
    for (const auto& option : schema["enum"]) {
      found = found || option == text;
      allowed += (allowed.empty() ? "" : ", ") + jsonText(option);
    }
    if (!found) {
      return Error(path + ": unsupported value " + jsonText(text) +
                   ": supported values: " + allowed);
    }
  }
  if (schema.contains("minLength") && text.size() < schema["minLength"].get<std::size_t>()) {
    return Error(path + ": must be at least " + schema["minLength"].dump() + " characters");
  }
  if (schema.contains("maxLength") && text.size() > schema["maxLength"].get<std::size_t>()) {
    return Error(path + ": must be at most " + schema["maxLength"].dump() + " characters");
  }
  if (schema.contains("pattern")) {
    const auto& pattern = schema["pattern"].get_ref<const std::string&>();
    if (!std::regex_search(text, compiledPattern(pattern))) {
      return Error(path + ": invalid value " + jsonText(text) + ": should match '" + pattern + "'");
    }
  }
  return {};
}

Status checkInteger(const json& value, const json& schema, const std::string& path) {
  const auto number = value.get<std::int64_t>();
  if (schema.contains("minimum") && number < schema["minimum"].get<std::int64_t>()) {
    return Error(path + ": must be greater than or equal to " + schema["minimum"].dump() +
                 " (got " + value.dump() + ")");
  }
  if (schema.contains("maximum") && number > schema["maximum"].get<std::int64_t>()) {
    return Error(path + ": must be less than or equal to " + schema["maximum"].dump() + " (got " +
                 value.dump() + ")");
  }
  return {};
}

Status applyObject(json& value, const json& schema, const std::string& path) {
  if (!value.is_object()) return Error(path + ": must be an object");
  if (schema.contains("maxProperties") &&
      value.size() > schema["maxProperties"].get<std::size_t>()) {
    return Error(path + ": must have at most " + schema["maxProperties"].dump() + " entries");
  }
  if (schema.contains("additionalProperties")) {
    for (auto& [key, item] : value.items()) {
      if (auto s = applySchema(item, schema["additionalProperties"], childPath(path, key)); !s)
        return s;
    }
    return {};
  }
  if (!schema.contains("properties")) return {};  // free-form (metadata)
  const json& properties = schema["properties"];
  for (const auto& [key, item] : value.items()) {
    if (!properties.contains(key)) return Error(childPath(path, key) + ": unknown field");
  }
  for (const auto& [key, property] : properties.items()) {
    if (value.contains(key) && value[key].is_null()) value.erase(key);  // as the server prunes null
    if (!value.contains(key) && property.contains("default")) value[key] = property["default"];
    if (!value.contains(key)) continue;
    if (auto s = applySchema(value[key], property, childPath(path, key)); !s) return s;
  }
  if (schema.contains("required")) {
    for (const auto& key : schema["required"]) {
      if (!value.contains(key.get<std::string>())) {
        return Error(childPath(path, key.get<std::string>()) + ": required value");
      }
    }
  }
  return {};
}

Status applyArray(json& value, const json& schema, const std::string& path) {
  if (!value.is_array()) return Error(path + ": must be a list");
  if (schema.contains("maxItems") && value.size() > schema["maxItems"].get<std::size_t>()) {
    return Error(path + ": must have at most " + schema["maxItems"].dump() + " items");
  }
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (auto s = applySchema(value[i], schema["items"], path + "[" + std::to_string(i) + "]"); !s) {
      return s;
    }
  }
  if (schema.contains("x-kubernetes-list-map-keys")) {
    std::set<std::string> seen;
    for (std::size_t i = 0; i < value.size(); ++i) {
      std::string identity;
      for (const auto& key : schema["x-kubernetes-list-map-keys"]) {
        identity += value[i].value(key.get<std::string>(), json()).dump() + "/";
      }
      if (!seen.insert(identity).second) {
        std::string message = path;
        message += "[" + std::to_string(i) + "]: duplicate entry ";
        message += identity;
        return Error(message);
      }
    }
  }
  return {};
}

}  // namespace

Status applySchema(json& value, const json& schema, const std::string& path) {
  if (schema.value("x-kubernetes-int-or-string", false)) {
    if (value.is_number_integer()) return checkInteger(value, schema, path);
    if (value.is_string()) return checkString(value.get_ref<const std::string&>(), schema, path);
    return Error(path + ": must be an integer or a string");
  }
  const std::string type = schema.value("type", "");
  if (type == "object") return applyObject(value, schema, path);
  if (type == "array") return applyArray(value, schema, path);
  if (type == "string") {
    if (!value.is_string()) return Error(path + ": must be a string");
    return checkString(value.get_ref<const std::string&>(), schema, path);
  }
  if (type == "integer") {
    if (!value.is_number_integer()) return Error(path + ": must be an integer");
    return checkInteger(value, schema, path);
  }
  if (type == "boolean") {
    if (!value.is_boolean()) return Error(path + ": must be a boolean (true or false)");
    return {};
  }
  return {};
}

}  // namespace va::api
