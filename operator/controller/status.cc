#include "operator/controller/status.h"

#include "operator/specs/meta.h"
#include "operator/specs/service.h"

namespace va::controller {

using nlohmann::json;

namespace {

std::int64_t intAt(const json& object, const json::json_pointer& pointer, std::int64_t fallback) {
  if (!object.contains(pointer)) return fallback;
  const json& value = object.at(pointer);
  return value.is_number_integer() ? value.get<std::int64_t>() : fallback;
}

bool conditionTrue(const json& object, std::string_view type) {
  const auto status = object.find("status");
  if (status == object.end()) return false;
  const json* c = findCondition(*status, type);
  return c != nullptr && c->value("status", "") == "True";
}

json condition(const std::string& type, bool status, const std::string& reason,
               const std::string& message, std::int64_t generation, const json& oldStatus,
               const std::string& now) {
  const std::string value = status ? "True" : "False";
  std::string since = now;
  if (const json* old = findCondition(oldStatus, type);
      old != nullptr && old->value("status", "") == value) {
    since = old->value("lastTransitionTime", now);
  }
  return {{"type", type},
          {"status", value},
          {"observedGeneration", generation},
          {"lastTransitionTime", since},
          {"reason", reason},
          {"message", message}};
}

std::string joinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

}  // namespace

const json* findCondition(const json& status, std::string_view type) {
  if (!status.is_object()) return nullptr;
  const auto it = status.find("conditions");
  if (it == status.end() || !it->is_array()) return nullptr;
  for (const json& c : *it) {
    if (c.is_object() && c.value("type", "") == type) return &c;
  }
  return nullptr;
}

bool deploymentAvailable(const json& deployment) {
  const std::int64_t generation = intAt(deployment, "/metadata/generation"_json_pointer, 0);
  const std::int64_t observed = intAt(deployment, "/status/observedGeneration"_json_pointer, -1);
  if (observed < generation) return false;
  const std::int64_t desired = intAt(deployment, "/spec/replicas"_json_pointer, 1);
  if (intAt(deployment, "/status/updatedReplicas"_json_pointer, 0) < desired) return false;
  if (intAt(deployment, "/status/availableReplicas"_json_pointer, 0) < desired) return false;
  // Old pods still terminating or surging: the rollout is not finished.
  if (intAt(deployment, "/status/replicas"_json_pointer, 0) > desired) return false;
  return conditionTrue(deployment, "Available");
}

ComponentState componentState(std::string name, const json* deployment) {
  ComponentState state;
  state.name = std::move(name);
  if (deployment == nullptr) return state;
  state.readyReplicas =
      static_cast<std::int32_t>(intAt(*deployment, "/status/readyReplicas"_json_pointer, 0));
  state.desiredReplicas =
      static_cast<std::int32_t>(intAt(*deployment, "/spec/replicas"_json_pointer, 1));
  const json::json_pointer image("/spec/template/spec/containers/0/image");
  if (deployment->contains(image) && deployment->at(image).is_string()) {
    state.image = deployment->at(image).get<std::string>();
  }
  state.available = deploymentAvailable(*deployment);
  return state;
}

std::string endpointFor(const api::VirtualAssistant& va, const json* service) {
  const auto& ingress = va.spec.exposure.ingress;
  if (ingress.enabled) {
    const std::string scheme = ingress.tlsSecretName ? "https" : "http";
    if (ingress.host) return scheme + "://" + *ingress.host + ingress.path;
    return "";  // no host: the ingress controller's address, which this operator does not read
  }
  const std::string name = specs::externalServiceName(va);
  const auto port = std::to_string(va.spec.exposure.service.port);
  if (va.spec.exposure.service.type == "LoadBalancer") {
    if (service == nullptr) return "";
    const json::json_pointer lb("/status/loadBalancer/ingress/0");
    if (!service->contains(lb)) return "";
    const json& entry = service->at(lb);
    const std::string host = entry.value("hostname", entry.value("ip", ""));
    return host.empty() ? "" : "http://" + host + ":" + port;
  }
  return "http://" + name + "." + va.metadata.namespace_ + ".svc:" + port;
}

json buildStatus(const StatusInput& input, const json& oldStatus, const std::string& now) {
  const std::int64_t gen = input.generation;
  json conditions = json::array();

  std::vector<std::string> notReady;
  int ready = 0;
  json components = json::array();
  for (const auto& c : input.components) {
    if (c.available) {
      ++ready;
    } else {
      notReady.push_back(c.name);
    }
    json entry = {{"name", c.name},
                  {"readyReplicas", c.readyReplicas},
                  {"desiredReplicas", c.desiredReplicas}};
    if (!c.image.empty()) entry["image"] = c.image;
    components.push_back(std::move(entry));
  }
  const int total = static_cast<int>(input.components.size());
  const bool allReady = total > 0 && ready == total;

  // Ready: every component available (a stalled VA is not ready, whatever still runs).
  if (input.stalled) {
    conditions.push_back(condition("Ready", false, input.stalled->reason, input.stalled->message,
                                   gen, oldStatus, now));
  } else if (allReady) {
    conditions.push_back(
        condition("Ready", true, "AllComponentsReady",
                  std::to_string(ready) + "/" + std::to_string(total) + " components are available",
                  gen, oldStatus, now));
  } else {
    conditions.push_back(condition("Ready", false, "ComponentsNotReady",
                                   "waiting for " + joinNames(notReady), gen, oldStatus, now));
  }

  // Reconciling: the operator is still making changes or waiting for them to take effect.
  if (input.stalled) {
    conditions.push_back(condition("Reconciling", false, input.stalled->reason,
                                   "stalled: " + input.stalled->message, gen, oldStatus, now));
  } else if (input.paused) {
    conditions.push_back(condition("Reconciling", false, "Paused",
                                   "changes are paused (spec.paused)", gen, oldStatus, now));
  } else if (input.retrying) {
    conditions.push_back(condition("Reconciling", true, input.retrying->reason,
                                   input.retrying->message, gen, oldStatus, now));
  } else if (input.wroteChildren || !allReady) {
    conditions.push_back(condition("Reconciling", true, "Progressing",
                                   input.wroteChildren ? "applying changes to the children"
                                                       : "waiting for " + joinNames(notReady),
                                   gen, oldStatus, now));
  } else {
    conditions.push_back(condition("Reconciling", false, "Reconciled",
                                   "every child matches the spec", gen, oldStatus, now));
  }

  // Stalled: progress needs a change from outside (a Secret created, the spec fixed).
  if (input.stalled) {
    conditions.push_back(condition("Stalled", true, input.stalled->reason, input.stalled->message,
                                   gen, oldStatus, now));
  } else {
    conditions.push_back(
        condition("Stalled", false, "NotStalled", "no blocking problem", gen, oldStatus, now));
  }

  if (input.paused) {
    conditions.push_back(condition("Paused", true, "Paused",
                                   "spec.paused is true: the operator changes no child", gen,
                                   oldStatus, now));
  }

  json status = {{"observedGeneration", gen}, {"conditions", std::move(conditions)}};
  if (total > 0) {
    status["components"] = std::move(components);
    status["readyComponents"] = ready;
    status["totalComponents"] = total;
    status["componentsReady"] = std::to_string(ready) + "/" + std::to_string(total);
  }
  if (!input.endpoint.empty()) status["endpoint"] = input.endpoint;
  return status;
}

}  // namespace va::controller
