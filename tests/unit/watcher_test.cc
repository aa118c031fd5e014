// The watch state machine: its pure transitions first, then the driver over a scripted client
// with a FakeClock (backoff waits end only when the test advances the clock).
#include "operator/runtime/watcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/fakes/fake_clock.h"
#include "tests/fakes/fake_watch_client.h"

namespace va::runtime {
namespace {

using kube::ApiError;
using kube::FakeWatchClient;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using Kind = WatcherOutcome::Kind;
using ActionKind = WatcherAction::Kind;
using namespace std::chrono_literals;

const Clock::TimePoint kT0 = Clock::TimePoint{} + 24h;

WatcherOutcome outcome(Kind kind, std::string resourceVersion = {}, Clock::TimePoint at = kT0) {
  return {kind, std::move(resourceVersion), at, std::nullopt};
}

WatcherState watching(const std::string& resourceVersion) {
  WatcherState state;
  state.phase = WatcherPhase::kWatching;
  state.resourceVersion = resourceVersion;
  return state;
}

// ---- the pure transition function ----

TEST(AdvanceWatcherTest, FreshStateListsFirst) {
  EXPECT_EQ(initialAction(WatcherState{}, {}).kind, ActionKind::kList);
  EXPECT_EQ(initialAction(watching(""), {}).kind, ActionKind::kList);
  const WatcherAction resume = initialAction(watching("42"), {});
  EXPECT_EQ(resume.kind, ActionKind::kWatch);
  EXPECT_EQ(resume.resourceVersion, "42");
}

TEST(AdvanceWatcherTest, ListOkStartsWatchingFromTheListVersion) {
  const WatcherStep step = advanceWatcher(WatcherState{}, outcome(Kind::kListed, "10"), {});
  EXPECT_EQ(step.state.phase, WatcherPhase::kWatching);
  EXPECT_EQ(step.state.resourceVersion, "10");
  EXPECT_EQ(step.action.kind, ActionKind::kWatch);
  EXPECT_EQ(step.action.resourceVersion, "10");
}

TEST(AdvanceWatcherTest, EventsAndBookmarksMoveTheVersion) {
  WatcherStep step = advanceWatcher(watching("10"), outcome(Kind::kEvent, "11"), {});
  EXPECT_EQ(step.state.resourceVersion, "11");
  EXPECT_EQ(step.action.kind, ActionKind::kContinue);
  // An event without a version (it should not happen) leaves the version alone.
  step = advanceWatcher(step.state, outcome(Kind::kEvent, ""), {});
  EXPECT_EQ(step.state.resourceVersion, "11");
  EXPECT_EQ(step.state.phase, WatcherPhase::kWatching);
}

TEST(AdvanceWatcherTest, NormalEndReWatchesFromTheSameVersionAtOnce) {
  const WatcherStep step = advanceWatcher(watching("15"), outcome(Kind::kWatchEnded), {});
  EXPECT_EQ(step.state.phase, WatcherPhase::kWatching);
  EXPECT_EQ(step.action.kind, ActionKind::kWatch);
  EXPECT_EQ(step.action.resourceVersion, "15");
  EXPECT_EQ(step.state.failures, 0);
}

TEST(AdvanceWatcherTest, DropBacksOffThenResumesFromTheLastVersion) {
  WatcherStep step = advanceWatcher(watching("15"), outcome(Kind::kWatchFailed), {});
  EXPECT_EQ(step.state.phase, WatcherPhase::kBackoff);
  EXPECT_FALSE(step.state.relistAfterBackoff);
  EXPECT_EQ(step.action.kind, ActionKind::kWait);
  EXPECT_EQ(step.action.delay, 800ms);
  step = advanceWatcher(step.state, outcome(Kind::kBackoffElapsed, "", kT0 + 1s), {});
  EXPECT_EQ(step.state.phase, WatcherPhase::kWatching);
  EXPECT_EQ(step.action.kind, ActionKind::kWatch);
  EXPECT_EQ(step.action.resourceVersion, "15");
}

TEST(AdvanceWatcherTest, GoneRelistsWithoutWaiting) {
  const WatcherStep step = advanceWatcher(watching("15"), outcome(Kind::kGone), {});
  EXPECT_EQ(step.state.phase, WatcherPhase::kListing);
  EXPECT_EQ(step.action.kind, ActionKind::kList);
  EXPECT_EQ(step.state.resourceVersion, "");
}

TEST(AdvanceWatcherTest, FailedListBacksOffThenListsAgain) {
  WatcherStep step = advanceWatcher(WatcherState{}, outcome(Kind::kListFailed), {});
  EXPECT_EQ(step.state.phase, WatcherPhase::kBackoff);
  EXPECT_TRUE(step.state.relistAfterBackoff);
  EXPECT_EQ(step.action.delay, 800ms);
  step = advanceWatcher(step.state, outcome(Kind::kBackoffElapsed), {});
  EXPECT_EQ(step.state.phase, WatcherPhase::kListing);
  EXPECT_EQ(step.action.kind, ActionKind::kList);
}

TEST(AdvanceWatcherTest, BackoffDoublesUpToTheCap) {
  std::vector<Clock::Duration> delays;
  WatcherState state = watching("1");
  Clock::TimePoint at = kT0;
  for (int i = 0; i < 8; ++i) {
    WatcherStep step = advanceWatcher(state, outcome(Kind::kWatchFailed, "", at), {});
    delays.push_back(step.action.delay);
    step = advanceWatcher(step.state, outcome(Kind::kBackoffElapsed, "", at), {});
    state = step.state;
    at += step.action.delay + 1s;
  }
  EXPECT_THAT(delays, ElementsAre(800ms, 1600ms, 3200ms, 6400ms, 12800ms, 25600ms, 30s, 30s));
}

TEST(AdvanceWatcherTest, BackoffResetsAfterAHealthyPeriod) {
  WatcherState state = watching("1");
  for (int i = 0; i < 3; ++i) {
    state = advanceWatcher(state, outcome(Kind::kWatchFailed, "", kT0 + i * 1s), {}).state;
    state = advanceWatcher(state, outcome(Kind::kBackoffElapsed, "", kT0 + i * 1s), {}).state;
  }
  EXPECT_EQ(state.failures, 3);
  // Just under two minutes after the last failure the backoff keeps growing...
  const WatcherStep soon =
      advanceWatcher(state, outcome(Kind::kWatchFailed, "", kT0 + 2s + 119s), {});
  EXPECT_EQ(soon.action.delay, 6400ms);
  // ...two minutes without a failure start it over.
  const WatcherStep later =
      advanceWatcher(state, outcome(Kind::kWatchFailed, "", kT0 + 2s + 120s), {});
  EXPECT_EQ(later.action.delay, 800ms);
  EXPECT_EQ(later.state.failures, 1);
}

TEST(AdvanceWatcherTest, RetryAfterStretchesTheWait) {
  WatcherOutcome tooMany = outcome(Kind::kWatchFailed);
  tooMany.retryAfterSeconds = 5;
  EXPECT_EQ(advanceWatcher(watching("1"), tooMany, {}).action.delay, 5s);
  tooMany.retryAfterSeconds = 0;
  EXPECT_EQ(advanceWatcher(watching("1"), tooMany, {}).action.delay, 800ms);
}

TEST(AdvanceWatcherTest, UnexpectedOutcomeRepeatsThePhasesAction) {
  EXPECT_EQ(advanceWatcher(WatcherState{}, outcome(Kind::kEvent, "3"), {}).action.kind,
            ActionKind::kList);
  const WatcherStep step = advanceWatcher(watching("7"), outcome(Kind::kListed, "9"), {});
  EXPECT_EQ(step.action.kind, ActionKind::kWatch);
  EXPECT_EQ(step.action.resourceVersion, "7");
}

TEST(AdvanceWatcherTest, JitterStretchesWithinBounds) {
  EXPECT_EQ(jittered(800ms, 1.0, 0.0), 800ms);
  EXPECT_EQ(jittered(800ms, 1.0, 0.5), 1200ms);
  EXPECT_EQ(jittered(800ms, 0.0, 0.9), 800ms);
  EXPECT_LT(jittered(800ms, 1.0, 0.999), 1600ms);
}

// ---- the driver ----

bool eventually(const std::function<bool()>& condition) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

class WatcherDriverTest : public ::testing::Test {
 protected:
  void start(WatcherOptions options = {}, WatcherState from = {}) {
    if (options.path.empty()) options.path = "/api/v1/namespaces/ns/configmaps";
    options.backoff.jitter = 0;  // exact waits
    watcher_ =
        std::make_unique<Watcher>(client_, clock_, std::move(options), [this](WatchEvent&& event) {
          const std::lock_guard lock(mutex_);
          events_.push_back(std::move(event));
        });
    thread_ = std::thread([this, from] { watcher_->run(from); });
  }

