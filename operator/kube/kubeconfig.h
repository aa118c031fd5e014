// How to reach and authenticate to an API server (RestConfig), and the kubeconfig loader that
// fills it the way kubectl does: current-context, contexts, clusters, users, inline *-data or
// files relative to the kubeconfig's directory.
//   auto config = loadDefaultConfig();  // $KUBECONFIG, else ~/.kube/config, else in-cluster
//   auto staging = loadKubeconfig(path, "staging"); // a named context instead of the current one
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "operator/kube/result.h"

namespace va::kube {

// Everything the client needs to talk to one API server. PEM material is held in memory and
// handed to TLS from there. Loaders for other sources (such as a pod's service account) fill
// the same struct. bearerToken and clientKeyPem are secrets: never log or print them.
struct RestConfig {
  std::string server;         // "https://host:port[/prefix]", no trailing slash
  std::string caPem;          // trusted CA bundle; empty means the system trust store
  std::string clientCertPem;  // client certificate (chain), used together with clientKeyPem
  std::string clientKeyPem;
  std::string bearerToken;  // sent as "Authorization: Bearer ..." when not empty
  std::string tokenFile;    // when set, the client re-reads the token from it (rotation)
  std::string caFile;       // where caPem, clientCertPem, clientKeyPem were read from, when
  std::string certFile;     // they came from files (absolute paths, for messages)
  std::string keyFile;
  std::string defaultNamespace = "default";
  bool insecureSkipTlsVerify = false;
};

// Loads one kubeconfig file. Uses `context` when given, else the file's current-context.
// Errors name the file and the field, e.g.
// `kubeconfig /x: users[admin].client-key-data: invalid base64: ...`.
Result<RestConfig> loadKubeconfig(const std::string& path,
                                  const std::optional<std::string>& context = std::nullopt);

// Loads several kubeconfig files merged as kubectl merges $KUBECONFIG: for current-context and
// for each named context, cluster and user the first file that defines it wins; relative file
// paths resolve against the directory of the file that holds them. Files that do not exist
// are skipped; it is an error if none exists.
Result<RestConfig> loadKubeconfigFiles(const std::vector<std::string>& paths,
                                       const std::optional<std::string>& context = std::nullopt);

// The configuration a user expects, first found wins:
//   1. the files listed in $KUBECONFIG (colon-separated), when it is set and not empty;
//   2. $HOME/.kube/config, when it exists (or when not in a pod, so that the error names it);
//   3. the pod's service account (loadInClusterConfig() in in_cluster.h), when
//      $KUBERNETES_SERVICE_HOST is set and no `context` was asked for.
Result<RestConfig> loadDefaultConfig(const std::optional<std::string>& context = std::nullopt);

}  // namespace va::kube
