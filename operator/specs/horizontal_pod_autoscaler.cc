#include "operator/specs/horizontal_pod_autoscaler.h"

#include "operator/specs/meta.h"

namespace va::specs {

using nlohmann::json;

namespace {

json utilization(std::string_view resource, std::int32_t percent) {
  return {{"type", "Resource"},
          {"resource",
           {{"name", resource},
            {"target", {{"type", "Utilization"}, {"averageUtilization", percent}}}}}};
}

}  // namespace

json horizontalPodAutoscaler(const api::VirtualAssistant& va, api::Component component,
                             const OperatorConfig& config) {
  const api::Autoscaling& a = va.spec.component(component).autoscaling;
  const std::string_view name = api::componentName(component);
  json hpa = object("autoscaling/v2", "HorizontalPodAutoscaler",
                    objectMeta(va, childName(va, name), name, config));
  json metrics = json::array({utilization("cpu", a.targetCPUUtilizationPercentage)});
  if (a.targetMemoryUtilizationPercentage) {
    metrics.push_back(utilization("memory", *a.targetMemoryUtilizationPercentage));
  }
  if (a.customMetric) {
    metrics.push_back({{"type", "Pods"},
                       {"pods",
                        {{"metric", {{"name", a.customMetric->name}}},
                         {"target",
                          {{"type", "AverageValue"},
                           {"averageValue", intOrString(a.customMetric->targetAverageValue)}}}}}});
  }
  hpa["spec"] = {
      {"scaleTargetRef",
       {{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"name", childName(va, name)}}},
      {"minReplicas", a.minReplicas},
      {"maxReplicas", a.maxReplicas},
      {"metrics", std::move(metrics)}};
  return hpa;
}

}  // namespace va::specs
