#include "operator/api/crd_schema.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "operator/api/crd_yaml_data.h"
#include "operator/api/yaml_json.h"

namespace va::api {

std::string_view crdYaml() {
  static const std::string text = [] {
    std::string joined;
    for (const std::string_view part : detail::kCrdYamlParts) joined += part;
    return joined;
  }();
  return text;
}

const nlohmann::json& crd() {
  static const nlohmann::json parsed = [] {
    auto documents = parseYamlDocuments(crdYaml());
    if (!documents || documents->size() != 1) {
      // The CRD is compiled in and covered by unit tests: this cannot fail at run time.
      std::fprintf(stderr, "va::api: the embedded CRD does not parse\n");
      std::abort();
    }
    return documents->front();
  }();
  return parsed;
}

const nlohmann::json& openApiSchema() {
  static const nlohmann::json& schema =
      crd().at("spec").at("versions").at(0).at("schema").at("openAPIV3Schema");
  return schema;
}

}  // namespace va::api
