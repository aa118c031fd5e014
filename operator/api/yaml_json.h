// YAML to JSON for offline input (va-operator render, tests): plain scalars are typed the way
// kubectl types them (null, booleans, integers, floats), quoted scalars stay strings.
//   auto docs = parseYamlDocuments(text);   // one JSON value per non-empty YAML document
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "operator/kube/result.h"

namespace va::api {

kube::Result<std::vector<nlohmann::json>> parseYamlDocuments(std::string_view text);

}  // namespace va::api
