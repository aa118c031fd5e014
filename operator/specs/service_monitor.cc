#include "operator/specs/service_monitor.h"

#include "operator/specs/meta.h"

namespace va::specs {

using nlohmann::json;

bool wantsServiceMonitor(const api::VirtualAssistant& va, const OperatorConfig& config) {
  return va.spec.observability.serviceMonitor && config.serviceMonitorsAvailable;
}

json serviceMonitor(const api::VirtualAssistant& va, const OperatorConfig& config) {
  json sm = object("monitoring.coreos.com/v1", "ServiceMonitor",
                   objectMeta(va, childName(va, "metrics"), "virtual-assistant", config));
  sm["spec"] = {
      {"selector",
       {{"matchLabels", instanceSelector(va)},
        {"matchExpressions",
         json::array({{{"key", kExposureLabel}, {"operator", "DoesNotExist"}}})}}},
      {"endpoints", json::array({{{"port", "http"}, {"path", "/metrics"}, {"interval", "30s"}}})}};
  return sm;
}

}  // namespace va::specs
