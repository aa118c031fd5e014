#include "operator/api/parse.h"

#include <regex>

#include "operator/api/crd_schema.h"
#include "operator/api/defaults.h"
#include "operator/api/field_reader.h"
#include "operator/api/rules.h"
#include "operator/api/schema.h"

namespace va::api {
namespace {

using kube::Error;
using kube::Result;
using nlohmann::json;

SecretKeyRef secretKeyRef(const FieldReader& r) { return {r.str("name"), r.str("key")}; }

std::optional<SecretKeyRef> optSecretKeyRef(const FieldReader& r) {
  SecretKeyRef ref = secretKeyRef(r);
  if (!r.present()) return std::nullopt;
  return ref;
}

IntOrString quantity(const FieldReader& r, std::string_view key) {
  return r.optIntOrString(key).value_or(IntOrString(std::string()));
}

Resources readResources(const FieldReader& r) {
  const auto list = [](const FieldReader& l) {
    return ResourceList{quantity(l, "cpu"), quantity(l, "memory")};
  };
  return {list(r.at("requests")), list(r.at("limits"))};
}

Autoscaling readAutoscaling(const FieldReader& r) {
  Autoscaling a;
  a.enabled = r.boolean("enabled", false);
  a.minReplicas = r.int32("minReplicas", a.minReplicas);
  a.maxReplicas = r.int32("maxReplicas", a.maxReplicas);
  a.targetCPUUtilizationPercentage =
      r.int32("targetCPUUtilizationPercentage", a.targetCPUUtilizationPercentage);
  if (auto memory = r.optInt("targetMemoryUtilizationPercentage")) {
    a.targetMemoryUtilizationPercentage = static_cast<std::int32_t>(*memory);
  }
  const FieldReader metric = r.at("customMetric");
  CustomMetric custom{metric.str("name"), quantity(metric, "targetAverageValue")};
  if (metric.present()) a.customMetric = std::move(custom);
  return a;
}

Toleration readToleration(const FieldReader& r) {
  Toleration t;
  t.key = r.str("key");
  t.op = r.str("operator");
  t.value = r.str("value");
  t.effect = r.str("effect");
  t.tolerationSeconds = r.optInt("tolerationSeconds");
  return t;
}

ComponentSpec readComponent(const FieldReader& r, Component component) {
  ComponentSpec c;
  if (auto replicas = r.optInt("replicas")) c.replicas = static_cast<std::int32_t>(*replicas);
  c.image = r.optStr("image");
  c.resources = readResources(r.at("resources"));
  c.autoscaling = readAutoscaling(r.at("autoscaling"));
  const FieldReader pdb = r.at("podDisruptionBudget");
  c.podDisruptionBudget.enabled = pdb.boolean("enabled", false);
  c.podDisruptionBudget.minAvailable = pdb.optIntOrString("minAvailable");
  c.podDisruptionBudget.maxUnavailable = pdb.optIntOrString("maxUnavailable");
  c.nodeSelector = r.stringMap("nodeSelector");
  c.tolerations = r.list("tolerations", readToleration);
  const FieldReader spread = r.at("topologySpread");
  c.topologySpread.enabled = spread.boolean("enabled", true);
  c.topologySpread.topologyKey = spread.str("topologyKey");
  c.topologySpread.maxSkew = spread.int32("maxSkew", c.topologySpread.maxSkew);
  c.topologySpread.whenUnsatisfiable = spread.str("whenUnsatisfiable");
  c.env = r.list("env", [](const FieldReader& e) { return EnvVar{e.str("name"), e.str("value")}; });
  c.logLevel = r.optStr("logLevel");
  if (component == Component::kLongTermMem) {
    const FieldReader job = r.at("consolidation");
    Consolidation& out = c.consolidation;
    out.enabled = job.boolean("enabled", out.enabled);
    out.schedule = job.str("schedule");
    out.suspend = job.boolean("suspend", false);
    out.successfulJobsHistoryLimit =
        job.int32("successfulJobsHistoryLimit", out.successfulJobsHistoryLimit);
    out.failedJobsHistoryLimit = job.int32("failedJobsHistoryLimit", out.failedJobsHistoryLimit);
  }
  return c;
}

PeerSelector readPeer(const FieldReader& r) {
  PeerSelector peer;
  const FieldReader ns = r.at("namespaceSelector");
  StringMap nsLabels = ns.stringMap("matchLabels");
  if (ns.present()) peer.namespaceSelector = std::move(nsLabels);
  const FieldReader pod = r.at("podSelector");
  StringMap podLabels = pod.stringMap("matchLabels");
  if (pod.present()) peer.podSelector = std::move(podLabels);
  return peer;
}

VirtualAssistantSpec readSpec(const FieldReader& r) {
  VirtualAssistantSpec spec;
  spec.paused = r.boolean("paused", false);

  const FieldReader image = r.at("image");
  spec.image.registry = image.optStr("registry");
  spec.image.tag = image.optStr("tag");
  spec.image.pullPolicy = image.str("pullPolicy");
  spec.image.pullSecrets =
      image.list("pullSecrets", [](const FieldReader& s) { return s.str("name"); });

  const FieldReader components = r.at("components");
  for (const Component component : kAllComponents) {
    spec.components.at(componentIndex(component)) =
        readComponent(components.at(componentSpecKey(component)), component);
  }

  const FieldReader service = r.at("exposure").at("service");
  spec.exposure.service.type = service.str("type");
  spec.exposure.service.port = service.int32("port", spec.exposure.service.port);
  const FieldReader ingress = r.at("exposure").at("ingress");
  IngressSpec& in = spec.exposure.ingress;
  in.enabled = ingress.boolean("enabled", false);
  in.className = ingress.optStr("className");
  in.host = ingress.optStr("host");
  in.path = ingress.str("path");
  in.tlsSecretName = ingress.optStr("tlsSecretName");
  in.annotations = ingress.stringMap("annotations");

  spec.stores.redisUrl = optSecretKeyRef(r.at("stores").at("redis").at("urlSecretRef"));
  spec.stores.postgresDsn = optSecretKeyRef(r.at("stores").at("postgres").at("dsnSecretRef"));

  const FieldReader model = r.at("languageModel");
  spec.languageModel.provider = model.str("provider");
  spec.languageModel.endpoint = model.optStr("endpoint");
  spec.languageModel.model = model.optStr("model");
  spec.languageModel.apiKeySecretRef = optSecretKeyRef(model.at("apiKeySecretRef"));
  spec.languageModel.timeoutSeconds =
      model.int32("timeoutSeconds", spec.languageModel.timeoutSeconds);

  const FieldReader assistant = r.at("assistant").at("configMapRef");
  ConfigMapKeyRef assistantRef{assistant.str("name"), assistant.str("key")};
  if (assistant.present()) spec.assistant = std::move(assistantRef);
  spec.webhookSigningKey = optSecretKeyRef(r.at("webhooks").at("signingSecretRef"));
  spec.apiKeys = optSecretKeyRef(r.at("authentication").at("apiKeysSecretRef"));

  const FieldReader obs = r.at("observability");
  spec.observability.serviceMonitor = obs.at("metrics").boolean("serviceMonitor", false);
  spec.observability.otlpEndpoint = obs.at("tracing").optStr("otlpEndpoint");
  spec.observability.logFormat = obs.str("logFormat");
  spec.observability.logLevel = obs.str("logLevel");

  const FieldReader policy = r.at("networkPolicy");
  spec.networkPolicy.enabled = policy.boolean("enabled", true);
  spec.networkPolicy.ingressFrom = policy.list("ingressFrom", readPeer);
  return spec;
}

Result<ObjectMeta> readMetadata(const json& object) {
  if (object.value("apiVersion", "") != kApiVersion) {
    return Error("apiVersion: must be " + std::string(kApiVersion));
  }
  if (object.value("kind", "") != kKind) return Error("kind: must be " + std::string(kKind));
  if (!object.contains("metadata") || !object["metadata"].is_object()) {
    return Error("metadata: required value");
  }
  const FieldReader r(&object["metadata"], "metadata", nullptr);
  ObjectMeta meta;
  meta.name = r.str("name");
  static const std::regex kDns1035("^[a-z]([-a-z0-9]*[a-z0-9])?$");
  if (meta.name.empty()) return Error("metadata.name: required value");
  if (!std::regex_match(meta.name, kDns1035)) {
    return Error("metadata.name: invalid value \"" + meta.name +
                 "\": must be a DNS-1035 label (lower case letters, digits and '-')");
  }
  meta.namespace_ = r.str("namespace", std::string(kDefaultNamespace));
  meta.uid = r.str("uid");
  meta.generation = r.optInt("generation").value_or(0);
  meta.labels = r.stringMap("labels");
  meta.annotations = r.stringMap("annotations");
  return meta;
}

}  // namespace

Result<VirtualAssistant> parseVirtualAssistant(const json& object) {
  if (!object.is_object()) return Error("a VirtualAssistant must be a JSON object");
  auto metadata = readMetadata(object);
  if (!metadata) return metadata.error();

  json spec = object.contains("spec") ? object["spec"] : json::object();
  if (spec.is_null()) spec = json::object();
  if (auto status = applySchema(spec, openApiSchema()["properties"]["spec"], "spec"); !status) {
    return status.error();
  }
  VirtualAssistant va;
  va.metadata = std::move(*metadata);
  va.spec = readSpec(FieldReader(&spec, "spec", nullptr));
  if (auto status = checkCrossFieldRules(va); !status) return status.error();
  return va;
}

std::set<std::string> knownSpecFields() {
  std::set<std::string> visited;
  const json empty = json::object();
  (void)readSpec(FieldReader(&empty, "spec", &visited));
  return visited;
}

}  // namespace va::api
