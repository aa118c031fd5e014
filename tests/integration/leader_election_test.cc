// Leader election between two va-lease-demo processes on the real local control plane named by
// $KUBECONFIG: exactly one holds the Lease; after the holder is SIGKILLed the other takes over
// within 20 s; after a SIGTERM the holder releases the Lease and the other takes over within
// 5 s; and leadership intervals never overlap. Each run works in a namespace of its own.
//
// The candidates use client-go's timings (lease 15 s, renew deadline 10 s, retry 2 s) with the
// acquire jitter off: with client-go's jitter of 1.2 an acquire attempt may wait up to 4.4 s,
// which puts the worst-case takeover after a crash at 15 + 2 * 4.4 = 23.8 s; without it the
// bound is 15 + 2 * 2 = 19 s (observation lag plus polling lag), 18 s in practice.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "operator/kube/client.h"
#include "operator/kube/resource_path.h"
#include "tests/integration/test_cluster.h"

extern char** environ;

namespace va::runtime {
namespace {

using kube::integration::randomSuffix;
using namespace std::chrono_literals;
using nlohmann::json;

constexpr std::int64_t kLeaseDurationNs = 15'000'000'000;

std::int64_t wallNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "2024-05-01T12:00:00.123456Z" (metav1.MicroTime) as Unix nanoseconds; nullopt if malformed.
std::optional<std::int64_t> parseMicroTime(const std::string& text) {
  std::tm utc{};
  int micros = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%6dZ", &utc.tm_year, &utc.tm_mon,
                  &utc.tm_mday, &utc.tm_hour, &utc.tm_min, &utc.tm_sec, &micros) != 7) {
    return std::nullopt;
  }
  utc.tm_year -= 1900;
  utc.tm_mon -= 1;
  return static_cast<std::int64_t>(timegm(&utc)) * 1'000'000'000 +
         static_cast<std::int64_t>(micros) * 1000;
}

// One line of the shared events file.
struct Event {
  std::int64_t ns = 0;
  std::string identity;
  std::string what;  // "started" or "stopped"
};

std::vector<Event> readEvents(const std::filesystem::path& path) {
  std::vector<Event> events;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    Event event;
    if (fields >> event.ns >> event.identity >> event.what) events.push_back(event);
  }
  return events;
}

std::optional<Event> find(const std::vector<Event>& events, const std::string& identity,
                          const std::string& what) {
  for (const Event& event : events) {
    if (event.identity == identity && event.what == what) return event;
  }
  return std::nullopt;
}

// Polls `condition` every 50 ms until it holds or `timeout` passes.
bool pollUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  return kube::integration::pollUntil(condition, timeout, 50ms);
}

// A va-lease-demo child process; killed and reaped on destruction if still running.
class DemoProcess {
 public:
  DemoProcess(const std::string& identity, const std::string& ns, const std::string& lease,
              const std::filesystem::path& events, const std::filesystem::path& log)
      : identity_(identity) {
    std::vector<std::string> args = {VA_LEASE_DEMO,   "--namespace", ns,       "--lease",
                                     lease,           "--identity",  identity, "--events",
                                     events.string(), "--jitter",    "0"};
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDERR_FILENO, STDOUT_FILENO);
    if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~DemoProcess() {
    if (running()) {
      kill(pid_, SIGKILL);
      (void)waitForExit(10s);
    }
  }
  DemoProcess(const DemoProcess&) = delete;
  DemoProcess& operator=(const DemoProcess&) = delete;

  [[nodiscard]] bool spawned() const { return pid_ > 0; }
  [[nodiscard]] bool running() const { return pid_ > 0 && !status_; }
  [[nodiscard]] const std::string& identity() const { return identity_; }
  void signal(int number) const {
    if (running()) kill(pid_, number);
  }

  // The wait(2) status once the process has ended, nullopt if it runs past `timeout`.
  std::optional<int> waitForExit(std::chrono::milliseconds timeout) {
    pollUntil(
        [&] {
          int status = 0;
          if (!status_ && waitpid(pid_, &status, WNOHANG) == pid_) status_ = status;
          return status_.has_value();
        },
        timeout);
    return status_;
  }

 private:
  std::string identity_;
  pid_t pid_ = -1;
  std::optional<int> status_;
};

class LeaderElectionIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto config = kube::integration::configFromEnvironment();
    if (!config) {
      setupError_ = config.error().message();
      return;
    }
    client_ = std::make_unique<kube::ClientImpl>(std::move(*config));
    auto ns = kube::integration::createNamespace(*client_, "va-leader-election");
    if (!ns) {
      setupError_ = ns.error().message();
      return;
    }
    namespace_ = *ns;
  }

  static void TearDownTestSuite() {
    if (client_ && !namespace_.empty()) kube::integration::deleteNamespace(*client_, namespace_);
    client_.reset();
  }

  void SetUp() override {
    ASSERT_TRUE(setupError_.empty()) << setupError_;
    char pattern[] = "/tmp/va-lease-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    lease_ = "lease-" + randomSuffix();
  }

  void TearDown() override {
    if (HasFailure()) {
      for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
        std::ifstream in(entry.path());
        std::cerr << "---- " << entry.path().filename().string() << " ----\n" << in.rdbuf() << "\n";
      }
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::unique_ptr<DemoProcess> spawn(const std::string& name) {
    auto process = std::make_unique<DemoProcess>(name + "-" + randomSuffix(), namespace_, lease_,
                                                 eventsPath(), dir_ / (name + ".log"));
    EXPECT_TRUE(process->spawned()) << "cannot start " << VA_LEASE_DEMO;
    return process;
  }

  [[nodiscard]] std::filesystem::path eventsPath() const { return dir_ / "events"; }
  [[nodiscard]] std::vector<Event> events() const { return readEvents(eventsPath()); }

  [[nodiscard]] json leaseSpec() const {
    auto lease =
        client_->get(kube::resourcePath("coordination.k8s.io", "v1", "leases", namespace_, lease_));
    if (!lease) return json::object();
    return lease->value("spec", json::object());
  }
  [[nodiscard]] std::string holder() const { return leaseSpec().value("holderIdentity", ""); }

  // Waits for the first "started"; returns the leader's process and the other one.
  std::pair<DemoProcess*, DemoProcess*> waitForLeader(DemoProcess& a, DemoProcess& b) {
    const bool elected = pollUntil([&] { return !events().empty(); }, 30s);
    EXPECT_TRUE(elected) << "nobody became leader within 30 s";
    if (!elected) return {nullptr, nullptr};
    const std::string first = events().front().identity;
    return first == a.identity() ? std::pair(&a, &b) : std::pair(&b, &a);
  }

  // For `window`, the lease names `leader` and no other candidate starts leading.
  void expectStableLeader(const std::string& leader, std::chrono::milliseconds window) {
    const auto until = std::chrono::steady_clock::now() + window;
    while (std::chrono::steady_clock::now() < until) {
      ASSERT_EQ(holder(), leader);
      const auto all = events();
      ASSERT_EQ(all.size(), 1U) << "a second candidate started leading";
      std::this_thread::sleep_for(100ms);
    }
  }

  // Replays the events (and the known ends of killed leaders) and fails if two candidates ever
  // lead at once.
  static void expectNoOverlap(std::vector<Event> all) {
    std::sort(all.begin(), all.end(), [](const Event& x, const Event& y) {
      // At the same instant, a stop comes before a start.
      return x.ns != y.ns ? x.ns < y.ns : x.what > y.what;
    });
    std::set<std::string> leading;
    for (const Event& event : all) {
      if (event.what == "started") {
        EXPECT_TRUE(leading.empty()) << event.identity << " started at " << event.ns << " while "
                                     << *leading.begin() << " was leading";
        leading.insert(event.identity);
      } else {
        leading.erase(event.identity);
      }
    }
  }

  static std::unique_ptr<kube::ClientImpl> client_;
  static std::string namespace_;
  static std::string setupError_;

  std::filesystem::path dir_;
  std::string lease_;
};

std::unique_ptr<kube::ClientImpl> LeaderElectionIntegrationTest::client_;
std::string LeaderElectionIntegrationTest::namespace_;
std::string LeaderElectionIntegrationTest::setupError_;

