// `va-operator render`: the children the operator would apply for the VirtualAssistant in a YAML
// file, as multi-document YAML in apply order, without a cluster.
//   auto yaml = renderFile("examples/concierge.yaml", OperatorConfig{});
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "operator/kube/result.h"
#include "operator/specs/child_set.h"

namespace va::specs {

// Parses the one VirtualAssistant among the documents of `text` (other kinds, such as the
// Secrets and ConfigMaps an example ships with, are skipped) and renders its children.
kube::Result<std::string> renderYaml(std::string_view text, const OperatorConfig& config);
kube::Result<std::string> renderFile(const std::string& path, const OperatorConfig& config);

// One object as block YAML (keys in the object's order; strings quoted when YAML would retype
// them).
std::string toYaml(const nlohmann::json& object);

}  // namespace va::specs
