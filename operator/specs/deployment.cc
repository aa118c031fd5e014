#include "operator/specs/deployment.h"

#include "operator/api/defaults.h"
#include "operator/specs/meta.h"
#include "operator/specs/pod.h"

namespace va::specs {

using nlohmann::json;

json deployment(const api::VirtualAssistant& va, api::Component component,
                const OperatorConfig& config, const ReferencedData& referenced) {
  const api::ComponentSpec& spec = va.spec.component(component);
  const std::string_view name = api::componentName(component);
  json d = object("apps/v1", "Deployment", objectMeta(va, childName(va, name), name, config));
  json s = {
      {"revisionHistoryLimit", 5},
      {"selector", {{"matchLabels", selectorLabels(va, name)}}},
      {"strategy",
       {{"type", "RollingUpdate"}, {"rollingUpdate", {{"maxUnavailable", 0}, {"maxSurge", 1}}}}},
      {"template", podTemplate(va, component, PodRole::kServer, config, referenced)}};
  if (!spec.autoscaling.enabled) s["replicas"] = spec.replicas.value_or(api::kDefaultReplicas);
  d["spec"] = std::move(s);
  return d;
}

}  // namespace va::specs
