// Inputs of the builders besides the VirtualAssistant: the operator's own configuration (image
// defaults, ports) and the versions of the Secrets and ConfigMaps a VA references, which go into
// the pods' config-hash annotation so that a change rolls the pods.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#ifndef VA_VERSION
#error "VA_VERSION (the project's version) must be defined; operator/specs/CMakeLists.txt does"
#endif

namespace va::specs {

struct OperatorConfig {
  // Images are <registry>/<component>:<tag> unless the VA overrides them (spec.image): the
  // names `make images` builds (the Makefile's REGISTRY and the project's version).
  std::string defaultRegistry = "va.local";
  std::string defaultTag = VA_VERSION;
  // Every component listens on this port (HTTP API, /healthz, /readyz, /metrics).
  std::int32_t componentPort = 8080;
  // The non-root user and group every container runs as.
  std::int64_t runAsUser = 65532;
  // Whether the monitoring.coreos.com CRDs are installed: the operator asks the API server at
  // start-up; an offline render assumes they are.
  bool serviceMonitorsAvailable = true;
};

// resourceVersions (or any content version) of referenced objects, keyed by object name. A name
// the VA references but that is missing here hashes as "" (offline render; a missing Secret).
struct ReferencedData {
  std::map<std::string, std::string> secretVersions;
  std::map<std::string, std::string> configMapVersions;
};

}  // namespace va::specs
