#include "operator/specs/meta.h"

#include <openssl/sha.h>

#include <array>
#include <cctype>
#include <cstdio>
#include <variant>

namespace va::specs {

using nlohmann::json;

std::string sha256Hex(std::string_view data) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest.data());
  std::string hex;
  hex.reserve(2 * digest.size());
  for (const unsigned char byte : digest) {
    std::array<char, 3> buf{};
    std::snprintf(buf.data(), buf.size(), "%02x", byte);
    hex += buf.data();
  }
  return hex;
}

std::string intentHash(const json& object) {
  json copy = object;
  if (json* meta = copy.contains("metadata") ? &copy["metadata"] : nullptr;
      meta != nullptr && meta->contains("annotations")) {
    json& annotations = (*meta)["annotations"];
    annotations.erase(std::string(kIntentHashAnnotation));
    if (annotations.empty()) meta->erase("annotations");
  }
  // json::dump orders object keys, so equal objects hash equally however they were built.
  return sha256Hex(copy.dump()).substr(0, 16);
}

void stampIntentHash(json& object) {
  const std::string hash = intentHash(object);
  object["metadata"]["annotations"][std::string(kIntentHashAnnotation)] = hash;
}

std::string childName(const api::VirtualAssistant& va, std::string_view workload,
                      std::string_view suffix) {
  std::string name = va.metadata.name + "-" + std::string(workload);
  if (!suffix.empty()) name += "-" + std::string(suffix);
  return name;
}

std::string serviceUrl(const api::VirtualAssistant& va, api::Component component,
                       const OperatorConfig& config) {
  return "http://" + childName(va, api::componentName(component)) + ":" +
         std::to_string(config.componentPort);
}

namespace {

std::string imageTag(const api::VirtualAssistant& va, const OperatorConfig& config) {
  return va.spec.image.tag.value_or(config.defaultTag);
}

}  // namespace

std::string componentImage(const api::VirtualAssistant& va, api::Component component,
                           const OperatorConfig& config) {
  if (const auto& override = va.spec.component(component).image) return *override;
  return va.spec.image.registry.value_or(config.defaultRegistry) + "/" +
         std::string(api::componentName(component)) + ":" + imageTag(va, config);
}

std::string versionLabel(const api::VirtualAssistant& va, const OperatorConfig& config) {
  std::string tag = imageTag(va, config).substr(0, 63);
  while (!tag.empty() && !std::isalnum(static_cast<unsigned char>(tag.back()))) tag.pop_back();
  return tag;
}

json labels(const api::VirtualAssistant& va, std::string_view workload,
            const OperatorConfig& config) {
  return {{"app.kubernetes.io/name", workload},
          {"app.kubernetes.io/instance", va.metadata.name},
          {"app.kubernetes.io/component", workload},
          {"app.kubernetes.io/part-of", "virtual-assistant"},
          {"app.kubernetes.io/managed-by", "va-operator"},
          {"app.kubernetes.io/version", versionLabel(va, config)}};
}

json selectorLabels(const api::VirtualAssistant& va, std::string_view workload) {
  return {{"app.kubernetes.io/name", workload}, {"app.kubernetes.io/instance", va.metadata.name}};
}

json instanceSelector(const api::VirtualAssistant& va) {
  return {{"app.kubernetes.io/instance", va.metadata.name},
          {"app.kubernetes.io/part-of", "virtual-assistant"}};
}

json ownerReference(const api::VirtualAssistant& va) {
  return {{"apiVersion", api::kApiVersion}, {"kind", api::kKind}, {"name", va.metadata.name},
          {"uid", va.metadata.uid},         {"controller", true}, {"blockOwnerDeletion", true}};
}

json objectMeta(const api::VirtualAssistant& va, std::string name, std::string_view workload,
                const OperatorConfig& config) {
  return {{"name", std::move(name)},
          {"namespace", va.metadata.namespace_},
          {"labels", labels(va, workload, config)},
          {"ownerReferences", json::array({ownerReference(va)})}};
}

json object(std::string_view apiVersion, std::string_view kind, json metadata) {
  return {{"apiVersion", apiVersion}, {"kind", kind}, {"metadata", std::move(metadata)}};
}

json intOrString(const api::IntOrString& value) {
  return std::visit([](const auto& v) { return json(v); }, value);
}

}  // namespace va::specs
