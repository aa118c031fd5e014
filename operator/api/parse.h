// Parse a VirtualAssistant from JSON (as read from the API server, or converted from YAML for
// `va-operator render`) into the plain types of types.h:
//   auto va = parseVirtualAssistant(object);
//   if (!va) log(va.error().message());  // "spec.exposure.ingress.tlsSecretName: requires ..."
// Parsing validates against the embedded CRD schema and applies its defaults (a no-op for objects
// the API server already defaulted), then checks the CEL cross-field rules (rules.h).
#pragma once

#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "operator/api/types.h"
#include "operator/kube/result.h"

namespace va::api {

kube::Result<VirtualAssistant> parseVirtualAssistant(const nlohmann::json& object);

// Every spec field path the C++ types read, e.g. "spec.components.inputProcessor.replicas";
// list items appear as "spec.image.pullSecrets[].name". Compared with the CRD schema in tests.
std::set<std::string> knownSpecFields();

}  // namespace va::api
