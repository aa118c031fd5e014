#include "operator/controller/status.h"

#include <gtest/gtest.h>

namespace va::controller {
namespace {

using nlohmann::json;

json deployment(int replicas, int updated, int available, int generation, int observed,
                bool availableCondition) {
  return {{"metadata", {{"generation", generation}}},
          {"spec",
           {{"replicas", replicas},
            {"template", {{"spec", {{"containers", {{{"image", "va.local/x:1"}}}}}}}}}},
          {"status",
           {{"observedGeneration", observed},
            {"replicas", replicas},
            {"updatedReplicas", updated},
            {"availableReplicas", available},
            {"readyReplicas", available},
            {"conditions",
             {{{"type", "Available"}, {"status", availableCondition ? "True" : "False"}}}}}}};
}

std::vector<ComponentState> components(int ready, int total) {
  std::vector<ComponentState> out;
  for (int i = 0; i < total; ++i) {
    out.push_back({"c" + std::to_string(i), i < ready ? 1 : 0, 1, "img", i < ready});
  }
  return out;
}

TEST(DeploymentAvailable, NeedsTheRolloutOfTheCurrentGeneration) {
  EXPECT_TRUE(deploymentAvailable(deployment(2, 2, 2, 3, 3, true)));
  EXPECT_FALSE(deploymentAvailable(deployment(2, 2, 2, 4, 3, true)));  // not observed yet
  EXPECT_FALSE(deploymentAvailable(deployment(2, 1, 2, 3, 3, true)));  // rolling
  EXPECT_FALSE(deploymentAvailable(deployment(2, 2, 1, 3, 3, true)));  // one unavailable
  EXPECT_FALSE(deploymentAvailable(deployment(2, 2, 2, 3, 3, false)));
}

TEST(ComponentStateTest, ReadsReplicasAndImage) {
  const json d = deployment(3, 3, 2, 1, 1, true);
  const ComponentState s = componentState("input-processor", &d);
  EXPECT_EQ(s.readyReplicas, 2);
  EXPECT_EQ(s.desiredReplicas, 3);
  EXPECT_EQ(s.image, "va.local/x:1");
  EXPECT_FALSE(s.available);
  EXPECT_FALSE(componentState("x", nullptr).available);
}

TEST(BuildStatus, ReadyWhenEveryComponentIsAvailable) {
  StatusInput input{.generation = 4, .components = components(8, 8), .endpoint = "http://e"};
  const json status = buildStatus(input, json::object(), "T1");
  EXPECT_EQ(status["observedGeneration"], 4);
  EXPECT_EQ(status["componentsReady"], "8/8");
  EXPECT_EQ(status["endpoint"], "http://e");
  EXPECT_EQ((*findCondition(status, "Ready"))["status"], "True");
  EXPECT_EQ((*findCondition(status, "Reconciling"))["status"], "False");
  EXPECT_EQ((*findCondition(status, "Stalled"))["status"], "False");
  EXPECT_EQ(findCondition(status, "Paused"), nullptr);
  EXPECT_EQ((*findCondition(status, "Ready"))["observedGeneration"], 4);
}

TEST(BuildStatus, ReconcilingWhileComponentsAreNotReady) {
  StatusInput input{.generation = 1, .components = components(6, 8)};
  const json status = buildStatus(input, json::object(), "T1");
  const json& ready = *findCondition(status, "Ready");
  EXPECT_EQ(ready["status"], "False");
  EXPECT_EQ(ready["reason"], "ComponentsNotReady");
  EXPECT_NE(ready["message"].get<std::string>().find("c6, c7"), std::string::npos);
  EXPECT_EQ((*findCondition(status, "Reconciling"))["status"], "True");
  EXPECT_EQ(status["componentsReady"], "6/8");
}

TEST(BuildStatus, StalledNamesTheReason) {
  StatusInput input{.generation = 2, .components = components(8, 8)};
  input.stalled =
      Problem{"SecretNotFound", "spec.stores.redis.urlSecretRef: Secret \"r\" not found"};
  const json status = buildStatus(input, json::object(), "T1");
  EXPECT_EQ((*findCondition(status, "Stalled"))["status"], "True");
  EXPECT_EQ((*findCondition(status, "Stalled"))["reason"], "SecretNotFound");
  EXPECT_EQ((*findCondition(status, "Ready"))["status"], "False");
  EXPECT_EQ((*findCondition(status, "Reconciling"))["status"], "False");
}

TEST(BuildStatus, PausedSaysSo) {
  StatusInput input{.generation = 2, .components = components(8, 8), .paused = true};
  const json status = buildStatus(input, json::object(), "T1");
  EXPECT_EQ((*findCondition(status, "Paused"))["status"], "True");
  EXPECT_EQ((*findCondition(status, "Reconciling"))["reason"], "Paused");
}

TEST(BuildStatus, TransitionTimeMovesOnlyOnATransition) {
  StatusInput input{.generation = 1, .components = components(6, 8)};
  const json first = buildStatus(input, json::object(), "T1");
  input.generation = 2;  // a new generation, still not ready: no transition
  const json second = buildStatus(input, first, "T2");
  EXPECT_EQ((*findCondition(second, "Ready"))["lastTransitionTime"], "T1");
  input.components = components(8, 8);  // now ready: Ready and Reconciling transition
  const json third = buildStatus(input, second, "T3");
  EXPECT_EQ((*findCondition(third, "Ready"))["lastTransitionTime"], "T3");
  EXPECT_EQ((*findCondition(third, "Reconciling"))["lastTransitionTime"], "T3");
  EXPECT_EQ((*findCondition(third, "Stalled"))["lastTransitionTime"], "T1");
  // Same input again: the very same status, so the reconciler writes nothing.
  EXPECT_EQ(buildStatus(input, third, "T4"), third);
}

}  // namespace
}  // namespace va::controller
