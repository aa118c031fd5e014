// parseVirtualAssistant: defaults, the examples, YAML typing, and the table of invalid VAs in
// tests/unit/api/testdata/invalid/ (shared with the cluster tests), each rejected naming its field.
#include "operator/api/parse.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "operator/api/yaml_json.h"

namespace va::api {
namespace {

using nlohmann::json;

std::string sourceDir() {
  const char* root = std::getenv("VA_SOURCE_DIR");
  return root == nullptr ? VA_SOURCE_DIR_DEFAULT : root;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

kube::Result<VirtualAssistant> parseYaml(const std::string& text) {
  auto documents = parseYamlDocuments(text);
  if (!documents) return documents.error();
  if (documents->size() != 1) return kube::Error("expected one document");
  return parseVirtualAssistant(documents->front());
}

TEST(ParseTest, MinimalExampleGetsTheSchemaDefaults) {
  auto va = parseYaml(readFile(sourceDir() + "/examples/minimal.yaml"));
  ASSERT_TRUE(va.ok()) << va.error().message();
  EXPECT_EQ(va->metadata.name, "minimal");
  EXPECT_EQ(va->metadata.namespace_, "default");
  EXPECT_FALSE(va->spec.paused);
  EXPECT_EQ(va->spec.image.pullPolicy, "IfNotPresent");
  EXPECT_FALSE(va->spec.image.registry.has_value());
  const ComponentSpec& input = va->spec.component(Component::kInputProcessor);
  EXPECT_FALSE(input.replicas.has_value());
  EXPECT_FALSE(input.autoscaling.enabled);
  EXPECT_EQ(input.autoscaling.maxReplicas, 3);
  EXPECT_TRUE(input.podDisruptionBudget.enabled);
  EXPECT_FALSE(va->spec.component(Component::kShortTermMem).podDisruptionBudget.enabled);
  EXPECT_EQ(input.resources.requests.memory, IntOrString("128Mi"));
  EXPECT_EQ(input.topologySpread.topologyKey, "topology.kubernetes.io/zone");
  EXPECT_EQ(va->spec.exposure.service.type, "ClusterIP");
  EXPECT_EQ(va->spec.exposure.service.port, 80);
  EXPECT_EQ(va->spec.exposure.ingress.path, "/");
  EXPECT_EQ(va->spec.languageModel.provider, "builtin");
  EXPECT_EQ(va->spec.languageModel.timeoutSeconds, 10);
  EXPECT_EQ(va->spec.observability.logFormat, "json");
  EXPECT_EQ(va->spec.observability.logLevel, "info");
  EXPECT_TRUE(va->spec.networkPolicy.enabled);
  EXPECT_EQ(va->spec.component(Component::kLongTermMem).consolidation.schedule, "17 * * * *");
}

TEST(ParseTest, ConciergeExample) {
  const std::string text = readFile(sourceDir() + "/examples/concierge.yaml");
  auto va = parseYaml(text);
  ASSERT_TRUE(va.ok()) << va.error().message();
  EXPECT_EQ(va->metadata.namespace_, "concierge");
  EXPECT_EQ(va->spec.image.tag, "0.1.0");  // a plain 0.1.0 stays a string
  const ComponentSpec& input = va->spec.component(Component::kInputProcessor);
  EXPECT_TRUE(input.autoscaling.enabled);
  EXPECT_EQ(input.autoscaling.minReplicas, 2);
  ASSERT_TRUE(input.autoscaling.customMetric.has_value());
  EXPECT_EQ(input.autoscaling.customMetric->targetAverageValue, IntOrString("20"));
  EXPECT_EQ(input.podDisruptionBudget.minAvailable, IntOrString(std::int64_t{1}));
  EXPECT_EQ(va->spec.component(Component::kOutputManager).podDisruptionBudget.maxUnavailable,
            IntOrString("50%"));
  EXPECT_EQ(input.resources.limits.cpu, IntOrString("1"));
  ASSERT_TRUE(va->spec.stores.redisUrl.has_value());
  EXPECT_EQ(va->spec.stores.redisUrl->name, "concierge-redis");
  EXPECT_EQ(va->spec.stores.postgresDsn->key, "dsn");
  EXPECT_EQ(va->spec.languageModel.apiKeySecretRef->name, "concierge-openai");
  EXPECT_EQ(va->spec.assistant->name, "concierge-assistant");
  ASSERT_TRUE(va->spec.webhookSigningKey.has_value());
  EXPECT_EQ(va->spec.webhookSigningKey->name, "concierge-webhook");
  EXPECT_EQ(va->spec.webhookSigningKey->key, "signing-secret");
  ASSERT_TRUE(va->spec.apiKeys.has_value());
  EXPECT_EQ(va->spec.apiKeys->name, "concierge-api-keys");
  EXPECT_EQ(va->spec.apiKeys->key, "api-keys");
  EXPECT_EQ(va->spec.exposure.ingress.tlsSecretName, "concierge-tls");
  ASSERT_EQ(va->spec.networkPolicy.ingressFrom.size(), 1U);
  EXPECT_EQ(
      va->spec.networkPolicy.ingressFrom[0].namespaceSelector->at("kubernetes.io/metadata.name"),
      "ingress-nginx");
  EXPECT_FALSE(va->spec.networkPolicy.ingressFrom[0].podSelector.has_value());
  const ComponentSpec& ltm = va->spec.component(Component::kLongTermMem);
  ASSERT_EQ(ltm.tolerations.size(), 1U);
  EXPECT_EQ(ltm.tolerations[0].op, "Equal");
  EXPECT_EQ(ltm.consolidation.schedule, "*/30 * * * *");
  EXPECT_EQ(ltm.consolidation.failedJobsHistoryLimit, 2);
}

TEST(ParseTest, ParsingADefaultedObjectAgainChangesNothing) {
  // What the API server sends back has its defaults already; applying them again is a no-op.
  auto documents = parseYamlDocuments(readFile(sourceDir() + "/examples/concierge.yaml"));
  ASSERT_TRUE(documents.ok() && !documents->empty());
  json object = documents->front();
  object["metadata"]["uid"] = "0d1e2f";
  object["metadata"]["generation"] = 4;
  auto first = parseVirtualAssistant(object);
  ASSERT_TRUE(first.ok()) << first.error().message();
  EXPECT_EQ(first->metadata.uid, "0d1e2f");
  EXPECT_EQ(first->metadata.generation, 4);
}

TEST(ParseTest, MinGreaterThanMaxNamesTheFieldAndTheValues) {
  auto va = parseVirtualAssistant(json::parse(R"({
    "apiVersion": "virtualassistant.dev/v1alpha1", "kind": "VirtualAssistant",
    "metadata": {"name": "x"},
    "spec": {"components": {"inputProcessor": {"autoscaling":
      {"enabled": true, "minReplicas": 5, "maxReplicas": 3}}}}})"));
  ASSERT_FALSE(va.ok());
  EXPECT_EQ(
      va.error().message(),
      "spec.components.inputProcessor.autoscaling.maxReplicas: must be >= minReplicas (3 < 5)");
}

TEST(ParseTest, WrongApiVersionKindAndTypes) {
  EXPECT_FALSE(parseVirtualAssistant(json::parse(R"({"apiVersion": "v1", "kind": "VirtualAssistant",
    "metadata": {"name": "x"}})"))
                   .ok());
  auto notBool = parseVirtualAssistant(json::parse(R"({
    "apiVersion": "virtualassistant.dev/v1alpha1", "kind": "VirtualAssistant",
    "metadata": {"name": "x"}, "spec": {"paused": "yes"}})"));
  ASSERT_FALSE(notBool.ok());
  EXPECT_EQ(notBool.error().message(), "spec.paused: must be a boolean (true or false)");
  EXPECT_FALSE(parseVirtualAssistant(json::array()).ok());
}

TEST(ParseTest, YamlScalarsAreTypedLikeKubectl) {
  auto documents = parseYamlDocuments("a: 1\nb: \"1\"\nc: true\nd: 0.1.0\ne: ~\nf: 1.5\n");
  ASSERT_TRUE(documents.ok());
  const json& d = documents->front();
  EXPECT_TRUE(d["a"].is_number_integer());
  EXPECT_TRUE(d["b"].is_string());
  EXPECT_TRUE(d["c"].is_boolean());
  EXPECT_TRUE(d["d"].is_string());
  EXPECT_TRUE(d["e"].is_null());
  EXPECT_TRUE(d["f"].is_number_float());
  EXPECT_FALSE(parseYamlDocuments("a: [1, 2\n").ok());
}

TEST(ParseTest, InvalidTableEachRejectedNamingItsField) {
  const std::filesystem::path dir = sourceDir() + "/tests/unit/api/testdata/invalid";
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 15U);
  for (const auto& file : files) {
    const std::string text = readFile(file.string());
    const std::string prefix = "# expect: ";
    ASSERT_TRUE(text.starts_with(prefix)) << file << ": first line must be '# expect: <field>'";
    const std::string field = text.substr(prefix.size(), text.find('\n') - prefix.size());
    auto va = parseYaml(text);
    ASSERT_FALSE(va.ok()) << file << ": accepted";
    EXPECT_TRUE(va.error().message().starts_with(field + ":"))
        << file << ": expected an error about " << field << ", got: " << va.error().message();
  }
}

}  // namespace
}  // namespace va::api
