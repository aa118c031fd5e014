// The few defaults the CRD schema cannot express; every other default is a `default:` in
// crds/virtualassistant.dev_virtualassistants.yaml and is applied from there (schema.h).
#pragma once

#include <cstdint>
#include <string_view>

namespace va::api {

// spec.components.*.replicas: no schema default, because a default would collide with the rule
// that replicas is unset when autoscaling is enabled.
inline constexpr std::int32_t kDefaultReplicas = 1;
// spec.components.*.podDisruptionBudget: minAvailable and maxUnavailable are a one-of, which a
// schema default cannot express; with neither set the PDB allows one pod down at a time.
inline constexpr std::int32_t kDefaultPdbMaxUnavailable = 1;
// metadata.namespace of a VA rendered offline without one (kubectl would use its context's).
inline constexpr std::string_view kDefaultNamespace = "default";
// spec.image.registry and spec.image.tag default to the operator's configuration
// (specs::OperatorConfig), so that one operator release pins one set of images.

}  // namespace va::api
