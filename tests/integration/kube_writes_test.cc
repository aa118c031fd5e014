// The client's writes against the real local control plane: server-side apply (create, update,
// no-op, conflict, force), merge and JSON patch, delete preconditions, the status subresource
// with retryOnConflict, Events, and a watch stream over HTTP/2. Works in a namespace of its own
// and a tiny CRD (a status subresource no controller touches), both deleted at the end.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "operator/kube/client.h"
#include "operator/kube/delete_options.h"
#include "operator/kube/events.h"
#include "operator/kube/retry.h"
#include "tests/integration/test_cluster.h"

namespace va::kube {
namespace {

using integration::pollUntil;
using nlohmann::json;
using ::testing::Contains;
using ::testing::Field;

constexpr const char* kGroup = "kubeclient.va.example.com";
constexpr const char* kCrdName = "widgets.kubeclient.va.example.com";
constexpr const char* kManager = "va-kube-test";

json widgetCrd() {
  return json::parse(R"({
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.kubeclient.va.example.com"},
    "spec": {
      "group": "kubeclient.va.example.com", "scope": "Namespaced",
      "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "listKind": "WidgetList"},
      "versions": [{
        "name": "v1", "served": true, "storage": true, "subresources": {"status": {}},
        "schema": {"openAPIV3Schema": {"type": "object", "properties": {
          "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
          "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}}]}})");
}

std::string resourceVersionOf(const json& object) {
  return object.at("metadata").at("resourceVersion").get<std::string>();
}

class KubeWritesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto config = integration::configFromEnvironment();
    if (!config) {
      setupError_ = config.error().message();
      return;
    }
    client_ = std::make_unique<ClientImpl>(std::move(*config));
    auto ns = integration::createNamespace(*client_, "va-kube-writes");
    if (!ns) {
      setupError_ = ns.error().message();
      return;
    }
    namespace_ = *ns;
  }

  static void TearDownTestSuite() {
    if (!client_) return;
    if (!namespace_.empty()) integration::deleteNamespace(*client_, namespace_);
    if (crdCreated_) {
      auto deleted = client_->remove(
          resourcePath("apiextensions.k8s.io", "v1", "customresourcedefinitions", "", kCrdName));
      if (!deleted) ADD_FAILURE() << "cannot delete the CRD: " << deleted.error().toString();
    }
    client_.reset();
  }

  void SetUp() override { ASSERT_TRUE(setupError_.empty()) << setupError_; }

  static std::string configMapPath(const std::string& name = {}) {
    return resourcePath("", "v1", "configmaps", namespace_, name);
  }

  static json configMap(const std::string& name, const json& data) {
    return json{{"apiVersion", "v1"},
                {"kind", "ConfigMap"},
                {"metadata", {{"name", name}, {"namespace", namespace_}}},
                {"data", data}};
  }

  // Applies the Widget CRD (once) and waits until widgets can be listed.
  static void ensureWidgetCrd() {
    if (crdCreated_) return;
    const std::string crdPath =
        resourcePath("apiextensions.k8s.io", "v1", "customresourcedefinitions", "", kCrdName);
    auto applied = client_->apply(crdPath, widgetCrd(), kManager, true);
    ASSERT_TRUE(applied.ok()) << applied.error().toString();
    crdCreated_ = true;
    ASSERT_TRUE(pollUntil([&] {
      return client_->list(resourcePath(kGroup, "v1", "widgets", namespace_)).ok();
    })) << "the Widget CRD was not served within 30 s";
  }

  static inline std::unique_ptr<ClientImpl> client_;
  static inline std::string namespace_;
  static inline std::string setupError_;
  static inline bool crdCreated_ = false;
};

TEST_F(KubeWritesTest, ServerSideApplyCreatesUpdatesAndIsANoOpWhenUnchanged) {
  const std::string path = configMapPath("ssa");
  auto created = client_->apply(path, configMap("ssa", {{"a", "1"}}), kManager);
  ASSERT_TRUE(created.ok()) << created.error().toString();
  EXPECT_EQ(created->at("data"), json({{"a", "1"}}));

  const json desired = configMap("ssa", {{"a", "1"}, {"b", "2"}});
  auto updated = client_->apply(path, desired, kManager);
  ASSERT_TRUE(updated.ok()) << updated.error().toString();
  EXPECT_EQ(updated->at("data"), json({{"a", "1"}, {"b", "2"}}));
  EXPECT_NE(resourceVersionOf(*updated), resourceVersionOf(*created));

  auto again = client_->apply(path, desired, kManager);
  ASSERT_TRUE(again.ok()) << again.error().toString();
  EXPECT_EQ(resourceVersionOf(*again), resourceVersionOf(*updated)) << "a no-op apply wrote";
}

TEST_F(KubeWritesTest, AConflictingManagerNeedsForce) {
  const std::string path = configMapPath("contested");
  ASSERT_TRUE(client_->apply(path, configMap("contested", {{"owner", "first"}}), kManager).ok());

  const json theirs = configMap("contested", {{"owner", "second"}});
  auto conflict = client_->apply(path, theirs, "other-manager");
  ASSERT_FALSE(conflict.ok());
  EXPECT_TRUE(conflict.error().isConflict()) << conflict.error().toString();
  EXPECT_EQ(conflict.error().code(), 409);
  EXPECT_THAT(conflict.error().causes(), Contains(Field(&StatusCause::field, ".data.owner")));

  auto forced = client_->apply(path, theirs, "other-manager", /*force=*/true);
  ASSERT_TRUE(forced.ok()) << forced.error().toString();
  EXPECT_EQ(forced->at("data").at("owner"), "second");
}

TEST_F(KubeWritesTest, MergeAndJsonPatch) {
  const std::string path = configMapPath("patched");
  auto created = client_->create(configMapPath(), configMap("patched", {{"a", "1"}, {"b", "2"}}));
  ASSERT_TRUE(created.ok()) << created.error().toString();

  auto merged = client_->mergePatch(path, {{"data", {{"b", nullptr}, {"c", "3"}}}});
  ASSERT_TRUE(merged.ok()) << merged.error().toString();
  EXPECT_EQ(merged->at("data"), json({{"a", "1"}, {"c", "3"}}));

  const std::string rv = resourceVersionOf(*merged);
  auto patched = client_->jsonPatch(
      path, json::array({{{"op", "test"}, {"path", "/metadata/resourceVersion"}, {"value", rv}},
                         {{"op", "replace"}, {"path", "/data/a"}, {"value", "one"}}}));
  ASSERT_TRUE(patched.ok()) << patched.error().toString();
  EXPECT_EQ(patched->at("data").at("a"), "one");
}

TEST_F(KubeWritesTest, DeleteWithAStaleResourceVersionPreconditionIsConflict) {
  auto created = client_->create(configMapPath(), configMap("guarded", {{"v", "1"}}));
  ASSERT_TRUE(created.ok()) << created.error().toString();
  const std::string uid = created->at("metadata").at("uid");
  auto bumped = client_->mergePatch(configMapPath("guarded"), {{"data", {{"v", "2"}}}});
  ASSERT_TRUE(bumped.ok()) << bumped.error().toString();

  auto stale =
      client_->remove(configMapPath("guarded"),
                      DeleteOptions::ifUnchanged(uid, resourceVersionOf(*created)).toJson());
  ASSERT_FALSE(stale.ok());
  EXPECT_TRUE(stale.error().isConflict()) << stale.error().toString();
  ASSERT_TRUE(client_->get(configMapPath("guarded")).ok());

  DeleteOptions fresh = DeleteOptions::ifUnchanged(uid, resourceVersionOf(*bumped));
  fresh.propagation = Propagation::kForeground;
  auto removed = client_->remove(configMapPath("guarded"), fresh.toJson());
  ASSERT_TRUE(removed.ok()) << removed.error().toString();
  EXPECT_TRUE(pollUntil([] {
    auto got = client_->get(configMapPath("guarded"));
    return !got && got.error().isNotFound();
  }));
}

TEST_F(KubeWritesTest, AStatusWriteThatConflictsIsRetriedFromFreshState) {
  ensureWidgetCrd();
  const std::string path = resourcePath(kGroup, "v1", "widgets", namespace_, "w1");
  auto created = client_->create(resourcePath(kGroup, "v1", "widgets", namespace_),
                                 json{{"apiVersion", std::string(kGroup) + "/v1"},
                                      {"kind", "Widget"},
                                      {"metadata", {{"name", "w1"}}},
                                      {"spec", {{"size", 1}}}});
  ASSERT_TRUE(created.ok()) << created.error().toString();

  int attempts = 0;
  auto written = retryOnConflict([&]() -> ApiResult<json> {
    ++attempts;
    auto current = client_->get(path);
    if (!current) return current.error();
    if (attempts == 1) {
      // Another writer changes the object between this read and the write below.
      auto bump = client_->mergePatch(path, {{"spec", {{"size", 2}}}});
      if (!bump) return bump.error();
    }
    (*current)["status"] = {{"phase", "Ready"}, {"observedSize", current->at("spec").at("size")}};
    return client_->replaceStatus(path, *current);
  });
  ASSERT_TRUE(written.ok()) << written.error().toString();
  EXPECT_EQ(attempts, 2);
  EXPECT_EQ(written->at("status").at("phase"), "Ready");
  EXPECT_EQ(written->at("status").at("observedSize"), 2);  // from the fresh read
  EXPECT_EQ(written->at("spec").at("size"), 2);            // the status write left spec alone

  auto applied = client_->applyStatus(path,
                                      json{{"apiVersion", std::string(kGroup) + "/v1"},
                                           {"kind", "Widget"},
                                           {"metadata", {{"name", "w1"}}},
                                           {"status", {{"phase", "Applied"}}}},
                                      kManager, true);
  ASSERT_TRUE(applied.ok()) << applied.error().toString();
  EXPECT_EQ(applied->at("status").at("phase"), "Applied");
}

TEST_F(KubeWritesTest, CreatesAnEventAndListsItBack) {
  auto object = client_->create(configMapPath(), configMap("noted", {{"x", "y"}}));
  ASSERT_TRUE(object.ok()) << object.error().toString();
  auto created = createEvent(*client_, EventSpec{.regarding = ObjectReference::to(*object),
                                                 .type = EventType::kWarning,
                                                 .reason = "TestReason",
                                                 .action = "Testing",
                                                 .note = "a note from the client test",
                                                 .reportingController = "va.example.com/test",
                                                 .reportingInstance = "test-0"});
  ASSERT_TRUE(created.ok()) << created.error().toString();

  auto events = client_->list(resourcePath("events.k8s.io", "v1", "events", namespace_));
  ASSERT_TRUE(events.ok()) << events.error().toString();
  const json* found = nullptr;
  for (const json& event : events->at("items")) {
    if (event.at("metadata").at("name") == created->at("metadata").at("name")) found = &event;
  }
  ASSERT_NE(found, nullptr) << "the event is not in the list";
  EXPECT_EQ(found->at("regarding").at("name"), "noted");
  EXPECT_EQ(found->at("regarding").at("uid"), object->at("metadata").at("uid"));
  EXPECT_EQ(found->at("reason"), "TestReason");
  EXPECT_EQ(found->at("type"), "Warning");
  EXPECT_EQ(found->at("note"), "a note from the client test");
  EXPECT_EQ(found->at("reportingController"), "va.example.com/test");
}

TEST_F(KubeWritesTest, RequestsAndWatchStreamsUseHttp2) {
  auto version = client_->request("GET", "/version");
  ASSERT_TRUE(version.ok()) << version.error().toString();
  EXPECT_EQ(version->httpVersion, 20);

  auto listed = client_->list(configMapPath());
  ASSERT_TRUE(listed.ok()) << listed.error().toString();
  const std::string watchPath =
      withQuery(withQuery(configMapPath(), "watch", "true"), "resourceVersion",
                listed->at("metadata").at("resourceVersion").get<std::string>());
  CancelToken cancel;
  std::string seenName;
  std::thread writer([&] {
    auto made = client_->create(configMapPath(), configMap("watched", {{"k", "v"}}));
    if (!made) ADD_FAILURE() << made.error().toString();
    // A safety net: the watch ends even if the event never arrives.
    pollUntil([&] { return cancel.cancelled(); }, std::chrono::seconds(20));
    cancel.cancel();
  });
  auto streamed = client_->stream(
      watchPath,
      [&](std::string_view line) {
        const json event = json::parse(line, nullptr, false);
        if (event.is_object() && event.value("type", "") == "ADDED") {
          seenName = event.at("object").at("metadata").at("name");
          cancel.cancel();
          return false;
        }
        return true;
      },
      &cancel);
  writer.join();
  ASSERT_TRUE(streamed.ok()) << streamed.error().toString();
  EXPECT_EQ(seenName, "watched");
}

}  // namespace
}  // namespace va::kube
