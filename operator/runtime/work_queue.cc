#include "operator/runtime/work_queue.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace va::runtime {
namespace {

double seconds(Clock::Duration d) { return std::chrono::duration<double>(d).count(); }

// client-go's ExponentialBuckets(10e-9, 10, 10): 10 ns to 10 s.
const prometheus::Histogram::BucketBoundaries& durationBuckets() {
  static const prometheus::Histogram::BucketBoundaries buckets = {1e-8, 1e-7, 1e-6, 1e-5, 1e-4,
                                                                  1e-3, 1e-2, 1e-1, 1e0,  1e1};
  return buckets;
}

}  // namespace

// The series of one queue, named and labelled as controller-runtime registers them.
struct WorkQueue::Metrics {
  Metrics(prometheus::Registry& registry, const std::string& name)
      : labels{{"name", name}, {"controller", name}},
        depth(prometheus::BuildGauge()
                  .Name("workqueue_depth")
                  .Help("Current depth of workqueue")
                  .Register(registry)
                  .Add(labels)),
        adds(prometheus::BuildCounter()
                 .Name("workqueue_adds_total")
                 .Help("Total number of adds handled by workqueue")
                 .Register(registry)
                 .Add(labels)),
        retries(prometheus::BuildCounter()
                    .Name("workqueue_retries_total")
                    .Help("Total number of retries handled by workqueue")
                    .Register(registry)
                    .Add(labels)),
        queueDuration(prometheus::BuildHistogram()
                          .Name("workqueue_queue_duration_seconds")
                          .Help("How long in seconds an item stays in workqueue before being "
                                "requested")
                          .Register(registry)
                          .Add(labels, durationBuckets())),
        workDuration(prometheus::BuildHistogram()
                         .Name("workqueue_work_duration_seconds")
                         .Help("How long in seconds processing an item from workqueue takes.")
                         .Register(registry)
                         .Add(labels, durationBuckets())),
        unfinishedWork(prometheus::BuildGauge()
                           .Name("workqueue_unfinished_work_seconds")
                           .Help("How many seconds of work has been done that is in progress "
                                 "and hasn't been observed by work_duration. Large values "
                                 "indicate stuck threads. One can deduce the number of stuck "
                                 "threads by observing the rate at which this increases.")
                           .Register(registry)
                           .Add(labels)),
        longestRunningProcessor(
            prometheus::BuildGauge()
                .Name("workqueue_longest_running_processor_seconds")
                .Help("How many seconds has the longest running processor for workqueue been "
                      "running.")
                .Register(registry)
                .Add(labels)) {}

  prometheus::Labels labels;
  prometheus::Gauge& depth;
  prometheus::Counter& adds;
  prometheus::Counter& retries;
  prometheus::Histogram& queueDuration;
  prometheus::Histogram& workDuration;
  prometheus::Gauge& unfinishedWork;
  prometheus::Gauge& longestRunningProcessor;
};

WorkQueue::WorkQueue(Clock& clock, WorkQueueOptions options)
    : clock_(clock),
      options_(std::move(options)),
      metrics_(options_.registry ? std::make_unique<Metrics>(*options_.registry, options_.name)
                                 : nullptr) {}

WorkQueue::~WorkQueue() { shutDown(); }

void WorkQueue::add(const std::string& key) {
  const Lock lock(mutex_);
  promoteDueLocked();
  addLocked(key, clock_.now());
}

void WorkQueue::addLocked(const std::string& key, Clock::TimePoint readySince) {
  if (shuttingDown_ || dirty_.contains(key)) return;
  if (metrics_) {
    metrics_->adds.Increment();
    metrics_->depth.Increment();
  }
  readySince_.try_emplace(key, readySince);
  dirty_.insert(key);
  // A key being processed is queued by done().
  if (processing_.contains(key)) return;
  queue_.push_back(key);
  keysAvailable_.notify_one();
}

std::optional<std::string> WorkQueue::get() {
  Lock lock(mutex_);
  while (true) {
    promoteDueLocked();
    if (!queue_.empty()) break;
    if (shuttingDown_) return std::nullopt;
    if (waiting_.empty()) {
      keysAvailable_.wait(lock);
    } else {
      clock_.waitUntil(keysAvailable_, lock, waiting_.begin()->first);
    }
  }
  std::string key = std::move(queue_.front());
  queue_.pop_front();
  // promoteDueLocked() may have queued several keys but woken no one else.
  if (!queue_.empty()) keysAvailable_.notify_one();
  dirty_.erase(key);
  processing_.insert(key);

  const Clock::TimePoint now = clock_.now();
  if (metrics_) {
    metrics_->depth.Decrement();
    if (auto it = readySince_.find(key); it != readySince_.end()) {
      metrics_->queueDuration.Observe(seconds(now - it->second));
    }
  }
  readySince_.erase(key);
  processingSince_[key] = now;
  updateUnfinishedWorkLocked(now);
  return key;
}

