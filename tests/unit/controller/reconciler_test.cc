// The reconciler against in-memory caches and a client that records every request: what it
// writes on create, that an unchanged VA costs nothing, prune, a missing Secret, pause.
#include "operator/controller/reconciler.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "operator/controller/status.h"

namespace va::controller {
namespace {

using nlohmann::json;

struct Call {
  std::string method;
  std::string path;
  json body;
};

// Answers every write with the object sent (a server-side apply echo) and records it.
class RecordingClient final : public kube::Client {
 public:
  kube::ApiResult<kube::Response> request(std::string_view method, std::string_view path,
                                          std::string_view body, std::string_view /*type*/,
                                          const kube::Headers& /*headers*/) override {
    json parsed = body.empty() ? json::object() : json::parse(body);
    calls.push_back({std::string(method), std::string(path), parsed});
    if (failWith && method == "PATCH" && path.find("/status") == std::string_view::npos) {
      return *failWith;
    }
    return kube::Response{.status = 200, .headers = {}, .body = parsed.dump(), .httpVersion = 11};
  }
  kube::ApiResult<json> get(std::string_view path) override { return unexpected("GET", path); }
  kube::ApiResult<json> list(std::string_view path) override { return unexpected("LIST", path); }
  kube::ApiResult<json> create(std::string_view path, const json& object) override {
    calls.push_back({"POST", std::string(path), object});
    return object;
  }
  kube::ApiResult<json> replace(std::string_view path, const json& /*object*/) override {
    return unexpected("PUT", path);
  }
  kube::ApiResult<json> remove(std::string_view path, const json& options) override {
    calls.push_back({"DELETE", std::string(path), options});
    return json::object();
  }
  kube::Result<void, kube::ApiError> stream(std::string_view path, const kube::LineHandler&,
                                            const kube::CancelToken*) override {
    return unexpected("WATCH", path).error();
  }

  [[nodiscard]] std::vector<Call> with(std::string_view method, std::string_view pathPart) const {
    std::vector<Call> out;
    for (const auto& c : calls) {
      if (c.method == method && c.path.find(pathPart) != std::string::npos) out.push_back(c);
    }
    return out;
  }

  std::vector<Call> calls;
  std::optional<kube::ApiError> failWith;  // the answer to every child apply, when set

 private:
  static kube::ApiResult<json> unexpected(std::string_view method, std::string_view path) {
    return kube::ApiError::transport("unexpected " + std::string(method) + " " + std::string(path));
  }
};

class ReconcilerTest : public ::testing::Test {
 protected:
  ReconcilerTest() {
    stores.assistants = &assistants;
    for (std::size_t i = 0; i < kChildKinds.size(); ++i) stores.children.at(i) = &children.at(i);
    stores.secrets = &secrets;
    stores.configMaps = &children.at(*childKindIndex("ConfigMap"));
  }

  static json assistant(json spec) {
    return {{"apiVersion", "virtualassistant.dev/v1alpha1"},
            {"kind", "VirtualAssistant"},
            {"metadata",
             {{"name", "va1"},
              {"namespace", "ns"},
              {"uid", "uid-1"},
              {"generation", 1},
              {"resourceVersion", "10"}}},
            {"spec", std::move(spec)}};
  }

  void put(const json& va) { assistants.upsert(std::make_shared<const json>(va)); }

  Reconciler make() {
    ReconcilerOptions options;
    options.now = [] { return std::chrono::system_clock::time_point(std::chrono::hours(1)); };
    return Reconciler(client, stores, options);
  }

  // Feeds what the reconciler applied back into the caches, as the informers would, with
  // every Deployment rolled out when `available`.
  void echo(bool available) {
    for (const Call& call : client.calls) {
      if (call.method != "PATCH") continue;
      json object = call.body;
      if (call.path.find("/status") != std::string::npos) {
        json va = *assistants.get("ns/va1");
        va["status"] = object["status"];
        put(va);
        continue;
      }
      const auto index = childKindIndex(object.value("kind", ""));
      ASSERT_TRUE(index) << call.path;
      object["metadata"]["uid"] = "child-" + object["metadata"].value("name", "");
      object["metadata"]["resourceVersion"] = "1";
      object["metadata"]["generation"] = 1;
      if (object["kind"] == "Deployment" && available) {
        const int replicas = object["spec"].value("replicas", 1);
        object["status"] = {{"observedGeneration", 1},
                            {"replicas", replicas},
                            {"updatedReplicas", replicas},
                            {"availableReplicas", replicas},
                            {"readyReplicas", replicas},
                            {"conditions", {{{"type", "Available"}, {"status", "True"}}}}};
      }
      children.at(*index).upsert(std::make_shared<const json>(object));
    }
    client.calls.clear();
  }

