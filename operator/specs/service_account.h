// The ServiceAccount of a component: one per component, with no API token mounted (the
// workloads never talk to the Kubernetes API).
#pragma once

#include <nlohmann/json.hpp>

#include "operator/api/types.h"
#include "operator/specs/operator_config.h"

namespace va::specs {

nlohmann::json serviceAccount(const api::VirtualAssistant& va, api::Component component,
                              const OperatorConfig& config);

}  // namespace va::specs
