#include "operator/specs/child_set.h"

#include "operator/specs/config_map.h"
#include "operator/specs/cron_job.h"
#include "operator/specs/deployment.h"
#include "operator/specs/horizontal_pod_autoscaler.h"
#include "operator/specs/ingress.h"
#include "operator/specs/meta.h"
#include "operator/specs/network_policy.h"
#include "operator/specs/pod_disruption_budget.h"
#include "operator/specs/service.h"
#include "operator/specs/service_account.h"
#include "operator/specs/service_monitor.h"

namespace va::specs {

using api::Component;
using api::kAllComponents;
using nlohmann::json;

ChildSet desiredChildren(const api::VirtualAssistant& va, const OperatorConfig& config,
                         const ReferencedData& referenced) {
  ChildSet set;
  auto& out = set.objects;
  for (const Component c : kAllComponents) out.push_back(serviceAccount(va, c, config));
  for (const Component c : kAllComponents) out.push_back(configMap(va, c, config));
  for (const Component c : kAllComponents) {
    out.push_back(service(va, c, config));
    if (c == Component::kInputProcessor) out.push_back(externalService(va, config));
  }
  for (const Component c : kAllComponents) out.push_back(deployment(va, c, config, referenced));
  for (const Component c : kAllComponents) {
    if (va.spec.component(c).autoscaling.enabled) {
      out.push_back(horizontalPodAutoscaler(va, c, config));
    }
  }
  for (const Component c : kAllComponents) {
    if (va.spec.component(c).podDisruptionBudget.enabled) {
      out.push_back(podDisruptionBudget(va, c, config));
    }
  }
  for (auto& policy : networkPolicies(va, config)) out.push_back(std::move(policy));
  if (va.spec.exposure.ingress.enabled) out.push_back(ingress(va, config));
  if (wantsServiceMonitor(va, config)) out.push_back(serviceMonitor(va, config));
  if (wantsConsolidation(va)) out.push_back(consolidationCronJob(va, config, referenced));
  for (json& child : out) stampIntentHash(child);
  return set;
}

std::string childKey(const nlohmann::json& child) {
  return child.value("kind", "") + "/" + child["metadata"].value("name", "");
}

}  // namespace va::specs
