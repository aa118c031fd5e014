#include "operator/specs/service.h"

#include "operator/specs/meta.h"
#include "operator/specs/service_monitor.h"

namespace va::specs {

using nlohmann::json;

json service(const api::VirtualAssistant& va, api::Component component,
             const OperatorConfig& config) {
  const std::string_view name = api::componentName(component);
  json s = object("v1", "Service", objectMeta(va, childName(va, name), name, config));
  s["spec"] = {{"type", "ClusterIP"},
               {"selector", selectorLabels(va, name)},
               {"ports", json::array({{{"name", "http"},
                                       {"port", config.componentPort},
                                       {"targetPort", "http"},
                                       {"protocol", "TCP"}}})}};
  return s;
}

std::string externalServiceName(const api::VirtualAssistant& va) {
  return childName(va, api::componentName(api::Component::kInputProcessor), "public");
}

json externalService(const api::VirtualAssistant& va, const OperatorConfig& config) {
  const std::string_view name = api::componentName(api::Component::kInputProcessor);
  json s = object("v1", "Service", objectMeta(va, externalServiceName(va), name, config));
  s["metadata"]["labels"][std::string(kExposureLabel)] = "public";
  s["spec"] = {{"type", va.spec.exposure.service.type},
               {"selector", selectorLabels(va, name)},
               {"ports", json::array({{{"name", "http"},
                                       {"port", va.spec.exposure.service.port},
                                       {"targetPort", "http"},
                                       {"protocol", "TCP"}}})}};
  return s;
}

}  // namespace va::specs