  RecordingClient client;
  runtime::ObjectStore assistants;
  std::array<runtime::ObjectStore, kChildKinds.size()> children;
  runtime::ObjectStore secrets;
  Stores stores;
};

TEST_F(ReconcilerTest, CreatesEveryChildThenWritesNothingForAnUnchangedVa) {
  put(assistant(json::object()));
  Reconciler reconciler = make();
  ASSERT_TRUE(reconciler.reconcile("ns/va1"));
  const auto applies = client.with("PATCH", "/namespaces/ns/");
  // 48 children of the minimal VA plus the status.
  EXPECT_EQ(applies.size(), 49U);
  EXPECT_EQ(client.with("PATCH", "/status").size(), 1U);
  EXPECT_EQ(client.with("POST", "/events").size(), 1U);  // "Created"
  for (const Call& call : applies) {
    if (call.path.find("/status") != std::string::npos) continue;
    const json& owner = call.body["metadata"]["ownerReferences"][0];
    EXPECT_EQ(owner["uid"], "uid-1") << call.path;
    EXPECT_EQ(owner["controller"], true) << call.path;
  }
  const json first = client.with("PATCH", "/status")[0].body["status"];
  EXPECT_EQ((*findCondition(first, "Ready"))["status"], "False");
  EXPECT_EQ((*findCondition(first, "Reconciling"))["status"], "True");

  echo(/*available=*/true);
  ASSERT_TRUE(reconciler.reconcile("ns/va1"));
  // The Deployments are now available: only the status changes (and a Ready Event).
  ASSERT_EQ(client.with("PATCH", "").size(), 1U);
  const json ready = client.with("PATCH", "/status")[0].body["status"];
  EXPECT_EQ((*findCondition(ready, "Ready"))["status"], "True");
  EXPECT_EQ(ready["componentsReady"], "8/8");
  EXPECT_EQ(client.with("POST", "/events").size(), 1U);

  echo(true);
  ASSERT_TRUE(reconciler.reconcile("ns/va1"));
  EXPECT_TRUE(client.calls.empty())
      << client.calls.size() << " requests, first " << client.calls.front().method << " "
      << client.calls.front().path;
}

TEST_F(ReconcilerTest, RestoresAnEditedChildAndPrunesAnUnwantedOne) {
  put(assistant(json::object()));
  Reconciler reconciler = make();
  ASSERT_TRUE(reconciler.reconcile("ns/va1"));
  echo(true);
  ASSERT_TRUE(reconciler.reconcile("ns/va1"));
  echo(true);

  auto& deployments = children.at(*childKindIndex("Deployment"));
  json edited = *deployments.get("ns/va1-language-center");
  edited["spec"]["template"]["spec"]["containers"][0]["image"] = "evil:1";
  deployments.upsert(std::make_shared<const json>(edited));
  json stray = {{"kind", "HorizontalPodAutoscaler"},
                {"metadata",
                 {{"name", "va1-old"},
                  {"namespace", "ns"},
                  {"uid", "u-old"},
                  {"ownerReferences", {{{"uid", "uid-1"}, {"controller", true}}}}}}};
  children.at(*childKindIndex("HorizontalPodAutoscaler"))
      .upsert(std::make_shared<const json>(stray));

  ASSERT_TRUE(reconciler.reconcile("ns/va1"));
  const auto applies = client.with("PATCH", "/deployments/");
  ASSERT_EQ(applies.size(), 1U);
  EXPECT_NE(applies[0].path.find("va1-language-center"), std::string::npos);
  const auto deletes = client.with("DELETE", "");
  ASSERT_EQ(deletes.size(), 1U);
  EXPECT_NE(deletes[0].path.find("/horizontalpodautoscalers/va1-old"), std::string::npos);
  EXPECT_EQ(deletes[0].body["preconditions"]["uid"], "u-old");
}

TEST_F(ReconcilerTest, MissingSecretStallsOnceWithoutChildren) {
  put(assistant({{"stores", {{"redis", {{"urlSecretRef", {{"name", "r"}, {"key", "url"}}}}}}}}));
  Reconciler reconciler = make();
  ASSERT_TRUE(reconciler.reconcile("ns/va1"));
  EXPECT_TRUE(client.with("PATCH", "/deployments/").empty());
  const auto status = client.with("PATCH", "/status");
  ASSERT_EQ(status.size(), 1U);
  const json& stalled = *findCondition(status[0].body["status"], "Stalled");
  EXPECT_EQ(stalled["status"], "True");
  EXPECT_EQ(stalled["reason"], "SecretNotFound");
  EXPECT_NE(stalled["message"].get<std::string>().find("spec.stores.redis.urlSecretRef"),
            std::string::npos);
  const auto events = client.with("POST", "/events");
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].body["type"], "Warning");
  EXPECT_EQ(reconciler.referencing(Reference::Kind::kSecret, "ns/r"),
            std::vector<std::string>{"ns/va1"});

