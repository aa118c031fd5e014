// LeaderElector against an in-memory Lease API and a fake clock, after client-go's semantics:
// acquire, expiry measured by the observer's clock, renew deadline, lost races, release on
// cancel, and two candidates stepped through partitions that must never lead at once.
// Time moves only once every candidate waits on the clock (LeaderElector::waitingForClock).
#include "operator/runtime/leader_election.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "operator/kube/resource_path.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/fake_lease_client.h"

namespace va::runtime {
namespace {

using namespace std::chrono_literals;
using kube::FakeLeaseClient;
using kube::FakeLeaseStore;
using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::MatchesRegex;
using ::testing::UnorderedElementsAre;

constexpr const char* kNamespace = "va-system";
constexpr const char* kLeaseName = "va-operator-lock";

const std::string& leasePath() {
  static const std::string path =
      kube::resourcePath("coordination.k8s.io", "v1", "leases", kNamespace, kLeaseName);
  return path;
}

// A Lease as another process would have written it.
json leaseHeldBy(const std::string& holder, const std::string& renewTime, int transitions) {
  return {{"apiVersion", "coordination.k8s.io/v1"},
          {"kind", "Lease"},
          {"metadata", {{"name", kLeaseName}, {"namespace", kNamespace}}},
          {"spec",
           {{"holderIdentity", holder},
            {"leaseDurationSeconds", 15},
            {"acquireTime", "2000-01-01T00:00:00.000000Z"},
            {"renewTime", renewTime},
            {"leaseTransitions", transitions}}}};
}

json leaseSpec(const FakeLeaseStore& store) {
  const auto lease = store.object(leasePath());
  return lease ? lease->at("spec") : json();
}

// Polls `condition` for a change made by another thread; fails after a generous deadline.
bool eventually(const std::function<bool()>& condition) {
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

double masterStatus(prometheus::Registry& registry) {
  for (const auto& family : registry.Collect()) {
    if (family.name != "leader_election_master_status") continue;
    for (const auto& metric : family.metric) {
      for (const auto& label : metric.label) {
        if (label.name == "name" && label.value == kLeaseName) return metric.gauge.value;
      }
    }
  }
  return -1;
}

// Counts candidates inside onStartedLeading at once; more than one is a split brain.
struct WorkTracker {
  std::atomic<int> active{0};
  std::atomic<bool> overlapped{false};
};

// One candidate: an elector running on a thread of its own, and what its callbacks saw.
class Candidate {
 public:
  Candidate(kube::Client& client, Clock& clock, const std::string& identity,
            const std::function<void(LeaderElectionConfig&)>& adjust = {},
            WorkTracker* tracker = nullptr) {
    LeaderElectionConfig config{.leaseNamespace = kNamespace,
                                .leaseName = kLeaseName,
                                .identity = identity,
                                .jitterFactor = 0};
    config.callbacks.onStartedLeading = [this, tracker](const std::stop_token& stop) {
      record("started", true);
      if (tracker != nullptr && ++tracker->active > 1) tracker->overlapped = true;
      std::mutex mutex;
      std::condition_variable_any stopped;
      std::unique_lock lock(mutex);
      stopped.wait(lock, stop, [] { return false; });
      if (tracker != nullptr) --tracker->active;
      record("work done", false);
    };
    config.callbacks.onStoppedLeading = [this] { record("stopped", std::nullopt); };
    config.callbacks.onNewLeader = [this](const std::string& leader) {
      const std::lock_guard lock(mutex_);
      newLeaders_.push_back(leader);
    };
    if (adjust) adjust(config);
    auto elector = LeaderElector::create(client, clock, std::move(config));
    if (!elector) {
      ADD_FAILURE() << elector.error().message();
      return;
    }
    elector_ = std::move(*elector);
  }

  ~Candidate() { stop(); }
  Candidate(const Candidate&) = delete;
  Candidate& operator=(const Candidate&) = delete;

  void start() {
    thread_ = std::thread([this] {
      elector_->run();
      finished_ = true;
    });
  }

  // stop() and wait for run() to return.
  void stop() {
    if (!elector_) return;
    elector_->stop();
    if (thread_.joinable()) thread_.join();
  }

  [[nodiscard]] bool isLeader() const { return elector_->isLeader(); }
  [[nodiscard]] std::string leader() const { return elector_->leader(); }
  [[nodiscard]] bool finished() const { return finished_; }

  // Nothing left to do until the clock moves, and the work runs exactly while it leads.
  [[nodiscard]] bool settled() const {
    const std::lock_guard lock(mutex_);
    return elector_->waitingForClock() && working_ == elector_->isLeader();
  }

  [[nodiscard]] std::vector<std::string> events() const {
    const std::lock_guard lock(mutex_);
    return events_;
  }
  [[nodiscard]] std::vector<std::string> newLeaders() const {
    const std::lock_guard lock(mutex_);
    return newLeaders_;
  }
  [[nodiscard]] int count(const std::string& event) const {
    const auto all = events();
    return static_cast<int>(std::count(all.begin(), all.end(), event));
  }

 private:
  void record(const std::string& event, std::optional<bool> working) {
    const std::lock_guard lock(mutex_);
    events_.push_back(event);
    if (working) working_ = *working;
  }

  std::unique_ptr<LeaderElector> elector_;
  std::thread thread_;
  std::atomic<bool> finished_{false};
  mutable std::mutex mutex_;
  bool working_ = false;
  std::vector<std::string> events_;
  std::vector<std::string> newLeaders_;
};

bool settled(std::initializer_list<const Candidate*> candidates) {
  return eventually([&] {
    for (const Candidate* candidate : candidates) {
      if (!candidate->settled()) return false;
    }
    return true;
  });
}

// Moves the clock in steps of `step` up to `total`, letting the candidates settle after each.
void advance(FakeClock& clock, Clock::Duration total, std::initializer_list<const Candidate*> all,
             Clock::Duration step = 1s) {
  for (Clock::Duration moved{}; moved < total; moved += step) {
    clock.advance(step);
    ASSERT_TRUE(settled(all));
  }
}

const char* kMicroTime = R"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z)";

TEST(LeaderElectionTest, AcquiresAnAbsentLeaseAndRenewsIt) {
  FakeLeaseStore store;
  FakeLeaseClient client(store);
  FakeClock clock;
  auto registry = std::make_shared<prometheus::Registry>();
  Candidate a(client, clock, "a", [&](LeaderElectionConfig& c) { c.registry = registry; });
  EXPECT_EQ(masterStatus(*registry), 0);
  a.start();
  ASSERT_TRUE(eventually([&] { return a.settled() && a.isLeader(); }));

  json spec = leaseSpec(store);
  EXPECT_EQ(spec["holderIdentity"], "a");
  EXPECT_EQ(spec["leaseDurationSeconds"], 15);
  EXPECT_EQ(spec["leaseTransitions"], 0);
  EXPECT_THAT(spec["renewTime"].get<std::string>(), MatchesRegex(kMicroTime));
  EXPECT_EQ(spec["acquireTime"], spec["renewTime"]);
  EXPECT_THAT(a.newLeaders(), ElementsAre("a"));
  EXPECT_EQ(a.leader(), "a");
  EXPECT_EQ(masterStatus(*registry), 1);

  // Renewals move renewTime on and keep acquireTime.
  const json acquired = spec;
  advance(clock, 2s, {&a});
  spec = leaseSpec(store);
  EXPECT_EQ(spec["holderIdentity"], "a");
  EXPECT_EQ(spec["acquireTime"], acquired["acquireTime"]);
  EXPECT_NE(spec["renewTime"], acquired["renewTime"]);
  EXPECT_TRUE(a.isLeader());

  a.stop();
  EXPECT_THAT(a.events(), ElementsAre("started", "work done", "stopped"));
  EXPECT_EQ(masterStatus(*registry), 0);
  // Without releaseOnCancel the lease stays ours until it expires.
  EXPECT_EQ(leaseSpec(store)["holderIdentity"], "a");
}

TEST(LeaderElectionTest, WaitsAFullLeaseDurationByItsOwnClockBeforeTakingOver) {
  FakeLeaseStore store;
  FakeLeaseClient client(store);
  FakeClock clock;
  // The holder's renewTime is decades old: only the local observation time counts.
  store.put(leasePath(), leaseHeldBy("other", "2000-01-01T00:00:00.000000Z", 3));
  Candidate a(client, clock, "a");
  a.start();
  ASSERT_TRUE(settled({&a}));
  EXPECT_FALSE(a.isLeader());
  EXPECT_EQ(a.leader(), "other");

  // `other` renews at t=10s: the countdown starts again from there.
  for (int second = 1; second <= 25; ++second) {
    if (second == 10)
      store.put(leasePath(), leaseHeldBy("other", "2000-01-01T00:00:10.000000Z", 3));
    clock.advance(1s);
    ASSERT_TRUE(settled({&a}));
    ASSERT_FALSE(a.isLeader()) << "took over at t=" << second << "s";
  }
  // Attempts come every 2 s: the first one at or after 10 s + 15 s takes over.
  advance(clock, 1s, {&a});
  EXPECT_TRUE(a.isLeader());

  const json spec = leaseSpec(store);
  EXPECT_EQ(spec["holderIdentity"], "a");
  EXPECT_EQ(spec["leaseTransitions"], 4);
  EXPECT_NE(spec["acquireTime"], "2000-01-01T00:00:00.000000Z");
  EXPECT_THAT(a.newLeaders(), ElementsAre("other", "a"));
}

TEST(LeaderElectionTest, GivesUpWhenItCannotRenewWithinRenewDeadline) {
  FakeLeaseStore store;
  FakeLeaseClient client(store);
  FakeClock clock;
  Candidate a(client, clock, "a");
  a.start();
  ASSERT_TRUE(eventually([&] { return a.settled() && a.isLeader(); }));

  client.setFailure(kube::ApiError::fromResponse(503, "service unavailable"));
  // The first renewal round starts at 2 s and retries until 2 s + renewDeadline (10 s).
  for (int second = 1; second <= 11; ++second) {
    clock.advance(1s);
    ASSERT_TRUE(settled({&a}));
    ASSERT_TRUE(a.isLeader()) << "gave up at t=" << second << "s";
  }
  clock.advance(1s);
  ASSERT_TRUE(eventually([&] { return a.finished(); }));
  EXPECT_FALSE(a.isLeader());
  EXPECT_THAT(a.events(), UnorderedElementsAre("started", "stopped", "work done"));
  EXPECT_EQ(a.events().front(), "started");
}

TEST(LeaderElectionTest, AHungRenewalIsAbandonedAtRenewDeadline) {
  FakeLeaseStore store;
  FakeLeaseClient client(store);
  FakeClock clock;
  Candidate a(client, clock, "a");
  a.start();
  ASSERT_TRUE(eventually([&] { return a.settled() && a.isLeader(); }));

  client.block();
  clock.advance(2s);  // the renewal round starts and its call hangs
  ASSERT_TRUE(eventually([&] { return client.blockedCalls() == 1; }));
  clock.advance(9s);
  EXPECT_TRUE(a.isLeader());
  clock.advance(1s);  // renewDeadline passed with the call still hanging
  ASSERT_TRUE(eventually([&] { return a.count("stopped") == 1 && !a.isLeader(); }));
  client.unblock();
  ASSERT_TRUE(eventually([&] { return a.finished(); }));
}

TEST(LeaderElectionTest, LosingTheUpdateRaceMeansNotLeading) {
  FakeLeaseStore store;
  FakeLeaseClient client(store);
  FakeClock clock;
  store.put(leasePath(), leaseHeldBy("other", "2000-01-01T00:00:00.000000Z", 0));
  Candidate a(client, clock, "a");
  a.start();
  ASSERT_TRUE(settled({&a}));

  // When `a` tries to take the expired lease over, `other` renews first: a's PUT carries a
  // stale resourceVersion and gets 409 Conflict.
  std::atomic<bool> raced{false};
  client.setBeforeWrite([&](const std::string& path) {
    if (!raced.exchange(true)) {
      store.put(path, leaseHeldBy("other", "2000-01-01T00:00:16.000000Z", 0));
    }
  });
  advance(clock, 16s, {&a});
  ASSERT_TRUE(raced);
  EXPECT_FALSE(a.isLeader());
  EXPECT_EQ(leaseSpec(store)["holderIdentity"], "other");
  // `a` sees the new record at its next attempt (18 s) and waits a lease duration from there.
  for (int second = 17; second <= 33; ++second) {
    clock.advance(1s);
    ASSERT_TRUE(settled({&a}));
    ASSERT_FALSE(a.isLeader()) << "took over at t=" << second << "s";
  }
  advance(clock, 1s, {&a});
  EXPECT_TRUE(a.isLeader());
  EXPECT_EQ(leaseSpec(store)["leaseTransitions"], 1);
}

TEST(LeaderElectionTest, ALeaderThatFindsAnotherHolderStopsAtOnce) {
  FakeLeaseStore store;
  FakeLeaseClient client(store);
  FakeClock clock;
  Candidate a(client, clock, "a");
  a.start();
  ASSERT_TRUE(eventually([&] { return a.settled() && a.isLeader(); }));

  // Someone overwrites the lease; a's next renewal conflicts, reads it and gives up.
  store.put(leasePath(), leaseHeldBy("intruder", "2000-01-01T00:00:00.000000Z", 1));
  clock.advance(2s);
  ASSERT_TRUE(eventually([&] { return a.finished(); }));
  EXPECT_FALSE(a.isLeader());
  EXPECT_EQ(a.count("stopped"), 1);
  EXPECT_EQ(a.leader(), "intruder");
  EXPECT_THAT(a.newLeaders(), ElementsAre("a", "intruder"));
  EXPECT_EQ(leaseSpec(store)["holderIdentity"], "intruder");
}

TEST(LeaderElectionTest, ReleaseOnCancelLetsTheSuccessorTakeOverAtItsNextAttempt) {
  FakeLeaseStore store;
  FakeLeaseClient client(store);
  FakeClock clock;
  Candidate a(client, clock, "a", [](LeaderElectionConfig& c) { c.releaseOnCancel = true; });
  Candidate b(client, clock, "b");
  a.start();
  ASSERT_TRUE(eventually([&] { return a.settled() && a.isLeader(); }));
  b.start();
  ASSERT_TRUE(settled({&a, &b}));
  EXPECT_FALSE(b.isLeader());

  a.stop();
  // The work ended before the release, and onStoppedLeading came last.
  EXPECT_THAT(a.events(), ElementsAre("started", "work done", "stopped"));
  json spec = leaseSpec(store);
  EXPECT_EQ(spec["holderIdentity"], "");
  EXPECT_EQ(spec["leaseDurationSeconds"], 1);
  EXPECT_EQ(spec["leaseTransitions"], 0);

  advance(clock, 2s, {&b});
  EXPECT_TRUE(b.isLeader());
  spec = leaseSpec(store);
  EXPECT_EQ(spec["holderIdentity"], "b");
  EXPECT_EQ(spec["leaseTransitions"], 1);
}

TEST(LeaderElectionTest, TwoCandidatesNeverLeadAtOnce) {
  FakeLeaseStore store;
  FakeLeaseClient clientA(store);
  FakeLeaseClient clientB(store);
  FakeClock clock;
  WorkTracker tracker;
  const auto reenter = [](LeaderElectionConfig& c) { c.reenterAfterLoss = true; };
  Candidate a(clientA, clock, "a", reenter, &tracker);
  Candidate b(clientB, clock, "b", reenter, &tracker);
  a.start();
  b.start();
  ASSERT_TRUE(settled({&a, &b}));

  const auto unavailable = kube::ApiError::fromResponse(503, "service unavailable");
  const auto cutOffLeader = [&] { (a.isLeader() ? clientA : clientB).setFailure(unavailable); };
  const auto heal = [&] {
    clientA.setFailure(std::nullopt);
    clientB.setFailure(std::nullopt);
  };
  std::string lastLeader;
  int takeovers = 0;
  const auto step = 250ms;
  for (int i = 1; i <= 1000; ++i) {  // 250 s of fake time
    const auto now = i * step;
    if (now == 20s || now == 80s) cutOffLeader();  // the follower must wait for expiry
    if (now == 140s) {                             // both cut off, then a race to recover
      clientA.setFailure(unavailable);
      clientB.setFailure(unavailable);
    }
    if (now == 60s || now == 120s || now == 160s) heal();
    clock.advance(step);
    ASSERT_TRUE(settled({&a, &b})) << "at " << now.count() << " ms";
    ASSERT_FALSE(a.isLeader() && b.isLeader()) << "both lead at " << now.count() << " ms";
    ASSERT_FALSE(tracker.overlapped) << "two works ran at once by " << now.count() << " ms";
    const std::string leader = a.isLeader() ? "a" : b.isLeader() ? "b" : "";
    if (!leader.empty() && !lastLeader.empty() && leader != lastLeader) ++takeovers;
    if (!leader.empty()) lastLeader = leader;
  }
  // Cutting off the leader at 20 s and again at 80 s moved leadership both times.
  EXPECT_GE(takeovers, 2);
  EXPECT_TRUE(a.isLeader() || b.isLeader());
}

TEST(LeaderElectionTest, RejectsInconsistentTimings) {
  FakeLeaseStore store;
  FakeLeaseClient client(store);
  FakeClock clock;
  const auto withTimings = [](Clock::Duration lease, Clock::Duration renew, Clock::Duration retry) {
    LeaderElectionConfig config{.leaseNamespace = kNamespace, .leaseName = kLeaseName};
    config.callbacks.onStartedLeading = [](const std::stop_token&) {};
    config.callbacks.onStoppedLeading = [] {};
    config.leaseDuration = lease;
    config.renewDeadline = renew;
    config.retryPeriod = retry;
    return config;
  };
  EXPECT_FALSE(LeaderElector::create(client, clock, withTimings(10s, 10s, 2s)));
  EXPECT_FALSE(LeaderElector::create(client, clock, withTimings(15s, 2s, 2s)));
  EXPECT_FALSE(LeaderElector::create(client, clock, withTimings(500ms, 200ms, 100ms)));
  auto valid = LeaderElector::create(client, clock, withTimings(15s, 10s, 2s));
  ASSERT_TRUE(valid) << valid.error().message();
  EXPECT_THAT((*valid)->identity(), MatchesRegex(".+_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-.+"));

  auto noCallbacks = withTimings(15s, 10s, 2s);
  noCallbacks.callbacks = {};
  EXPECT_FALSE(LeaderElector::create(client, clock, std::move(noCallbacks)));
}

}  // namespace
}  // namespace va::runtime
