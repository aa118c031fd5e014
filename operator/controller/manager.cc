#include "operator/controller/manager.h"

#include <algorithm>
#include <utility>

#include "operator/api/types.h"
#include "operator/kube/resource_path.h"
#include "operator/runtime/logging.h"

namespace va::controller {

namespace {

constexpr std::string_view kManagedBySelector = "app.kubernetes.io/managed-by=va-operator";

// Wakes the VAs that read a Secret or ConfigMap whenever it changes.
runtime::ResourceEventHandlers enqueueReferencing(runtime::WorkQueue& queue,
                                                  const Reconciler& reconciler,
                                                  Reference::Kind kind) {
  const auto add = [&queue, &reconciler, kind](const runtime::ObjectPtr& object) {
    for (const auto& key : reconciler.referencing(kind, runtime::objectKey(*object))) {
      queue.add(key);
    }
  };
  return {add, [add](const runtime::ObjectPtr&, const runtime::ObjectPtr& after) { add(after); },
          add};
}

// Whether the API server serves monitoring.coreos.com/v1 ServiceMonitors (the Prometheus
// Operator's CRDs are installed).
bool serviceMonitorsServed(kube::Client& client) {
  auto group = client.get("/apis/monitoring.coreos.com/v1");
  if (!group) return false;
  const auto resources = group->find("resources");
  if (resources == group->end() || !resources->is_array()) return false;
  return std::any_of(resources->begin(), resources->end(), [](const nlohmann::json& r) {
    return r.is_object() && r.value("name", "") == "servicemonitors";
  });
}

}  // namespace

Manager::Manager(kube::Client& client, runtime::Clock& clock, ManagerOptions options)
    : client_(client),
      clock_(clock),
      options_(std::move(options)),
      queue_(clock, {.name = "virtualassistant", .registry = options_.registry}) {
  const auto informer = [&](std::string_view group, std::string_view version,
                            std::string_view resource, std::string_view selector) {
    runtime::WatcherOptions watch;
    watch.path = kube::resourcePath(group, version, resource, options_.namespace_);
    watch.labelSelector = std::string(selector);
    if (options_.logger) watch.logger = runtime::withName(*options_.logger, resource);
    return std::make_unique<runtime::Informer>(client_, clock_, std::move(watch));
  };

  const bool monitoring = serviceMonitorsServed(client_);
  if (options_.logger) {
    runtime::logInfo(
        *options_.logger, "ServiceMonitors",
        {{"served", monitoring},
         {"note", monitoring ? "applied for VAs that ask for them"
                             : "monitoring.coreos.com CRDs not installed: "
                               "spec.observability.metrics.serviceMonitor is ignored"}});
  }
  assistants_ = informer(api::kGroup, api::kVersion, "virtualassistants", "");
  Stores stores;
  stores.assistants = &assistants_->store();
  for (std::size_t i = 0; i < kChildKinds.size(); ++i) {
    const ChildKind& kind = kChildKinds.at(i);
    if (kind.kind == "ServiceMonitor" && !monitoring) {
      children_.push_back(nullptr);
      continue;
    }
    // ConfigMaps are watched whole: the ones a VA references carry no label of ours.
    const bool all = kind.kind == "ConfigMap";
    children_.push_back(
        informer(kind.group, kind.version, kind.resource, all ? "" : kManagedBySelector));
    stores.children.at(i) = &children_.back()->store();
  }
  secrets_ = informer("", "v1", "secrets", "");
  stores.secrets = &secrets_->store();
  stores.configMaps = stores.children.at(*childKindIndex("ConfigMap"));

  ReconcilerOptions reconcilerOptions = options_.reconciler;
  reconcilerOptions.config.serviceMonitorsAvailable = monitoring;
  if (!reconcilerOptions.registry) reconcilerOptions.registry = options_.registry;
  if (!reconcilerOptions.logger && options_.logger) {
    reconcilerOptions.logger = runtime::withName(*options_.logger, "reconciler");
  }
  reconciler_ = std::make_unique<Reconciler>(client_, stores, std::move(reconcilerOptions));

  assistants_->addHandlers(runtime::enqueueKey(queue_));
  for (auto& child : children_) {
    if (!child) continue;
    child->addHandlers(
        runtime::enqueueOwner(queue_, std::string(api::kGroup), std::string(api::kKind)));
  }
  children_.at(*childKindIndex("ConfigMap"))
      ->addHandlers(enqueueReferencing(queue_, *reconciler_, Reference::Kind::kConfigMap));
  secrets_->addHandlers(enqueueReferencing(queue_, *reconciler_, Reference::Kind::kSecret));

  runtime::ControllerOptions controllerOptions;
  controllerOptions.name = "virtualassistant";
  controllerOptions.workers = options_.workers;
  controllerOptions.registry = options_.registry;
  if (options_.logger) {
    controllerOptions.onError = [logger = options_.logger](const std::string& key,
                                                           const kube::Error& error) {
      runtime::logError(*logger, "Reconciler error",
                        {{"controller", "virtualassistant"},
                         {"virtualassistant", key},
                         {"error", error.message()}});
    };
  }
  controller_ = std::make_unique<runtime::Controller>(
      clock_, queue_, [this](const std::string& key) { return reconciler_->reconcile(key); },
      std::move(controllerOptions));
}

Manager::~Manager() { stop(); }

kube::Result<void> Manager::start(runtime::Clock::TimePoint deadline) {
  // Secrets and children first, so that the first reconcile of each VA sees them.
  secrets_->run();
  for (auto& child : children_) {
    if (child) child->run();
  }
  assistants_->run();
  std::string notSynced;
  const auto wait = [&](runtime::Informer& informer, std::string_view name) {
    if (!informer.waitForSync(deadline)) {
      notSynced += (notSynced.empty() ? "" : ", ") + std::string(name) + " (" +
                   informer.stats().lastError + ")";
    }
  };
  wait(*secrets_, "secrets");
  for (std::size_t i = 0; i < children_.size(); ++i) {
    if (children_.at(i)) wait(*children_.at(i), kChildKinds.at(i).resource);
  }
  wait(*assistants_, "virtualassistants");
  if (!notSynced.empty()) return kube::Error("caches did not sync: " + notSynced);
  controller_->start();
  started_ = true;
  if (options_.logger) {
    runtime::logInfo(*options_.logger, "Starting workers",
                     {{"controller", "virtualassistant"}, {"worker count", options_.workers}});
  }
  return {};
}

void Manager::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (started_) controller_->stop();
  queue_.shutDown();
  assistants_->stop();
  for (auto& child : children_) {
    if (child) child->stop();
  }
  secrets_->stop();
}

std::size_t Manager::queueLength() { return queue_.len(); }

}  // namespace va::controller
