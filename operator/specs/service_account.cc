#include "operator/specs/service_account.h"

#include "operator/specs/meta.h"

namespace va::specs {

nlohmann::json serviceAccount(const api::VirtualAssistant& va, api::Component component,
                              const OperatorConfig& config) {
  const std::string_view name = api::componentName(component);
  nlohmann::json sa =
      object("v1", "ServiceAccount", objectMeta(va, childName(va, name), name, config));
  sa["automountServiceAccountToken"] = false;
  return sa;
}

}  // namespace va::specs
