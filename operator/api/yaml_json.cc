#include "operator/api/yaml_json.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <exception>
#include <string>
#include <system_error>

namespace va::api {
namespace {

using nlohmann::json;

json plainScalar(const std::string& text) {
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
    return nullptr;
  }
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  std::int64_t integer = 0;
  const char* end = text.data() + text.size();
  if (auto [ptr, ec] = std::from_chars(text.data(), end, integer);
      ec == std::errc() && ptr == end) {
    return integer;
  }
  const bool numeric = text.find_first_not_of("0123456789+-.eE") == std::string::npos &&
                       text.find_first_of("0123456789") != std::string::npos;
  if (numeric) {
    double real = 0;
    if (auto [ptr, ec] = std::from_chars(text.data(), end, real); ec == std::errc() && ptr == end) {
      return real;
    }
  }
  return text;
}

json toJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      // yaml-cpp tags quoted and block scalars "!" and plain ones "?".
      return node.Tag() == "?" ? plainScalar(node.Scalar()) : json(node.Scalar());
    case YAML::NodeType::Sequence: {
      json array = json::array();
      for (const auto& item : node) array.push_back(toJson(item));
      return array;
    }
    case YAML::NodeType::Map: {
      json object = json::object();
      for (const auto& entry : node) object[entry.first.as<std::string>()] = toJson(entry.second);
      return object;
    }
  }
  return nullptr;
}

}  // namespace

kube::Result<std::vector<json>> parseYamlDocuments(std::string_view text) {
  try {
    std::vector<json> documents;
    for (const auto& node : YAML::LoadAll(std::string(text))) {
      json document = toJson(node);
      if (!document.is_null()) documents.push_back(std::move(document));
    }
    return documents;
  } catch (const YAML::Exception& e) {
    return kube::Error("invalid YAML: " + std::string(e.what()));
  } catch (const std::exception& e) {
    return kube::Error("invalid YAML: " + std::string(e.what()));
  }
}

}  // namespace va::api
