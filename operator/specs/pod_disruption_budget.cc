#include "operator/specs/pod_disruption_budget.h"

#include "operator/api/defaults.h"
#include "operator/specs/meta.h"

namespace va::specs {

using nlohmann::json;

json podDisruptionBudget(const api::VirtualAssistant& va, api::Component component,
                         const OperatorConfig& config) {
  const api::PodDisruptionBudget& spec = va.spec.component(component).podDisruptionBudget;
  const std::string_view name = api::componentName(component);
  json pdb =
      object("policy/v1", "PodDisruptionBudget", objectMeta(va, childName(va, name), name, config));
  json s = {{"selector", {{"matchLabels", selectorLabels(va, name)}}}};
  if (spec.minAvailable) {
    s["minAvailable"] = intOrString(*spec.minAvailable);
  } else {
    s["maxUnavailable"] = spec.maxUnavailable ? intOrString(*spec.maxUnavailable)
                                              : json(api::kDefaultPdbMaxUnavailable);
  }
  pdb["spec"] = std::move(s);
  return pdb;
}

}  // namespace va::specs
