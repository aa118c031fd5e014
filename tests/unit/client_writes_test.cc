// What the write helpers put on the wire (method, path, query, Content-Type, body): patches,
// server-side apply, the status subresource, DeleteOptions and Events.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "operator/kube/client.h"
#include "operator/kube/delete_options.h"
#include "operator/kube/events.h"
#include "tests/support/local_http_server.h"

namespace va::kube {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

struct Seen {
  std::string method;
  std::string target;  // path and query as sent
  std::string contentType;
  json body;
};

class ClientWritesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto record = [this](const httplib::Request& req, httplib::Response& res) {
      const std::lock_guard lock(mutex_);
      seen_.push_back(Seen{req.method, req.target, req.get_header_value("Content-Type"),
                           json::parse(req.body, nullptr, false)});
      res.set_content(R"({"kind":"Echo"})", "application/json");
    };
    local_.server().Patch(".*", record);
    local_.server().Put(".*", record);
    local_.server().Post(".*", record);
    local_.server().Delete(".*", record);
    ASSERT_TRUE(local_.start());
    RestConfig config;
    config.server = local_.url();
    ClientOptions options;
    options.rateLimit.qps = 0;
    client_ = std::make_unique<ClientImpl>(config, options);
  }

  Seen last() {
    const std::lock_guard lock(mutex_);
    return seen_.empty() ? Seen{} : seen_.back();
  }
  std::size_t count() {
    const std::lock_guard lock(mutex_);
    return seen_.size();
  }

  va::testing::LocalHttpServer local_;
  std::unique_ptr<ClientImpl> client_;
  std::mutex mutex_;
  std::vector<Seen> seen_;
};

const std::string kPath = "/api/v1/namespaces/ns/configmaps/cm";

TEST_F(ClientWritesTest, ApplySendsApplyPatchYamlWithFieldManagerAndForce) {
  const json object = {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"data", {{"a", "b"}}}};
  ASSERT_TRUE(client_->apply(kPath, object, "va-operator", /*force=*/true).ok());
  Seen seen = last();
  EXPECT_EQ(seen.method, "PATCH");
  EXPECT_EQ(seen.target, kPath + "?fieldManager=va-operator&force=true");
  EXPECT_EQ(seen.contentType, "application/apply-patch+yaml");
  EXPECT_EQ(seen.body, object);

  ASSERT_TRUE(client_->apply(kPath, object, "va-operator").ok());
  EXPECT_EQ(last().target, kPath + "?fieldManager=va-operator");
}

TEST_F(ClientWritesTest, ApplyWithoutAFieldManagerFailsBeforeSending) {
  auto applied = client_->apply(kPath, json::object(), "");
  ASSERT_FALSE(applied.ok());
  EXPECT_EQ(applied.error().kind(), ApiError::Kind::kEncode);
  EXPECT_EQ(count(), 0U);
}

TEST_F(ClientWritesTest, MergeAndJsonPatchUseTheirContentTypes) {
  ASSERT_TRUE(client_->mergePatch(kPath, {{"data", {{"a", nullptr}}}}).ok());
  EXPECT_EQ(last().contentType, "application/merge-patch+json");
  EXPECT_EQ(last().target, kPath);
  EXPECT_EQ(last().body, json::parse(R"({"data":{"a":null}})"));

  const json ops = json::parse(R"([{"op":"replace","path":"/data/a","value":"c"}])");
  ASSERT_TRUE(client_->jsonPatch(kPath, ops).ok());
  EXPECT_EQ(last().contentType, "application/json-patch+json");
  EXPECT_EQ(last().body, ops);

  ASSERT_TRUE(
      client_->patch(kPath, PatchType::kStrategicMerge, json::object(), {"manager", false}).ok());
  EXPECT_EQ(last().contentType, "application/strategic-merge-patch+json");
  EXPECT_EQ(last().target, kPath + "?fieldManager=manager");
}

TEST_F(ClientWritesTest, StatusHelpersWriteTheStatusSubresource) {
  const std::string deployment = "/apis/apps/v1/namespaces/ns/deployments/web";
  ASSERT_TRUE(client_->replaceStatus(deployment, json::object()).ok());
  EXPECT_EQ(last().method, "PUT");
  EXPECT_EQ(last().target, deployment + "/status");

  ASSERT_TRUE(client_->applyStatus(deployment, json::object(), "va-operator", true).ok());
  EXPECT_EQ(last().target, deployment + "/status?fieldManager=va-operator&force=true");
  EXPECT_EQ(last().contentType, "application/apply-patch+yaml");

  ASSERT_TRUE(client_->patchStatus(deployment, PatchType::kMerge, json::object()).ok());
  EXPECT_EQ(last().target, deployment + "/status");
  EXPECT_EQ(last().contentType, "application/merge-patch+json");
}

TEST(StatusPathTest, InsertsStatusBeforeTheQuery) {
  EXPECT_EQ(statusPath("/api/v1/namespaces/a/pods/b"), "/api/v1/namespaces/a/pods/b/status");
  EXPECT_EQ(statusPath("/api/v1/namespaces/a/pods/b/"), "/api/v1/namespaces/a/pods/b/status");
  EXPECT_EQ(statusPath("/api/v1/namespaces/a/pods/b?dryRun=All"),
            "/api/v1/namespaces/a/pods/b/status?dryRun=All");
}

