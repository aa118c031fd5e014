// NetworkPolicies of a VA, when spec.networkPolicy.enabled:
//   <va>-default-deny        every pod of the VA: no ingress, no egress
//   <va>-dns                 every pod of the VA: egress to kube-system/kube-dns on 53 UDP/TCP
//   <va>-<component>         per component: ingress from exactly its message-flow sources
//                            (input-processor: from spec.networkPolicy.ingressFrom, or anywhere),
//                            egress to exactly its message-flow targets, its store port
//                            (Redis 6379 / PostgreSQL 5432), the OTLP endpoint's port when tracing,
//                            the model endpoint's port for language-center with provider openai,
//                            and, for action-executor only, the internet (0.0.0.0/0 except
//                            private, link-local and CGNAT ranges)
//   <va>-long-term-mem-consolidation  the CronJob's pods: PostgreSQL (and OTLP) egress
// The stores live outside the cluster behind URLs the operator never reads (they are in
// Secrets), so store egress is restricted by port, not by address.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "operator/api/types.h"
#include "operator/specs/operator_config.h"

namespace va::specs {

inline constexpr std::int32_t kRedisPort = 6379;
inline constexpr std::int32_t kPostgresPort = 5432;

std::vector<nlohmann::json> networkPolicies(const api::VirtualAssistant& va,
                                            const OperatorConfig& config);

}  // namespace va::specs
