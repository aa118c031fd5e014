// The HorizontalPodAutoscaler (autoscaling/v2) of a component with autoscaling enabled: CPU and
// optional memory utilization targets and an optional custom per-pod (type Pods) metric.
#pragma once

#include <nlohmann/json.hpp>

#include "operator/api/types.h"
#include "operator/specs/operator_config.h"

namespace va::specs {

nlohmann::json horizontalPodAutoscaler(const api::VirtualAssistant& va, api::Component component,
                                       const OperatorConfig& config);

}  // namespace va::specs
