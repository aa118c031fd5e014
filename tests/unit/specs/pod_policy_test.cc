// The project's Pod policy, checked on every Pod template the operator generates (both examples
// and a VA with every option on) and on every Pod template under config/: Pod Security
// "restricted" (non-root, no privilege escalation, ALL capabilities dropped, seccomp
// RuntimeDefault, only restricted volume types, no host namespaces), a read-only root
// filesystem, requests and limits, a pinned image (no :latest, a tag or digest), and
// automountServiceAccountToken false except for the operator itself.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "operator/api/parse.h"
#include "operator/api/yaml_json.h"
#include "operator/specs/child_set.h"

namespace va::specs {
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

std::vector<json> yamlFile(const std::string& path) {
  auto documents = api::parseYamlDocuments(readFile(path));
  EXPECT_TRUE(documents.ok()) << path;
  return documents.ok() ? *documents : std::vector<json>{};
}

// A Pod template's spec and where it came from.
struct PodSpec {
  std::string where;
  json spec;
};

std::vector<PodSpec> podSpecs(const std::vector<json>& objects, const std::string& source) {
  std::vector<PodSpec> out;
  for (const json& o : objects) {
    if (!o.is_object()) continue;  // e.g. a kustomize JSON patch list
    const json meta = o.value("metadata", json::object());
    const std::string where = source + ": " + o.value("kind", "") + "/" +
                              (meta.is_object() ? meta.value("name", "") : "");
    const json::json_pointer deployment("/spec/template/spec");
    const json::json_pointer cronJob("/spec/jobTemplate/spec/template/spec");
    if (o.contains(cronJob)) {
      out.push_back({where, o.at(cronJob)});
    } else if (o.contains(deployment)) {
      out.push_back({where, o.at(deployment)});
    }
  }
  return out;
}

// Every violation of the policy in one Pod spec, as "<field>: <why>".
std::vector<std::string> violations(const json& pod, bool isOperator) {
  std::vector<std::string> out;
  const auto bad = [&out](const std::string& field, const std::string& why) {
    out.push_back(field + ": " + why);
  };
  for (const char* host : {"hostNetwork", "hostPID", "hostIPC"}) {
    if (pod.value(host, false)) bad(host, "host namespaces are not allowed");
  }
  const bool token = pod.value("automountServiceAccountToken", true);
  if (!isOperator && token) bad("automountServiceAccountToken", "must be false");
  const json podContext = pod.value("securityContext", json::object());
  const bool podNonRoot = podContext.value("runAsNonRoot", false);
  const std::string podSeccomp =
      podContext.value("seccompProfile", json::object()).value("type", "");
  static const std::set<std::string> kVolumeTypes = {
      "configMap", "secret", "emptyDir", "projected", "downwardAPI", "persistentVolumeClaim",
      "ephemeral", "csi"};
  for (const json& volume : pod.value("volumes", json::array())) {
    for (const auto& [key, value] : volume.items()) {
      if (key != "name" && !kVolumeTypes.contains(key)) {
        bad("volumes[" + volume.value("name", "") + "]." + key, "not a restricted volume type");
      }
    }
  }
  std::vector<json> containers;
  for (const char* list : {"initContainers", "containers"}) {
    for (const json& c : pod.value(list, json::array())) containers.push_back(c);
  }
  if (containers.empty()) bad("containers", "none");
  for (const json& c : containers) {
    const std::string at = "containers[" + c.value("name", "") + "].";
    const json sc = c.value("securityContext", json::object());
    if (!(sc.value("runAsNonRoot", podNonRoot))) bad(at + "runAsNonRoot", "must be true");
    for (const json* ctx : {&podContext, &sc}) {
      if (ctx->contains("runAsUser") && (*ctx)["runAsUser"] == 0) bad(at + "runAsUser", "root");
    }
    if (sc.value("allowPrivilegeEscalation", true)) {
      bad(at + "allowPrivilegeEscalation", "must be false");
    }
    if (sc.value("privileged", false)) bad(at + "privileged", "must not be true");
    if (!sc.value("readOnlyRootFilesystem", false)) {
      bad(at + "readOnlyRootFilesystem", "must be true");
    }
    const json caps = sc.value("capabilities", json::object());
    const json drop = caps.value("drop", json::array());
    if (std::find(drop.begin(), drop.end(), "ALL") == drop.end()) {
      bad(at + "capabilities.drop", "must contain ALL");
    }
    for (const json& add : caps.value("add", json::array())) {
      if (add != "NET_BIND_SERVICE") bad(at + "capabilities.add", add.dump() + " not allowed");
    }
    const std::string seccomp =
        sc.value("seccompProfile", json::object()).value("type", podSeccomp);
    if (seccomp != "RuntimeDefault" && seccomp != "Localhost") {
      bad(at + "seccompProfile", "must be RuntimeDefault or Localhost");
    }
    for (const char* kind : {"requests", "limits"}) {
      for (const char* resource : {"cpu", "memory"}) {
        const json::json_pointer p("/resources/" + std::string(kind) + "/" + resource);
        if (!c.contains(p)) bad(at + "resources." + kind + "." + resource, "missing");
      }
    }
    const std::string image = c.value("image", "");
    const auto slash = image.rfind('/');
    const std::string last = slash == std::string::npos ? image : image.substr(slash + 1);
    if (image.find('@') == std::string::npos && last.find(':') == std::string::npos) {
      bad(at + "image", "\"" + image + "\" has no tag or digest");
    }
    if (image.ends_with(":latest")) bad(at + "image", "\"" + image + "\" uses :latest");
  }
  return out;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += "\n  " + line;
  return out;
}

std::vector<json> generated(json object) {
  object["metadata"]["uid"] = "uid";
  auto va = api::parseVirtualAssistant(object);
  EXPECT_TRUE(va.ok()) << (va.ok() ? "" : va.error().message());
  if (!va.ok()) return {};
  ReferencedData data;
  return desiredChildren(*va, OperatorConfig{}, data).objects;
}

TEST(PodPolicy, EveryGeneratedPodTemplatePasses) {
  std::vector<PodSpec> pods;
  for (const std::string name : {"minimal", "concierge"}) {
    for (const json& doc : yamlFile(sourceDir() + "/examples/" + name + ".yaml")) {
      if (doc.value("kind", "") != "VirtualAssistant") continue;
      for (auto& pod : podSpecs(generated(doc), name)) pods.push_back(std::move(pod));
    }
  }
  // 8 Deployments each, plus concierge's consolidation CronJob.
  EXPECT_EQ(pods.size(), 17U);
  for (const PodSpec& pod : pods) {
    EXPECT_EQ(violations(pod.spec, false), std::vector<std::string>{})
        << pod.where << joined(violations(pod.spec, false));
  }
}

TEST(PodPolicy, EveryPodTemplateUnderConfigPasses) {
  int checked = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(sourceDir() + "/config")) {
    if (entry.path().extension() != ".yaml") continue;
    for (const PodSpec& pod : podSpecs(yamlFile(entry.path().string()), entry.path().string())) {
      ++checked;
      // The operator's own pod needs its ServiceAccount token to reach the API server.
      EXPECT_EQ(violations(pod.spec, true), std::vector<std::string>{})
          << pod.where << joined(violations(pod.spec, true));
      EXPECT_NE(pod.spec.value("automountServiceAccountToken", true), false) << pod.where;
    }
  }
  EXPECT_GE(checked, 1) << "no Pod template found under config/";
}

