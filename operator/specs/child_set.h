// Everything the operator applies for one VirtualAssistant, in apply order: ServiceAccounts,
// ConfigMaps, Services, Deployments, HPAs, PDBs, NetworkPolicies, Ingress, ServiceMonitor,
// CronJob.
//   ChildSet children = desiredChildren(va, OperatorConfig{}, ReferencedData{});
//   for (const auto& child : children.objects) apply(child);
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "operator/api/types.h"
#include "operator/specs/operator_config.h"

namespace va::specs {

struct ChildSet {
  std::vector<nlohmann::json> objects;
};

ChildSet desiredChildren(const api::VirtualAssistant& va, const OperatorConfig& config,
                         const ReferencedData& referenced);

// "<kind>/<name>", e.g. "Deployment/concierge-input-processor": a child's identity within a VA.
std::string childKey(const nlohmann::json& child);

}  // namespace va::specs
