// The VirtualAssistant custom resource as plain C++ values, mirroring
// crds/virtualassistant.dev_virtualassistants.yaml field for field (a unit test keeps them in
// step). Build one with parseVirtualAssistant() (operator/api/parse.h); the values are validated
// and defaulted.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "operator/api/component.h"

namespace va::api {

inline constexpr std::string_view kGroup = "virtualassistant.dev";
inline constexpr std::string_view kVersion = "v1alpha1";
inline constexpr std::string_view kApiVersion = "virtualassistant.dev/v1alpha1";
inline constexpr std::string_view kKind = "VirtualAssistant";

using StringMap = std::map<std::string, std::string>;
// An int-or-string value: a count or a percentage ("50%") or a quantity ("100m").
using IntOrString = std::variant<std::int64_t, std::string>;

struct SecretKeyRef {
  std::string name;
  std::string key;
};

struct ConfigMapKeyRef {
  std::string name;
  std::string key;
};

struct ResourceList {
  IntOrString cpu;
  IntOrString memory;
};

struct Resources {
  ResourceList requests;
  ResourceList limits;
};

struct CustomMetric {
  std::string name;
  IntOrString targetAverageValue;
};

struct Autoscaling {
  bool enabled = false;
  std::int32_t minReplicas = 1;
  std::int32_t maxReplicas = 3;
  std::int32_t targetCPUUtilizationPercentage = 80;
  std::optional<std::int32_t> targetMemoryUtilizationPercentage;
  std::optional<CustomMetric> customMetric;
};

struct PodDisruptionBudget {
  bool enabled = false;
  std::optional<IntOrString> minAvailable;
  std::optional<IntOrString> maxUnavailable;
};

struct Toleration {
  std::string key;
  std::string op;  // "operator" in the API
  std::string value;
  std::string effect;
  std::optional<std::int64_t> tolerationSeconds;
};

struct TopologySpread {
  bool enabled = true;
  std::string topologyKey;
  std::int32_t maxSkew = 1;
  std::string whenUnsatisfiable;
};

struct EnvVar {
  std::string name;
  std::string value;
};

// The long-term-mem consolidation CronJob; concurrencyPolicy is always Forbid.
struct Consolidation {
  bool enabled = true;
  std::string schedule;
  bool suspend = false;
  std::int32_t successfulJobsHistoryLimit = 3;
  std::int32_t failedJobsHistoryLimit = 1;
};

struct ComponentSpec {
  std::optional<std::int32_t> replicas;  // unset: 1, or the HPA's when autoscaling is enabled
  std::optional<std::string> image;      // a full image reference overriding spec.image
  Resources resources;
  Autoscaling autoscaling;
  PodDisruptionBudget podDisruptionBudget;
  StringMap nodeSelector;
  std::vector<Toleration> tolerations;
  TopologySpread topologySpread;
  std::vector<EnvVar> env;
  std::optional<std::string> logLevel;  // unset: spec.observability.logLevel
  Consolidation consolidation;          // read for longTermMem only
};

struct ImageSpec {
  std::optional<std::string> registry;  // unset: OperatorConfig's default
  std::optional<std::string> tag;       // unset: OperatorConfig's default
  std::string pullPolicy;
  std::vector<std::string> pullSecrets;
};

struct ServiceExposure {
  std::string type;
  std::int32_t port = 80;
};

struct IngressSpec {
  bool enabled = false;
  std::optional<std::string> className;
  std::optional<std::string> host;
  std::string path;
  std::optional<std::string> tlsSecretName;
  StringMap annotations;
};

struct Exposure {
  ServiceExposure service;
  IngressSpec ingress;
};

struct Stores {
  std::optional<SecretKeyRef> redisUrl;     // spec.stores.redis.urlSecretRef
  std::optional<SecretKeyRef> postgresDsn;  // spec.stores.postgres.dsnSecretRef
};

struct LanguageModel {
  std::string provider;
  std::optional<std::string> endpoint;
  std::optional<std::string> model;
  std::optional<SecretKeyRef> apiKeySecretRef;
  std::int32_t timeoutSeconds = 10;
};

struct Observability {
  bool serviceMonitor = false;
  std::optional<std::string> otlpEndpoint;
  std::string logFormat;
  std::string logLevel;
};

struct PeerSelector {
  std::optional<StringMap> namespaceSelector;  // matchLabels; unset matches all namespaces
  std::optional<StringMap> podSelector;        // matchLabels; unset matches all pods
};

struct NetworkPolicySpec {
  bool enabled = true;
  std::vector<PeerSelector> ingressFrom;
};

struct VirtualAssistantSpec {
  bool paused = false;
  ImageSpec image;
  std::array<ComponentSpec, kComponentCount> components;
  Exposure exposure;
  Stores stores;
  LanguageModel languageModel;
  std::optional<ConfigMapKeyRef> assistant;       // spec.assistant.configMapRef
  std::optional<SecretKeyRef> webhookSigningKey;  // spec.webhooks.signingSecretRef
  std::optional<SecretKeyRef> apiKeys;            // spec.authentication.apiKeysSecretRef
  Observability observability;
  NetworkPolicySpec networkPolicy;

  [[nodiscard]] const ComponentSpec& component(Component c) const {
    return components.at(componentIndex(c));
  }
};

struct ObjectMeta {
  std::string name;
  std::string namespace_;
  std::string uid;
  std::int64_t generation = 0;
  StringMap labels;
  StringMap annotations;
};

struct VirtualAssistant {
  ObjectMeta metadata;
  VirtualAssistantSpec spec;
};

}  // namespace va::api
