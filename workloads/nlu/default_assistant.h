// The concierge assistant that ships inside the binary: workloads/nlu/default_assistant.yaml,
// embedded at configure time, used when no assistant definition is mounted.
#pragma once

#include <string_view>

#include "workloads/nlu/assistant.h"

namespace va::nlu {

// The YAML text as shipped (defined in the generated default_assistant_yaml.cc).
std::string_view defaultAssistantYaml();

Result<Assistant> defaultAssistant();

}  // namespace va::nlu
