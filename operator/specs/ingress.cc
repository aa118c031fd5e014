#include "operator/specs/ingress.h"

#include "operator/specs/meta.h"
#include "operator/specs/service.h"

namespace va::specs {

using nlohmann::json;

json ingress(const api::VirtualAssistant& va, const OperatorConfig& config) {
  const api::IngressSpec& spec = va.spec.exposure.ingress;
  const std::string_view name = api::componentName(api::Component::kInputProcessor);
  json meta = objectMeta(va, childName(va, name), name, config);
  if (!spec.annotations.empty()) meta["annotations"] = spec.annotations;
  json ing = object("networking.k8s.io/v1", "Ingress", std::move(meta));
  json path = {{"path", spec.path},
               {"pathType", "Prefix"},
               {"backend",
                {{"service",
                  {{"name", externalServiceName(va)},
                   {"port", {{"number", va.spec.exposure.service.port}}}}}}}};
  json rule = {{"http", {{"paths", json::array({std::move(path)})}}}};
  if (spec.host) rule["host"] = *spec.host;
  json s = {{"rules", json::array({std::move(rule)})}};
  if (spec.className) s["ingressClassName"] = *spec.className;
  if (spec.tlsSecretName) {
    s["tls"] = json::array(
        {{{"hosts", json::array({spec.host.value_or("")})}, {"secretName", *spec.tlsSecretName}}});
  }
  ing["spec"] = std::move(s);
  return ing;
}

}  // namespace va::specs
