// The assistant's message flow (ARCHITECTURE §5) as data: which component calls which. The
// Deployments get a <TARGET>_URL variable per outgoing edge; the NetworkPolicies allow exactly
// these edges. The consolidation CronJob reads the conversation log from PostgreSQL, so it is
// not an edge.
#pragma once

#include <array>

#include "operator/api/component.h"

namespace va::specs {

struct FlowEdge {
  api::Component from;
  api::Component to;
};

inline constexpr std::array<FlowEdge, 7> kMessageFlow = {{
    {api::Component::kInputProcessor, api::Component::kPrefrontalCortex},
    {api::Component::kInputProcessor, api::Component::kConversationLog},
    {api::Component::kPrefrontalCortex, api::Component::kLanguageCenter},
    {api::Component::kPrefrontalCortex, api::Component::kShortTermMem},
    {api::Component::kPrefrontalCortex, api::Component::kLongTermMem},
    {api::Component::kPrefrontalCortex, api::Component::kActionExecutor},
    {api::Component::kPrefrontalCortex, api::Component::kOutputManager},
}};

}  // namespace va::specs
