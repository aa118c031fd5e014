// The watcher and informer against the real local control plane named by $KUBECONFIG: a watch
// resumes without missing an update after its connection is cut (FaultProxy) and after the API
// server is stopped and continued (SIGSTOP/SIGCONT); a real 410 Gone forces a relist after which
// the cache equals a fresh list. The suite works in a namespace of its own.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "operator/kube/client.h"
#include "operator/runtime/informer.h"
#include "operator/runtime/logging.h"
#include "tests/integration/test_cluster.h"
#include "tests/support/fault_proxy.h"

namespace va::runtime {
namespace {

using kube::ClientImpl;
using kube::ClientOptions;
using kube::resourcePath;
using kube::RestConfig;
using nlohmann::json;
using namespace std::chrono_literals;

constexpr int kObjects = 5;
constexpr int kRounds = 60;

// Polls `condition` every 20 ms until it holds or `timeout` passes.
bool eventually(const std::function<bool()>& condition, std::chrono::seconds timeout = 60s) {
  return kube::integration::pollUntil(condition, timeout, 20ms);
}

std::string readFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

// What the API server's process is, from the local cluster's pid file next to the kubeconfig.
pid_t apiServerPid(const std::string& kubeconfig) {
  const std::string dir = kubeconfig.substr(0, kubeconfig.rfind('/'));
  const std::string text = readFile(dir + "/pids/kube-apiserver.pid");
  return text.empty() ? 0 : static_cast<pid_t>(std::stol(text));
}

// --etcd-servers of the running API server, e.g. "http://127.0.0.1:16479".
std::string etcdServer(pid_t apiServer) {
  std::string cmdline = readFile("/proc/" + std::to_string(apiServer) + "/cmdline");
  std::vector<std::string> args;
  std::string arg;
  for (char c : cmdline) {
    if (c == '\0') {
      args.push_back(arg);
      arg.clear();
    } else {
      arg += c;
    }
  }
  for (std::size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--etcd-servers") return args[i + 1].substr(0, args[i + 1].find(','));
    if (args[i].starts_with("--etcd-servers=")) return args[i].substr(15);
  }
  return {};
}

// Stops the API server (SIGSTOP) until destroyed. A forked watchdog sends SIGCONT after
// `atMost` in any case, so that a crash of this test cannot leave the cluster frozen.
class ApiServerPause {
 public:
  ApiServerPause(pid_t pid, std::chrono::seconds atMost) : pid_(pid) {
    watchdog_ = fork();
    if (watchdog_ == 0) {  // only async-signal-safe calls in the child
      sleep(static_cast<unsigned>(atMost.count()));
      kill(pid, SIGCONT);
      _exit(0);
    }
    kill(pid_, SIGSTOP);
  }
  ~ApiServerPause() {
    kill(pid_, SIGCONT);
    if (watchdog_ > 0) {
      kill(watchdog_, SIGKILL);
      waitpid(watchdog_, nullptr, 0);
    }
  }
  ApiServerPause(const ApiServerPause&) = delete;
  ApiServerPause& operator=(const ApiServerPause&) = delete;

 private:
  pid_t pid_;
  pid_t watchdog_ = -1;
};

// Per object, the data.seq values the handlers saw, in order.
class SequenceLog {
 public:
  ResourceEventHandlers handlers() {
    return {[this](const ObjectPtr& o) { record(o); },
            [this](const ObjectPtr&, const ObjectPtr& after) { record(after); },
            [this](const ObjectPtr& o) {
              const std::lock_guard lock(mutex_);
              deleted_.push_back(objectKey(*o));
            }};
  }
  std::map<std::string, std::vector<int>> seen() {
    const std::lock_guard lock(mutex_);
    return seen_;
  }
  // Whether every one of `objects` objects was last seen at `seq`.
  bool caughtUp(std::size_t objects, int seq) {
    const std::lock_guard lock(mutex_);
    if (seen_.size() != objects) return false;
    for (const auto& [key, sequence] : seen_) {
      if (sequence.empty() || sequence.back() != seq) return false;
    }
    return true;
  }
  std::vector<std::string> deleted() {
    const std::lock_guard lock(mutex_);
    return deleted_;
  }

