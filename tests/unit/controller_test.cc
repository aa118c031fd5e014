#include "operator/runtime/controller.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "tests/fakes/fake_clock.h"

namespace va::runtime {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Value of a metric sample with the given name and labels in the registry, -1 when absent.
double metricValue(prometheus::Registry& registry, const std::string& name,
                   const std::map<std::string, std::string>& labels) {
  for (const auto& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const auto& metric : family.metric) {
      std::map<std::string, std::string> have;
      for (const auto& label : metric.label) have[label.name] = label.value;
      bool match = true;
      for (const auto& [k, v] : labels) match = match && have[k] == v;
      if (!match) continue;
      switch (family.type) {
        case prometheus::MetricType::Counter:
          return metric.counter.value;
        case prometheus::MetricType::Gauge:
          return metric.gauge.value;
        case prometheus::MetricType::Histogram:
          return static_cast<double>(metric.histogram.sample_count);
        default:
          return -1;
      }
    }
  }
  return -1;
}

WorkQueueOptions queueOptions(std::string name) {
  WorkQueueOptions options;
  options.name = std::move(name);
  return options;
}

ControllerOptions options(
    int workers, std::shared_ptr<prometheus::Registry> registry,
    std::function<void(const std::string&, const kube::Error&)> onError = {}) {
  ControllerOptions options;
  options.name = "va";
  options.workers = workers;
  options.registry = std::move(registry);
  options.onError = std::move(onError);
  return options;
}

