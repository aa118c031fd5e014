// The CRD in crds/ is the one source of truth: the C++ types know exactly its spec fields, every
// field is described, every default satisfies its own schema, and the embedded copy is current.
#include "operator/api/crd_schema.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "operator/api/parse.h"
#include "operator/api/schema.h"

namespace va::api {
namespace {

using nlohmann::json;

std::string readSourceFile(const std::string& relative) {
  const char* root = std::getenv("VA_SOURCE_DIR");
  std::ifstream in(std::string(root == nullptr ? VA_SOURCE_DIR_DEFAULT : root) + "/" + relative);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string childPath(const std::string& path, const std::string& key) {
  std::string out = path;
  out += '.';
  out += key;
  return out;
}

// Field paths in the same notation as knownSpecFields(): objects with free-form values
// (additionalProperties) are leaves, list items are "<list>[]".
void collectFields(const json& schema, const std::string& path, std::set<std::string>& out) {
  if (schema.contains("properties")) {
    for (const auto& [key, property] : schema["properties"].items()) {
      const std::string child = childPath(path, key);
      out.insert(child);
      collectFields(property, child, out);
    }
  }
  if (schema.value("type", "") == "array") collectFields(schema["items"], path + "[]", out);
}

template <typename Fn>
void walk(const json& schema, const std::string& path, Fn fn) {
  fn(schema, path);
  if (schema.contains("properties")) {
    for (const auto& [key, property] : schema["properties"].items()) {
      walk(property, childPath(path, key), fn);
    }
  }
  if (schema.contains("items")) walk(schema["items"], path + "[]", fn);
}

TEST(CrdSchemaTest, EmbeddedCopyMatchesTheFileInCrds) {
  EXPECT_EQ(crdYaml(), readSourceFile("crds/virtualassistant.dev_virtualassistants.yaml"))
      << "re-run cmake: the embedded CRD is stale";
}

TEST(CrdSchemaTest, NamesScopeVersionAndPrinterColumns) {
  const json& spec = crd()["spec"];
  EXPECT_EQ(crd()["metadata"]["name"], "virtualassistants.virtualassistant.dev");
  EXPECT_EQ(spec["group"], "virtualassistant.dev");
  EXPECT_EQ(spec["scope"], "Namespaced");
  EXPECT_EQ(spec["names"]["kind"], "VirtualAssistant");
  EXPECT_EQ(spec["names"]["plural"], "virtualassistants");
  EXPECT_EQ(spec["names"]["singular"], "virtualassistant");
  EXPECT_EQ(spec["names"]["shortNames"], json::array({"va"}));
  ASSERT_EQ(spec["versions"].size(), 1U);
  const json& version = spec["versions"][0];
  EXPECT_EQ(version["name"], "v1alpha1");
  EXPECT_TRUE(version["served"].get<bool>());
  EXPECT_TRUE(version["storage"].get<bool>());
  EXPECT_TRUE(version["subresources"].contains("status"));
  std::vector<std::string> columns;
  for (const auto& column : version["additionalPrinterColumns"]) columns.push_back(column["name"]);
  EXPECT_EQ(columns, (std::vector<std::string>{"Ready", "Components", "Endpoint", "Age"}));
  EXPECT_EQ(version["additionalPrinterColumns"][0]["jsonPath"],
            ".status.conditions[?(@.type==\"Ready\")].status");
  EXPECT_EQ(version["additionalPrinterColumns"][1]["jsonPath"], ".status.componentsReady");
}

TEST(CrdSchemaTest, CppTypesKnowExactlyTheSpecFieldsOfTheSchema) {
  std::set<std::string> schemaFields;
  collectFields(openApiSchema()["properties"]["spec"], "spec", schemaFields);
  const std::set<std::string> known = knownSpecFields();
  for (const auto& field : schemaFields) {
    EXPECT_TRUE(known.contains(field)) << field << ": in the CRD schema, unknown to operator/api";
  }
  for (const auto& field : known) {
    EXPECT_TRUE(schemaFields.contains(field)) << field << ": read by operator/api, not in the CRD";
  }
  EXPECT_GT(schemaFields.size(), 150U);
}

TEST(CrdSchemaTest, ApiReferenceDocumentsEverySpecField) {
  const std::string doc = readSourceFile("docs/api.md");
  std::set<std::string> fields;
  collectFields(openApiSchema()["properties"]["spec"], "spec", fields);
  const std::string components = "spec.components.";
  for (std::string field : fields) {
    if (field.starts_with(components) && field.size() > components.size()) {
      // The eight components share one set of rows, written spec.components.<component>.*.
      const std::size_t end = field.find('.', components.size());
      const std::string key = field.substr(components.size(), end - components.size());
      const bool consolidation = field.find(".consolidation") != std::string::npos;
      if (!consolidation) field.replace(components.size(), key.size(), "<component>");
    }
    EXPECT_NE(doc.find("`" + field + "`"), std::string::npos) << field << ": not in docs/api.md";
  }
}

TEST(CrdSchemaTest, EveryFieldHasADescription) {
  walk(openApiSchema()["properties"]["spec"], "spec",
       [](const json& schema, const std::string& path) {
         if (path.ends_with("[]")) return;  // list items are described by their list
         EXPECT_FALSE(schema.value("description", "").empty()) << path << ": no description";
       });
  walk(openApiSchema()["properties"]["status"], "status",
       [](const json& schema, const std::string& path) {
         if (path.ends_with("[]")) return;
         EXPECT_FALSE(schema.value("description", "").empty()) << path << ": no description";
       });
}

TEST(CrdSchemaTest, EveryDefaultSatisfiesItsOwnSchema) {
  int defaults = 0;
  walk(openApiSchema()["properties"]["spec"], "spec",
       [&defaults](const json& schema, const std::string& path) {
         if (!schema.contains("default")) return;
         ++defaults;
         json value = schema["default"];
         const auto status = applySchema(value, schema, path);
         EXPECT_TRUE(status.ok()) << path << ": " << status.error().message();
       });
  EXPECT_GT(defaults, 100);
}

TEST(CrdSchemaTest, DefaultsOfAnEmptySpecComeFromTheSchema) {
  json spec = json::object();
  ASSERT_TRUE(applySchema(spec, openApiSchema()["properties"]["spec"], "spec").ok());
  EXPECT_EQ(spec["image"]["pullPolicy"], "IfNotPresent");
  EXPECT_EQ(spec["networkPolicy"]["enabled"], true);
  EXPECT_EQ(spec["languageModel"]["provider"], "builtin");
  EXPECT_EQ(spec["components"]["inputProcessor"]["resources"]["requests"]["cpu"], "100m");
  EXPECT_EQ(spec["components"]["longTermMem"]["consolidation"]["schedule"], "17 * * * *");
  EXPECT_FALSE(spec["components"]["inputProcessor"].contains("replicas"));  // no schema default
  EXPECT_FALSE(spec.contains("stores"));
}

TEST(CrdSchemaTest, CelRulesNameTheirField) {
  int rules = 0;
  std::function<void(const json&)> visit = [&](const json& node) {
    if (node.is_object()) {
      if (node.contains("x-kubernetes-validations")) {
        for (const auto& rule : node["x-kubernetes-validations"]) {
          ++rules;
          const std::string message = rule.value("message", "");
          EXPECT_TRUE(message.starts_with("spec.") || message.starts_with("metadata."))
              << rule.dump();
        }
      }
      for (const auto& [key, child] : node.items()) visit(child);
    } else if (node.is_array()) {
      for (const auto& child : node) visit(child);
    }
  };
  visit(openApiSchema());
  EXPECT_GE(rules, 5);
}

}  // namespace
}  // namespace va::api
