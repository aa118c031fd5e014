// The project's Kubernetes client against the real local control plane named by $KUBECONFIG.
// The suite works in a namespace of its own and deletes it at the end.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "operator/kube/client.h"
#include "tests/integration/test_cluster.h"

namespace va::kube {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class KubeClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto config = integration::configFromEnvironment();
    if (!config) {
      setupError_ = config.error().message();
      return;
    }
    client_ = std::make_unique<ClientImpl>(std::move(*config));
    auto ns = integration::createNamespace(*client_, "va-kube-client");
    if (!ns) {
      setupError_ = ns.error().message();
      return;
    }
    namespace_ = *ns;
  }

  static void TearDownTestSuite() {
    if (client_ && !namespace_.empty()) {
      integration::deleteNamespace(*client_, namespace_);
      // The namespace is now terminating (or gone): the server says so.
      auto after = client_->get(resourcePath("", "v1", "namespaces", "", namespace_));
      if (after) {
        EXPECT_TRUE(after->at("metadata").contains("deletionTimestamp"));
      } else {
        EXPECT_TRUE(after.error().isNotFound()) << after.error().toString();
      }
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
                {"metadata", {{"name", name}, {"labels", {{"test", "kube-client"}}}}},
                {"data", data}};
  }

  static inline std::unique_ptr<ClientImpl> client_;
  static inline std::string namespace_;
  static inline std::string setupError_;
};

TEST_F(KubeClientTest, ReportsTheServerVersion) {
  auto version = serverVersion(*client_);
  ASSERT_TRUE(version.ok()) << version.error().toString();
  EXPECT_THAT(*version, StartsWith("v1."));
}

TEST_F(KubeClientTest, CreatesAConfigMapAndReadsItBack) {
  const json data = {{"greeting", "hello"}, {"empty", ""}, {"unicode", "caf\u00e9"}};
  auto created = client_->create(configMapPath(), configMap("settings", data));
  ASSERT_TRUE(created.ok()) << created.error().toString();
  EXPECT_EQ(created->at("metadata").at("namespace"), namespace_);
  EXPECT_FALSE(created->at("metadata").at("uid").get<std::string>().empty());

  auto read = client_->get(configMapPath("settings"));
  ASSERT_TRUE(read.ok()) << read.error().toString();
  EXPECT_EQ(read->at("data"), data);
  EXPECT_EQ(read->at("metadata").at("labels").at("test"), "kube-client");
  EXPECT_EQ(read->at("metadata").at("resourceVersion"),
            created->at("metadata").at("resourceVersion"));
}

TEST_F(KubeClientTest, GetOfAMissingConfigMapIsNotFound) {
  auto missing = client_->get(configMapPath("does-not-exist"));
  ASSERT_FALSE(missing.ok());
  const ApiError& error = missing.error();
  EXPECT_TRUE(error.isNotFound()) << error.toString();
  EXPECT_EQ(error.code(), 404);
  EXPECT_EQ(error.reason(), "NotFound");
  EXPECT_EQ(error.details().name, "does-not-exist");
  EXPECT_FALSE(error.isTransport());
  EXPECT_THAT(error.toString(), HasSubstr("GET " + configMapPath("does-not-exist")));
}

TEST_F(KubeClientTest, CreatingTheSameConfigMapTwiceIsAlreadyExists) {
  const json object = configMap("twice", {{"a", "1"}});
  auto first = client_->create(configMapPath(), object);
  ASSERT_TRUE(first.ok()) << first.error().toString();

  auto second = client_->create(configMapPath(), object);
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(second.error().isAlreadyExists()) << second.error().toString();
  EXPECT_EQ(second.error().code(), 409);
  EXPECT_FALSE(second.error().isConflict());
}

TEST_F(KubeClientTest, UpdateWithAStaleResourceVersionIsConflict) {
  auto created = client_->create(configMapPath(), configMap("versioned", {{"v", "1"}}));
  ASSERT_TRUE(created.ok()) << created.error().toString();
  const json stale = *created;

  json update = stale;
  update["data"]["v"] = "2";
  auto replaced = client_->replace(configMapPath("versioned"), update);
  ASSERT_TRUE(replaced.ok()) << replaced.error().toString();
  EXPECT_NE(replaced->at("metadata").at("resourceVersion"),
            stale.at("metadata").at("resourceVersion"));

  json lost = stale;
  lost["data"]["v"] = "3";
  auto conflict = client_->replace(configMapPath("versioned"), lost);
  ASSERT_FALSE(conflict.ok());
  EXPECT_TRUE(conflict.error().isConflict()) << conflict.error().toString();
  EXPECT_EQ(conflict.error().code(), 409);
  EXPECT_FALSE(conflict.error().isAlreadyExists());

  auto current = client_->get(configMapPath("versioned"));
  ASSERT_TRUE(current.ok()) << current.error().toString();
  EXPECT_EQ(current->at("data").at("v"), "2");
}

TEST_F(KubeClientTest, ListFollowsContinueTokens) {
  for (const char* name : {"page-a", "page-b", "page-c"}) {
    json object = configMap(name, {{"n", name}});
    object["metadata"]["labels"]["page"] = "yes";
    auto created = client_->create(configMapPath(), object);
    ASSERT_TRUE(created.ok()) << created.error().toString();
  }
  // Pages of two force a second request with the continue token.
  const std::string path =
      withQuery(withQuery(configMapPath(), "labelSelector", "page=yes"), "limit", "2");
  auto listed = client_->list(path);
  ASSERT_TRUE(listed.ok()) << listed.error().toString();
  EXPECT_EQ(listed->at("kind"), "ConfigMapList");
  ASSERT_EQ(listed->at("items").size(), 3U);
  EXPECT_EQ(listed->at("items")[0].at("metadata").at("name"), "page-a");
  EXPECT_EQ(listed->at("items")[2].at("metadata").at("name"), "page-c");
  EXPECT_FALSE(listed->at("metadata").contains("continue"));

  auto none = client_->list(withQuery(configMapPath(), "labelSelector", "page=never"));
  ASSERT_TRUE(none.ok()) << none.error().toString();
  EXPECT_TRUE(none->at("items").is_array());
  EXPECT_TRUE(none->at("items").empty());
}

TEST_F(KubeClientTest, DeleteRemovesAConfigMap) {
  auto created = client_->create(configMapPath(), configMap("doomed", {{"x", "y"}}));
  ASSERT_TRUE(created.ok()) << created.error().toString();
  auto removed = client_->remove(configMapPath("doomed"));
  ASSERT_TRUE(removed.ok()) << removed.error().toString();
  auto gone = client_->get(configMapPath("doomed"));
  ASSERT_FALSE(gone.ok());
  EXPECT_TRUE(gone.error().isNotFound()) << gone.error().toString();
  auto again = client_->remove(configMapPath("doomed"));
  ASSERT_FALSE(again.ok());
  EXPECT_TRUE(again.error().isNotFound()) << again.error().toString();
}

TEST_F(KubeClientTest, AnInvalidObjectIsInvalidWithFieldCauses) {
  auto invalid = client_->create(configMapPath(), configMap("Not_A_Valid_Name", {}));
  ASSERT_FALSE(invalid.ok());
  const ApiError& error = invalid.error();
  EXPECT_TRUE(error.isInvalid()) << error.toString();
  EXPECT_EQ(error.code(), 422);
  ASSERT_FALSE(error.causes().empty());
  EXPECT_EQ(error.causes()[0].field, "metadata.name");
}

}  // namespace
}  // namespace va::kube
