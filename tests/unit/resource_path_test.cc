#include "operator/kube/resource_path.h"

#include <gtest/gtest.h>

namespace va::kube {
namespace {

TEST(ResourcePathTest, CoreGroupLivesUnderApi) {
  EXPECT_EQ(resourcePath("", "v1", "configmaps", "ns", "settings"),
            "/api/v1/namespaces/ns/configmaps/settings");
  EXPECT_EQ(resourcePath("", "v1", "configmaps", "ns"), "/api/v1/namespaces/ns/configmaps");
  EXPECT_EQ(resourcePath("", "v1", "configmaps"), "/api/v1/configmaps");
}

TEST(ResourcePathTest, NamedGroupsLiveUnderApis) {
  EXPECT_EQ(resourcePath("apps", "v1", "deployments", "prod", "web"),
            "/apis/apps/v1/namespaces/prod/deployments/web");
  EXPECT_EQ(resourcePath("virtualassistant.dev", "v1alpha1", "virtualassistants", "team"),
            "/apis/virtualassistant.dev/v1alpha1/namespaces/team/virtualassistants");
}

TEST(ResourcePathTest, ClusterScopedResourcesHaveNoNamespaceSegment) {
  EXPECT_EQ(resourcePath("", "v1", "namespaces", "", "team"), "/api/v1/namespaces/team");
  EXPECT_EQ(resourcePath("apiextensions.k8s.io", "v1", "customresourcedefinitions", "",
                         "virtualassistants.virtualassistant.dev"),
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
            "virtualassistants.virtualassistant.dev");
}

TEST(ResourcePathTest, EscapesNamespaceAndName) {
  EXPECT_EQ(
      resourcePath("rbac.authorization.k8s.io", "v1", "clusterroles", "", "system:controller:x"),
      "/apis/rbac.authorization.k8s.io/v1/clusterroles/system%3Acontroller%3Ax");
  EXPECT_EQ(resourcePath("", "v1", "configmaps", "a b", "c/d?e#f"),
            "/api/v1/namespaces/a%20b/configmaps/c%2Fd%3Fe%23f");
  EXPECT_EQ(escapePathSegment("caf\xC3\xA9"), "caf%C3%A9");
  EXPECT_EQ(escapePathSegment("a-b_c.d~e"), "a-b_c.d~e");
}

TEST(ResourcePathTest, DotSegmentsCannotLeaveTheCollection) {
  EXPECT_EQ(escapePathSegment("."), "%2E");
  EXPECT_EQ(escapePathSegment(".."), "%2E%2E");
  EXPECT_EQ(resourcePath("", "v1", "secrets", "ns", ".."), "/api/v1/namespaces/ns/secrets/%2E%2E");
  EXPECT_EQ(escapePathSegment("..."), "...");
}

TEST(ResourcePathTest, WithQueryStartsOrExtendsTheQuery) {
  const std::string path = resourcePath("", "v1", "pods", "ns");
  const std::string once = withQuery(path, "labelSelector", "app=web,tier in (a)");
  EXPECT_EQ(once, "/api/v1/namespaces/ns/pods?labelSelector=app%3Dweb%2Ctier%20in%20%28a%29");
  EXPECT_EQ(withQuery(once, "limit", "500"), once + "&limit=500");
  EXPECT_EQ(withQuery(path, "continue", "eyJ2+/="), path + "?continue=eyJ2%2B%2F%3D");
}

}  // namespace
}  // namespace va::kube
