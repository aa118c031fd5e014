// Everything the operator runs once it leads: informers on VirtualAssistants, on every child
// kind (label app.kubernetes.io/managed-by=va-operator), on Secrets and ConfigMaps, a work queue
// fed by their events (children map to their VA by controller reference, Secrets and
// ConfigMaps by the references the VA's last reconcile recorded) and the reconcile workers.
//   Manager manager(client, clock, {.namespace_ = "", .workers = 4, .registry = registry});
//   if (auto started = manager.start(clock.now() + 60s); !started) fail(started.error());
//   ...   manager.stop();
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "operator/controller/reconciler.h"
#include "operator/kube/client.h"
#include "operator/kube/result.h"
#include "operator/runtime/clock.h"
#include "operator/runtime/controller.h"
#include "operator/runtime/informer.h"
#include "operator/runtime/work_queue.h"

namespace va::controller {

struct ManagerOptions {
  std::string namespace_{};  // watch this namespace only; "" watches all
  int workers = 4;           // concurrent reconciles (of different VAs)
  ReconcilerOptions reconciler{};
  std::shared_ptr<prometheus::Registry> registry{};
  std::shared_ptr<spdlog::logger> logger{};
};

class Manager {
 public:
  // `client` and `clock` must outlive the manager.
  Manager(kube::Client& client, runtime::Clock& clock, ManagerOptions options);
  ~Manager();  // stop()
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  // Starts the informers, waits until every one has listed (or `deadline`), then starts the
  // workers. An error names the informers that did not sync.
  kube::Result<void> start(runtime::Clock::TimePoint deadline);
  // Stops the workers (in-flight reconciles finish) and the informers. Idempotent.
  void stop();

  // True once start() succeeded (for /readyz).
  [[nodiscard]] bool started() const { return started_.load(); }
  [[nodiscard]] std::size_t queueLength();

 private:
  kube::Client& client_;
  runtime::Clock& clock_;
  const ManagerOptions options_;
  runtime::WorkQueue queue_;
  std::unique_ptr<runtime::Informer> assistants_;
  // kChildKinds order; null for ServiceMonitors when their CRD is not installed.
  std::vector<std::unique_ptr<runtime::Informer>> children_;
  std::unique_ptr<runtime::Informer> secrets_;
  std::unique_ptr<Reconciler> reconciler_;
  std::unique_ptr<runtime::Controller> controller_;
  std::atomic<bool> started_{false};
  bool stopped_ = false;
};

}  // namespace va::controller