void WorkQueue::done(const std::string& key) {
  const Lock lock(mutex_);
  if (processing_.erase(key) == 0) return;
  const Clock::TimePoint now = clock_.now();
  if (auto it = processingSince_.find(key); it != processingSince_.end()) {
    if (metrics_) metrics_->workDuration.Observe(seconds(now - it->second));
    processingSince_.erase(it);
  }
  updateUnfinishedWorkLocked(now);
  if (dirty_.contains(key)) {
    queue_.push_back(key);
    keysAvailable_.notify_one();
  }
  if (processing_.empty()) drained_.notify_all();
  promoteDueLocked();
}

void WorkQueue::addAfter(const std::string& key, Clock::Duration delay) {
  const Lock lock(mutex_);
  promoteDueLocked();
  addAfterLocked(key, delay);
}

void WorkQueue::addAfterLocked(const std::string& key, Clock::Duration delay) {
  if (shuttingDown_) return;
  if (metrics_) metrics_->retries.Increment();
  const Clock::TimePoint now = clock_.now();
  if (delay <= Clock::Duration::zero()) {
    addLocked(key, now);
    return;
  }
  const Clock::TimePoint deadline = now + delay;
  auto [it, inserted] = waitingByKey_.try_emplace(key, deadline);
  if (!inserted) {
    if (deadline >= it->second) return;
    waiting_.erase({it->second, key});
    it->second = deadline;
  }
  waiting_.emplace(deadline, key);
  // Getters blocked on a later deadline (or on none) must wait for this one instead.
  keysAvailable_.notify_all();
}

void WorkQueue::addRateLimited(const std::string& key) {
  const Lock lock(mutex_);
  promoteDueLocked();
  int& requeues = requeues_[key];
  // As client-go's ItemExponentialFailureRateLimiter, in double so that large counts saturate.
  const double backoff = std::ldexp(static_cast<double>(options_.baseDelay.count()), requeues);
  const Clock::Duration delay = backoff >= static_cast<double>(options_.maxDelay.count())
                                    ? options_.maxDelay
                                    : Clock::Duration(static_cast<Clock::Duration::rep>(backoff));
  if (requeues < std::numeric_limits<int>::max()) ++requeues;
  addAfterLocked(key, delay);
}

void WorkQueue::forget(const std::string& key) {
  const Lock lock(mutex_);
  requeues_.erase(key);
}

int WorkQueue::numRequeues(const std::string& key) const {
  const Lock lock(mutex_);
  auto it = requeues_.find(key);
  return it == requeues_.end() ? 0 : it->second;
}

void WorkQueue::promoteDueLocked() {
  if (waiting_.empty()) return;
  const Clock::TimePoint now = clock_.now();
  while (!waiting_.empty() && waiting_.begin()->first <= now) {
    auto node = waiting_.extract(waiting_.begin());
    const auto& [deadline, key] = node.value();
    waitingByKey_.erase(key);
    // Ready since its deadline, however late this call notices it.
    addLocked(key, deadline);
  }
}

void WorkQueue::shutDown() {
  const Lock lock(mutex_);
  shutDownLocked(/*drain=*/false);
}

void WorkQueue::shutDownWithDrain() {
  Lock lock(mutex_);
  shutDownLocked(/*drain=*/true);
  drained_.wait(lock, [this] { return processing_.empty() || !draining_; });
}

void WorkQueue::shutDownLocked(bool drain) {
  shuttingDown_ = true;
  draining_ = drain;
  waiting_.clear();
  waitingByKey_.clear();
  keysAvailable_.notify_all();
  drained_.notify_all();
}

bool WorkQueue::shuttingDown() const {
  const Lock lock(mutex_);
  return shuttingDown_;
}

std::size_t WorkQueue::len() {
  const Lock lock(mutex_);
  promoteDueLocked();
  return queue_.size();
}

void WorkQueue::updateUnfinishedWork() {
  const Lock lock(mutex_);
  updateUnfinishedWorkLocked(clock_.now());
}

void WorkQueue::updateUnfinishedWorkLocked(Clock::TimePoint now) {
  if (!metrics_) return;
  Clock::Duration total{0};
  Clock::Duration longest{0};
  for (const auto& entry : processingSince_) {
    total += now - entry.second;
    longest = std::max(longest, now - entry.second);
  }
  metrics_->unfinishedWork.Set(seconds(total));
  metrics_->longestRunningProcessor.Set(seconds(longest));
}

}  // namespace va::runtime
