#include "operator/runtime/controller.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace va::runtime {

// controller-runtime's metric names and labels, so existing dashboards work.
struct Controller::Metrics {
  prometheus::Counter* success;
  prometheus::Counter* error;
  prometheus::Counter* requeue;
  prometheus::Counter* requeueAfter;
  prometheus::Counter* errors;
  prometheus::Histogram* time;
  prometheus::Gauge* active;

  Metrics(prometheus::Registry& registry, const std::string& name, int workers) {
    auto& total = prometheus::BuildCounter()
                      .Name("controller_runtime_reconcile_total")
                      .Help("Total number of reconciliations per controller")
                      .Register(registry);
    success = &total.Add({{"controller", name}, {"result", "success"}});
    error = &total.Add({{"controller", name}, {"result", "error"}});
    requeue = &total.Add({{"controller", name}, {"result", "requeue"}});
    requeueAfter = &total.Add({{"controller", name}, {"result", "requeue_after"}});
    errors = &prometheus::BuildCounter()
                  .Name("controller_runtime_reconcile_errors_total")
                  .Help("Total number of reconciliation errors per controller")
                  .Register(registry)
                  .Add({{"controller", name}});
    // controller-runtime's buckets.
    const prometheus::Histogram::BucketBoundaries buckets{
        0.005, 0.01, 0.025, 0.05, 0.1,  0.15, 0.2,  0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6,
        0.7,   0.8,  0.9,   1.0,  1.25, 1.5,  1.75, 2.0,  2.5, 3.0,  3.5, 4.0,  4.5, 5,
        6,     7,    8,     9,    10,   15,   20,   25,   30,  40,   50,  60};
    time = &prometheus::BuildHistogram()
                .Name("controller_runtime_reconcile_time_seconds")
                .Help("Length of time per reconciliation per controller")
                .Register(registry)
                .Add({{"controller", name}}, buckets);
    active = &prometheus::BuildGauge()
                  .Name("controller_runtime_active_workers")
                  .Help("Number of currently used workers per controller")
                  .Register(registry)
                  .Add({{"controller", name}});
    prometheus::BuildGauge()
        .Name("controller_runtime_max_concurrent_reconciles")
        .Help("Maximum number of concurrent reconciles per controller")
        .Register(registry)
        .Add({{"controller", name}})
        .Set(workers);
  }
};

Controller::Controller(Clock& clock, WorkQueue& queue, Reconciler reconciler,
                       ControllerOptions options)
    : clock_(clock),
      queue_(queue),
      reconciler_(std::move(reconciler)),
      options_(std::move(options)),
      metrics_(options_.registry
                   ? std::make_unique<Metrics>(*options_.registry, options_.name, options_.workers)
                   : nullptr) {}

Controller::~Controller() { stop(); }

void Controller::start() {
  for (int i = 0; i < options_.workers; ++i) threads_.emplace_back([this] { work(); });
}

void Controller::stop() {
  if (threads_.empty()) return;
  queue_.shutDownWithDrain();
  for (auto& thread : threads_) thread.join();
  threads_.clear();
}

void Controller::work() {
  while (std::optional<std::string> key = queue_.get()) {
    reconcileOne(*key);
    queue_.done(*key);
  }
}

void Controller::reconcileOne(const std::string& key) {
  ++active_;
  if (metrics_) metrics_->active->Increment();
  const Clock::TimePoint start = clock_.now();
  kube::Result<ReconcileResult> result = reconciler_(key);
  const double seconds = std::chrono::duration<double>(clock_.now() - start).count();
  if (metrics_) {
    metrics_->time->Observe(seconds);
    metrics_->active->Decrement();
  }
  --active_;

  if (!result) {
    if (metrics_) {
      metrics_->error->Increment();
      metrics_->errors->Increment();
    }
    if (options_.onError) options_.onError(key, result.error());
    queue_.addRateLimited(key);
    return;
  }
  if (result->requeueAfter > Clock::Duration::zero()) {
    if (metrics_) metrics_->requeueAfter->Increment();
    queue_.forget(key);
    queue_.addAfter(key, result->requeueAfter);
  } else if (result->requeue) {
    if (metrics_) metrics_->requeue->Increment();
    queue_.addRateLimited(key);
  } else {
    if (metrics_) metrics_->success->Increment();
    queue_.forget(key);
  }
}

}  // namespace va::runtime
