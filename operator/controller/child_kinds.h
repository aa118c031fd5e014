// The kinds of object a VirtualAssistant owns, with their REST coordinates, in apply order.
//   for (const ChildKind& kind : kChildKinds) kube::resourcePath(kind.group, kind.version, ...);
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace va::controller {

struct ChildKind {
  std::string_view apiVersion;  // as in the object: "apps/v1"
  std::string_view kind;        // "Deployment"
  std::string_view group;       // "apps"; "" for the core group
  std::string_view version;     // "v1"
  std::string_view resource;    // "deployments"
};

inline constexpr std::array<ChildKind, 10> kChildKinds = {{
    {"v1", "ServiceAccount", "", "v1", "serviceaccounts"},
    {"v1", "ConfigMap", "", "v1", "configmaps"},
    {"v1", "Service", "", "v1", "services"},
    {"apps/v1", "Deployment", "apps", "v1", "deployments"},
    {"autoscaling/v2", "HorizontalPodAutoscaler", "autoscaling", "v2", "horizontalpodautoscalers"},
    {"policy/v1", "PodDisruptionBudget", "policy", "v1", "poddisruptionbudgets"},
    {"networking.k8s.io/v1", "NetworkPolicy", "networking.k8s.io", "v1", "networkpolicies"},
    {"networking.k8s.io/v1", "Ingress", "networking.k8s.io", "v1", "ingresses"},
    {"batch/v1", "CronJob", "batch", "v1", "cronjobs"},
    // Only when the Prometheus Operator's CRDs are installed (Manager asks at start-up).
    {"monitoring.coreos.com/v1", "ServiceMonitor", "monitoring.coreos.com", "v1",
     "servicemonitors"},
}};

// The index of `kind` in kChildKinds; nullopt for a kind the operator does not own.
std::optional<std::size_t> childKindIndex(std::string_view kind);

// The object's REST path: /apis/apps/v1/namespaces/<ns>/deployments/<name>.
std::string childPath(const ChildKind& kind, std::string_view ns, std::string_view name);

}  // namespace va::controller
