#include "operator/specs/config_map.h"

#include "operator/specs/message_flow.h"
#include "operator/specs/meta.h"

namespace va::specs {

using nlohmann::json;

json componentConfigData(const api::VirtualAssistant& va, api::Component component,
                         const OperatorConfig& config) {
  const api::ComponentSpec& spec = va.spec.component(component);
  json peers = json::object();
  for (const FlowEdge& edge : kMessageFlow) {
    if (edge.from == component)
      peers[api::componentName(edge.to)] = serviceUrl(va, edge.to, config);
  }
  json assistant = {{"source", "builtin"}};
  if (va.spec.assistant) {
    assistant = {{"source", "configMap"},
                 {"configMap", va.spec.assistant->name},
                 {"key", va.spec.assistant->key}};
  }
  return {{"assistant", va.metadata.name},
          {"component", api::componentName(component)},
          {"port", config.componentPort},
          {"logLevel", spec.logLevel.value_or(va.spec.observability.logLevel)},
          {"logFormat", va.spec.observability.logFormat},
          {"peers", std::move(peers)},
          {"assistantDefinition", std::move(assistant)},
          {"tracing", {{"enabled", va.spec.observability.otlpEndpoint.has_value()}}}};
}

json configMap(const api::VirtualAssistant& va, api::Component component,
               const OperatorConfig& config) {
  const std::string_view name = api::componentName(component);
  json cm = object("v1", "ConfigMap", objectMeta(va, childName(va, name, "config"), name, config));
  cm["data"] = {{kConfigFileKey, componentConfigData(va, component, config).dump(2) + "\n"}};
  return cm;
}

}  // namespace va::specs
