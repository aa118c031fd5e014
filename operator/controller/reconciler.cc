#include "operator/controller/reconciler.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <utility>

#include "operator/api/parse.h"
#include "operator/controller/intent.h"
#include "operator/controller/status.h"
#include "operator/kube/delete_options.h"
#include "operator/kube/events.h"
#include "operator/kube/resource_path.h"
#include "operator/runtime/logging.h"
#include "operator/specs/child_set.h"
#include "operator/specs/meta.h"
#include "operator/specs/service.h"

namespace va::controller {

using nlohmann::json;

struct Reconciler::Metrics {
  explicit Metrics(prometheus::Registry& registry)
      : writes(prometheus::BuildCounter()
                   .Name("va_operator_child_writes_total")
                   .Help("Writes of VirtualAssistant children by operation (apply, delete).")
                   .Register(registry)),
        applies(writes.Add({{"operation", "apply"}})),
        deletes(writes.Add({{"operation", "delete"}})),
        statusWrites(prometheus::BuildCounter()
                         .Name("va_operator_status_writes_total")
                         .Help("Writes of VirtualAssistant status.")
                         .Register(registry)
                         .Add({})),
        skipped(prometheus::BuildCounter()
                    .Name("va_operator_children_up_to_date_total")
                    .Help("Children found up to date (no write needed) during reconciles.")
                    .Register(registry)
                    .Add({})),
        conditions(prometheus::BuildGauge()
                       .Name("va_operator_virtualassistant_condition")
                       .Help("1 when the VirtualAssistant's condition `type` is True, else 0 "
                             "(Ready, Reconciling, Stalled).")
                       .Register(registry)) {}

  // Sets the condition gauges of the VA "namespace/name" from its status.
  void record(const std::string& ns, const std::string& name, const json& status) {
    for (const char* type : {"Ready", "Reconciling", "Stalled"}) {
      const json* c = findCondition(status, type);
      conditions.Add({{"namespace", ns}, {"name", name}, {"type", type}})
          .Set(c != nullptr && c->value("status", "") == "True" ? 1.0 : 0.0);
    }
  }
  // Drops the series of a VA that is gone.
  void forget(const std::string& key) {
    const auto slash = key.find('/');
    const std::string ns = key.substr(0, slash);
    const std::string name = slash == std::string::npos ? key : key.substr(slash + 1);
    for (const char* type : {"Ready", "Reconciling", "Stalled"}) {
      const std::map<std::string, std::string> labels = {
          {"namespace", ns}, {"name", name}, {"type", type}};
      if (conditions.Has(labels)) conditions.Remove(&conditions.Add(labels));
    }
  }

  prometheus::Family<prometheus::Counter>& writes;
  prometheus::Counter& applies;
  prometheus::Counter& deletes;
  prometheus::Counter& statusWrites;
  prometheus::Counter& skipped;
  prometheus::Family<prometheus::Gauge>& conditions;
};

namespace {

std::string refKey(Reference::Kind kind, const std::string& objectKey) {
  return (kind == Reference::Kind::kSecret ? "Secret/" : "ConfigMap/") + objectKey;
}

// The uid of the object's controller (the ownerReference with controller: true), or "".
std::string controllerUid(const json& object) {
  const json::json_pointer refs("/metadata/ownerReferences");
  if (!object.contains(refs) || !object.at(refs).is_array()) return "";
  for (const json& ref : object.at(refs)) {
    if (ref.is_object() && ref.value("controller", false)) return ref.value("uid", "");
  }
  return "";
}

// "Deployment/a, Service/b and 52 more"
std::string summarize(const std::vector<std::string>& names) {
  constexpr std::size_t kShown = 4;
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < kShown; ++i) {
    out += (i == 0 ? "" : ", ") + names[i];
  }
  if (names.size() > kShown) out += " and " + std::to_string(names.size() - kShown) + " more";
  return out;
}

// "namespace/name", the caches' key.
std::string objectKeyIn(const std::string& ns, const std::string& name) {
  std::string key = ns;
  key.append("/").append(name);
  return key;
}

// The namespace is being deleted: nothing can be created in it any more, and everything in it,
// the VA included, is on its way out.
bool namespaceTerminating(const kube::ApiError& error) {
  return std::any_of(error.causes().begin(), error.causes().end(),
                     [](const kube::StatusCause& c) { return c.type == "NamespaceTerminating"; });
}

// A write that the same request cannot fix by retrying: the object is invalid or the operator
// is not allowed to write it.
bool permanent(const kube::ApiError& error) {
  return error.isInvalid() || error.isForbidden() || error.code() == 400;
}

}  // namespace

