#include "workloads/nlu/default_assistant.h"

namespace va::nlu {

Result<Assistant> defaultAssistant() {
  Result<Assistant> assistant = parseAssistant(defaultAssistantYaml());
  if (!assistant) return assistant.error().withContext("default_assistant.yaml");
  return assistant;
}

}  // namespace va::nlu
