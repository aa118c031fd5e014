// Field assertions on desiredChildren(): what must hold for every child and every pod whatever
// the golden files say (labels, owner references, security context, HPA vs replicas, the exact
// NetworkPolicy edges, the config hash).
#include "operator/specs/child_set.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "operator/api/parse.h"
#include "operator/api/yaml_json.h"

namespace va::specs {
namespace {

using nlohmann::json;

std::string readExample(const std::string& name) {
  const char* root = std::getenv("VA_SOURCE_DIR");
  std::ifstream in(std::string(root == nullptr ? VA_SOURCE_DIR_DEFAULT : root) + "/examples/" +
                   name + ".yaml");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

json exampleObject(const std::string& name) {
  auto documents = api::parseYamlDocuments(readExample(name));
  EXPECT_TRUE(documents.ok() && !documents->empty()) << name << ": set VA_SOURCE_DIR (ctest does)";
  json object = documents.ok() && !documents->empty() ? documents->front() : json::object();
  object["metadata"]["uid"] = "uid-" + name;
  return object;
}

api::VirtualAssistant parse(const json& object) {
  auto va = api::parseVirtualAssistant(object);
  EXPECT_TRUE(va.ok()) << va.error().message();
  return va.ok() ? *va : api::VirtualAssistant{};
}

std::vector<json> children(const json& object, const ReferencedData& referenced = {}) {
  return desiredChildren(parse(object), OperatorConfig{}, referenced).objects;
}

const json* find(const std::vector<json>& all, const std::string& kind, const std::string& name) {
  for (const json& child : all) {
    if (child["kind"] == kind && child["metadata"]["name"] == name) return &child;
  }
  return nullptr;
}

std::vector<const json*> podTemplates(const std::vector<json>& all) {
  std::vector<const json*> pods;
  for (const json& child : all) {
    if (child["kind"] == "Deployment") pods.push_back(&child["spec"]["template"]);
    if (child["kind"] == "CronJob")
      pods.push_back(&child["spec"]["jobTemplate"]["spec"]["template"]);
  }
  return pods;
}

std::string envValue(const json& container, const std::string& name) {
  for (const auto& var : container["env"]) {
    if (var["name"] == name) return var["value"];
  }
  return "";
}

class ChildSetTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ChildSetTest, EveryChildHasNameNamespaceLabelsAndOwner) {
  const json object = exampleObject(GetParam());
  const std::string va = object["metadata"]["name"];
  for (const json& child : children(object)) {
    const json& meta = child["metadata"];
    const std::string key = childKey(child);
    EXPECT_TRUE(meta["name"].get<std::string>().starts_with(va + "-")) << key;
    EXPECT_EQ(meta["namespace"], object["metadata"].value("namespace", "default")) << key;
    const json& labels = meta["labels"];
    EXPECT_EQ(labels["app.kubernetes.io/instance"], va) << key;
    EXPECT_EQ(labels["app.kubernetes.io/part-of"], "virtual-assistant") << key;
    EXPECT_EQ(labels["app.kubernetes.io/managed-by"], "va-operator") << key;
    EXPECT_EQ(labels["app.kubernetes.io/version"], "0.1.0") << key;
    EXPECT_EQ(labels["app.kubernetes.io/name"], labels["app.kubernetes.io/component"]) << key;
    ASSERT_EQ(meta["ownerReferences"].size(), 1U) << key;
    const json& owner = meta["ownerReferences"][0];
    EXPECT_EQ(owner, (json{{"apiVersion", "virtualassistant.dev/v1alpha1"},
                           {"kind", "VirtualAssistant"},
                           {"name", va},
                           {"uid", "uid-" + GetParam()},
                           {"controller", true},
                           {"blockOwnerDeletion", true}}))
        << key;
  }
}

TEST_P(ChildSetTest, ChildrenComeInApplyOrder) {
  const std::vector<std::string> order = {"ServiceAccount",
                                          "ConfigMap",
                                          "Service",
                                          "Deployment",
                                          "HorizontalPodAutoscaler",
                                          "PodDisruptionBudget",
                                          "NetworkPolicy",
                                          "Ingress",
                                          "ServiceMonitor",
                                          "CronJob"};
  std::size_t last = 0;
  std::set<std::string> keys;
  for (const json& child : children(exampleObject(GetParam()))) {
    const auto rank = static_cast<std::size_t>(
        std::find(order.begin(), order.end(), child["kind"]) - order.begin());
    ASSERT_LT(rank, order.size()) << childKey(child);
    EXPECT_GE(rank, last) << childKey(child) << " out of order";
    last = rank;
    EXPECT_TRUE(keys.insert(childKey(child)).second) << childKey(child) << " twice";
  }
}

TEST_P(ChildSetTest, PodsAreRestrictedAndMountNoToken) {
  const std::vector<json> all = children(exampleObject(GetParam()));
  for (const json& child : all) {
    if (child["kind"] == "ServiceAccount") {
      EXPECT_EQ(child["automountServiceAccountToken"], false);
    }
  }
  const auto pods = podTemplates(all);
  ASSERT_GE(pods.size(), 8U);
  for (const json* pod : pods) {
    const json& spec = (*pod)["spec"];
    EXPECT_EQ(spec["automountServiceAccountToken"], false);
    EXPECT_EQ(spec["securityContext"]["runAsNonRoot"], true);
    EXPECT_EQ(spec["securityContext"]["runAsUser"], 65532);
    EXPECT_EQ(spec["securityContext"]["seccompProfile"]["type"], "RuntimeDefault");
    EXPECT_TRUE((*pod)["metadata"]["annotations"].contains("virtualassistant.dev/config-hash"));
    EXPECT_EQ(spec["volumes"][0], (json{{"name", "tmp"}, {"emptyDir", {{"sizeLimit", "64Mi"}}}}));
    for (const json& container : spec["containers"]) {
      const json& sc = container["securityContext"];
      EXPECT_EQ(sc["allowPrivilegeEscalation"], false);
      EXPECT_EQ(sc["capabilities"]["drop"], json::array({"ALL"}));
      EXPECT_EQ(sc["readOnlyRootFilesystem"], true);
      EXPECT_EQ(sc["runAsNonRoot"], true);
      EXPECT_EQ(sc["seccompProfile"]["type"], "RuntimeDefault");
      EXPECT_TRUE(container["resources"]["requests"].contains("cpu"));
      EXPECT_TRUE(container["resources"]["limits"].contains("memory"));
      EXPECT_EQ(container["volumeMounts"][0]["mountPath"], "/tmp");
      if (container.contains("ports")) {
        EXPECT_EQ(container["readinessProbe"]["httpGet"]["path"], "/readyz");
        EXPECT_EQ(container["livenessProbe"]["httpGet"]["path"], "/healthz");
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Examples, ChildSetTest, ::testing::Values("minimal", "concierge"));

TEST(ChildSetFieldsTest, ReplicasOnlyWithoutAnHpa) {
  const std::vector<json> all = children(exampleObject("concierge"));
  const json* input = find(all, "Deployment", "concierge-input-processor");
  ASSERT_NE(input, nullptr);
  EXPECT_FALSE((*input)["spec"].contains("replicas"));
  ASSERT_NE(find(all, "HorizontalPodAutoscaler", "concierge-input-processor"), nullptr);
  const json* executor = find(all, "Deployment", "concierge-action-executor");
  EXPECT_EQ((*executor)["spec"]["replicas"], 2);
  EXPECT_EQ(find(all, "HorizontalPodAutoscaler", "concierge-action-executor"), nullptr);
  const std::vector<json> minimalChildren = children(exampleObject("minimal"));
  const json* minimal = find(minimalChildren, "Deployment", "minimal-language-center");
  ASSERT_NE(minimal, nullptr);
  EXPECT_EQ((*minimal)["spec"]["replicas"], 1);
}

TEST(ChildSetFieldsTest, HpaPdbIngressServiceAndCronJob) {
  const std::vector<json> all = children(exampleObject("concierge"));
  const json& hpa = (*find(all, "HorizontalPodAutoscaler", "concierge-input-processor"))["spec"];
  EXPECT_EQ(hpa["minReplicas"], 2);
  EXPECT_EQ(hpa["maxReplicas"], 10);
  EXPECT_EQ(hpa["metrics"][0]["resource"]["target"]["averageUtilization"], 70);
  EXPECT_EQ(hpa["metrics"][1]["pods"]["metric"]["name"], "va_input_inflight_requests");
  const json& memoryHpa =
      (*find(all, "HorizontalPodAutoscaler", "concierge-prefrontal-cortex"))["spec"];
  EXPECT_EQ(memoryHpa["metrics"][1]["resource"]["name"], "memory");
  EXPECT_EQ(
      (*find(all, "PodDisruptionBudget", "concierge-input-processor"))["spec"]["minAvailable"], 1);
  EXPECT_EQ(
      (*find(all, "PodDisruptionBudget", "concierge-output-manager"))["spec"]["maxUnavailable"],
      "50%");
  EXPECT_EQ(
      (*find(all, "PodDisruptionBudget", "concierge-language-center"))["spec"]["maxUnavailable"],
      1);
  EXPECT_EQ(find(all, "PodDisruptionBudget", "concierge-short-term-mem"), nullptr);
  const json& ingress = (*find(all, "Ingress", "concierge-input-processor"));
  EXPECT_EQ(ingress["spec"]["ingressClassName"], "nginx");
  EXPECT_EQ(ingress["spec"]["tls"][0]["hosts"][0], "concierge.example.com");
  EXPECT_EQ(ingress["spec"]["tls"][0]["secretName"], "concierge-tls");
  EXPECT_EQ(ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"], "letsencrypt");
  EXPECT_EQ(ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"],
            "concierge-input-processor-public");
  const json& job = (*find(all, "CronJob", "concierge-long-term-mem-consolidation"))["spec"];
  EXPECT_EQ(job["concurrencyPolicy"], "Forbid");
  EXPECT_EQ(job["schedule"], "*/30 * * * *");
  EXPECT_EQ(job["successfulJobsHistoryLimit"], 3);
  EXPECT_EQ(job["failedJobsHistoryLimit"], 2);
  const std::vector<json> minimal = children(exampleObject("minimal"));
  EXPECT_EQ(find(minimal, "CronJob", "minimal-long-term-mem-consolidation"),
            nullptr);  // no PostgreSQL
  EXPECT_EQ(find(minimal, "Ingress", "minimal-input-processor"), nullptr);
  EXPECT_EQ((*find(minimal, "Service", "minimal-input-processor-public"))["spec"]["type"],
            "ClusterIP");
}

TEST(ChildSetFieldsTest, ImagesEnvAndSecretFiles) {
  const std::vector<json> minimal = children(exampleObject("minimal"));
  const json& mc = (*find(minimal, "Deployment",
                          "minimal-input-processor"))["spec"]["template"]["spec"]["containers"][0];
  EXPECT_EQ(mc["image"], "va.local/input-processor:0.1.0");
  EXPECT_EQ(envValue(mc, "PREFRONTAL_CORTEX_URL"), "http://minimal-prefrontal-cortex:8080");
  EXPECT_EQ(envValue(mc, "CONVERSATION_LOG_URL"), "http://minimal-conversation-log:8080");
  EXPECT_EQ(envValue(mc, "LANGUAGE_CENTER_URL"), "");

  const std::vector<json> all = children(exampleObject("concierge"));
  const json& stm =
      (*find(all, "Deployment", "concierge-short-term-mem"))["spec"]["template"]["spec"];
  EXPECT_EQ(stm["containers"][0]["image"], "registry.example.com/va/short-term-mem:0.1.0");
  EXPECT_EQ(envValue(stm["containers"][0], "REDIS_URL_FILE"), "/var/run/secrets/va/redis/url");
  EXPECT_EQ(stm["volumes"][2]["secret"]["secretName"], "concierge-redis");
  const json& executor =
      (*find(all, "Deployment", "concierge-action-executor"))["spec"]["template"]["spec"];
  EXPECT_EQ(envValue(executor["containers"][0], "ACTION_HTTP_TIMEOUT_SECONDS"), "5");
}

TEST(ChildSetFieldsTest, ConfigHashFollowsReferencedSecrets) {
  const json object = exampleObject("concierge");
  const auto hash = [&](const ReferencedData& referenced, const std::string& deployment) {
    return (*find(children(object, referenced), "Deployment",
                  deployment))["spec"]["template"]["metadata"]["annotations"]
                              ["virtualassistant.dev/config-hash"]
                                  .get<std::string>();
  };
  ReferencedData before;
  before.secretVersions["concierge-redis"] = "100";
  ReferencedData after = before;
  after.secretVersions["concierge-redis"] = "101";
  EXPECT_NE(hash(before, "concierge-short-term-mem"), hash(after, "concierge-short-term-mem"));
  EXPECT_EQ(hash(before, "concierge-input-processor"), hash(after, "concierge-input-processor"));
  EXPECT_EQ(hash(before, "concierge-short-term-mem"), hash(before, "concierge-short-term-mem"));
}

// Which component each component policy lets in and out, by app.kubernetes.io/name.
std::set<std::pair<std::string, std::string>> edges(const std::vector<json>& all,
                                                    const std::string& va, bool egress) {
  std::set<std::pair<std::string, std::string>> out;
  for (const json& child : all) {
    if (child["kind"] != "NetworkPolicy") continue;
    const json& spec = child["spec"];
    const std::string self = spec["podSelector"]["matchLabels"].value("app.kubernetes.io/name", "");
    for (const json& rule : spec.value(egress ? "egress" : "ingress", json::array())) {
      for (const json& peer : rule.value(egress ? "to" : "from", json::array())) {
        if (!peer.contains("podSelector") || peer.contains("namespaceSelector")) continue;
        const json& labels = peer["podSelector"]["matchLabels"];
        EXPECT_EQ(labels["app.kubernetes.io/instance"], va);
        const std::string other = labels["app.kubernetes.io/name"];
        out.insert(egress ? std::pair(self, other) : std::pair(other, self));
      }
    }
  }
  return out;
}

TEST(ChildSetFieldsTest, NetworkPoliciesAllowExactlyTheMessageFlow) {
  const std::vector<json> all = children(exampleObject("concierge"));
  const std::set<std::pair<std::string, std::string>> flow = {
      {"input-processor", "prefrontal-cortex"}, {"input-processor", "conversation-log"},
      {"prefrontal-cortex", "language-center"}, {"prefrontal-cortex", "short-term-mem"},
      {"prefrontal-cortex", "long-term-mem"},   {"prefrontal-cortex", "action-executor"},
      {"prefrontal-cortex", "output-manager"}};
  EXPECT_EQ(edges(all, "concierge", true), flow);
  EXPECT_EQ(edges(all, "concierge", false), flow);

  const json& deny = (*find(all, "NetworkPolicy", "concierge-default-deny"))["spec"];
  EXPECT_EQ(deny["policyTypes"], json::array({"Ingress", "Egress"}));
  EXPECT_FALSE(deny.contains("ingress"));
  EXPECT_FALSE(deny.contains("egress"));
  EXPECT_EQ(deny["podSelector"]["matchLabels"]["app.kubernetes.io/instance"], "concierge");
  const json& dns = (*find(all, "NetworkPolicy", "concierge-dns"))["spec"]["egress"][0];
  EXPECT_EQ(dns["ports"],
            json::parse(R"([{"port":53,"protocol":"UDP"},{"port":53,"protocol":"TCP"}])"));
  EXPECT_EQ(dns["to"][0]["podSelector"]["matchLabels"]["k8s-app"], "kube-dns");

  int internet = 0;
  for (const json& child : all) {
    if (child["kind"] != "NetworkPolicy") continue;
    for (const json& rule : child["spec"].value("egress", json::array())) {
      if (!rule.contains("to") || !rule["to"][0].contains("ipBlock")) continue;
      ++internet;
      EXPECT_EQ(child["metadata"]["name"], "concierge-action-executor");
      EXPECT_EQ(rule["to"][0]["ipBlock"]["cidr"], "0.0.0.0/0");
    }
  }
  EXPECT_EQ(internet, 1);

  const json& input =
      (*find(all, "NetworkPolicy", "concierge-input-processor"))["spec"]["ingress"][0];
  EXPECT_EQ(input["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
            "ingress-nginx");
  const json& stm = (*find(all, "NetworkPolicy", "concierge-short-term-mem"))["spec"]["egress"];
  EXPECT_EQ(stm[0]["ports"][0]["port"], 6379);
  const json& job = (*find(all, "NetworkPolicy", "concierge-long-term-mem-consolidation"))["spec"];
  EXPECT_EQ(job["egress"][0]["ports"][0]["port"], 5432);
}

TEST(ChildSetFieldsTest, NetworkPolicyDisabledRendersNone) {
  json object = exampleObject("minimal");
  object["spec"]["networkPolicy"]["enabled"] = false;
  for (const json& child : children(object)) EXPECT_NE(child["kind"], "NetworkPolicy");
}

}  // namespace
}  // namespace va::specs
