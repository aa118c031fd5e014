// Golden files of every child the builders render for examples/minimal.yaml and
// examples/concierge.yaml: tests/unit/specs/testdata/<example>/<NN>-<kind>-<name>.yaml, one file
// per child, numbered in apply order.
//
// To regenerate after an intended change, run the test with UPDATE_GOLDEN=1 and review the diff:
//   UPDATE_GOLDEN=1 ./build/tests/unit/specs/golden_test   (or: UPDATE_GOLDEN=1 ctest -R
//   golden_test) git diff tests/unit/specs/testdata/
#include <gtest/gtest.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "operator/api/parse.h"
#include "operator/api/yaml_json.h"
#include "operator/specs/child_set.h"
#include "operator/specs/render.h"

namespace va::specs {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string sourceDir() {
  const char* root = std::getenv("VA_SOURCE_DIR");
  return root == nullptr ? VA_SOURCE_DIR_DEFAULT : root;
}

std::string readFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool updating() {
  const char* update = std::getenv("UPDATE_GOLDEN");
  return update != nullptr && std::string(update) == "1";
}

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

ChildSet renderExample(const std::string& example) {
  auto documents =
      api::parseYamlDocuments(readFile(sourceDir() + "/examples/" + example + ".yaml"));
  EXPECT_TRUE(documents.ok() && !documents->empty())
      << example << ": set VA_SOURCE_DIR (ctest does)";
  if (!documents.ok() || documents->empty()) return {};
  json object = documents->front();
  object["metadata"]["uid"] = "00000000-0000-0000-0000-000000000001";  // as the server would set
  auto va = api::parseVirtualAssistant(object);
  EXPECT_TRUE(va.ok()) << va.error().message();
  if (!va.ok()) return {};
  return desiredChildren(*va, OperatorConfig{}, ReferencedData{});
}

void checkGolden(const std::string& example) {
  const ChildSet children = renderExample(example);
  ASSERT_FALSE(children.objects.empty());
  const fs::path dir = fs::path(sourceDir()) / "tests/unit/specs/testdata" / example;
  if (updating()) {
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  std::set<std::string> expectedFiles;
  int index = 0;
  for (const json& child : children.objects) {
    ++index;
    std::ostringstream file;
    file << (index < 10 ? "0" : "") << index << "-" << lower(child["kind"].get<std::string>())
         << "-" << child["metadata"]["name"].get<std::string>() << ".yaml";
    expectedFiles.insert(file.str());
    const std::string yaml = toYaml(child);
    // The YAML reads back as the same object (the emitter quotes what YAML would retype).
    auto reread = api::parseYamlDocuments(yaml);
    ASSERT_TRUE(reread.ok()) << file.str();
    EXPECT_EQ(reread->front(), child) << file.str() << ": YAML does not round-trip";
    if (updating()) {
      std::ofstream(dir / file.str()) << yaml;
      continue;
    }
    ASSERT_TRUE(fs::exists(dir / file.str()))
        << (dir / file.str()) << " missing: run with UPDATE_GOLDEN=1 to regenerate";
    EXPECT_EQ(readFile(dir / file.str()), yaml)
        << file.str()
        << " differs from the golden file: run with UPDATE_GOLDEN=1 and review the diff";
  }
  for (const auto& entry : fs::directory_iterator(dir)) {
    EXPECT_TRUE(expectedFiles.contains(entry.path().filename().string()))
        << entry.path() << " is no longer rendered: run with UPDATE_GOLDEN=1";
  }
}

TEST(GoldenTest, Minimal) { checkGolden("minimal"); }
TEST(GoldenTest, Concierge) { checkGolden("concierge"); }

TEST(GoldenTest, RenderFileIsTheGoldenFilesInApplyOrder) {
  auto rendered = renderFile(sourceDir() + "/examples/concierge.yaml", OperatorConfig{});
  ASSERT_TRUE(rendered.ok()) << rendered.error().message();
  auto documents = api::parseYamlDocuments(*rendered);
  ASSERT_TRUE(documents.ok());
  EXPECT_EQ(documents->size(), renderExample("concierge").objects.size());
  EXPECT_EQ(documents->front()["kind"], "ServiceAccount");
  EXPECT_EQ(documents->back()["kind"], "CronJob");
}

TEST(GoldenTest, YamlQuotesWhatYamlWouldRetype) {
  const json object = {
      {"strings", json::array({"true", "No", "8080", "0.1.0", "", "a: b", "#x", "- x", "~", "1e3",
                               "0x1F", "two\nlines\n", " lead", "tail:", "null", "*/30 * * * *"})},
      {"numbers", json::array({0, -1, 1.5, true, false, nullptr})},
      {"nested", {{"empty", json::object()}, {"list", json::array()}, {"k: v", "x"}}},
      {"lists", json::array({json::array({1, 2}), json::object({{"a", 1}, {"b", {{"c", 2}}}})})}};
  const std::string yaml = toYaml(object);
  auto reread = api::parseYamlDocuments(yaml);
  ASSERT_TRUE(reread.ok()) << yaml;
  EXPECT_EQ(reread->front(), object) << yaml;
}

TEST(GoldenTest, RenderErrorsNameTheField) {
  auto rendered = renderYaml(
      "apiVersion: virtualassistant.dev/v1alpha1\nkind: VirtualAssistant\nmetadata: {name: x}\n"
      "spec: {exposure: {service: {type: External}}}\n",
      OperatorConfig{});
  ASSERT_FALSE(rendered.ok());
  EXPECT_TRUE(rendered.error().message().starts_with("spec.exposure.service.type:"))
      << rendered.error().message();
  EXPECT_FALSE(renderYaml("kind: ConfigMap\n", OperatorConfig{}).ok());
  EXPECT_FALSE(renderFile("/nonexistent.yaml", OperatorConfig{}).ok());
}

}  // namespace
}  // namespace va::specs
