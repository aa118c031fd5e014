// The pod template shared by a component's Deployment and the consolidation CronJob: Pod
// Security "restricted" (non-root 65532, no privilege escalation, all capabilities dropped,
// seccomp RuntimeDefault, read-only root filesystem with an emptyDir at /tmp), no API token,
// config from a generated ConfigMap, secrets mounted as files under /var/run/secrets/va/<name>,
// and a config-hash annotation so that a changed ConfigMap or Secret rolls the pods.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "operator/api/types.h"
#include "operator/specs/operator_config.h"

namespace va::specs {

// A Secret or ConfigMap key a component reads, mounted as one file.
struct MountedRef {
  enum class Kind { kSecret, kConfigMap };
  Kind kind;
  std::string volume;  // "secret-redis"
  std::string object;  // the Secret or ConfigMap name
  std::string key;     // its key
  std::string dir;     // mount path
  std::string file;    // file name inside dir
  std::string envVar;  // variable that carries the file's path, e.g. REDIS_URL_FILE
};

enum class PodRole { kServer, kConsolidation };

// The referenced Secrets and ConfigMaps a component's pods mount.
std::vector<MountedRef> mountedRefs(const api::VirtualAssistant& va, api::Component component,
                                    PodRole role);

// sha256 (hex) over the generated ConfigMap data and the versions of every mounted reference.
std::string configHash(const api::VirtualAssistant& va, api::Component component, PodRole role,
                       const OperatorConfig& config, const ReferencedData& referenced);

// spec.template of a Deployment or of a CronJob's Job.
nlohmann::json podTemplate(const api::VirtualAssistant& va, api::Component component, PodRole role,
                           const OperatorConfig& config, const ReferencedData& referenced);

}  // namespace va::specs