TEST_F(ClientWritesTest, DeleteOptionsCarryPropagationAndPreconditions) {
  ASSERT_TRUE(
      client_->remove(kPath, DeleteOptions{.propagation = Propagation::kForeground}.toJson()).ok());
  EXPECT_EQ(last().method, "DELETE");
  EXPECT_EQ(last().contentType, "application/json");
  EXPECT_EQ(last().body, json::parse(R"({"apiVersion":"v1","kind":"DeleteOptions",
                                         "propagationPolicy":"Foreground"})"));

  ASSERT_TRUE(client_->remove(kPath, DeleteOptions::ifUnchanged("u-1", "42").toJson()).ok());
  EXPECT_EQ(last().body, json::parse(R"({"apiVersion":"v1","kind":"DeleteOptions",
                                         "preconditions":{"uid":"u-1","resourceVersion":"42"}})"));

  DeleteOptions orphan{.propagation = Propagation::kOrphan, .gracePeriodSeconds = 0};
  EXPECT_EQ(orphan.toJson().at("propagationPolicy"), "Orphan");
  EXPECT_EQ(orphan.toJson().at("gracePeriodSeconds"), 0);
  EXPECT_EQ(DeleteOptions{.propagation = Propagation::kBackground}.toJson().at("propagationPolicy"),
            "Background");
  EXPECT_FALSE(DeleteOptions{}.toJson().contains("propagationPolicy"));
}

TEST(EventsTest, FormatsMicroTimeInUtc) {
  using namespace std::chrono;
  const system_clock::time_point at =
      system_clock::time_point{seconds(1'700'000'000)} + microseconds(1234);
  EXPECT_EQ(formatMicroTime(at), "2023-11-14T22:13:20.001234Z");
  EXPECT_EQ(formatMicroTime(system_clock::time_point{}), "1970-01-01T00:00:00.000000Z");
}

EventSpec warningAbout(const json& object) {
  return EventSpec{.regarding = ObjectReference::to(object),
                   .type = EventType::kWarning,
                   .reason = "ApplyFailed",
                   .action = "Reconcile",
                   .note = std::string(2000, 'x'),
                   .reportingController = "va.example.com/operator",
                   .reportingInstance = "operator-0"};
}

TEST_F(ClientWritesTest, CreatesAnEventAboutAnObject) {
  const json object = json::parse(R"({"apiVersion":"va.example.com/v1","kind":"VirtualAssistant",
      "metadata":{"name":"va","namespace":"ns","uid":"u-9","resourceVersion":"7"}})");
  const auto now = std::chrono::system_clock::time_point{std::chrono::nanoseconds(0x1234abcd)};
  ASSERT_TRUE(createEvent(*client_, warningAbout(object), now).ok());
  const Seen seen = last();
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.target, "/apis/events.k8s.io/v1/namespaces/ns/events");
  EXPECT_EQ(seen.body.at("metadata").at("name"), "va.1234abcd");
  EXPECT_EQ(seen.body.at("metadata").at("namespace"), "ns");
  EXPECT_EQ(seen.body.at("eventTime"), "1970-01-01T00:00:00.305441Z");
  EXPECT_EQ(seen.body.at("type"), "Warning");
  EXPECT_EQ(seen.body.at("regarding"),
            json::parse(R"({"apiVersion":"va.example.com/v1","kind":"VirtualAssistant",
                            "name":"va","namespace":"ns","uid":"u-9","resourceVersion":"7"})"));
  EXPECT_EQ(seen.body.at("note").get<std::string>().size(), 1024U);
  EXPECT_EQ(seen.body.at("reportingController"), "va.example.com/operator");
  EXPECT_EQ(seen.body.at("reportingInstance"), "operator-0");
  EXPECT_EQ(seen.body.at("action"), "Reconcile");
  EXPECT_FALSE(seen.body.contains("related"));
}

TEST_F(ClientWritesTest, AnEventAboutAClusterScopedObjectGoesToDefault) {
  const json node = json::parse(R"({"apiVersion":"v1","kind":"Node","metadata":{"name":"n1"}})");
  EventSpec spec = warningAbout(node);
  spec.related = ObjectReference::to(node);
  ASSERT_TRUE(createEvent(*client_, spec).ok());
  EXPECT_EQ(last().target, "/apis/events.k8s.io/v1/namespaces/default/events");
  EXPECT_EQ(last().body.at("related").at("name"), "n1");
}

TEST_F(ClientWritesTest, AnEventWithoutARequiredFieldIsAnEncodeError) {
  EventSpec spec = warningAbout(json::parse(R"({"metadata":{"name":"a","namespace":"b"}})"));
  spec.reportingController.clear();
  auto created = createEvent(*client_, spec);
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.error().kind(), ApiError::Kind::kEncode);
  EXPECT_THAT(created.error().message(), HasSubstr("reportingController"));
  EXPECT_EQ(count(), 0U);
}

}  // namespace
}  // namespace va::kube
