// Structural OpenAPI v3 validation and defaulting, as the API server does for a CRD: applied to
// objects that did not come through an API server (va-operator render, unit tests).
//   nlohmann::json spec = ...;
//   kube::Status s = applySchema(spec, openApiSchema()["properties"]["spec"], "spec");
// It fills in `default:` values (the CRD is the one table of defaults), then checks types, enums,
// bounds, patterns, required fields and unknown fields. Errors name the JSON path.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "operator/kube/result.h"

namespace va::api {

kube::Status applySchema(nlohmann::json& value, const nlohmann::json& schema,
                         const std::string& path);

}  // namespace va::api