TEST(PodPolicy, CatchesEachKindOfViolation) {
  const std::vector<json> children = generated(json{{"apiVersion", "virtualassistant.dev/v1alpha1"},
                                                    {"kind", "VirtualAssistant"},
                                                    {"metadata", {{"name", "p"}}},
                                                    {"spec", json::object()}});
  const auto pods = podSpecs(children, "p");
  ASSERT_FALSE(pods.empty());
  const json good = pods.front().spec;
  ASSERT_TRUE(violations(good, false).empty());
  const auto expectCaught = [&](const char* what, const std::function<void(json&)>& mutate,
                                const std::string& field) {
    json pod = good;
    mutate(pod);
    const auto found = violations(pod, false);
    EXPECT_TRUE(
        std::any_of(found.begin(), found.end(),
                    [&](const std::string& v) { return v.find(field) != std::string::npos; }))
        << what << ": " << joined(found);
  };
  const auto c0 = [](json& pod) -> json& { return pod["containers"][0]; };
  expectCaught(
      "writable root", [&](json& p) { c0(p)["securityContext"]["readOnlyRootFilesystem"] = false; },
      "readOnlyRootFilesystem");
  expectCaught(
      "escalation", [&](json& p) { c0(p)["securityContext"].erase("allowPrivilegeEscalation"); },
      "allowPrivilegeEscalation");
  expectCaught(
      "caps", [&](json& p) { c0(p)["securityContext"]["capabilities"]["drop"] = json::array(); },
      "capabilities.drop");
  expectCaught(
      "root", [&](json& p) { p["securityContext"]["runAsUser"] = 0; }, "runAsUser");
  expectCaught(
      "no limits", [&](json& p) { c0(p)["resources"].erase("limits"); }, "resources.limits.cpu");
  expectCaught(
      "latest", [&](json& p) { c0(p)["image"] = "va.local/x:latest"; }, "uses :latest");
  expectCaught(
      "untagged", [&](json& p) { c0(p)["image"] = "registry:5000/x"; }, "no tag");
  expectCaught(
      "token", [&](json& p) { p["automountServiceAccountToken"] = true; },
      "automountServiceAccountToken");
  expectCaught(
      "hostPath",
      [&](json& p) {
        p["volumes"].push_back({{"name", "h"}, {"hostPath", {{"path", "/"}}}});
      },
      "volumes[h].hostPath");
  expectCaught(
      "hostNetwork", [&](json& p) { p["hostNetwork"] = true; }, "hostNetwork");
  expectCaught(
      "seccomp",
      [&](json& p) {
        p["securityContext"].erase("seccompProfile");
        c0(p)["securityContext"].erase("seccompProfile");
      },
      "seccompProfile");
}

}  // namespace
}  // namespace va::specs
