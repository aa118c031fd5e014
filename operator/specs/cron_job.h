// The long-term-mem consolidation CronJob (batch/v1): reads the conversation log from PostgreSQL
// and writes LongTermSummary / LongTermFact rows. concurrencyPolicy is always Forbid; the pods
// have the same restricted security context as the Deployments.
#pragma once

#include <nlohmann/json.hpp>

#include "operator/api/types.h"
#include "operator/specs/operator_config.h"

namespace va::specs {

// Whether the VA gets the CronJob: consolidation enabled and PostgreSQL configured.
bool wantsConsolidation(const api::VirtualAssistant& va);

nlohmann::json consolidationCronJob(const api::VirtualAssistant& va, const OperatorConfig& config,
                                    const ReferencedData& referenced);

}  // namespace va::specs
