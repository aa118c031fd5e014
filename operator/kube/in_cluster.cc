#include "operator/kube/in_cluster.h"

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <system_error>

namespace va::kube {
namespace {

Error inClusterError(const std::string& message) { return Error("in-cluster config: " + message); }

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

// The file's contents with surrounding whitespace removed, or an error naming it.
Result<std::string> readTrimmed(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return inClusterError("cannot read " + path + ": " + std::generic_category().message(errno));
  }
  std::stringstream contents;
  contents << file.rdbuf();
  std::string text = contents.str();
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return std::string();
  return text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
}

}  // namespace

bool runningInCluster() { return !environment("KUBERNETES_SERVICE_HOST").empty(); }

Result<RestConfig> loadInClusterConfig(const InClusterPaths& paths) {
  const std::string host = environment("KUBERNETES_SERVICE_HOST");
  const std::string port = environment("KUBERNETES_SERVICE_PORT");
  if (host.empty()) {
    return inClusterError("$KUBERNETES_SERVICE_HOST is not set (not running in a pod?)");
  }
  if (port.empty()) {
    return inClusterError("$KUBERNETES_SERVICE_PORT is not set (not running in a pod?)");
  }
  RestConfig config;
  // An IPv6 literal (it has colons) goes in brackets, as net.JoinHostPort does.
  const bool ipv6 = host.find(':') != std::string::npos && host.front() != '[';
  config.server = "https://" + (ipv6 ? "[" + host + "]" : host) + ":" + port;

  auto token = readTrimmed(paths.tokenFile);
  if (!token) return token.error();
  if (token->empty()) return inClusterError("the token file " + paths.tokenFile + " is empty");
  config.bearerToken = std::move(*token);
  config.tokenFile = paths.tokenFile;  // the client re-reads it as the kubelet rotates it

  auto ca = readTrimmed(paths.caFile);
  if (!ca) return ca.error();
  if (ca->find("-----BEGIN ") == std::string::npos) {
    return inClusterError("the CA file " + paths.caFile + " is not PEM");
  }
  config.caPem = std::move(*ca) + "\n";
  config.caFile = paths.caFile;

  if (auto ns = readTrimmed(paths.namespaceFile); ns && !ns->empty()) {
    config.defaultNamespace = std::move(*ns);
  }
  return config;
}

}  // namespace va::kube
