// The VirtualAssistant CRD compiled into the operator:
// crds/virtualassistant.dev_virtualassistants.yaml is embedded at build time, so defaults and
// validation have exactly one source.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

namespace va::api {

// The CRD manifest text as shipped in crds/.
std::string_view crdYaml();
// The CRD as JSON (parsed once).
const nlohmann::json& crd();
// The openAPIV3Schema of the v1alpha1 version.
const nlohmann::json& openApiSchema();

}  // namespace va::api
