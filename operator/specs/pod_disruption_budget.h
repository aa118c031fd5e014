// The PodDisruptionBudget (policy/v1) of a component: minAvailable or maxUnavailable from the
// spec, maxUnavailable 1 when neither is set (a default the schema cannot express for a one-of).
#pragma once

#include <nlohmann/json.hpp>

#include "operator/api/types.h"
#include "operator/specs/operator_config.h"

namespace va::specs {

nlohmann::json podDisruptionBudget(const api::VirtualAssistant& va, api::Component component,
                                   const OperatorConfig& config);

}  // namespace va::specs
