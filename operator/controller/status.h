// The status of a VirtualAssistant, following the kstatus conventions: observedGeneration,
// the Ready, Reconciling and Stalled conditions (plus Paused while spec.paused), per-component
// replicas and the endpoint. Pure functions of what the reconciler saw:
//   json status = buildStatus(input, va["status"], formatMicroTime(now));
//   if (status != va["status"]) write it;
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "operator/api/types.h"
#include "operator/specs/operator_config.h"

namespace va::controller {

// One component's Deployment as observed.
struct ComponentState {
  std::string name;  // "input-processor"
  std::int32_t readyReplicas = 0;
  std::int32_t desiredReplicas = 0;
  std::string image;
  bool available = false;
};

// Why the operator cannot go on (Stalled) or will try again (Reconciling): a CamelCase reason
// and a message for humans.
struct Problem {
  std::string reason;
  std::string message;
};

struct StatusInput {
  std::int64_t generation = 0;
  std::vector<ComponentState> components{};  // empty when the spec could not be read
  std::string endpoint{};
  bool paused = false;
  std::optional<Problem> stalled{};   // the operator cannot progress until something changes
  std::optional<Problem> retrying{};  // a transient failure; the operator retries
  bool wroteChildren = false;         // this pass created, changed or deleted children
};

// True when the Deployment has rolled out its current generation and every desired replica is
// updated and available (what `kubectl rollout status` waits for).
bool deploymentAvailable(const nlohmann::json& deployment);

// The state of a component from its Deployment (null: not created yet).
ComponentState componentState(std::string name, const nlohmann::json* deployment);

// Where clients reach the assistant: the Ingress URL when ingress is enabled, the external
// Service's load-balancer address for type LoadBalancer (empty until one is assigned), else the
// in-cluster URL of the external Service. `service` is the observed external Service or null.
std::string endpointFor(const api::VirtualAssistant& va, const nlohmann::json* service);

// The new .status. Conditions keep their lastTransitionTime from `oldStatus` while their status
// is unchanged; `now` (RFC 3339) stamps the ones that changed.
nlohmann::json buildStatus(const StatusInput& input, const nlohmann::json& oldStatus,
                           const std::string& now);

// The condition of `type` in a status, or null.
const nlohmann::json* findCondition(const nlohmann::json& status, std::string_view type);

}  // namespace va::controller
