// The VA's ServiceMonitor (monitoring.coreos.com/v1, the Prometheus Operator's): scrapes
// /metrics of every component Service when spec.observability.metrics.serviceMonitor is true and
// the monitoring CRDs are installed (OperatorConfig::serviceMonitorsAvailable).
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "operator/api/types.h"
#include "operator/specs/operator_config.h"

namespace va::specs {

// Set on the external Service so that the ServiceMonitor scrapes input-processor once.
inline constexpr std::string_view kExposureLabel = "virtualassistant.dev/exposure";

bool wantsServiceMonitor(const api::VirtualAssistant& va, const OperatorConfig& config);

nlohmann::json serviceMonitor(const api::VirtualAssistant& va, const OperatorConfig& config);

}  // namespace va::specs