// Polls until a worker blocks on a deadline of the fake clock (a delayed key is pending).
bool waitForTimedWaiter(FakeClock& clock) {
  const auto deadline = std::chrono::steady_clock::now() + seconds(30);
  while (clock.numWaiters() == 0) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

// Records reconcile calls and lets the test wait for a count.
class Recorder {
 public:
  void record(const std::string& key) {
    std::lock_guard lock(mu_);
    calls_[key]++;
    total_++;
    cv_.notify_all();
  }
  bool waitForTotal(int n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, seconds(30), [&] { return total_ >= n; });
  }
  int calls(const std::string& key) {
    std::lock_guard lock(mu_);
    return calls_[key];
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, int> calls_;
  int total_ = 0;
};

TEST(ControllerTest, SuccessForgetsAndCountsSuccess) {
  FakeClock clock;
  auto registry = std::make_shared<prometheus::Registry>();
  WorkQueue queue(clock, queueOptions("q1"));
  Recorder recorder;
  Controller controller(
      clock, queue,
      [&](const std::string& key) -> kube::Result<ReconcileResult> {
        recorder.record(key);
        return ReconcileResult{};
      },
      options(2, registry));
  controller.start();
  queue.add("ns/a");
  queue.add("ns/b");
  ASSERT_TRUE(recorder.waitForTotal(2));
  controller.stop();
  EXPECT_EQ(recorder.calls("ns/a"), 1);
  EXPECT_EQ(recorder.calls("ns/b"), 1);
  EXPECT_EQ(metricValue(*registry, "controller_runtime_reconcile_total",
                        {{"controller", "va"}, {"result", "success"}}),
            2);
  EXPECT_EQ(
      metricValue(*registry, "controller_runtime_reconcile_errors_total", {{"controller", "va"}}),
      0);
  EXPECT_EQ(
      metricValue(*registry, "controller_runtime_reconcile_time_seconds", {{"controller", "va"}}),
      2);
  EXPECT_EQ(metricValue(*registry, "controller_runtime_max_concurrent_reconciles",
                        {{"controller", "va"}}),
            2);
  EXPECT_EQ(queue.numRequeues("ns/a"), 0);
}

TEST(ControllerTest, ErrorRetriesWithBackoffUntilSuccess) {
  FakeClock clock;
  auto registry = std::make_shared<prometheus::Registry>();
  WorkQueue queue(clock, queueOptions("q2"));
  Recorder recorder;
  std::atomic<int> failuresLeft{2};
  std::atomic<int> errorsSeen{0};
  Controller controller(
      clock, queue,
      [&](const std::string& key) -> kube::Result<ReconcileResult> {
        recorder.record(key);
        if (failuresLeft.fetch_sub(1) > 0) return kube::Error("boom");
        return ReconcileResult{};
      },
      options(1, registry, [&](const std::string&, const kube::Error& e) {
        EXPECT_EQ(e.message(), "boom");
        ++errorsSeen;
      }));
  controller.start();
  queue.add("ns/a");
  ASSERT_TRUE(recorder.waitForTotal(1));
  // The retry waits 5 ms on the fake clock: nothing happens until time moves.
  ASSERT_TRUE(waitForTimedWaiter(clock));
  EXPECT_EQ(recorder.calls("ns/a"), 1);
  clock.advance(milliseconds(5));
  ASSERT_TRUE(recorder.waitForTotal(2));
  ASSERT_TRUE(waitForTimedWaiter(clock));
  clock.advance(milliseconds(10));
  ASSERT_TRUE(recorder.waitForTotal(3));
  controller.stop();
  EXPECT_EQ(recorder.calls("ns/a"), 3);
  EXPECT_EQ(errorsSeen.load(), 2);
  EXPECT_EQ(metricValue(*registry, "controller_runtime_reconcile_total",
                        {{"controller", "va"}, {"result", "error"}}),
            2);
  EXPECT_EQ(
      metricValue(*registry, "controller_runtime_reconcile_errors_total", {{"controller", "va"}}),
      2);
  EXPECT_EQ(metricValue(*registry, "controller_runtime_reconcile_total",
                        {{"controller", "va"}, {"result", "success"}}),
            1);
  EXPECT_EQ(queue.numRequeues("ns/a"), 0) << "success must reset the backoff";
}

TEST(ControllerTest, RequeueAfterWaitsForTheDelay) {
  FakeClock clock;
  auto registry = std::make_shared<prometheus::Registry>();
  WorkQueue queue(clock, queueOptions("q3"));
  Recorder recorder;
  Controller controller(
      clock, queue,
      [&](const std::string& key) -> kube::Result<ReconcileResult> {
        recorder.record(key);
        return ReconcileResult{.requeueAfter = seconds(30)};
      },
      options(1, registry));
  controller.start();
  queue.add("ns/a");
  ASSERT_TRUE(recorder.waitForTotal(1));
  ASSERT_TRUE(waitForTimedWaiter(clock));
  clock.advance(seconds(29));
  EXPECT_EQ(queue.len(), 0u);
  EXPECT_EQ(recorder.calls("ns/a"), 1);
  clock.advance(seconds(1));
  ASSERT_TRUE(recorder.waitForTotal(2));
  controller.stop();
  EXPECT_GE(metricValue(*registry, "controller_runtime_reconcile_total",
                        {{"controller", "va"}, {"result", "requeue_after"}}),
            2);
}

TEST(ControllerTest, StopDrainsTheReconcileInFlight) {
  FakeClock clock;
  WorkQueue queue(clock, queueOptions("q4"));
  std::mutex mu;
  std::condition_variable cv;
  bool started = false;
  bool release = false;
  std::atomic<bool> finished{false};
  Controller controller(
      clock, queue,
      [&](const std::string&) -> kube::Result<ReconcileResult> {
        std::unique_lock lock(mu);
        started = true;
        cv.notify_all();
        cv.wait(lock, [&] { return release; });
        finished = true;
        return ReconcileResult{};
      },
      options(1, nullptr));
  controller.start();
  queue.add("ns/a");
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, seconds(30), [&] { return started; }));
  }
  EXPECT_EQ(controller.activeWorkers(), 1);
  std::thread stopper([&] { controller.stop(); });
  {
    std::lock_guard lock(mu);
    release = true;
    cv.notify_all();
  }
  stopper.join();
  EXPECT_TRUE(finished.load());
  EXPECT_EQ(controller.activeWorkers(), 0);
}

}  // namespace
}  // namespace va::runtime
