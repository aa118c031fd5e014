// The Deployment of a component. `replicas` is left out when an HPA scales the component, so
// that server-side apply never fights the HPA for the field.
#pragma once

#include <nlohmann/json.hpp>

#include "operator/api/types.h"
#include "operator/specs/operator_config.h"

namespace va::specs {

nlohmann::json deployment(const api::VirtualAssistant& va, api::Component component,
                          const OperatorConfig& config, const ReferencedData& referenced);

}  // namespace va::specs