  void TearDown() override {
    if (watcher_) watcher_->stop();
    if (thread_.joinable()) thread_.join();
  }

  std::vector<WatchEvent> events() {
    const std::lock_guard lock(mutex_);
    return events_;
  }

  bool waitForPaths(std::size_t n) {
    return eventually([&] { return client_.paths().size() >= n; });
  }

  // Waits until the driver sleeps in the backoff after its `failures`-th failure (the earlier
  // sleeps are over by then), then moves the clock on by `delay`.
  void passBackoff(Clock::Duration delay, int failures = 1) {
    ASSERT_TRUE(eventually([&] {
      const WatcherState state = watcher_->state();
      return state.phase == WatcherPhase::kBackoff && state.failures == failures &&
             clock_.numWaiters() == 1;
    }));
    clock_.advance(delay);
  }

  FakeWatchClient client_;
  FakeClock clock_;
  std::unique_ptr<Watcher> watcher_;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<WatchEvent> events_;
};

TEST_F(WatcherDriverTest, ListsThenWatchesWithSelectorsBookmarksAndATimeout) {
  client_.scriptList(FakeWatchClient::list("10", {FakeWatchClient::configMap("ns", "a", "9")}));
  client_.scriptWatch(
      {.lines = {FakeWatchClient::event("ADDED", FakeWatchClient::configMap("ns", "b", "11")),
                 FakeWatchClient::bookmark("15")},
       .hang = true});
  start({.labelSelector = "app=va", .fieldSelector = "metadata.name!=x"});
  ASSERT_TRUE(eventually([&] { return client_.hanging(); }));

  const auto paths = client_.paths();
  ASSERT_EQ(paths.size(), 2u);
  EXPECT_EQ(paths[0],
            "/api/v1/namespaces/ns/configmaps?labelSelector=app%3Dva&fieldSelector=metadata.name%"
            "21%3Dx");
  EXPECT_THAT(paths[1], StartsWith(paths[0] + "&watch=true&resourceVersion=10&"
                                              "allowWatchBookmarks=true&timeoutSeconds="));
  const int timeout = std::stoi(paths[1].substr(paths[1].rfind('=') + 1));
  EXPECT_GE(timeout, 300);
  EXPECT_LT(timeout, 600);

  const auto seen = events();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].type, WatchEvent::Type::kReplace);
  EXPECT_EQ(seen[0].resourceVersion, "10");
  ASSERT_EQ(seen[0].items.size(), 1u);
  // List items get the kind and apiVersion that watch events carry.
  EXPECT_EQ(seen[0].items[0]["kind"], "ConfigMap");
  EXPECT_EQ(seen[0].items[0]["apiVersion"], "v1");
  EXPECT_EQ(seen[1].type, WatchEvent::Type::kAdded);
  EXPECT_EQ(seen[1].object["metadata"]["name"], "b");
  // The bookmark moved the version without an event.
  EXPECT_EQ(watcher_->state().resourceVersion, "15");
  EXPECT_EQ(watcher_->stats().lists, 1);
  EXPECT_EQ(watcher_->stats().watches, 1);
}

