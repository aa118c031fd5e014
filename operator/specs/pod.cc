#include "operator/specs/pod.h"

#include <array>

#include "operator/specs/config_map.h"
#include "operator/specs/message_flow.h"
#include "operator/specs/meta.h"

namespace va::specs {
namespace {

using api::Component;
using nlohmann::json;

constexpr std::string_view kSecretRoot = "/var/run/secrets/va/";
constexpr std::string_view kConfigDir = "/etc/va/config";
constexpr int kSecretFileMode = 0440;

bool usesPostgres(Component component, PodRole role) {
  return role == PodRole::kConsolidation || component == Component::kLongTermMem ||
         component == Component::kConversationLog;
}

bool readsAssistant(Component component) {
  return component == Component::kPrefrontalCortex || component == Component::kLanguageCenter ||
         component == Component::kActionExecutor;
}

MountedRef secretRef(const std::string& name, const api::SecretKeyRef& ref, std::string file,
                     std::string envVar) {
  return {MountedRef::Kind::kSecret,       "secret-" + name, ref.name,         ref.key,
          std::string(kSecretRoot) + name, std::move(file),  std::move(envVar)};
}

std::string workloadName(Component component, PodRole role) {
  return std::string(role == PodRole::kConsolidation ? kConsolidationName
                                                     : api::componentName(component));
}

json securityContext() {
  return {{"allowPrivilegeEscalation", false},
          {"capabilities", {{"drop", json::array({"ALL"})}}},
          {"readOnlyRootFilesystem", true},
          {"runAsNonRoot", true},
          {"seccompProfile", {{"type", "RuntimeDefault"}}}};
}

json podSecurityContext(const OperatorConfig& config) {
  return {{"runAsNonRoot", true},
          {"runAsUser", config.runAsUser},
          {"runAsGroup", config.runAsUser},
          {"fsGroup", config.runAsUser},
          {"seccompProfile", {{"type", "RuntimeDefault"}}}};
}

void setEnv(json& env, const std::string& name, const std::string& value) {
  for (auto& entry : env) {
    if (entry["name"] == name) {
      entry["value"] = value;  // a user variable overrides the operator's of the same name
      return;
    }
  }
  env.push_back({{"name", name}, {"value", value}});
}

json environment(const api::VirtualAssistant& va, Component component, PodRole role,
                 const OperatorConfig& config) {
  const api::ComponentSpec& spec = va.spec.component(component);
  const api::Observability& obs = va.spec.observability;
  json env = json::array();
  setEnv(env, "VA_NAME", va.metadata.name);
  setEnv(env, "VA_NAMESPACE", va.metadata.namespace_);
  setEnv(env, "VA_COMPONENT", std::string(api::componentName(component)));
  setEnv(env, "VA_CONFIG_FILE", std::string(kConfigDir) + "/" + std::string(kConfigFileKey));
  setEnv(env, "VA_PORT", std::to_string(config.componentPort));
  setEnv(env, "VA_LOG_LEVEL", spec.logLevel.value_or(obs.logLevel));
  setEnv(env, "VA_LOG_FORMAT", obs.logFormat);
  if (obs.otlpEndpoint) {
    setEnv(env, "OTEL_EXPORTER_OTLP_ENDPOINT", *obs.otlpEndpoint);
    setEnv(env, "OTEL_SERVICE_NAME", workloadName(component, role));
  }
  if (role == PodRole::kServer) {
    for (const FlowEdge& edge : kMessageFlow) {
      if (edge.from != component) continue;
      setEnv(env, std::string(api::componentEnvPrefix(edge.to)) + "_URL",
             serviceUrl(va, edge.to, config));
    }
  }
  if (component == Component::kLanguageCenter) {
    const api::LanguageModel& model = va.spec.languageModel;
    setEnv(env, "LLM_PROVIDER", model.provider);
    setEnv(env, "LLM_TIMEOUT_SECONDS", std::to_string(model.timeoutSeconds));
    if (model.endpoint) setEnv(env, "LLM_ENDPOINT", *model.endpoint);
    if (model.model) setEnv(env, "LLM_MODEL", *model.model);
  }
  for (const MountedRef& ref : mountedRefs(va, component, role)) {
    setEnv(env, ref.envVar, ref.dir + "/" + ref.file);
  }
  for (const api::EnvVar& var : spec.env) setEnv(env, var.name, var.value);
  return env;
}

json volumesAndMounts(const api::VirtualAssistant& va, Component component, PodRole role,
                      json& mounts) {
  json volumes = json::array();
  volumes.push_back({{"name", "tmp"}, {"emptyDir", {{"sizeLimit", "64Mi"}}}});
  mounts.push_back({{"name", "tmp"}, {"mountPath", "/tmp"}});
  volumes.push_back(
      {{"name", "config"},
       {"configMap", {{"name", childName(va, api::componentName(component), "config")}}}});
  mounts.push_back({{"name", "config"}, {"mountPath", kConfigDir}, {"readOnly", true}});
  for (const MountedRef& ref : mountedRefs(va, component, role)) {
    const json items = json::array({{{"key", ref.key}, {"path", ref.file}}});
    if (ref.kind == MountedRef::Kind::kSecret) {
      volumes.push_back(
          {{"name", ref.volume},
           {"secret",
            {{"secretName", ref.object}, {"items", items}, {"defaultMode", kSecretFileMode}}}});
    } else {
      volumes.push_back(
          {{"name", ref.volume}, {"configMap", {{"name", ref.object}, {"items", items}}}});
    }
    mounts.push_back({{"name", ref.volume}, {"mountPath", ref.dir}, {"readOnly", true}});
  }
  return volumes;
}

json resources(const api::Resources& r) {
  return {
      {"requests",
       {{"cpu", intOrString(r.requests.cpu)}, {"memory", intOrString(r.requests.memory)}}},
      {"limits", {{"cpu", intOrString(r.limits.cpu)}, {"memory", intOrString(r.limits.memory)}}}};
}

json probe(std::string_view path, int periodSeconds, int failureThreshold) {
  return {{"httpGet", {{"path", path}, {"port", "http"}}},
          {"periodSeconds", periodSeconds},
          {"timeoutSeconds", 2},
          {"failureThreshold", failureThreshold}};
}

json container(const api::VirtualAssistant& va, Component component, PodRole role,
               const OperatorConfig& config, json mounts) {
  json c = {{"name", workloadName(component, role)},
            {"image", componentImage(va, component, config)},
            {"imagePullPolicy", va.spec.image.pullPolicy},
            {"env", environment(va, component, role, config)},
            {"resources", resources(va.spec.component(component).resources)},
            {"securityContext", securityContext()},
            {"volumeMounts", std::move(mounts)}};
  if (role == PodRole::kConsolidation) {
    c["args"] = json::array({"consolidate"});
    return c;
  }
  c["ports"] = json::array(
      {{{"name", "http"}, {"containerPort", config.componentPort}, {"protocol", "TCP"}}});
  c["readinessProbe"] = probe("/readyz", 5, 3);
  c["livenessProbe"] = probe("/healthz", 10, 3);
  c["startupProbe"] = probe("/healthz", 2, 30);
  return c;
}

json tolerations(const std::vector<api::Toleration>& list) {
  json out = json::array();
  for (const api::Toleration& t : list) {
    json item = {{"operator", t.op}};
    if (!t.key.empty()) item["key"] = t.key;
    if (!t.value.empty()) item["value"] = t.value;
    if (!t.effect.empty()) item["effect"] = t.effect;
    if (t.tolerationSeconds) item["tolerationSeconds"] = *t.tolerationSeconds;
    out.push_back(std::move(item));
  }
  return out;
}

}  // namespace

std::vector<MountedRef> mountedRefs(const api::VirtualAssistant& va, Component component,
                                    PodRole role) {
  std::vector<MountedRef> refs;
  const api::Stores& stores = va.spec.stores;
  if (role == PodRole::kServer && component == Component::kShortTermMem && stores.redisUrl) {
    refs.push_back(secretRef("redis", *stores.redisUrl, "url", "REDIS_URL_FILE"));
  }
  if (usesPostgres(component, role) && stores.postgresDsn) {
    refs.push_back(secretRef("postgres", *stores.postgresDsn, "dsn", "POSTGRES_DSN_FILE"));
  }
  const api::LanguageModel& model = va.spec.languageModel;
  if (role == PodRole::kServer && component == Component::kLanguageCenter &&
      model.apiKeySecretRef) {
    refs.push_back(secretRef("openai", *model.apiKeySecretRef, "api-key", "LLM_API_KEY_FILE"));
  }
  if (role == PodRole::kServer && component == Component::kOutputManager &&
      va.spec.webhookSigningKey) {
    refs.push_back(secretRef("webhook", *va.spec.webhookSigningKey, "signing-secret",
                             "WEBHOOK_SIGNING_SECRET_FILE"));
  }
  if (role == PodRole::kServer && component == Component::kInputProcessor && va.spec.apiKeys) {
    refs.push_back(secretRef("api-keys", *va.spec.apiKeys, "api-keys", "API_KEYS_FILE"));
  }
  if (role == PodRole::kServer && readsAssistant(component) && va.spec.assistant) {
    refs.push_back({MountedRef::Kind::kConfigMap, "assistant", va.spec.assistant->name,
                    va.spec.assistant->key, "/etc/va/assistant", "assistant.yaml",
                    "ASSISTANT_FILE"});
  }
  return refs;
}

std::string configHash(const api::VirtualAssistant& va, Component component, PodRole role,
                       const OperatorConfig& config, const ReferencedData& referenced) {
  std::string input = componentConfigData(va, component, config).dump();
  for (const MountedRef& ref : mountedRefs(va, component, role)) {
    const auto& versions = ref.kind == MountedRef::Kind::kSecret ? referenced.secretVersions
                                                                 : referenced.configMapVersions;
    const auto it = versions.find(ref.object);
    input += "\n" + std::string(ref.kind == MountedRef::Kind::kSecret ? "secret/" : "configmap/") +
             ref.object + "=" + (it == versions.end() ? "" : it->second);
  }
  return sha256Hex(input);
}

json podTemplate(const api::VirtualAssistant& va, Component component, PodRole role,
                 const OperatorConfig& config, const ReferencedData& referenced) {
  const api::ComponentSpec& spec = va.spec.component(component);
  const std::string workload = workloadName(component, role);
  json mounts = json::array();
  json volumes = volumesAndMounts(va, component, role, mounts);
  json pod = {
      {"serviceAccountName", childName(va, api::componentName(component))},
      {"automountServiceAccountToken", false},
      {"enableServiceLinks", false},
      {"securityContext", podSecurityContext(config)},
      {"containers", json::array({container(va, component, role, config, std::move(mounts))})},
      {"volumes", std::move(volumes)}};
  if (role == PodRole::kConsolidation) pod["restartPolicy"] = "Never";
  if (!va.spec.image.pullSecrets.empty()) {
    json secrets = json::array();
    for (const auto& name : va.spec.image.pullSecrets) secrets.push_back({{"name", name}});
    pod["imagePullSecrets"] = std::move(secrets);
  }
  if (!spec.nodeSelector.empty()) pod["nodeSelector"] = spec.nodeSelector;
  if (!spec.tolerations.empty()) pod["tolerations"] = tolerations(spec.tolerations);
  if (role == PodRole::kServer && spec.topologySpread.enabled) {
    pod["topologySpreadConstraints"] =
        json::array({{{"maxSkew", spec.topologySpread.maxSkew},
                      {"topologyKey", spec.topologySpread.topologyKey},
                      {"whenUnsatisfiable", spec.topologySpread.whenUnsatisfiable},
                      {"labelSelector", {{"matchLabels", selectorLabels(va, workload)}}}}});
  }
  return {{"metadata",
           {{"labels", labels(va, workload, config)},
            {"annotations",
             {{kConfigHashAnnotation, configHash(va, component, role, config, referenced)}}}}},
          {"spec", std::move(pod)}};
}

}  // namespace va::specs
