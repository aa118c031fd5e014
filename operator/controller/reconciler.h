// The VirtualAssistant reconciler: level-triggered, reading only the informers' caches and
// writing only what differs.
//   Reconciler reconciler(client, stores, {.config = operatorConfig, .logger = log});
//   controller = Controller(clock, queue, [&](const std::string& key) {
//                             return reconciler.reconcile(key); }, {...});
// One pass for "namespace/name":
//  1. read the VA from the cache (gone or being deleted: nothing to do; the garbage collector
//     removes the children through their owner references);
//  2. resolve the Secrets and ConfigMaps it references; a missing one makes it Stalled (status,
//     a Warning Event) without a retry loop: the Secret informer wakes it when one appears;
//  3. unless spec.paused, build the desired children (operator/specs) and server-side apply,
//     under one field manager, each child that is missing or differs from its intent
//     (intent.h); delete owned children the spec no longer asks for;
//  4. write .status (status.h) only when it changed, and Events for what changed.
// An unchanged VA therefore costs zero API writes.
#pragma once

#include <array>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "operator/api/types.h"
#include "operator/controller/child_kinds.h"
#include "operator/kube/client.h"
#include "operator/kube/result.h"
#include "operator/runtime/controller.h"
#include "operator/runtime/object_store.h"
#include "operator/specs/operator_config.h"

namespace prometheus {
class Registry;
}  // namespace prometheus
namespace spdlog {
class logger;
}  // namespace spdlog

namespace va::controller {

inline constexpr std::string_view kFieldManager = "va-operator";
inline constexpr std::string_view kReportingController = "virtualassistant.dev/va-operator";

// The caches the reconciler reads. All must outlive it.
struct Stores {
  const runtime::ObjectStore* assistants = nullptr;
  // One store per entry of kChildKinds, holding (at least) the objects the operator owns.
  std::array<const runtime::ObjectStore*, kChildKinds.size()> children{};
  const runtime::ObjectStore* secrets = nullptr;
  const runtime::ObjectStore* configMaps = nullptr;  // may be children[ConfigMap]
};

struct ReconcilerOptions {
  specs::OperatorConfig config{};
  // Who reports the Events: the pod name in a cluster, the host name elsewhere.
  std::string reportingInstance = "va-operator";
  std::shared_ptr<spdlog::logger> logger{};          // nothing is logged when null
  std::shared_ptr<prometheus::Registry> registry{};  // no metrics when null
  // Wall time for lastTransitionTime and Events.
  std::function<std::chrono::system_clock::time_point()> now{};
};

// A Secret or ConfigMap a VA reads, and the spec field that names it.
struct Reference {
  enum class Kind { kSecret, kConfigMap };
  Kind kind;
  std::string name;
  std::string key;
  std::string field;  // "spec.stores.redis.urlSecretRef"
};
std::vector<Reference> references(const api::VirtualAssistant& va);

class Reconciler {
 public:
  Reconciler(kube::Client& client, Stores stores, ReconcilerOptions options);
  ~Reconciler();
  Reconciler(const Reconciler&) = delete;
  Reconciler& operator=(const Reconciler&) = delete;

  // Reconciles the VA "namespace/name". Safe to call from several threads for different keys.
  kube::Result<runtime::ReconcileResult> reconcile(const std::string& key);

  // The VAs ("namespace/name") whose last reconcile read the Secret or ConfigMap
  // "namespace/name": whom to wake when it changes.
  [[nodiscard]] std::vector<std::string> referencing(Reference::Kind kind,
                                                     const std::string& objectKey) const;

 private:
  struct Metrics;
  struct Pass;

  void remember(const std::string& vaKey, const std::vector<std::string>& refKeys);
  void event(const nlohmann::json& va, bool warning, const std::string& reason,
             const std::string& note);

  kube::Client& client_;
  const Stores stores_;
  const ReconcilerOptions options_;
  std::unique_ptr<Metrics> metrics_;

  mutable std::mutex refsMutex_;
  std::map<std::string, std::set<std::string>> refToVas_;  // "Secret/ns/name" -> VA keys
  std::map<std::string, std::vector<std::string>> vaToRefs_;
};

}  // namespace va::controller