TEST_F(WatcherDriverTest, NormalEndReWatchesFromTheLastVersionWithoutWaiting) {
  client_.scriptList(FakeWatchClient::list("10", {}));
  client_.scriptWatch(
      {.lines = {FakeWatchClient::event("MODIFIED", FakeWatchClient::configMap("ns", "a", "12"))}});
  start();
  ASSERT_TRUE(waitForPaths(3));  // no clock advance needed
  EXPECT_THAT(client_.paths()[2], HasSubstr("resourceVersion=12&"));
  EXPECT_EQ(watcher_->stats().failures, 0);
}

TEST_F(WatcherDriverTest, DropBacksOffResumesAndGoneRelists) {
  client_.scriptList(FakeWatchClient::list("10", {FakeWatchClient::configMap("ns", "a", "9"),
                                                  FakeWatchClient::configMap("ns", "b", "8")}));
  client_.scriptWatch(
      {.lines = {FakeWatchClient::event("DELETED", FakeWatchClient::configMap("ns", "b", "11")),
                 FakeWatchClient::bookmark("15")},
       .error = ApiError::transport("connection reset by peer")});
  client_.scriptWatch({.lines = {FakeWatchClient::errorEvent(410, "Expired")}});
  client_.scriptList(FakeWatchClient::list("20", {FakeWatchClient::configMap("ns", "a", "9")}));
  start();

  ASSERT_TRUE(waitForPaths(2));
  passBackoff(800ms);
  ASSERT_TRUE(eventually([&] { return client_.hanging(); }));

  const auto paths = client_.paths();
  ASSERT_EQ(paths.size(), 5u);  // list, watch (drops), watch (410), list, watch
  EXPECT_THAT(paths[1], HasSubstr("resourceVersion=10&"));
  EXPECT_THAT(paths[2], HasSubstr("resourceVersion=15&"));  // resumed from the bookmark
  EXPECT_THAT(paths[3], Not(HasSubstr("watch=true")));
  EXPECT_THAT(paths[4], HasSubstr("resourceVersion=20&"));

  const auto seen = events();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].type, WatchEvent::Type::kReplace);
  EXPECT_EQ(seen[1].type, WatchEvent::Type::kDeleted);
  EXPECT_EQ(seen[2].type, WatchEvent::Type::kReplace);
  EXPECT_EQ(seen[2].items.size(), 1u);

  const WatcherStats stats = watcher_->stats();
  EXPECT_EQ(stats.lists, 2);
  EXPECT_EQ(stats.watches, 3);
  EXPECT_EQ(stats.gone, 1);
  EXPECT_EQ(stats.failures, 1);
  EXPECT_THAT(stats.lastError, HasSubstr("410"));
}

