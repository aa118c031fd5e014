// The eight components of a Virtual Assistant and their names: kebab-case for Kubernetes objects
// (input-processor), camelCase for spec keys (inputProcessor).
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

namespace va::api {

enum class Component {
  kInputProcessor,
  kPrefrontalCortex,
  kLanguageCenter,
  kActionExecutor,
  kOutputManager,
  kShortTermMem,
  kLongTermMem,
  kConversationLog,
};

inline constexpr std::size_t kComponentCount = 8;

inline constexpr std::array<Component, kComponentCount> kAllComponents = {
    Component::kInputProcessor, Component::kPrefrontalCortex, Component::kLanguageCenter,
    Component::kActionExecutor, Component::kOutputManager,    Component::kShortTermMem,
    Component::kLongTermMem,    Component::kConversationLog,
};

// "input-processor": the name used in object names, labels and images.
std::string_view componentName(Component component);
// "inputProcessor": the key under spec.components.
std::string_view componentSpecKey(Component component);
// "INPUT_PROCESSOR": the prefix of environment variables that point at the component.
std::string_view componentEnvPrefix(Component component);
std::optional<Component> componentFromName(std::string_view name);

inline constexpr std::size_t componentIndex(Component component) {
  return static_cast<std::size_t>(component);
}

}  // namespace va::api
