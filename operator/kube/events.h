// Kubernetes Events (events.k8s.io/v1) about an object, as client-go's events recorder writes
// them: named <object>.<hex nanoseconds>, in the object's namespace, stamped with a MicroTime.
//   createEvent(client, EventSpec{.regarding = ObjectReference::to(assistant),
//                                 .type = EventType::kWarning, .reason = "ApplyFailed",
//                                 .action = "Reconcile", .note = error.toString(),
//                                 .reportingController = "va.example.com/operator",
//                                 .reportingInstance = podName});
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "operator/kube/client.h"

namespace va::kube {

// A core/v1 ObjectReference: which object an event is about.
struct ObjectReference {
  std::string apiVersion{};
  std::string kind{};
  std::string namespaceName{};  // empty for cluster-scoped objects
  std::string name{};
  std::string uid{};
  std::string resourceVersion{};
  std::string fieldPath{};  // e.g. "spec.containers{app}"; usually empty

  // The reference to an object as read from the API (apiVersion, kind and metadata).
  static ObjectReference to(const nlohmann::json& object);
  [[nodiscard]] nlohmann::json toJson() const;
};

enum class EventType { kNormal, kWarning };

struct EventSpec {
  ObjectReference regarding{};
  std::optional<ObjectReference> related{};  // a second object involved, e.g. the child
  EventType type = EventType::kNormal;
  std::string reason{};               // UpperCamelCase why, e.g. "ScalingReplicaSet"; required
  std::string action{};               // what was done or failed, e.g. "Reconcile"; required
  std::string note{};                 // for humans; cut at 1 KiB (the API's limit)
  std::string reportingController{};  // e.g. "va.example.com/operator"; required
  std::string reportingInstance{};    // e.g. the pod name; required
};

// RFC 3339 in UTC with microseconds, as metav1.MicroTime: "2025-01-02T03:04:05.123456Z".
std::string formatMicroTime(std::chrono::system_clock::time_point time);

// The namespace an event about `regarding` goes to: its own, or "default" when cluster-scoped.
std::string eventNamespace(const ObjectReference& regarding);

// The events.k8s.io/v1 Event for `spec` at `now`.
nlohmann::json eventObject(const EventSpec& spec, std::chrono::system_clock::time_point now);

// Creates the Event; a missing required field is a kEncode error naming it.
ApiResult<nlohmann::json> createEvent(
    Client& client, const EventSpec& spec,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

}  // namespace va::kube