  echo(true);
  ASSERT_TRUE(reconciler.reconcile("ns/va1"));  // still missing: no write, no second Event
  EXPECT_TRUE(client.calls.empty());

  secrets.upsert(std::make_shared<const json>(
      json{{"metadata", {{"name", "r"}, {"namespace", "ns"}}}, {"data", {{"other", "eA=="}}}}));
  ASSERT_TRUE(reconciler.reconcile("ns/va1"));
  EXPECT_EQ(
      (*findCondition(client.with("PATCH", "/status")[0].body["status"], "Stalled"))["reason"],
      "SecretKeyNotFound");
}

TEST_F(ReconcilerTest, MissingWebhookSigningSecretStallsNamingTheField) {
  put(assistant({{"webhooks", {{"signingSecretRef", {{"name", "hook"}}}}}}));
  Reconciler reconciler = make();
  ASSERT_TRUE(reconciler.reconcile("ns/va1"));
  EXPECT_TRUE(client.with("PATCH", "/deployments/").empty());
  const auto status = client.with("PATCH", "/status");
  ASSERT_EQ(status.size(), 1U);
  const json& stalled = *findCondition(status[0].body["status"], "Stalled");
  EXPECT_EQ(stalled["reason"], "SecretNotFound");
  EXPECT_NE(stalled["message"].get<std::string>().find("spec.webhooks.signingSecretRef"),
            std::string::npos)
      << stalled.dump();
  EXPECT_EQ(reconciler.referencing(Reference::Kind::kSecret, "ns/hook"),
            std::vector<std::string>{"ns/va1"});
}

TEST_F(ReconcilerTest, MissingApiKeysSecretStallsNamingTheField) {
  put(assistant({{"authentication", {{"apiKeysSecretRef", {{"name", "keys"}}}}}}));
  Reconciler reconciler = make();
  ASSERT_TRUE(reconciler.reconcile("ns/va1"));
  EXPECT_TRUE(client.with("PATCH", "/deployments/").empty());
  const auto status = client.with("PATCH", "/status");
  ASSERT_EQ(status.size(), 1U);
  const json& stalled = *findCondition(status[0].body["status"], "Stalled");
  EXPECT_EQ(stalled["reason"], "SecretNotFound");
  EXPECT_NE(stalled["message"].get<std::string>().find("spec.authentication.apiKeysSecretRef"),
            std::string::npos)
      << stalled.dump();
  EXPECT_EQ(reconciler.referencing(Reference::Kind::kSecret, "ns/keys"),
            std::vector<std::string>{"ns/va1"});
}

TEST_F(ReconcilerTest, PausedVaChangesNoChild) {
  put(assistant(json::object()));
  Reconciler reconciler = make();
  ASSERT_TRUE(reconciler.reconcile("ns/va1"));
  echo(true);
  json va = *assistants.get("ns/va1");
  va["spec"]["paused"] = true;
  va["metadata"]["generation"] = 2;
  put(va);
  children.at(*childKindIndex("ConfigMap")).erase("ns/va1-output-manager");
  ASSERT_TRUE(reconciler.reconcile("ns/va1"));
  EXPECT_TRUE(client.with("PATCH", "/configmaps/").empty());
  const json status = client.with("PATCH", "/status").at(0).body["status"];
  EXPECT_EQ((*findCondition(status, "Paused"))["status"], "True");
  EXPECT_EQ(status["observedGeneration"], 2);
}

TEST_F(ReconcilerTest, ChangedSecretChangesOnlyTheReadersConfigHash) {
  put(assistant({{"stores", {{"redis", {{"urlSecretRef", {{"name", "r"}, {"key", "url"}}}}}}}}));
  secrets.upsert(std::make_shared<const json>(
      json{{"metadata", {{"name", "r"}, {"namespace", "ns"}}}, {"data", {{"url", "YQ=="}}}}));
  Reconciler reconciler = make();
  ASSERT_TRUE(reconciler.reconcile("ns/va1"));
  echo(true);
  ASSERT_TRUE(reconciler.reconcile("ns/va1"));
  echo(true);
  secrets.upsert(std::make_shared<const json>(
      json{{"metadata", {{"name", "r"}, {"namespace", "ns"}}}, {"data", {{"url", "Yg=="}}}}));
  ASSERT_TRUE(reconciler.reconcile("ns/va1"));
  const auto applies = client.with("PATCH", "/deployments/");
  ASSERT_FALSE(applies.empty());
  for (const Call& call : applies) {
    EXPECT_TRUE(call.path.find("short-term-mem") != std::string::npos ||
                call.path.find("long-term-mem") != std::string::npos ||
                call.path.find("conversation-log") != std::string::npos)
        << call.path << " does not read the Redis Secret";
  }
}

