// Services: a ClusterIP Service per component (<va>-<component>, port http) and the external
// Service of the public entry (<va>-input-processor-public, type and port from spec.exposure).
#pragma once

#include <nlohmann/json.hpp>

#include "operator/api/types.h"
#include "operator/specs/operator_config.h"

namespace va::specs {

nlohmann::json service(const api::VirtualAssistant& va, api::Component component,
                       const OperatorConfig& config);
nlohmann::json externalService(const api::VirtualAssistant& va, const OperatorConfig& config);
std::string externalServiceName(const api::VirtualAssistant& va);

}  // namespace va::specs
