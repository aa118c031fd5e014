// The Ingress (networking.k8s.io/v1) to the external Service of input-processor, when
// spec.exposure.ingress.enabled: class, host, path prefix, TLS and extra annotations.
#pragma once

#include <nlohmann/json.hpp>

#include "operator/api/types.h"
#include "operator/specs/operator_config.h"

namespace va::specs {

nlohmann::json ingress(const api::VirtualAssistant& va, const OperatorConfig& config);

}  // namespace va::specs
