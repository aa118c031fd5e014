// WorkQueue against client-go's workqueue semantics: dedup, one worker per key, delayed and
// rate-limited adds on a fake clock, shutdown, metrics, and a concurrency stress run.
#include "operator/runtime/work_queue.h"

#include <gtest/gtest.h>
#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "operator/runtime/clock.h"
#include "tests/fakes/fake_clock.h"

namespace va::runtime {
namespace {

using namespace std::chrono_literals;

// Polls `condition` for a cross-thread state change; fails after a generous deadline.
bool eventually(const std::function<bool()>& condition) {
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

TEST(WorkQueueTest, QueuesAKeyOnceHoweverOftenItIsAdded) {
  FakeClock clock;
  WorkQueue queue(clock);
  queue.add("ns/a");
  queue.add("ns/a");
  queue.add("ns/b");
  queue.add("ns/a");
  ASSERT_EQ(queue.len(), 2U);
  EXPECT_EQ(queue.get(), "ns/a");
  EXPECT_EQ(queue.get(), "ns/b");
  EXPECT_EQ(queue.len(), 0U);
}

TEST(WorkQueueTest, AKeyAddedWhileProcessingIsQueuedAgainByDone) {
  FakeClock clock;
  WorkQueue queue(clock);
  queue.add("ns/a");
  ASSERT_EQ(queue.get(), "ns/a");
  queue.add("ns/a");
  queue.add("ns/a");
  EXPECT_EQ(queue.len(), 0U);  // not handed out while in flight
  queue.done("ns/a");
  ASSERT_EQ(queue.len(), 1U);
  EXPECT_EQ(queue.get(), "ns/a");
  queue.done("ns/a");
  EXPECT_EQ(queue.len(), 0U);
}

TEST(WorkQueueTest, DoneIsANoOpForAKeyThatIsNotBeingProcessed) {
  FakeClock clock;
  WorkQueue queue(clock);
  queue.add("ns/a");
  queue.done("ns/a");
  queue.done("ns/unknown");
  ASSERT_EQ(queue.len(), 1U);
  EXPECT_EQ(queue.get(), "ns/a");
  queue.done("ns/a");
  queue.done("ns/a");
  EXPECT_EQ(queue.len(), 0U);
}

TEST(WorkQueueTest, ASecondWorkerGetsAnotherKeyWhileOneIsInFlight) {
  FakeClock clock;
  WorkQueue queue(clock);
  queue.add("ns/a");
  ASSERT_EQ(queue.get(), "ns/a");  // worker 1 holds ns/a
  queue.add("ns/a");               // re-added while in flight

  std::optional<std::string> second;
  std::thread worker2([&] { second = queue.get(); });
  queue.add("ns/b");
  worker2.join();
  EXPECT_EQ(second, "ns/b");  // never ns/a while worker 1 has it

  queue.done("ns/a");
  std::thread worker2Again([&] { second = queue.get(); });
  worker2Again.join();
  EXPECT_EQ(second, "ns/a");  // processed again after done
}

TEST(WorkQueueTest, RateLimitedBackoffDoublesFromFiveMillisecondsUpToAThousandSeconds) {
  FakeClock clock;
  WorkQueue queue(clock);
  std::vector<Clock::Duration> delays;
  for (int n = 0; n < 24; ++n) {
    EXPECT_EQ(queue.numRequeues("ns/a"), n);
    queue.addRateLimited("ns/a");
    // Find when the key becomes due: it is not due a nanosecond before the expected delay.
    const Clock::Duration expected = std::min<Clock::Duration>(5ms * (int64_t{1} << n), 1000s);
    clock.advance(expected - 1ns);
    ASSERT_EQ(queue.len(), 0U) << "n=" << n;
    clock.advance(1ns);
    ASSERT_EQ(queue.len(), 1U) << "n=" << n;
    delays.push_back(expected);
    ASSERT_EQ(queue.get(), "ns/a");
    queue.done("ns/a");
  }
  EXPECT_EQ(queue.numRequeues("ns/a"), 24);
  EXPECT_EQ(delays[0], 5ms);
  EXPECT_EQ(delays[1], 10ms);
  EXPECT_EQ(delays[2], 20ms);
  EXPECT_EQ(delays[3], 40ms);
  EXPECT_EQ(delays[17], 655360ms);
  EXPECT_EQ(delays[18], 1000s);
  EXPECT_EQ(delays[23], 1000s);

  EXPECT_EQ(queue.numRequeues("ns/other"), 0);
  queue.forget("ns/a");
  EXPECT_EQ(queue.numRequeues("ns/a"), 0);
  queue.addRateLimited("ns/a");
  clock.advance(5ms - 1ns);
  EXPECT_EQ(queue.len(), 0U);
  clock.advance(1ns);
  EXPECT_EQ(queue.len(), 1U);
}

TEST(WorkQueueTest, AddAfterIsDueAtItsDeadlineAndTheEarliestDeadlineWins) {
  FakeClock clock;
  WorkQueue queue(clock);
  queue.addAfter("ns/a", 10s);
  clock.advance(10s - 1ns);
  EXPECT_EQ(queue.len(), 0U);
  clock.advance(1ns);
  ASSERT_EQ(queue.len(), 1U);
  EXPECT_EQ(queue.get(), "ns/a");
  queue.done("ns/a");

  queue.addAfter("ns/b", 10s);
  queue.addAfter("ns/b", 3s);   // earlier: replaces 10 s
  queue.addAfter("ns/b", 20s);  // later: ignored
  clock.advance(3s);
  ASSERT_EQ(queue.len(), 1U);
  EXPECT_EQ(queue.get(), "ns/b");
  queue.done("ns/b");
  clock.advance(30s);
  EXPECT_EQ(queue.len(), 0U);  // no second entry was left behind

  queue.addAfter("ns/c", 0s);
  EXPECT_EQ(queue.len(), 1U);
}

TEST(WorkQueueTest, AGetterBlockedOnADelayedKeyIsWokenByTheClock) {
  FakeClock clock;
  WorkQueue queue(clock);
  queue.addAfter("ns/a", 1s);
  std::optional<std::string> got;
  std::thread worker([&] { got = queue.get(); });
  ASSERT_TRUE(eventually([&] { return clock.numWaiters() == 1; }));
  clock.advance(1s);
  worker.join();
  EXPECT_EQ(got, "ns/a");
}

TEST(WorkQueueTest, AnEarlierDelayedKeyWakesAGetterWaitingForALaterOne) {
  FakeClock clock;
  WorkQueue queue(clock);
  queue.addAfter("ns/late", 1h);
  std::optional<std::string> got;
  std::thread worker([&] { got = queue.get(); });
  ASSERT_TRUE(eventually([&] { return clock.numWaiters() == 1; }));
  queue.addAfter("ns/early", 1s);
  clock.advance(1s);
  worker.join();
  EXPECT_EQ(got, "ns/early");
}

TEST(WorkQueueTest, SteadyClockWakesAGetterAtTheDeadline) {
  SteadyClockImpl clock;
  WorkQueue queue(clock);
  const auto start = clock.now();
  queue.addAfter("ns/a", 20ms);
  EXPECT_EQ(queue.get(), "ns/a");
  EXPECT_GE(clock.now() - start, 20ms);
}

TEST(WorkQueueTest, ShutDownUnblocksGet) {
  FakeClock clock;
  WorkQueue queue(clock);
  std::optional<std::string> got = "unset";
  std::thread worker([&] { got = queue.get(); });
  queue.shutDown();
  worker.join();
  EXPECT_EQ(got, std::nullopt);
  EXPECT_TRUE(queue.shuttingDown());
}

TEST(WorkQueueTest, AfterShutDownQueuedKeysAreStillHandedOutButNewAddsAreIgnored) {
  FakeClock clock;
  WorkQueue queue(clock);
  queue.add("ns/a");
  queue.addAfter("ns/delayed", 1s);
  queue.shutDown();
  queue.add("ns/b");
  queue.addAfter("ns/c", 0s);
  queue.addRateLimited("ns/d");
  clock.advance(1h);
  ASSERT_EQ(queue.len(), 1U);
  EXPECT_EQ(queue.get(), "ns/a");
  EXPECT_EQ(queue.get(), std::nullopt);
}

TEST(WorkQueueTest, ShutDownWithDrainWaitsForKeysInFlight) {
  FakeClock clock;
  WorkQueue queue(clock);
  queue.add("ns/a");
  ASSERT_EQ(queue.get(), "ns/a");
  std::atomic<bool> drained = false;
  std::thread stopper([&] {
    queue.shutDownWithDrain();
    drained = true;
  });
  ASSERT_TRUE(eventually([&] { return queue.shuttingDown(); }));
  queue.add("ns/b");
  EXPECT_EQ(queue.len(), 0U);
  EXPECT_FALSE(drained);  // ns/a is still in flight
  queue.done("ns/a");
  stopper.join();
  EXPECT_TRUE(drained);
  EXPECT_EQ(queue.get(), std::nullopt);
}

TEST(WorkQueueTest, ShutDownWithDrainReturnsAtOnceWhenNothingIsInFlight) {
  FakeClock clock;
  WorkQueue queue(clock);
  queue.shutDownWithDrain();
  EXPECT_TRUE(queue.shuttingDown());
}

TEST(WorkQueueTest, ShutDownEndsAWaitForDrain) {
  FakeClock clock;
  WorkQueue queue(clock);
  queue.add("ns/a");
  ASSERT_EQ(queue.get(), "ns/a");
  std::thread stopper([&] { queue.shutDownWithDrain(); });
  ASSERT_TRUE(eventually([&] { return queue.shuttingDown(); }));
  queue.shutDown();
  stopper.join();
}

// The sample of metric family `name` for the queue labelled `queue`, or null.
const prometheus::ClientMetric* findSample(const std::vector<prometheus::MetricFamily>& families,
                                           const std::string& name, const std::string& queue) {
  for (const auto& family : families) {
    if (family.name != name) continue;
    for (const auto& metric : family.metric) {
      const bool nameMatches = std::any_of(
          metric.label.begin(), metric.label.end(),
          [&](const auto& label) { return label.name == "name" && label.value == queue; });
      if (nameMatches) return &metric;
    }
  }
  return nullptr;
}

std::uint64_t bucketCount(const prometheus::ClientMetric& metric, double upperBound) {
  for (const auto& bucket : metric.histogram.bucket) {
    if (bucket.upper_bound == upperBound) return bucket.cumulative_count;
  }
  ADD_FAILURE() << "no bucket le=" << upperBound;
  return 0;
}

TEST(WorkQueueTest, RecordsClientGoMetricsOnTheInjectedClock) {
  auto registry = std::make_shared<prometheus::Registry>();
  FakeClock clock;
  WorkQueue queue(clock, {.name = "virtualassistant", .registry = registry});
  WorkQueue other(clock, {.name = "other", .registry = registry});  // shares the families
  other.add("ns/x");

  queue.add("ns/a");
  queue.add("ns/a");  // deduplicated: not an add
  queue.add("ns/b");
  clock.advance(1s);
  ASSERT_EQ(queue.get(), "ns/a");  // waited 1 s
  clock.advance(2s);
  queue.updateUnfinishedWork();
  {
    const auto families = registry->Collect();
    const auto* unfinished =
        findSample(families, "workqueue_unfinished_work_seconds", "virtualassistant");
    ASSERT_NE(unfinished, nullptr);
    EXPECT_DOUBLE_EQ(unfinished->gauge.value, 2.0);
  }
  ASSERT_EQ(queue.get(), "ns/b");  // waited 3 s
  clock.advance(500ms);
  queue.updateUnfinishedWork();
  {
    const auto families = registry->Collect();
    EXPECT_DOUBLE_EQ(
        findSample(families, "workqueue_unfinished_work_seconds", "virtualassistant")->gauge.value,
        3.0);  // 2.5 s + 0.5 s
    EXPECT_DOUBLE_EQ(
        findSample(families, "workqueue_longest_running_processor_seconds", "virtualassistant")
            ->gauge.value,
        2.5);
  }
  queue.done("ns/a");            // worked 2.5 s
  queue.addRateLimited("ns/b");  // a retry, due in 5 ms
  clock.advance(5ms);
  queue.done("ns/b");  // worked 0.505 s; ns/b is then added again
  EXPECT_EQ(queue.len(), 1U);

  const auto families = registry->Collect();
  std::set<std::string> names;
  for (const auto& family : families) names.insert(family.name);
  EXPECT_EQ(names, (std::set<std::string>{
                       "workqueue_adds_total", "workqueue_depth",
                       "workqueue_longest_running_processor_seconds",
                       "workqueue_queue_duration_seconds", "workqueue_retries_total",
                       "workqueue_unfinished_work_seconds", "workqueue_work_duration_seconds"}));

  const auto* adds = findSample(families, "workqueue_adds_total", "virtualassistant");
  ASSERT_NE(adds, nullptr);
  EXPECT_EQ(adds->label, (std::vector<prometheus::ClientMetric::Label>{
                             {"controller", "virtualassistant"}, {"name", "virtualassistant"}}));
  EXPECT_DOUBLE_EQ(adds->counter.value, 3.0);
  EXPECT_DOUBLE_EQ(findSample(families, "workqueue_depth", "virtualassistant")->gauge.value, 1.0);
  EXPECT_DOUBLE_EQ(
      findSample(families, "workqueue_retries_total", "virtualassistant")->counter.value, 1.0);
  EXPECT_DOUBLE_EQ(
      findSample(families, "workqueue_unfinished_work_seconds", "virtualassistant")->gauge.value,
      0.0);
  EXPECT_DOUBLE_EQ(
      findSample(families, "workqueue_longest_running_processor_seconds", "virtualassistant")
          ->gauge.value,
      0.0);

  const auto* queued = findSample(families, "workqueue_queue_duration_seconds", "virtualassistant");
  ASSERT_NE(queued, nullptr);
  EXPECT_EQ(queued->histogram.sample_count, 2U);
  EXPECT_DOUBLE_EQ(queued->histogram.sample_sum, 4.0);
  ASSERT_EQ(queued->histogram.bucket.size(), 11U);  // 1e-8 .. 10 and +Inf
  EXPECT_DOUBLE_EQ(queued->histogram.bucket.front().upper_bound, 1e-8);
  EXPECT_EQ(bucketCount(*queued, 0.1), 0U);
  EXPECT_EQ(bucketCount(*queued, 1.0), 1U);
  EXPECT_EQ(bucketCount(*queued, 10.0), 2U);

  const auto* worked = findSample(families, "workqueue_work_duration_seconds", "virtualassistant");
  ASSERT_NE(worked, nullptr);
  EXPECT_EQ(worked->histogram.sample_count, 2U);
  EXPECT_DOUBLE_EQ(worked->histogram.sample_sum, 3.005);
  EXPECT_EQ(bucketCount(*worked, 0.1), 0U);
  EXPECT_EQ(bucketCount(*worked, 1.0), 1U);
  EXPECT_EQ(bucketCount(*worked, 10.0), 2U);

  EXPECT_DOUBLE_EQ(findSample(families, "workqueue_adds_total", "other")->counter.value, 1.0);
  EXPECT_DOUBLE_EQ(findSample(families, "workqueue_depth", "other")->gauge.value, 1.0);
}

TEST(WorkQueueTest, ConcurrentAddsAreAllProcessedAndNeverTwiceAtOnce) {
  SteadyClockImpl clock;
  WorkQueue queue(clock);
  constexpr int kAdders = 4;
  constexpr int kAddsPerAdder = 2500;
  constexpr int kKeys = 100;

  std::mutex mutex;
  std::set<std::string> inFlight;
  std::map<std::string, int> processed;
  std::atomic<int> overlaps = 0;
  auto work = [&] {
    while (std::optional<std::string> key = queue.get()) {
      {
        const std::lock_guard lock(mutex);
        if (!inFlight.insert(*key).second) ++overlaps;
      }
      std::this_thread::yield();
      {
        const std::lock_guard lock(mutex);
        inFlight.erase(*key);
        ++processed[*key];
      }
      queue.done(*key);
    }
  };
  std::vector<std::thread> workers;
  workers.reserve(2);
  for (int i = 0; i < 2; ++i) workers.emplace_back(work);
  std::vector<std::thread> adders;
  adders.reserve(kAdders);
  for (int a = 0; a < kAdders; ++a) {
    adders.emplace_back([&queue, a] {
      for (int i = 0; i < kAddsPerAdder; ++i) {
        queue.add("ns/key-" + std::to_string((a * kAddsPerAdder + i * 7) % kKeys));
      }
    });
  }
  for (auto& adder : adders) adder.join();
  // Keys queued or re-added before the shutdown are still handed out; workers stop when none
  // is left.
  queue.shutDown();
  for (auto& worker : workers) worker.join();

  EXPECT_EQ(overlaps, 0);
  EXPECT_EQ(processed.size(), static_cast<std::size_t>(kKeys));
  int total = 0;
  for (const auto& entry : processed) total += entry.second;
  EXPECT_LE(total, kAdders * kAddsPerAdder);
  EXPECT_EQ(queue.len(), 0U);
}

}  // namespace
}  // namespace va::runtime