std::vector<Reference> references(const api::VirtualAssistant& va) {
  std::vector<Reference> refs;
  const auto& s = va.spec;
  if (s.stores.redisUrl) {
    refs.push_back({Reference::Kind::kSecret, s.stores.redisUrl->name, s.stores.redisUrl->key,
                    "spec.stores.redis.urlSecretRef"});
  }
  if (s.stores.postgresDsn) {
    refs.push_back({Reference::Kind::kSecret, s.stores.postgresDsn->name, s.stores.postgresDsn->key,
                    "spec.stores.postgres.dsnSecretRef"});
  }
  if (s.webhookSigningKey) {
    refs.push_back({Reference::Kind::kSecret, s.webhookSigningKey->name, s.webhookSigningKey->key,
                    "spec.webhooks.signingSecretRef"});
  }
  if (s.apiKeys) {
    refs.push_back({Reference::Kind::kSecret, s.apiKeys->name, s.apiKeys->key,
                    "spec.authentication.apiKeysSecretRef"});
  }
  if (s.languageModel.apiKeySecretRef) {
    refs.push_back({Reference::Kind::kSecret, s.languageModel.apiKeySecretRef->name,
                    s.languageModel.apiKeySecretRef->key, "spec.languageModel.apiKeySecretRef"});
  }
  if (s.assistant) {
    refs.push_back({Reference::Kind::kConfigMap, s.assistant->name, s.assistant->key,
                    "spec.assistant.configMapRef"});
  }
  return refs;
}

Reconciler::Reconciler(kube::Client& client, Stores stores, ReconcilerOptions options)
    : client_(client), stores_(stores), options_(std::move(options)) {
  if (options_.registry) metrics_ = std::make_unique<Metrics>(*options_.registry);
}

Reconciler::~Reconciler() = default;

