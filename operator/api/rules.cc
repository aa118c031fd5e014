#include "operator/api/rules.h"

#include <string>

namespace va::api {
namespace {

using kube::Error;
using kube::Status;

Status checkComponent(const ComponentSpec& spec, const std::string& path) {
  // CEL: !has(self.replicas) || !has(self.autoscaling) || !has(self.autoscaling.enabled) ||
  //      !self.autoscaling.enabled
  if (spec.replicas && spec.autoscaling.enabled) {
    return Error(path +
                 ".replicas: must be unset when autoscaling is enabled (the HPA owns replicas)");
  }
  // CEL: !has(self.minReplicas) || !has(self.maxReplicas) || self.minReplicas <= self.maxReplicas
  if (spec.autoscaling.minReplicas > spec.autoscaling.maxReplicas) {
    return Error(path + ".autoscaling.maxReplicas: must be >= minReplicas (" +
                 std::to_string(spec.autoscaling.maxReplicas) + " < " +
                 std::to_string(spec.autoscaling.minReplicas) + ")");
  }
  // CEL: !(has(self.minAvailable) && has(self.maxUnavailable))
  if (spec.podDisruptionBudget.minAvailable && spec.podDisruptionBudget.maxUnavailable) {
    return Error(path +
                 ".podDisruptionBudget.minAvailable: set at most one of minAvailable and "
                 "maxUnavailable");
  }
  return {};
}

}  // namespace

Status checkCrossFieldRules(const VirtualAssistant& va) {
  // CEL (root): size(self.metadata.name) <= 24; the DNS-1035 rule
  // self.metadata.name.matches(...) is checked with the metadata in parse.cc.
  if (va.metadata.name.size() > 24) {
    return Error("metadata.name: must be at most 24 characters (child names add up to 28 more)");
  }
  for (const Component component : kAllComponents) {
    const std::string path = "spec.components." + std::string(componentSpecKey(component));
    if (auto status = checkComponent(va.spec.component(component), path); !status) return status;
  }
  // CEL: !has(self.tlsSecretName) || has(self.host)
  const IngressSpec& ingress = va.spec.exposure.ingress;
  if (ingress.tlsSecretName && !ingress.host) {
    return Error("spec.exposure.ingress.tlsSecretName: requires spec.exposure.ingress.host");
  }
  const LanguageModel& model = va.spec.languageModel;
  if (model.provider == "openai") {
    // CEL: !has(self.provider) || self.provider != 'openai' || has(self.endpoint)
    if (!model.endpoint) {
      return Error("spec.languageModel.endpoint: required when provider is openai");
    }
    // CEL: !has(self.provider) || self.provider != 'openai' || has(self.apiKeySecretRef)
    if (!model.apiKeySecretRef) {
      return Error("spec.languageModel.apiKeySecretRef: required when provider is openai");
    }
  } else if (model.endpoint || model.apiKeySecretRef) {
    // CEL: (has(self.provider) && self.provider == 'openai') ||
    //      (!has(self.endpoint) && !has(self.apiKeySecretRef))
    return Error(
        "spec.languageModel.provider: endpoint and apiKeySecretRef are only valid when "
        "provider is openai");
  }
  return {};
}

}  // namespace va::api
