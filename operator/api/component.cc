#include "operator/api/component.h"

namespace va::api {
namespace {

struct Names {
  std::string_view name;
  std::string_view specKey;
  std::string_view envPrefix;
};

constexpr std::array<Names, kComponentCount> kNames = {{
    {"input-processor", "inputProcessor", "INPUT_PROCESSOR"},
    {"prefrontal-cortex", "prefrontalCortex", "PREFRONTAL_CORTEX"},
    {"language-center", "languageCenter", "LANGUAGE_CENTER"},
    {"action-executor", "actionExecutor", "ACTION_EXECUTOR"},
    {"output-manager", "outputManager", "OUTPUT_MANAGER"},
    {"short-term-mem", "shortTermMem", "SHORT_TERM_MEM"},
    {"long-term-mem", "longTermMem", "LONG_TERM_MEM"},
    {"conversation-log", "conversationLog", "CONVERSATION_LOG"},
}};

}  // namespace

std::string_view componentName(Component component) {
  return kNames.at(componentIndex(component)).name;
}

std::string_view componentSpecKey(Component component) {
  return kNames.at(componentIndex(component)).specKey;
}

std::string_view componentEnvPrefix(Component component) {
  return kNames.at(componentIndex(component)).envPrefix;
}

std::optional<Component> componentFromName(std::string_view name) {
  for (const Component component : kAllComponents) {
    if (componentName(component) == name) return component;
  }
  return std::nullopt;
}

}  // namespace va::api