TEST_F(ReconcilerTest, StopsInATerminatingNamespace) {
  put(assistant(json::object()));
  client.failWith = kube::ApiError::fromResponse(403, R"({"kind":"Status","status":"Failure",
      "message":"unable to create new content in namespace ns because it is being terminated",
      "reason":"Forbidden","details":{"causes":[{"reason":"NamespaceTerminating",
      "message":"namespace ns is being terminated","field":"metadata.namespace"}]},"code":403})");
  Reconciler reconciler = make();
  ASSERT_TRUE(reconciler.reconcile("ns/va1"));
  // One apply, answered NamespaceTerminating: no more applies, no status, no Event.
  EXPECT_EQ(client.calls.size(), 1U);
}

TEST_F(ReconcilerTest, InvalidChildStallsWithApplyFailed) {
  put(assistant(json::object()));
  client.failWith = kube::ApiError::fromResponse(
      422, R"({"kind":"Status","status":"Failure","message":"Deployment is invalid",
      "reason":"Invalid","code":422})");
  Reconciler reconciler = make();
  ASSERT_TRUE(reconciler.reconcile("ns/va1"));
  const auto status = client.with("PATCH", "/status");
  ASSERT_EQ(status.size(), 1U);
  const json& stalled = *findCondition(status[0].body["status"], "Stalled");
  EXPECT_EQ(stalled["reason"], "ApplyFailed");
  EXPECT_EQ(client.with("POST", "/events").size(), 1U);
}

// The value of va_operator_virtualassistant_condition{type=`type`} for ns/va1; -1 when absent.
double conditionGauge(prometheus::Registry& registry, const std::string& type) {
  for (const auto& family : registry.Collect()) {
    if (family.name != "va_operator_virtualassistant_condition") continue;
    for (const auto& metric : family.metric) {
      std::map<std::string, std::string> labels;
      for (const auto& label : metric.label) labels[label.name] = label.value;
      if (labels["namespace"] == "ns" && labels["name"] == "va1" && labels["type"] == type) {
        return metric.gauge.value;
      }
    }
  }
  return -1;
}

TEST_F(ReconcilerTest, ExportsConditionsAndForgetsThemWithTheVa) {
  put(assistant(json::object()));
  auto registry = std::make_shared<prometheus::Registry>();
  ReconcilerOptions options;
  options.registry = registry;
  Reconciler reconciler(client, stores, options);
  ASSERT_TRUE(reconciler.reconcile("ns/va1"));
  EXPECT_EQ(conditionGauge(*registry, "Ready"), 0.0);
  EXPECT_EQ(conditionGauge(*registry, "Reconciling"), 1.0);
  echo(true);
  ASSERT_TRUE(reconciler.reconcile("ns/va1"));
  EXPECT_EQ(conditionGauge(*registry, "Ready"), 1.0);
  EXPECT_EQ(conditionGauge(*registry, "Stalled"), 0.0);
  assistants.erase("ns/va1");
  ASSERT_TRUE(reconciler.reconcile("ns/va1"));
  EXPECT_EQ(conditionGauge(*registry, "Ready"), -1.0);
}

TEST_F(ReconcilerTest, IgnoresANamesakeLeftByADeletedVa) {
  put(assistant(json::object()));
  Reconciler first = make();
  ASSERT_TRUE(first.reconcile("ns/va1"));
  echo(true);
  // The VA is deleted and recreated under the same name (a new uid) before the garbage
  // collector has removed the old children: they are the old VA's, not this one's.
  json recreated = assistant(json::object());
  recreated["metadata"]["uid"] = "uid-2";
  put(recreated);
  Reconciler second = make();
  ASSERT_TRUE(second.reconcile("ns/va1"));
  const json status = client.with("PATCH", "/status").at(0).body["status"];
  EXPECT_EQ((*findCondition(status, "Stalled"))["reason"], "ChildConflict");
  EXPECT_EQ(status["componentsReady"], "0/8");
}

TEST_F(ReconcilerTest, ForgetsAVaThatIsGone) {
  Reconciler reconciler = make();
  ASSERT_TRUE(reconciler.reconcile("ns/absent"));
  EXPECT_TRUE(client.calls.empty());
}

}  // namespace
}  // namespace va::controller
