#include "operator/specs/cron_job.h"

#include "operator/specs/meta.h"
#include "operator/specs/pod.h"

namespace va::specs {

using nlohmann::json;

bool wantsConsolidation(const api::VirtualAssistant& va) {
  return va.spec.component(api::Component::kLongTermMem).consolidation.enabled &&
         va.spec.stores.postgresDsn.has_value();
}

json consolidationCronJob(const api::VirtualAssistant& va, const OperatorConfig& config,
                          const ReferencedData& referenced) {
  const api::Consolidation& spec = va.spec.component(api::Component::kLongTermMem).consolidation;
  json job = object("batch/v1", "CronJob",
                    objectMeta(va, childName(va, kConsolidationName), kConsolidationName, config));
  job["spec"] = {{"schedule", spec.schedule},
                 {"suspend", spec.suspend},
                 {"concurrencyPolicy", "Forbid"},
                 {"startingDeadlineSeconds", 300},
                 {"successfulJobsHistoryLimit", spec.successfulJobsHistoryLimit},
                 {"failedJobsHistoryLimit", spec.failedJobsHistoryLimit},
                 {"jobTemplate",
                  {{"metadata", {{"labels", labels(va, kConsolidationName, config)}}},
                   {"spec",
                    {{"backoffLimit", 2},
                     {"activeDeadlineSeconds", 3600},
                     {"template", podTemplate(va, api::Component::kLongTermMem,
                                              PodRole::kConsolidation, config, referenced)}}}}}};
  return job;
}

}  // namespace va::specs
