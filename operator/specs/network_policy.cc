#include "operator/specs/network_policy.h"

#include <charconv>
#include <optional>

#include "operator/specs/cron_job.h"
#include "operator/specs/message_flow.h"
#include "operator/specs/meta.h"
#include "operator/specs/service_monitor.h"

namespace va::specs {

using api::Component;
using nlohmann::json;

namespace {

json port(std::int32_t number, std::string_view protocol = "TCP") {
  return {{"port", number}, {"protocol", protocol}};
}

json podPeer(const api::VirtualAssistant& va, Component component) {
  return {{"podSelector", {{"matchLabels", selectorLabels(va, api::componentName(component))}}}};
}

// The port of an http(s) URL: explicit, or 443/80 by scheme.
std::int32_t urlPort(const std::string& url) {
  const std::size_t hostStart = url.find("://");
  const std::size_t begin = hostStart == std::string::npos ? 0 : hostStart + 3;
  const std::size_t end = url.find_first_of("/?#", begin);
  const std::string authority = url.substr(begin, end == std::string::npos ? end : end - begin);
  const std::size_t colon = authority.rfind(':');
  std::int32_t number = 0;
  if (colon != std::string::npos && authority.find(']', colon) == std::string::npos) {
    const char* first = authority.data() + colon + 1;
    const char* last = authority.data() + authority.size();
    if (auto [ptr, ec] = std::from_chars(first, last, number); ec == std::errc() && ptr == last) {
      return number;
    }
  }
  return url.starts_with("https://") ? 443 : 80;
}

json policy(const api::VirtualAssistant& va, std::string name, std::string_view workload,
            json podSelector, const OperatorConfig& config) {
  json np = object("networking.k8s.io/v1", "NetworkPolicy",
                   objectMeta(va, std::move(name), workload, config));
  np["spec"] = {{"podSelector", {{"matchLabels", std::move(podSelector)}}},
                {"policyTypes", json::array({"Ingress", "Egress"})},
                {"ingress", json::array()},
                {"egress", json::array()}};
  return np;
}

void addPortEgress(json& np, std::int32_t number) {
  np["spec"]["egress"].push_back({{"ports", json::array({port(number)})}});
}

json publicIngress(const api::VirtualAssistant& va, const OperatorConfig& config) {
  json rule = {{"ports", json::array({port(config.componentPort)})}};
  if (va.spec.networkPolicy.ingressFrom.empty()) return rule;  // the public entry: any source
  json from = json::array();
  for (const api::PeerSelector& peer : va.spec.networkPolicy.ingressFrom) {
    json item = json::object();
    if (peer.namespaceSelector)
      item["namespaceSelector"] = {{"matchLabels", *peer.namespaceSelector}};
    if (peer.podSelector) item["podSelector"] = {{"matchLabels", *peer.podSelector}};
    if (item.empty()) item["namespaceSelector"] = json::object();  // {} matches everything
    from.push_back(std::move(item));
  }
  rule["from"] = std::move(from);
  return rule;
}

json internetEgress() {
  return {{"to",
           json::array({{{"ipBlock",
                          {{"cidr", "0.0.0.0/0"},
                           {"except", json::array({"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                                                   "169.254.0.0/16", "100.64.0.0/10"})}}}}})}};
}

json componentPolicy(const api::VirtualAssistant& va, Component component,
                     const OperatorConfig& config) {
  const std::string_view name = api::componentName(component);
  json np = policy(va, childName(va, name), name, selectorLabels(va, name), config);
  json& ingress = np["spec"]["ingress"];
  json& egress = np["spec"]["egress"];
  if (component == Component::kInputProcessor) ingress.push_back(publicIngress(va, config));
  json sources = json::array();
  for (const FlowEdge& edge : kMessageFlow) {
    if (edge.to == component) sources.push_back(podPeer(va, edge.from));
    if (edge.from == component) {
      egress.push_back({{"to", json::array({podPeer(va, edge.to)})},
                        {"ports", json::array({port(config.componentPort)})}});
    }
  }
  if (!sources.empty()) {
    ingress.push_back(
        {{"from", std::move(sources)}, {"ports", json::array({port(config.componentPort)})}});
  }
  if (wantsServiceMonitor(va, config)) {
    // Prometheus scrapes /metrics: the Prometheus Operator's pods, in any namespace.
    ingress.push_back(
        {{"from", json::array({{{"namespaceSelector", json::object()},
                                {"podSelector",
                                 {{"matchLabels", {{"app.kubernetes.io/name", "prometheus"}}}}}}})},
         {"ports", json::array({port(config.componentPort)})}});
  }
  const api::Stores& stores = va.spec.stores;
  if (component == Component::kShortTermMem && stores.redisUrl) addPortEgress(np, kRedisPort);
  if ((component == Component::kLongTermMem || component == Component::kConversationLog) &&
      stores.postgresDsn) {
    addPortEgress(np, kPostgresPort);
  }
  const api::LanguageModel& model = va.spec.languageModel;
  if (component == Component::kLanguageCenter && model.provider == "openai" && model.endpoint) {
    addPortEgress(np, urlPort(*model.endpoint));
  }
  if (va.spec.observability.otlpEndpoint) {
    addPortEgress(np, urlPort(*va.spec.observability.otlpEndpoint));
  }
  if (component == Component::kActionExecutor) egress.push_back(internetEgress());
  // An empty list and an absent one mean the same (deny); absent keeps applied objects minimal.
  if (ingress.empty()) np["spec"].erase("ingress");
  if (np["spec"]["egress"].empty()) np["spec"].erase("egress");
  return np;
}

}  // namespace

std::vector<json> networkPolicies(const api::VirtualAssistant& va, const OperatorConfig& config) {
  std::vector<json> out;
  if (!va.spec.networkPolicy.enabled) return out;
  const std::string_view all = "virtual-assistant";

  json deny = policy(va, childName(va, "default-deny"), all, instanceSelector(va), config);
  deny["spec"].erase("ingress");
  deny["spec"].erase("egress");
  out.push_back(std::move(deny));

  json dns = policy(va, childName(va, "dns"), all, instanceSelector(va), config);
  dns["spec"]["policyTypes"] = json::array({"Egress"});
  dns["spec"].erase("ingress");
  dns["spec"]["egress"].push_back(
      {{"to", json::array({{{"namespaceSelector",
                             {{"matchLabels", {{"kubernetes.io/metadata.name", "kube-system"}}}}},
                            {"podSelector", {{"matchLabels", {{"k8s-app", "kube-dns"}}}}}}})},
       {"ports", json::array({port(53, "UDP"), port(53, "TCP")})}});
  out.push_back(std::move(dns));

  for (const Component component : api::kAllComponents) {
    out.push_back(componentPolicy(va, component, config));
  }

  if (wantsConsolidation(va)) {
    json job = policy(va, childName(va, kConsolidationName), kConsolidationName,
                      selectorLabels(va, kConsolidationName), config);
    job["spec"]["policyTypes"] = json::array({"Egress"});
    job["spec"].erase("ingress");
    addPortEgress(job, kPostgresPort);
    if (va.spec.observability.otlpEndpoint) {
      addPortEgress(job, urlPort(*va.spec.observability.otlpEndpoint));
    }
    out.push_back(std::move(job));
  }
  return out;
}

}  // namespace va::specs
