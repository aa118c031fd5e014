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
      {"endpoints", json::array({{{"port", "http"}, {"path", "/metrics"}, {"interval", "30s"}}})},
      // Copied from the Services onto every series (as app_kubernetes_io_instance and
      // app_kubernetes_io_component): the components dashboard selects a VA and a component.
      {"targetLabels", json::array({"app.kubernetes.io/instance", "app.kubernetes.io/component"})}};
  return sm;
}

}  // namespace va::specs