std::vector<std::string> Reconciler::referencing(Reference::Kind kind,
                                                 const std::string& objectKey) const {
  const std::lock_guard lock(refsMutex_);
  const auto it = refToVas_.find(refKey(kind, objectKey));
  if (it == refToVas_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

void Reconciler::remember(const std::string& vaKey, const std::vector<std::string>& refKeys) {
  const std::lock_guard lock(refsMutex_);
  for (const auto& old : vaToRefs_[vaKey]) {
    auto it = refToVas_.find(old);
    if (it == refToVas_.end()) continue;
    it->second.erase(vaKey);
    if (it->second.empty()) refToVas_.erase(it);
  }
  if (refKeys.empty()) {
    vaToRefs_.erase(vaKey);
    return;
  }
  vaToRefs_[vaKey] = refKeys;
  for (const auto& ref : refKeys) refToVas_[ref].insert(vaKey);
}

void Reconciler::event(const json& va, bool warning, const std::string& reason,
                       const std::string& note) {
  kube::ObjectReference regarding;
  regarding.apiVersion = std::string(api::kApiVersion);
  regarding.kind = std::string(api::kKind);
  regarding.namespaceName = va["metadata"].value("namespace", "");
  regarding.name = va["metadata"].value("name", "");
  regarding.uid = va["metadata"].value("uid", "");
  regarding.resourceVersion = va["metadata"].value("resourceVersion", "");
  kube::EventSpec spec;
  spec.regarding = regarding;
  spec.type = warning ? kube::EventType::kWarning : kube::EventType::kNormal;
  spec.reason = reason;
  spec.action = "Reconcile";
  spec.note = note;
  spec.reportingController = std::string(kReportingController);
  spec.reportingInstance = options_.reportingInstance;
  const auto now = options_.now ? options_.now() : std::chrono::system_clock::now();
  auto created = kube::createEvent(client_, spec, now);
  if (!created && options_.logger) {
    runtime::logError(*options_.logger, "cannot record an Event",
                      {{"reason", reason}, {"error", created.error().toString()}});
  }
}

kube::Result<runtime::ReconcileResult> Reconciler::reconcile(const std::string& key) {
  const runtime::ObjectPtr object = stores_.assistants->get(key);
  if (!object || object->contains("/metadata/deletionTimestamp"_json_pointer)) {
    // Gone (or going): the garbage collector deletes the children through their owner
    // references; only our index of references and the VA's metrics need forgetting.
    remember(key, {});
    if (metrics_) metrics_->forget(key);
    return runtime::ReconcileResult{};
  }
  const json& raw = *object;
  const json& meta = raw["metadata"];
  const std::string ns = meta.value("namespace", "");
  const std::string name = meta.value("name", "");
  const std::int64_t generation = meta.value("generation", std::int64_t{0});
  const json oldStatus = raw.value("status", json::object());
  const std::string vaPath =
      kube::resourcePath(api::kGroup, api::kVersion, "virtualassistants", ns, name);

  StatusInput input;
  input.generation = generation;

  auto parsed = api::parseVirtualAssistant(raw);
  std::vector<std::string> created;
  std::vector<std::string> updated;
  std::vector<std::string> pruned;
  std::optional<kube::Error> retryError;

  if (!parsed) {
    // The API server validated the object against the CRD; this is what the schema cannot say.
    input.stalled = Problem{"InvalidSpec", parsed.error().message()};
    remember(key, {});
  } else {
    const api::VirtualAssistant& va = *parsed;
    input.paused = va.spec.paused;

    // 2. The referenced Secrets and ConfigMaps, by the content of the key the pods read.
    specs::ReferencedData data;
    std::vector<std::string> refKeys;
    for (const Reference& ref : references(va)) {
      const bool secret = ref.kind == Reference::Kind::kSecret;
      const std::string objectKey = ns + "/" + ref.name;
      refKeys.push_back(refKey(ref.kind, objectKey));
      const runtime::ObjectStore* store = secret ? stores_.secrets : stores_.configMaps;
      const runtime::ObjectPtr found = store != nullptr ? store->get(objectKey) : nullptr;
      const char* kindName = secret ? "Secret" : "ConfigMap";
      const json* value = nullptr;
      if (found) {
        for (const char* section : {"data", "stringData", "binaryData"}) {
          if (const json* d = runtime::jsonField(*found, section); d != nullptr && d->is_object()) {
            if (const auto it = d->find(ref.key); it != d->end()) value = &*it;
          }
        }
      }
      if (!found) {
        input.stalled = Problem{std::string(kindName) + "NotFound",
                                ref.field + ": " + kindName + " \"" + ref.name +
                                    "\" not found in namespace \"" + ns + "\""};
        break;
      }
      if (value == nullptr) {
        input.stalled = Problem{
            std::string(kindName) + "KeyNotFound",
            ref.field + ": " + kindName + " \"" + ref.name + "\" has no key \"" + ref.key + "\""};
        break;
      }
      auto& versions = secret ? data.secretVersions : data.configMapVersions;
      versions[ref.name] = specs::sha256Hex(value->dump()).substr(0, 16);
    }
    remember(key, refKeys);

    // 3. Children: apply what differs, prune what is no longer wanted.
    std::map<std::string, json> applied;  // childKey -> the object the server returned
    if (!input.stalled && !va.spec.paused) {
      const specs::ChildSet desired = specs::desiredChildren(va, options_.config, data);
      std::set<std::string> wanted;
      for (const json& child : desired.objects) {
        const std::string childKey = specs::childKey(child);
        wanted.insert(childKey);
        const auto index = childKindIndex(child.value("kind", ""));
        if (!index) continue;  // a kind without a store (none today)
        const ChildKind& kind = kChildKinds.at(*index);
        const std::string childName = child["metadata"].value("name", "");
        const runtime::ObjectStore* store = stores_.children.at(*index);
        const runtime::ObjectPtr observed =
            store != nullptr ? store->get(objectKeyIn(ns, childName)) : nullptr;
        if (observed) {
          const std::string owner = controllerUid(*observed);
          if (owner != va.metadata.uid) {
            input.stalled = Problem{"ChildConflict", childKey +
                                                         " exists and is not controlled by this "
                                                         "VirtualAssistant; delete or rename it"};
            continue;
          }
          if (upToDate(*observed, child)) {
            if (metrics_) metrics_->skipped.Increment();
            continue;
          }
        }
        auto result = client_.apply(childPath(kind, ns, childName), child,
                                    std::string(kFieldManager), /*force=*/true);
        if (metrics_) metrics_->applies.Increment();
        if (!result) {
          const kube::ApiError& error = result.error();
          if (namespaceTerminating(error)) {
            // No status to write and no Event to record there either: stop here.
            return runtime::ReconcileResult{};
          }
          if (permanent(error)) {
            input.stalled = Problem{"ApplyFailed", childKey + ": " + error.message()};
          } else if (!retryError) {
            retryError = error.toError().withContext("apply " + childKey);
          }
          continue;
        }
        (observed ? updated : created).push_back(childKey);
        applied[childKey] = std::move(*result);
      }
      // Prune: children of this VA (by controller reference and instance label) that the
      // spec no longer asks for.
      for (std::size_t i = 0; i < kChildKinds.size(); ++i) {
        const runtime::ObjectStore* store = stores_.children.at(i);
        if (store == nullptr) continue;
        const ChildKind& kind = kChildKinds.at(i);
        for (const runtime::ObjectPtr& child : store->byOwner(va.metadata.uid)) {
          if (controllerUid(*child) != va.metadata.uid) continue;
          const std::string childName = (*child)["metadata"].value("name", "");
          const std::string childKey = std::string(kind.kind) + "/" + childName;
          if (wanted.contains(childKey)) continue;
          kube::DeleteOptions options;
          options.propagation = kube::Propagation::kBackground;
          options.uid = (*child)["metadata"].value("uid", "");
          auto removed = client_.remove(childPath(kind, ns, childName), options.toJson());
          if (metrics_) metrics_->deletes.Increment();
          if (!removed && !removed.error().isNotFound()) {
            if (!retryError)
              retryError = removed.error().toError().withContext("prune " + childKey);
            continue;
          }
          pruned.push_back(childKey);
        }
      }
    }

    // Observed state of the components (the server's answer for a Deployment just applied,
    // so that a rollout in progress is not reported as ready from a stale cache).
    const std::size_t deploymentIndex = *childKindIndex("Deployment");
    for (const api::Component c : api::kAllComponents) {
      const std::string childName = specs::childName(va, api::componentName(c));
      const json* deployment = nullptr;
      runtime::ObjectPtr cached;
      if (const auto it = applied.find("Deployment/" + childName); it != applied.end()) {
        deployment = &it->second;
      } else if (const auto* store = stores_.children.at(deploymentIndex); store != nullptr) {
        cached = store->get(objectKeyIn(ns, childName));
        // A namesake left by a deleted VA of the same name (until the garbage collector takes
        // it) says nothing about this one.
        if (cached && controllerUid(*cached) != va.metadata.uid) cached = nullptr;
        deployment = cached.get();
      }
      ComponentState state = componentState(std::string(api::componentName(c)), deployment);
      // With an HPA, the Deployment starts at one replica and the HPA raises it to
      // minReplicas: the component is not ready before it has that many.
      if (const auto& scaling = va.spec.component(c).autoscaling;
          scaling.enabled && state.desiredReplicas < scaling.minReplicas) {
        state.desiredReplicas = scaling.minReplicas;
        state.available = false;
      }
      input.components.push_back(std::move(state));
    }
    const std::size_t serviceIndex = *childKindIndex("Service");
    runtime::ObjectPtr external;
    if (const auto* store = stores_.children.at(serviceIndex); store != nullptr) {
      external = store->get(objectKeyIn(ns, specs::externalServiceName(va)));
      if (external && controllerUid(*external) != va.metadata.uid) external = nullptr;
    }
    input.endpoint = endpointFor(va, external.get());
  }
  input.wroteChildren = !created.empty() || !updated.empty() || !pruned.empty();
  if (retryError) input.retrying = Problem{"Retrying", retryError->message()};

  // 4. Status, only when it changed (stamped after the writes, which may take a while).
  const auto now = options_.now ? options_.now() : std::chrono::system_clock::now();
  json status = buildStatus(input, oldStatus, kube::formatMicroTime(now));
  if (status != oldStatus) {
    const json patch = {{"apiVersion", api::kApiVersion},
                        {"kind", api::kKind},
                        {"metadata", {{"name", name}, {"namespace", ns}}},
                        {"status", status}};
    auto written = client_.applyStatus(vaPath, patch, std::string(kFieldManager), true);
    if (metrics_) metrics_->statusWrites.Increment();
    if (!written && !written.error().isNotFound() && !retryError) {
      retryError = written.error().toError().withContext("write status");
    }
  }

  // Events for what changed.
  if (!created.empty()) event(raw, false, "Created", "created " + summarize(created));
  if (!updated.empty()) event(raw, false, "Updated", "updated " + summarize(updated));
  if (!pruned.empty()) event(raw, false, "Pruned", "deleted " + summarize(pruned));
  const json* wasStalled = findCondition(oldStatus, "Stalled");
  if (input.stalled && (wasStalled == nullptr || wasStalled->value("status", "") != "True" ||
                        wasStalled->value("reason", "") != input.stalled->reason)) {
    event(raw, true, input.stalled->reason, input.stalled->message);
  }
  const json* wasReady = findCondition(oldStatus, "Ready");
  const json* isReady = findCondition(status, "Ready");
  const bool readyNow = isReady != nullptr && isReady->value("status", "") == "True";
  if (readyNow && (wasReady == nullptr || wasReady->value("status", "") != "True")) {
    event(raw, false, "Ready", isReady->value("message", ""));
  }
  const bool wasPaused = findCondition(oldStatus, "Paused") != nullptr;
  if (input.paused != wasPaused && !input.stalled) {
    event(raw, false, input.paused ? "Paused" : "Resumed",
          input.paused ? "spec.paused is true: children are left as they are"
                       : "spec.paused is false: reconciling children again");
  }

  if (metrics_) metrics_->record(ns, name, status);

  if (options_.logger && (input.wroteChildren || status != oldStatus)) {
    runtime::logInfo(*options_.logger, "Reconciled",
                     {{"namespace", ns},
                      {"name", name},
                      {"created", created.size()},
                      {"updated", updated.size()},
                      {"pruned", pruned.size()},
                      {"ready", status.value("componentsReady", "")},
                      {"stalled", input.stalled ? input.stalled->reason : ""}});
  }
  if (retryError) return *retryError;
  return runtime::ReconcileResult{};
}

}  // namespace va::controller
