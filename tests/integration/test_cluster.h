// Shared by the client's integration tests: the RestConfig from $KUBECONFIG, a namespace of the
// suite's own (deleted at the end), polling with a deadline, and the fault proxy's upstream.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>

#include "operator/kube/client.h"
#include "operator/kube/kubeconfig.h"
#include "operator/kube/resource_path.h"
#include "tests/support/fault_proxy.h"

namespace va::kube::integration {

inline std::string randomSuffix() {
  std::random_device device;
  char buffer[9];
  std::snprintf(buffer, sizeof buffer, "%08x", device());
  return buffer;
}

inline Result<RestConfig> configFromEnvironment() {
  const char* path = std::getenv("KUBECONFIG");
  if (path == nullptr || *path == '\0') {
    return Error(
        "KUBECONFIG is not set; point it at the local cluster's kubeconfig "
        "(_output/cluster/kubeconfig, brought up by `make test-integration`)");
  }
  auto config = loadKubeconfig(path);
  if (!config) return Error("cannot load $KUBECONFIG: " + config.error().message());
  return config;
}

// Creates a namespace named <prefix>-<random>; returns its name.
inline Result<std::string> createNamespace(Client& client, const std::string& prefix) {
  const std::string name = prefix + "-" + randomSuffix();
  auto created = client.create(
      "/api/v1/namespaces",
      nlohmann::json{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}}}});
  if (!created) return Error("cannot create namespace " + name + ": " + created.error().toString());
  return name;
}

// Deletes the namespace `name` (with everything in it); a failure is a test failure.
inline void deleteNamespace(Client& client, const std::string& name) {
  auto deleted = client.remove(resourcePath("", "v1", "namespaces", "", name));
  if (!deleted) ADD_FAILURE() << "cannot delete namespace: " << deleted.error().toString();
}

// Calls `done` every `interval` until it returns true or `limit` passes; returns its last answer.
inline bool pollUntil(const std::function<bool()>& done,
                      std::chrono::milliseconds limit = std::chrono::seconds(30),
                      std::chrono::milliseconds interval = std::chrono::milliseconds(100)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(interval);
  }
  return true;
}

// The fault proxy's view of the API server in `config` (which must use a client certificate).
inline va::testing::Upstream upstreamFor(const RestConfig& config) {
  va::testing::Upstream upstream;
  std::string hostPort = config.server.substr(config.server.find("://") + 3);
  hostPort = hostPort.substr(0, hostPort.find('/'));
  const auto colon = hostPort.rfind(':');
  upstream.host = hostPort.substr(0, colon);
  upstream.port = colon == std::string::npos ? 443 : std::stoi(hostPort.substr(colon + 1));
  upstream.caPem = config.caPem;
  upstream.clientCertPem = config.clientCertPem;
  upstream.clientKeyPem = config.clientKeyPem;
  return upstream;
}

}  // namespace va::kube::integration