TEST_F(LeaderElectionIntegrationTest, AKilledLeaderIsReplacedWithinTwentySeconds) {
  auto a = spawn("a");
  auto b = spawn("b");
  const auto elected = waitForLeader(*a, *b);
  DemoProcess* const leader = elected.first;
  DemoProcess* const follower = elected.second;
  ASSERT_NE(leader, nullptr);
  ASSERT_TRUE(pollUntil([&] { return holder() == leader->identity(); }, 10s));
  // Several retry periods in which the follower keeps trying and must not get in.
  expectStableLeader(leader->identity(), 5s);
  const int transitionsBefore = leaseSpec().value("leaseTransitions", -1);

  const std::int64_t killedAt = wallNowNs();
  leader->signal(SIGKILL);
  ASSERT_TRUE(leader->waitForExit(10s)) << "the leader did not die";
  const std::int64_t deadAt = wallNowNs();
  // Nobody can renew for the dead leader: this renewTime is its last.
  const json lastSpec = leaseSpec();
  ASSERT_EQ(lastSpec.value("holderIdentity", ""), leader->identity());
  const auto lastRenew = parseMicroTime(lastSpec.value("renewTime", ""));
  ASSERT_TRUE(lastRenew) << lastSpec.dump();

  ASSERT_TRUE(
      pollUntil([&] { return find(events(), follower->identity(), "started").has_value(); }, 40s))
      << "the follower did not take over";
  const std::int64_t takeoverAt = find(events(), follower->identity(), "started")->ns;
  const double takeoverSeconds = static_cast<double>(takeoverAt - killedAt) / 1e9;
  std::cout << "takeover after SIGKILL: " << takeoverSeconds << " s (last renewal "
            << static_cast<double>(killedAt - *lastRenew) / 1e9 << " s before the kill)\n";
  RecordProperty("takeover_after_sigkill_ms", static_cast<int>(takeoverSeconds * 1000));
  EXPECT_LT(takeoverSeconds, 20.0);

  // The successor started after the killed leader was gone, and only once the lease had gone
  // unrenewed for a full lease duration (50 ms of slack for the two processes' clocks).
  EXPECT_GT(takeoverAt, deadAt);
  EXPECT_GE(takeoverAt, *lastRenew + kLeaseDurationNs - 50'000'000);
  auto all = events();
  EXPECT_FALSE(find(all, leader->identity(), "stopped")) << "the leader stopped before the kill";
  all.push_back({deadAt, leader->identity(), "stopped"});  // its end, at the latest
  expectNoOverlap(all);

  ASSERT_TRUE(pollUntil([&] { return holder() == follower->identity(); }, 10s));
  EXPECT_EQ(leaseSpec().value("leaseTransitions", -1), transitionsBefore + 1);

  follower->signal(SIGTERM);
  const auto status = follower->waitForExit(20s);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
}

TEST_F(LeaderElectionIntegrationTest, ATerminatedLeaderReleasesTheLeaseForAFastTakeover) {
  auto a = spawn("a");
  auto b = spawn("b");
  const auto elected = waitForLeader(*a, *b);
  DemoProcess* const leader = elected.first;
  DemoProcess* const follower = elected.second;
  ASSERT_NE(leader, nullptr);
  ASSERT_TRUE(pollUntil([&] { return holder() == leader->identity(); }, 10s));

  const std::int64_t terminatedAt = wallNowNs();
  leader->signal(SIGTERM);
  const auto status = leader->waitForExit(20s);
  ASSERT_TRUE(status) << "the leader did not exit after SIGTERM";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);

  ASSERT_TRUE(
      pollUntil([&] { return find(events(), follower->identity(), "started").has_value(); }, 20s))
      << "the follower did not take over";
  const std::int64_t takeoverAt = find(events(), follower->identity(), "started")->ns;
  const double takeoverSeconds = static_cast<double>(takeoverAt - terminatedAt) / 1e9;
  std::cout << "takeover after SIGTERM: " << takeoverSeconds << " s\n";
  RecordProperty("takeover_after_sigterm_ms", static_cast<int>(takeoverSeconds * 1000));
  EXPECT_LT(takeoverSeconds, 5.0);

  const auto all = events();
  const auto stopped = find(all, leader->identity(), "stopped");
  ASSERT_TRUE(stopped) << "the leader did not record the end of its work";
  EXPECT_LT(stopped->ns, takeoverAt);
  expectNoOverlap(all);

  ASSERT_TRUE(pollUntil([&] { return holder() == follower->identity(); }, 10s));
  EXPECT_EQ(leaseSpec().value("leaseDurationSeconds", 0), 15);
}

}  // namespace
}  // namespace va::runtime
