// The reconcile loop: N workers take keys from a WorkQueue, call the reconciler, and requeue
// with backoff on error or after a requested delay, recording controller-runtime's metrics
// (controller_runtime_reconcile_total, _errors_total, _time_seconds, active workers).
//   Controller controller(clock, queue, reconcile, options);   // options.workers = 4, ...
//   controller.start();   ...   controller.stop();   // drains in-flight reconciles
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "operator/kube/result.h"
#include "operator/runtime/clock.h"
#include "operator/runtime/work_queue.h"

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace va::runtime {

// What a successful reconcile asks for next.
struct ReconcileResult {
  bool requeue = false;                                    // again, with the key's backoff
  Clock::Duration requeueAfter = Clock::Duration::zero();  // again after this delay (> 0)
};

// Reconciles the object named by `key` ("namespace/name"). An error is logged by the caller's
// reconciler if it wishes; the controller counts it and retries with backoff.
using Reconciler = std::function<kube::Result<ReconcileResult>(const std::string& key)>;

struct ControllerOptions {
  std::string name;                                // the `controller` label
  int workers = 1;                                 // MaxConcurrentReconciles
  std::shared_ptr<prometheus::Registry> registry;  // no metrics when null
  // Called for each failed reconcile (for logs); may be empty.
  std::function<void(const std::string& key, const kube::Error& error)> onError;
};

class Controller {
 public:
  Controller(Clock& clock, WorkQueue& queue, Reconciler reconciler, ControllerOptions options);
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // Starts the workers. Call once.
  void start();
  // Shuts the queue down, lets in-flight reconciles finish, joins the workers.
  void stop();

  [[nodiscard]] int activeWorkers() const { return active_.load(); }

 private:
  struct Metrics;
  void work();
  void reconcileOne(const std::string& key);

  Clock& clock_;
  WorkQueue& queue_;
  const Reconciler reconciler_;
  const ControllerOptions options_;
  std::unique_ptr<Metrics> metrics_;
  std::vector<std::thread> threads_;
  std::atomic<int> active_{0};
};

}  // namespace va::runtime
