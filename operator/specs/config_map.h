// The generated ConfigMap of a component (<va>-<component>-config): a config.json with the
// component's settings, its peers and where the assistant definition comes from. Mounted at
// /etc/va/config; its data is part of the pods' config hash.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "operator/api/types.h"
#include "operator/specs/operator_config.h"

namespace va::specs {

inline constexpr std::string_view kConfigFileKey = "config.json";

// The content of config.json.
nlohmann::json componentConfigData(const api::VirtualAssistant& va, api::Component component,
                                   const OperatorConfig& config);

nlohmann::json configMap(const api::VirtualAssistant& va, api::Component component,
                         const OperatorConfig& config);

}  // namespace va::specs