TEST_F(WatcherDriverTest, HttpGoneOnWatchRelists) {
  client_.scriptList(FakeWatchClient::list("10", {}));
  client_.scriptWatch(
      {.error = ApiError::fromResponse(410, R"({"kind":"Status","code":410,"reason":"Gone"})")});
  client_.scriptList(FakeWatchClient::list("30", {}));
  start();
  ASSERT_TRUE(eventually([&] { return client_.hanging(); }));
  EXPECT_EQ(watcher_->stats().lists, 2);
  EXPECT_THAT(client_.paths().back(), HasSubstr("resourceVersion=30&"));
}

TEST_F(WatcherDriverTest, FailedListsBackOffExponentiallyThenSucceed) {
  client_.scriptList(ApiError::fromResponse(500, "etcd unavailable"));
  client_.scriptList(ApiError::fromResponse(503, "unavailable"));
  client_.scriptList(FakeWatchClient::list("10", {}));
  start();
  passBackoff(800ms);
  // The second wait is twice as long: 800 ms more do not end it.
  passBackoff(800ms, 2);
  EXPECT_EQ(watcher_->state().phase, WatcherPhase::kBackoff);
  clock_.advance(800ms);
  ASSERT_TRUE(eventually([&] { return client_.hanging(); }));
  EXPECT_EQ(client_.paths().size(), 4u);
  EXPECT_EQ(watcher_->stats().failures, 2);
}

TEST_F(WatcherDriverTest, UndecodableEventBacksOffAndResumes) {
  client_.scriptList(FakeWatchClient::list("10", {}));
  client_.scriptWatch({.lines = {"{not json"}, .hang = true});
  start();
  passBackoff(800ms);
  ASSERT_TRUE(eventually([&] { return client_.hanging(); }));
  EXPECT_THAT(client_.paths()[2], HasSubstr("resourceVersion=10&"));
  EXPECT_THAT(watcher_->stats().lastError, HasSubstr("not an object"));
}

TEST_F(WatcherDriverTest, StartsFromAGivenVersion) {
  start({}, watching("77"));
  ASSERT_TRUE(eventually([&] { return client_.hanging(); }));
  EXPECT_THAT(client_.paths()[0], HasSubstr("watch=true&resourceVersion=77&"));
}

TEST_F(WatcherDriverTest, StopEndsABackoffWait) {
  client_.scriptList(ApiError::transport("connection refused"));
  start();
  ASSERT_TRUE(eventually([&] { return clock_.numWaiters() == 1; }));
  watcher_->stop();
  thread_.join();  // returns without the clock moving
  EXPECT_EQ(client_.paths().size(), 1u);
}

}  // namespace
}  // namespace va::runtime
