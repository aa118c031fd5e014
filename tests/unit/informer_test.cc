// The informer's cache (keys, stripping, indexes, replace-all, concurrent readers) and the
// informer over a scripted client: handlers see adds, updates and deletes, including the deletes
// a relist discovers.
#include "operator/runtime/informer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "operator/runtime/object_store.h"
#include "operator/runtime/work_queue.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/fake_watch_client.h"

namespace va::runtime {
namespace {

using kube::ApiError;
using kube::FakeWatchClient;
using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;
using namespace std::chrono_literals;

json object(const std::string& ns, const std::string& name, const std::string& resourceVersion,
            const std::vector<std::string>& owners = {}) {
  json result = FakeWatchClient::configMap(ns, name, resourceVersion);
  for (const std::string& uid : owners) {
    result["metadata"]["ownerReferences"].push_back({{"apiVersion", "va.example.com/v1alpha1"},
                                                     {"kind", "VirtualAssistant"},
                                                     {"name", "owner-" + uid},
                                                     {"uid", uid},
                                                     {"controller", true}});
  }
  return result;
}

ObjectPtr ptr(json value) { return std::make_shared<const json>(std::move(value)); }

std::vector<std::string> names(const std::vector<ObjectPtr>& objects) {
  std::vector<std::string> out;
  for (const auto& o : objects) out.push_back(o->at("metadata").at("name").get<std::string>());
  return out;
}

bool eventually(const std::function<bool()>& condition) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// ---- ObjectStore ----

TEST(ObjectStoreTest, KeysAreNamespaceSlashName) {
  EXPECT_EQ(objectKey(object("ns", "a", "1")), "ns/a");
  EXPECT_EQ(objectKey(json{{"metadata", {{"name", "node-1"}}}}), "node-1");
  EXPECT_EQ(objectKey(json{{"metadata", {{"name", 3}}}}), "");
  EXPECT_EQ(objectKey(json::array()), "");
}

TEST(ObjectStoreTest, StripRemovesManagedFieldsAndLastApplied) {
  json cm = object("ns", "a", "1");
  cm["metadata"]["managedFields"] = json::array({{{"manager", "kubectl"}}});
  cm["metadata"]["annotations"] = {
      {"kubectl.kubernetes.io/last-applied-configuration", R"({"big":"copy"})"}, {"keep", "me"}};
  stripForCache(cm);
  EXPECT_FALSE(cm["metadata"].contains("managedFields"));
  EXPECT_EQ(cm["metadata"]["annotations"], (json{{"keep", "me"}}));

  json only = object("ns", "b", "1");
  only["metadata"]["annotations"] = {{"kubectl.kubernetes.io/last-applied-configuration", "{}"}};
  stripForCache(only);
  EXPECT_FALSE(only["metadata"].contains("annotations"));
  json odd = json{{"metadata", "not an object"}};
  stripForCache(odd);  // no throw
}

TEST(ObjectStoreTest, IndexesFollowUpsertsAndErases) {
  ObjectStore store;
  EXPECT_FALSE(store.upsert(ptr(object("ns1", "a", "1", {"u1"}))).before);
  store.upsert(ptr(object("ns1", "b", "1", {"u1", "u2"})));
  store.upsert(ptr(object("ns2", "c", "1", {"u2"})));
  store.upsert(ptr(object("ns10", "d", "1")));
  EXPECT_THAT(names(store.byNamespace("ns1")), ElementsAre("a", "b"));
  EXPECT_THAT(names(store.byNamespace("ns10")), ElementsAre("d"));
  EXPECT_THAT(names(store.byOwner("u1")), ElementsAre("a", "b"));
  EXPECT_THAT(names(store.byOwner("u2")), ElementsAre("b", "c"));

  // An update that changes owners moves the object between index entries.
  const ObjectStore::Change change = store.upsert(ptr(object("ns1", "b", "2", {"u3"})));
  EXPECT_EQ(change.before->at("metadata").at("resourceVersion"), "1");
  EXPECT_EQ(change.after->at("metadata").at("resourceVersion"), "2");
  EXPECT_THAT(names(store.byOwner("u1")), ElementsAre("a"));
  EXPECT_THAT(names(store.byOwner("u2")), ElementsAre("c"));
  EXPECT_THAT(names(store.byOwner("u3")), ElementsAre("b"));

  EXPECT_TRUE(store.erase("ns2/c"));
  EXPECT_FALSE(store.erase("ns2/c"));
  EXPECT_THAT(store.byOwner("u2"), IsEmpty());
  EXPECT_THAT(store.byNamespace("ns2"), IsEmpty());
  EXPECT_EQ(store.get("ns2/c"), nullptr);
  EXPECT_THAT(store.keys(), ElementsAre("ns1/a", "ns1/b", "ns10/d"));
}

TEST(ObjectStoreTest, ReplaceReportsAddsUpdatesAndDeletesOfMissingKeys) {
  ObjectStore store;
  store.upsert(ptr(object("ns", "a", "1", {"u1"})));
  store.upsert(ptr(object("ns", "b", "1", {"u1"})));
  store.upsert(ptr(object("ns", "d", "1")));
  const ObjectPtr kept = store.get("ns/a");

  const auto changes =
      store.replace({ptr(object("ns", "c", "5")), ptr(object("ns", "a", "1", {"u1"})),
                     ptr(object("ns", "d", "6", {"u2"}))});
  std::vector<std::string> summary;
  for (const auto& change : changes) {
    const ObjectPtr& any = change.after ? change.after : change.before;
    const std::string what = !change.before ? "add" : !change.after ? "delete" : "update";
    summary.push_back(what + " " + objectKey(*any));
  }
  EXPECT_THAT(summary, ElementsAre("delete ns/b", "add ns/c", "update ns/d"));
  EXPECT_EQ(store.get("ns/a"), kept);  // unchanged version: same pointer, no event
  EXPECT_EQ(store.get("ns/b"), nullptr);
  EXPECT_THAT(names(store.byOwner("u1")), ElementsAre("a"));  // b went, and with it its entry
  EXPECT_THAT(names(store.byOwner("u2")), ElementsAre("d"));
  EXPECT_EQ(store.size(), 3u);
}

TEST(ObjectStoreTest, ReadersSeeWholeObjectsWhileTheWriterUpdates) {
  // Each object's data.seq equals its resourceVersion; a reader must never see a mix, and the
  // owner index must never point at a missing object. Run under TSan to check the locking.
  ObjectStore store;
  const auto make = [](int i, int seq) {
    json o =
        object("ns", "o" + std::to_string(i), std::to_string(seq), {"u" + std::to_string(i % 3)});
    o["data"]["seq"] = std::to_string(seq);
    return ptr(std::move(o));
  };
  for (int i = 0; i < 20; ++i) store.upsert(make(i, 0));

  std::atomic<bool> done{false};
  std::atomic<int> reads{0};
  std::atomic<int> torn{0};
  const auto check = [&](const ObjectPtr& o) {
    if (!o || o->at("data").at("seq") != o->at("metadata").at("resourceVersion")) ++torn;
  };
  std::thread reader([&] {
    while (!done.load()) {
      for (const ObjectPtr& o : store.list()) check(o);
      for (const ObjectPtr& o : store.byOwner("u1")) check(o);
      if (ObjectPtr o = store.get("ns/o7")) check(o);
      ++reads;
    }
  });
  for (int seq = 1; seq <= 300; ++seq) {
    for (int i = 0; i < 20; ++i) store.upsert(make(i, seq));
    if (seq % 50 == 0) {
      std::vector<ObjectPtr> all;
      for (int i = 0; i < 20; i += 2) all.push_back(make(i, seq));
      static_cast<void>(store.replace(std::move(all)));
    }
  }
  ASSERT_TRUE(eventually([&] { return reads.load() > 10; }));
  done = true;
  reader.join();
  EXPECT_EQ(torn.load(), 0);
}

// ---- Informer ----

struct Recorded {
  std::mutex mutex;
  std::vector<std::string> calls;
  void add(std::string call) {
    const std::lock_guard lock(mutex);
    calls.push_back(std::move(call));
  }
  std::vector<std::string> get() {
    const std::lock_guard lock(mutex);
    return calls;
  }
};

std::string describe(const ObjectPtr& o) {
  return objectKey(*o) + "@" + o->at("metadata").at("resourceVersion").get<std::string>();
}

ResourceEventHandlers recordInto(Recorded& recorded) {
  return {[&](const ObjectPtr& o) { recorded.add("add " + describe(o)); },
          [&](const ObjectPtr& before, const ObjectPtr& after) {
            recorded.add("update " + describe(before) + "->" + describe(after));
          },
          [&](const ObjectPtr& o) { recorded.add("delete " + describe(o)); }};
}

TEST(InformerTest, CachesStrippedObjectsAndRelistDeletesWhatVanished) {
  FakeWatchClient client;
  FakeClock clock;
  json managed = object("ns", "a", "1");
  managed["metadata"]["managedFields"] = json::array({{{"manager", "x"}}});
  client.scriptList(FakeWatchClient::list("10", {managed, object("ns", "b", "2", {"u1"})}));
  client.scriptWatch({.lines = {FakeWatchClient::event("MODIFIED", object("ns", "a", "11")),
                                FakeWatchClient::event("ADDED", object("ns", "c", "12", {"u1"})),
                                FakeWatchClient::errorEvent(410, "Expired")}});
  // While no watch was open, b was deleted and c changed: only the relist can tell.
  client.scriptList(
      FakeWatchClient::list("20", {object("ns", "a", "11"), object("ns", "c", "19", {"u1"})}));

  Informer informer(client, clock, {.path = "/api/v1/namespaces/ns/configmaps"});
  Recorded recorded;
  informer.addHandlers(recordInto(recorded));
  EXPECT_FALSE(informer.hasSynced());
  informer.run();
  ASSERT_TRUE(eventually([&] { return client.hanging(); }));

  EXPECT_TRUE(informer.hasSynced());
  EXPECT_THAT(recorded.get(),
              ElementsAre("add ns/a@1", "add ns/b@2", "update ns/a@1->ns/a@11", "add ns/c@12",
                          "delete ns/b@2", "update ns/c@12->ns/c@19"));
  EXPECT_THAT(informer.store().keys(), ElementsAre("ns/a", "ns/c"));
  EXPECT_FALSE(informer.store().get("ns/a")->at("metadata").contains("managedFields"));
  EXPECT_EQ(informer.store().get("ns/a")->at("kind"), "ConfigMap");
  EXPECT_THAT(names(informer.store().byOwner("u1")), ElementsAre("c"));
  EXPECT_EQ(informer.stats().lists, 2);
  EXPECT_EQ(informer.stats().gone, 1);
  informer.stop();
}

TEST(InformerTest, WatchDeleteRemovesFromStoreAndIndexes) {
  FakeWatchClient client;
  FakeClock clock;
  client.scriptList(FakeWatchClient::list("10", {object("ns", "a", "1", {"u1"})}));
  client.scriptWatch({.lines = {FakeWatchClient::event("DELETED", object("ns", "a", "11", {"u1"})),
                                FakeWatchClient::event("DELETED", object("ns", "zz", "12"))},
                      .hang = true});
  Informer informer(client, clock, {.path = "/api/v1/namespaces/ns/configmaps"});
  Recorded recorded;
  informer.addHandlers(recordInto(recorded));
  informer.run();
  ASSERT_TRUE(eventually([&] { return client.hanging(); }));
  EXPECT_THAT(recorded.get(), ElementsAre("add ns/a@1", "delete ns/a@11", "delete ns/zz@12"));
  EXPECT_EQ(informer.store().size(), 0u);
  EXPECT_THAT(informer.store().byOwner("u1"), IsEmpty());
  EXPECT_THAT(informer.store().byNamespace("ns"), IsEmpty());
}

TEST(InformerTest, HandlersQueueOwnKeysOrControllerKeys) {
  FakeWatchClient client;
  FakeClock clock;
  json unowned = object("ns", "plain", "1");
  json otherKind = object("ns", "other", "1");
  otherKind["metadata"]["ownerReferences"] = json::array({{{"apiVersion", "apps/v1"},
                                                           {"kind", "ReplicaSet"},
                                                           {"name", "rs"},
                                                           {"uid", "r"},
                                                           {"controller", true}}});
  json notController = object("ns", "weak", "1");
  notController["metadata"]["ownerReferences"] =
      json::array({{{"apiVersion", "va.example.com/v1alpha1"},
                    {"kind", "VirtualAssistant"},
                    {"name", "va-weak"},
                    {"uid", "w"},
                    {"controller", "yes"}}});
  client.scriptList(FakeWatchClient::list(
      "10", {object("ns", "child", "1", {"u1"}), unowned, otherKind, notController}));
  client.scriptWatch({.hang = true});

  WorkQueue own(clock);
  WorkQueue owners(clock);
  Informer informer(client, clock, {.path = "/api/v1/namespaces/ns/configmaps"});
  informer.addHandlers(enqueueKey(own));
  informer.addHandlers(enqueueOwner(owners, "va.example.com", "VirtualAssistant"));
  informer.run();
  ASSERT_TRUE(eventually([&] { return client.hanging(); }));
  EXPECT_EQ(own.len(), 4u);
  ASSERT_EQ(owners.len(), 1u);
  EXPECT_EQ(owners.get(), "ns/owner-u1");
  informer.stop();
  own.shutDown();
  owners.shutDown();
}

TEST(InformerTest, WaitForSyncEndsOnStopWithoutSync) {
  FakeWatchClient client;  // no list scripted: it fails and the informer backs off
  FakeClock clock;
  Informer informer(client, clock, {.path = "/api/v1/configmaps"});
  informer.run();
  std::thread stopper([&] {
    ASSERT_TRUE(eventually([&] { return clock.numWaiters() >= 1; }));
    informer.stop();
  });
  EXPECT_FALSE(informer.waitForSync(clock.now() + 1h));
  stopper.join();
  EXPECT_FALSE(informer.hasSynced());
}

}  // namespace
}  // namespace va::runtime
