// The RestConfig of a pod's own service account, as client-go's rest.InClusterConfig builds
// it: the API server from $KUBERNETES_SERVICE_HOST and $KUBERNETES_SERVICE_PORT, the projected
// token (re-read by the client as it rotates), the cluster CA and the pod's namespace.
//   auto config = loadInClusterConfig();
//   if (!config) return config.error();   // e.g. "in-cluster config: $KUBERNETES_SERVICE_HOST
//                                         //  is not set (not running in a pod?)"
#pragma once

#include <string>

#include "operator/kube/kubeconfig.h"
#include "operator/kube/result.h"

namespace va::kube {

// Where a pod finds its service account; tests point these at temporary files.
struct InClusterPaths {
  std::string tokenFile = "/var/run/secrets/kubernetes.io/serviceaccount/token";
  std::string caFile = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
  // Optional: without it the default namespace is "default".
  std::string namespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";
};

// Errors name the missing variable or file. An IPv6 host is bracketed in the URL.
Result<RestConfig> loadInClusterConfig(const InClusterPaths& paths = {});

// True when $KUBERNETES_SERVICE_HOST is set, i.e. the process probably runs in a pod.
bool runningInCluster();

}  // namespace va::kube
