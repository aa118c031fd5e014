// What every child shares: its name (<va>-<component>[-suffix]), namespace, the standard
// app.kubernetes.io labels, the owner reference to the VA, and the component images.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "operator/api/types.h"
#include "operator/specs/operator_config.h"

namespace va::specs {

// The consolidation CronJob's pods are labelled as their own workload so that no Service, PDB or
// HPA of long-term-mem selects them.
inline constexpr std::string_view kConsolidationName = "long-term-mem-consolidation";
inline constexpr std::string_view kConfigHashAnnotation = "virtualassistant.dev/config-hash";
// On every child: a hash of the rest of the object as the operator applies it. A child whose
// annotation matches and whose fields still hold the applied values needs no write; a changed
// intent (a field added or dropped) changes the hash.
inline constexpr std::string_view kIntentHashAnnotation = "virtualassistant.dev/intent-hash";

// Lower-case hex SHA-256 of `data`.
std::string sha256Hex(std::string_view data);
// The intent hash of `object` (without its own annotation): the first 16 hex digits of the
// SHA-256 of its canonical JSON (keys sorted).
std::string intentHash(const nlohmann::json& object);
// Sets kIntentHashAnnotation on `object` to intentHash(object).
void stampIntentHash(nlohmann::json& object);

std::string childName(const api::VirtualAssistant& va, std::string_view workload,
                      std::string_view suffix = "");
std::string serviceUrl(const api::VirtualAssistant& va, api::Component component,
                       const OperatorConfig& config);

// The full image reference of a component.
std::string componentImage(const api::VirtualAssistant& va, api::Component component,
                           const OperatorConfig& config);
// The value of app.kubernetes.io/version: the image tag, cut to a valid label value.
std::string versionLabel(const api::VirtualAssistant& va, const OperatorConfig& config);

// app.kubernetes.io/{name,instance,component,part-of,managed-by,version}.
nlohmann::json labels(const api::VirtualAssistant& va, std::string_view workload,
                      const OperatorConfig& config);
// The stable subset used in selectors: app.kubernetes.io/{name,instance}.
nlohmann::json selectorLabels(const api::VirtualAssistant& va, std::string_view workload);
// app.kubernetes.io/{instance,part-of}: every pod of this VA.
nlohmann::json instanceSelector(const api::VirtualAssistant& va);

// metadata with name, namespace, labels and the controller owner reference to the VA.
nlohmann::json objectMeta(const api::VirtualAssistant& va, std::string name,
                          std::string_view workload, const OperatorConfig& config);
nlohmann::json ownerReference(const api::VirtualAssistant& va);

// A Kubernetes object skeleton: apiVersion, kind, metadata.
nlohmann::json object(std::string_view apiVersion, std::string_view kind, nlohmann::json metadata);

nlohmann::json intOrString(const api::IntOrString& value);

}  // namespace va::specs