 private:
  void record(const ObjectPtr& o) {
    const std::lock_guard lock(mutex_);
    const json* data = o->contains("data") ? &o->at("data") : nullptr;
    if (data != nullptr && data->contains("seq") && data->at("seq").is_string()) {
      seen_[objectKey(*o)].push_back(std::stoi(data->at("seq").get<std::string>()));
    }
  }
  std::mutex mutex_;
  std::map<std::string, std::vector<int>> seen_;
  std::vector<std::string> deleted_;
};

std::map<std::string, std::string> versionsOf(const std::vector<ObjectPtr>& objects) {
  std::map<std::string, std::string> out;
  for (const auto& o : objects) {
    out[objectKey(*o)] = o->at("metadata").at("resourceVersion").get<std::string>();
  }
  return out;
}

std::map<std::string, std::string> versionsOf(const json& list) {
  std::map<std::string, std::string> out;
  for (const auto& o : list.at("items")) {
    out[objectKey(o)] = o.at("metadata").at("resourceVersion").get<std::string>();
  }
  return out;
}

class WatchIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto config = kube::integration::configFromEnvironment();
    if (!config) {
      setupError_ = config.error().message();
      return;
    }
    kubeconfig_ = std::getenv("KUBECONFIG");  // set: the config came from it
    config_ = *config;
    ClientOptions options;
    options.rateLimit.qps = 0;
    client_ = std::make_unique<ClientImpl>(config_, options);
    auto ns = kube::integration::createNamespace(*client_, "va-watch");
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

  void SetUp() override { ASSERT_TRUE(setupError_.empty()) << setupError_; }

  static std::string path(const std::string& resource, const std::string& name = {}) {
    return resourcePath("", "v1", resource, namespace_, name);
  }

  static json configMap(const std::string& name, const std::string& label, int seq) {
    return {{"apiVersion", "v1"},
            {"kind", "ConfigMap"},
            {"metadata", {{"name", name}, {"labels", {{"suite", label}}}}},
            {"data", {{"seq", std::to_string(seq)}}}};
  }

  static WatcherOptions watchOptions(std::string collection, std::string labelSelector = {}) {
    WatcherOptions options;
    options.path = std::move(collection);
    options.labelSelector = std::move(labelSelector);
    options.backoff.initial = 100ms;  // keep the test short; the policy itself is unit-tested
    options.backoff.max = 1s;
    options.logger = makeJsonLogger("watch-test");
    return options;
  }

  // Creates kObjects ConfigMaps labelled `label` with seq 0.
  static void createConfigMaps(const std::string& label) {
    for (int i = 0; i < kObjects; ++i) {
      auto created =
          client_->create(path("configmaps"), configMap(label + "-" + std::to_string(i), label, 0));
      ASSERT_TRUE(created.ok()) << created.error().toString();
    }
  }

  // Writes seq 1..kRounds into every object (unconditional PUTs), calling `atRound` before each
  // round so that the test can inject its fault at a chosen moment.
  static void writeRounds(const std::string& label, const std::function<void(int)>& atRound) {
    for (int round = 1; round <= kRounds; ++round) {
      atRound(round);
      for (int i = 0; i < kObjects; ++i) {
        const std::string name = label + "-" + std::to_string(i);
        auto written = client_->replace(path("configmaps", name), configMap(name, label, round));
        ASSERT_TRUE(written.ok()) << written.error().toString();
      }
      std::this_thread::sleep_for(20ms);  // pacing, so that faults land mid-stream
    }
  }

  // The informer caught up with the last round, equals a fresh list, and every object's
  // sequence was seen in order; without a relist, every single number was seen.
  static void expectConsistent(Informer& informer, SequenceLog& log, const std::string& label) {
    ASSERT_TRUE(eventually([&] {
      const auto objects = informer.store().list();
      if (objects.size() != kObjects) return false;
      for (const auto& o : objects) {
        if (o->at("data").at("seq") != std::to_string(kRounds)) return false;
      }
      return true;
    })) << "the cache did not catch up; stats: "
        << informer.stats().lastError;

    auto fresh =
        client_->list(kube::withQuery(path("configmaps"), "labelSelector", "suite=" + label));
    ASSERT_TRUE(fresh.ok()) << fresh.error().toString();
    EXPECT_EQ(versionsOf(informer.store().list()), versionsOf(*fresh));

    const bool relisted = informer.stats().lists > 1;
    EXPECT_FALSE(relisted) << "expected a resume from the last resourceVersion, not a relist";
    std::vector<int> all(kRounds + 1);
    for (int i = 0; i <= kRounds; ++i) all[i] = i;
    const auto seen = log.seen();
    ASSERT_EQ(seen.size(), static_cast<std::size_t>(kObjects));
    for (const auto& [key, sequence] : seen) {
      EXPECT_TRUE(std::is_sorted(sequence.begin(), sequence.end()) &&
                  std::adjacent_find(sequence.begin(), sequence.end()) == sequence.end())
          << key << " saw updates out of order";
      if (!relisted) {
        EXPECT_EQ(sequence, all) << key << " missed an update";
      }
    }
  }

  static inline std::string kubeconfig_;
  static inline RestConfig config_;
  static inline std::unique_ptr<ClientImpl> client_;
  static inline std::string namespace_;
  static inline std::string setupError_;
};

TEST_F(WatchIntegrationTest, ResumesAfterTheProxyCutsTheWatchWithoutMissingAnUpdate) {
  ASSERT_NO_FATAL_FAILURE(createConfigMaps("cut"));
  testing::FaultProxy proxy(kube::integration::upstreamFor(config_));
  RestConfig viaProxy;
  viaProxy.server = proxy.url();
  ClientImpl proxied(viaProxy);
  SteadyClockImpl clock;
  SequenceLog log;
  Informer informer(proxied, clock, watchOptions(path("configmaps"), "suite=cut"));
  informer.addHandlers(log.handlers());
  informer.run();
  ASSERT_TRUE(informer.waitForSync(clock.now() + 30s));

  int cuts = 0;
  writeRounds("cut", [&](int round) {
    if (round % 10 != 5) return;
    // Cut a stream that is live (it delivered the last round), so that every cut drops a watch
    // in the middle of its work.
    ASSERT_TRUE(eventually([&] { return log.caughtUp(kObjects, round - 1); }, 30s));
    ASSERT_GT(proxy.openWatches(), 0);
    proxy.cutWatches();
    ++cuts;
  });
  ASSERT_NO_FATAL_FAILURE(expectConsistent(informer, log, "cut"));

  const WatcherStats stats = informer.stats();
  EXPECT_EQ(cuts, 6);
  EXPECT_GE(stats.watches, 1 + cuts);
  EXPECT_EQ(stats.lists, 1);
  // Each watch resumed from where the one before it had got to: the versions only grow.
  std::vector<long> versions;
  for (const auto& request : proxy.seen()) {
    const auto at = request.target.find("resourceVersion=");
    if (request.target.find("watch=true") == std::string::npos || at == std::string::npos) continue;
    versions.push_back(std::stol(request.target.substr(at + 16)));
  }
  ASSERT_GE(versions.size(), static_cast<std::size_t>(1 + cuts));
  EXPECT_TRUE(std::is_sorted(versions.begin(), versions.end()));
  EXPECT_GT(versions.back(), versions.front());
  informer.stop();
}

TEST_F(WatchIntegrationTest, ResumesAfterTheApiServerIsStoppedAndContinued) {
  const pid_t apiServer = apiServerPid(kubeconfig_);
  ASSERT_GT(apiServer, 0) << "no kube-apiserver.pid next to " << kubeconfig_
                          << "; this test needs the local cluster of hack/cluster/up.sh";
  ASSERT_EQ(kill(apiServer, 0), 0) << "kube-apiserver pid " << apiServer << " is not running";
  ASSERT_NO_FATAL_FAILURE(createConfigMaps("pause"));

  // A silent stream counts as dropped after 2 s, so that the pause is a real disconnect.
  ClientOptions options;
  options.streamIdleTimeout = 2s;
  options.connectTimeout = 3s;
  options.requestTimeout = 5s;
  ClientImpl watching(config_, options);
  SteadyClockImpl clock;
  SequenceLog log;
  Informer informer(watching, clock, watchOptions(path("configmaps"), "suite=pause"));
  informer.addHandlers(log.handlers());
  informer.run();
  ASSERT_TRUE(informer.waitForSync(clock.now() + 30s));

  // The writer thread blocks in its PUT while the server is stopped; the pause is driven from
  // here so that the writes on both sides of it are real.
  std::atomic<int> progress{0};
  std::thread writer([&] { writeRounds("pause", [&](int round) { progress = round; }); });
  ASSERT_TRUE(eventually([&] { return progress.load() >= kRounds / 3; }, 60s));
  const int failuresBefore = informer.stats().failures;
  {
    const ApiServerPause pause(apiServer, 20s);
    std::this_thread::sleep_for(6s);  // the length of the outage, not a wait for state
  }
  writer.join();
  ASSERT_NO_FATAL_FAILURE(expectConsistent(informer, log, "pause"));
  EXPECT_GT(informer.stats().failures, failuresBefore)
      << "the pause should have dropped the watch (idle timeout)";
  EXPECT_EQ(informer.stats().lists, 1);
  informer.stop();
}

TEST_F(WatchIntegrationTest, AGenuine410ForcesARelistAndTheCacheEqualsAFreshList) {
  // Events are not served from the API server's watch cache (its default size for events is 0),
  // so a watch from a version that etcd has compacted away gets the server's own 410 Expired.
  // ConfigMaps are served from the watch cache, which keeps history since the server started
  // until its buffer fills, so no test could make their versions expire on demand.
  const pid_t apiServer = apiServerPid(kubeconfig_);
  ASSERT_GT(apiServer, 0) << "no kube-apiserver.pid next to " << kubeconfig_;
  const std::string etcd = etcdServer(apiServer);
  ASSERT_TRUE(etcd.starts_with("http://"))
      << "need the plain-HTTP etcd of the local cluster, got \"" << etcd << "\"";

  const auto event = [](const std::string& name, const std::string& message) {
    return json{{"apiVersion", "v1"},
                {"kind", "Event"},
                {"metadata", {{"name", name}, {"namespace", namespace_}}},
                {"involvedObject",
                 {{"apiVersion", "v1"},
                  {"kind", "ConfigMap"},
                  {"namespace", namespace_},
                  {"name", "subject"}}},
                {"reason", "WatchTest"},
                {"message", message},
                {"type", "Normal"},
                {"source", {{"component", "watch-test"}}}};
  };
  for (int i = 0; i < 4; ++i) {
    const std::string name = "ev-" + std::to_string(i);
    auto created = client_->create(path("events"), event(name, "first"));
    ASSERT_TRUE(created.ok()) << created.error().toString();
  }

  testing::FaultProxy proxy(kube::integration::upstreamFor(config_));
  RestConfig viaProxy;
  viaProxy.server = proxy.url();
  ClientImpl proxied(viaProxy);
  SteadyClockImpl clock;
  SequenceLog log;
  Informer informer(proxied, clock, watchOptions(path("events")));
  informer.addHandlers(log.handlers());
  informer.run();
  ASSERT_TRUE(informer.waitForSync(clock.now() + 30s));
  ASSERT_EQ(informer.store().size(), 4u);
  ASSERT_EQ(informer.stats().lists, 1);

  // Disconnect the informer; while it cannot watch, change the collection...
  ASSERT_TRUE(eventually([&] { return proxy.openWatches() > 0; }, 30s));
  proxy.setDown(true);
  proxy.cutWatches();
  ASSERT_TRUE(eventually([&] { return informer.stats().failures >= 1; }, 30s));
  for (const char* name : {"ev-0", "ev-1"}) {
    auto removed = client_->remove(path("events", name));
    ASSERT_TRUE(removed.ok()) << removed.error().toString();
  }
  auto current = client_->get(path("events", "ev-2"));
  ASSERT_TRUE(current.ok()) << current.error().toString();
  (*current)["message"] = "changed while disconnected";
  ASSERT_TRUE(client_->replace(path("events", "ev-2"), *current).ok());
  for (const char* name : {"ev-4", "ev-5"}) {
    auto created = client_->create(path("events"), event(name, "new"));
    ASSERT_TRUE(created.ok()) << created.error().toString();
  }

  // ...and let etcd forget the history the informer would resume from.
  auto fresh = client_->list(path("events"));
  ASSERT_TRUE(fresh.ok()) << fresh.error().toString();
  const std::string revision = fresh->at("metadata").at("resourceVersion").get<std::string>();
  const auto slash = etcd.find('/', 7);
  httplib::Client etcdClient(etcd.substr(0, slash));
  const json compaction{{"revision", revision}, {"physical", true}};
  const auto compacted =
      etcdClient.Post("/v3/kv/compaction", compaction.dump(), "application/json");
  ASSERT_TRUE(compacted) << "etcd compaction request failed: "
                         << httplib::to_string(compacted.error());
  ASSERT_EQ(compacted->status, 200) << compacted->body;

  proxy.setDown(false);
  ASSERT_TRUE(eventually([&] { return informer.stats().lists >= 2; }, 60s))
      << "no relist; last error: " << informer.stats().lastError;
  EXPECT_GE(informer.stats().gone, 1);

  auto after = client_->list(path("events"));
  ASSERT_TRUE(after.ok()) << after.error().toString();
  ASSERT_TRUE(eventually([&] { return versionsOf(informer.store().list()) == versionsOf(*after); }))
      << "the cache differs from a fresh list";
  EXPECT_EQ(informer.store().get(namespace_ + "/ev-2")->at("message"),
            "changed while disconnected");
  const auto deleted = log.deleted();
  EXPECT_THAT(deleted, ::testing::UnorderedElementsAre(namespace_ + "/ev-0", namespace_ + "/ev-1"));
  informer.stop();
}

}  // namespace
}  // namespace va::runtime
