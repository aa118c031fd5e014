#include "workloads/nlu/assistant.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <initializer_list>
#include <set>
#include <sstream>

#include "workloads/nlu/templates.h"

namespace va::nlu {
namespace {

std::string at(std::string_view path, std::size_t index) {
  return std::string(path) + "[" + std::to_string(index) + "]";
}

std::string field(std::string_view path, std::string_view key) {
  return path.empty() ? std::string(key) : std::string(path) + "." + std::string(key);
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out.empty() ? "none" : out;
}

Status checkMapping(const YAML::Node& node, std::string_view path,
                    std::initializer_list<std::string_view> known) {
  const std::string where = path.empty() ? "(document)" : std::string(path);
  if (!node.IsMap()) return Error(where + ": must be a mapping");
  for (const auto& entry : node) {
    const std::string key = entry.first.Scalar();
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      return Error(field(path, key) + ": unknown field");
    }
  }
  return {};
}

// A lower-case identifier: intent, slot, slot type, action and variable names.
Status checkName(const std::string& name, const std::string& path) {
  const bool ok = !name.empty() && name.front() >= 'a' && name.front() <= 'z' &&
                  std::all_of(name.begin(), name.end(), [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
                  });
  if (!ok) return Error(path + ": \"" + name + "\" must match [a-z][a-z0-9_]*");
  return {};
}

Result<std::string> scalar(const YAML::Node& node, const std::string& path, bool required) {
  if (!node) {
    if (required) return Error(path + ": is required");
    return std::string();
  }
  if (!node.IsScalar() || node.Scalar().empty())
    return Error(path + ": must be a non-empty string");
  return node.Scalar();
}

Result<std::vector<std::string>> stringList(const YAML::Node& node, const std::string& path,
                                            bool required) {
  std::vector<std::string> items;
  if (!node && !required) return items;
  if (!node || !node.IsSequence() || node.size() == 0) {
    return Error(path + ": must be a non-empty list");
  }
  for (std::size_t i = 0; i < node.size(); ++i) {
    Result<std::string> item = scalar(node[i], at(path, i), true);
    if (!item) return item.error();
    items.push_back(std::move(*item));
  }
  return items;
}

Result<std::vector<std::string>> templates(const YAML::Node& node, const std::string& path,
                                           const std::vector<std::string>& names) {
  Result<std::vector<std::string>> list = stringList(node, path, true);
  if (!list) return list;
  for (std::size_t i = 0; i < list->size(); ++i) {
    Result<std::vector<std::string>> used = templatePlaceholders((*list)[i]);
    if (!used) return used.error().withContext(at(path, i));
    for (const std::string& name : *used) {
      if (std::find(names.begin(), names.end(), name) == names.end()) {
        return Error(at(path, i) + ": unknown placeholder {" + name +
                     "} (slots and variables: " + joined(names) + ")");
      }
    }
  }
  return list;
}

Result<SlotType> parseSlotType(const YAML::Node& node, const std::string& path) {
  if (Status s = checkMapping(node, path, {"name", "values"}); !s) return s.error();
  SlotType type;
  Result<std::string> name = scalar(node["name"], field(path, "name"), true);
  if (!name) return name.error();
  if (Status s = checkName(*name, field(path, "name")); !s) return s.error();
  if (isBuiltinEntityType(*name))
    return Error(field(path, "name") + ": \"" + *name + "\" is built in");
  type.name = *name;
  const YAML::Node values = node["values"];
  const std::string valuesPath = field(path, "values");
  if (!values || !values.IsSequence() || values.size() == 0) {
    return Error(valuesPath + ": must be a non-empty list");
  }
  for (std::size_t i = 0; i < values.size(); ++i) {
    const std::string valuePath = at(valuesPath, i);
    if (Status s = checkMapping(values[i], valuePath, {"value", "synonyms"}); !s) return s.error();
    Result<std::string> value = scalar(values[i]["value"], field(valuePath, "value"), true);
    if (!value) return value.error();
    Result<std::vector<std::string>> synonyms =
        stringList(values[i]["synonyms"], field(valuePath, "synonyms"), false);
    if (!synonyms) return synonyms.error();
    type.values.push_back({*value, *synonyms});
  }
  return type;
}

Result<ActionSpec> parseAction(const YAML::Node& node, const std::string& path) {
  if (Status s = checkMapping(node, path, {"name", "method", "url"}); !s) return s.error();
  ActionSpec action;
  Result<std::string> name = scalar(node["name"], field(path, "name"), true);
  if (!name) return name.error();
  if (Status s = checkName(*name, field(path, "name")); !s) return s.error();
  Result<std::string> method = scalar(node["method"], field(path, "method"), true);
  if (!method) return method.error();
  static const std::set<std::string> kMethods = {"GET", "POST", "PUT", "PATCH", "DELETE"};
  if (kMethods.count(*method) == 0) {
    return Error(field(path, "method") + ": must be one of GET, POST, PUT, PATCH, DELETE");
  }
  const std::string urlPath = field(path, "url");
  Result<std::string> url = scalar(node["url"], urlPath, true);
  if (!url) return url.error();
  if (Result<std::vector<std::string>> p = templatePlaceholders(*url); !p) {
    return p.error().withContext(urlPath);
  }
  const std::size_t schemeEnd = url->find("://");
  const std::string scheme = url->substr(0, schemeEnd);
  if (schemeEnd == std::string::npos || (scheme != "http" && scheme != "https")) {
    return Error(urlPath + ": must start with http:// or https://");
  }
  // The destination is fixed by the definition: no slot value can redirect the call elsewhere.
  const std::size_t pathStart = url->find_first_of("/?#", schemeEnd + 3);
  const std::string authority = url->substr(schemeEnd + 3, pathStart - schemeEnd - 3);
  if (authority.empty()) return Error(urlPath + ": has no host");
  if (authority.find_first_of("{}@") != std::string::npos) {
    return Error(urlPath + ": placeholders and user info are not allowed in the host or port");
  }
  action.name = *name;
  action.method = *method;
  action.url = *url;
  return action;
}

Result<SlotSpec> parseSlot(const YAML::Node& node, const std::string& path,
                           const std::vector<std::string>& types) {
  if (Status s = checkMapping(node, path, {"name", "type", "required", "prompt"}); !s) {
    return s.error();
  }
  SlotSpec slot;
  Result<std::string> name = scalar(node["name"], field(path, "name"), true);
  if (!name) return name.error();
  if (Status s = checkName(*name, field(path, "name")); !s) return s.error();
  Result<std::string> type = scalar(node["type"], field(path, "type"), true);
  if (!type) return type.error();
  if (std::find(types.begin(), types.end(), *type) == types.end()) {
    return Error(field(path, "type") + ": unknown type \"" + *type + "\" (known: " + joined(types) +
                 ")");
  }
  if (const YAML::Node required = node["required"]) {
    if (!required.IsScalar() || !YAML::convert<bool>::decode(required, slot.required)) {
      return Error(field(path, "required") + ": must be true or false");
    }
  }
  if (slot.required && !node["prompt"]) {
    return Error(field(path, "prompt") + ": a required slot needs a prompt");
  }
  Result<std::string> prompt = scalar(node["prompt"], field(path, "prompt"), false);
  if (!prompt) return prompt.error();
  slot.name = *name;
  slot.type = *type;
  slot.prompt = *prompt;
  return slot;
}

Result<IntentSpec> parseIntent(const YAML::Node& node, const std::string& path,
                               const std::vector<std::string>& types,
                               const std::vector<ActionSpec>& actions) {
  if (Status s = checkMapping(node, path,
                              {"name", "examples", "slots", "responses", "variables", "action"});
      !s) {
    return s.error();
  }
  IntentSpec intent;
  Result<std::string> name = scalar(node["name"], field(path, "name"), true);
  if (!name) return name.error();
  if (Status s = checkName(*name, field(path, "name")); !s) return s.error();
  if (*name == kOutOfScopeIntent) {
    return Error(field(path, "name") +
                 ": \"out_of_scope\" is reserved; use the out_of_scope section");
  }
  intent.name = *name;
  Result<std::vector<std::string>> examples =
      stringList(node["examples"], field(path, "examples"), true);
  if (!examples) return examples.error();
  intent.examples = std::move(*examples);

  std::vector<std::string> placeholders;
  if (const YAML::Node slots = node["slots"]) {
    const std::string slotsPath = field(path, "slots");
    if (!slots.IsSequence()) return Error(slotsPath + ": must be a list");
    for (std::size_t i = 0; i < slots.size(); ++i) {
      Result<SlotSpec> slot = parseSlot(slots[i], at(slotsPath, i), types);
      if (!slot) return slot.error();
      if (std::find(placeholders.begin(), placeholders.end(), slot->name) != placeholders.end()) {
        return Error(field(at(slotsPath, i), "name") + ": duplicate slot \"" + slot->name + "\"");
      }
      placeholders.push_back(slot->name);
      intent.slots.push_back(std::move(*slot));
    }
  }
  Result<std::vector<std::string>> variables =
      stringList(node["variables"], field(path, "variables"), false);
  if (!variables) return variables.error();
  for (std::size_t i = 0; i < variables->size(); ++i) {
    if (Status s = checkName((*variables)[i], at(field(path, "variables"), i)); !s)
      return s.error();
  }
  intent.variables = std::move(*variables);
  placeholders.insert(placeholders.end(), intent.variables.begin(), intent.variables.end());
  Result<std::vector<std::string>> responses =
      templates(node["responses"], field(path, "responses"), placeholders);
  if (!responses) return responses.error();
  intent.responses = std::move(*responses);

  Result<std::string> action = scalar(node["action"], field(path, "action"), false);
  if (!action) return action.error();
  if (!action->empty()) {
    const auto found = std::find_if(actions.begin(), actions.end(),
                                    [&](const ActionSpec& a) { return a.name == *action; });
    if (found == actions.end()) {
      return Error(field(path, "action") + ": unknown action \"" + *action + "\"");
    }
    const Result<std::vector<std::string>> urlPlaceholders = templatePlaceholders(found->url);
    for (const std::string& used : *urlPlaceholders) {
      if (std::none_of(intent.slots.begin(), intent.slots.end(),
                       [&](const SlotSpec& s) { return s.name == used; })) {
        return Error(field(path, "action") + ": the url of \"" + *action + "\" uses {" + used +
                     "}, which is not a slot of this intent");
      }
    }
    intent.action = *action;
  }
  return intent;
}

Result<OutOfScopeSpec> parseOutOfScope(const YAML::Node& node) {
  if (Status s = checkMapping(node, "out_of_scope", {"threshold", "examples", "responses"}); !s) {
    return s.error();
  }
  OutOfScopeSpec spec;
  if (const YAML::Node threshold = node["threshold"]) {
    if (!threshold.IsScalar() || !YAML::convert<float>::decode(threshold, spec.threshold) ||
        !(spec.threshold >= 0.0F && spec.threshold < 1.0F)) {
      return Error("out_of_scope.threshold: must be a number in [0, 1)");
    }
  }
  Result<std::vector<std::string>> examples =
      stringList(node["examples"], "out_of_scope.examples", false);
  if (!examples) return examples.error();
  Result<std::vector<std::string>> responses =
      templates(node["responses"], "out_of_scope.responses", {});
  if (!responses) return responses.error();
  spec.examples = std::move(*examples);
  spec.responses = std::move(*responses);
  return spec;
}

template <typename T, typename Parse>
Result<std::vector<T>> parseList(const YAML::Node& node, const std::string& path, bool required,
                                 Parse parse) {
  std::vector<T> items;
  if (!node && !required) return items;
  if (!node || !node.IsSequence() || node.size() == 0)
    return Error(path + ": must be a non-empty list");
  for (std::size_t i = 0; i < node.size(); ++i) {
    Result<T> item = parse(node[i], at(path, i));
    if (!item) return item.error();
    for (std::size_t j = 0; j < items.size(); ++j) {
      if (items[j].name == item->name) {
        return Error(field(at(path, i), "name") + ": duplicate name \"" + item->name + "\" (also " +
                     at(path, j) + ")");
      }
    }
    items.push_back(std::move(*item));
  }
  return items;
}

Result<Assistant> parseDocument(const YAML::Node& root) {
  if (Status s =
          checkMapping(root, "", {"name", "out_of_scope", "slot_types", "intents", "actions"});
      !s) {
    return s.error();
  }
  Assistant assistant;
  Result<std::string> name = scalar(root["name"], "name", true);
  if (!name) return name.error();
  assistant.name = *name;

  auto slotTypes = parseList<SlotType>(root["slot_types"], "slot_types", false, parseSlotType);
  if (!slotTypes) return slotTypes.error();
  assistant.slot_types = std::move(*slotTypes);
  std::vector<std::string> typeNames(std::begin(kBuiltinEntityTypes),
                                     std::end(kBuiltinEntityTypes));
  for (const SlotType& type : assistant.slot_types) typeNames.push_back(type.name);

  auto actions = parseList<ActionSpec>(root["actions"], "actions", false, parseAction);
  if (!actions) return actions.error();
  assistant.actions = std::move(*actions);

  auto intents = parseList<IntentSpec>(
      root["intents"], "intents", true, [&](const YAML::Node& node, const std::string& path) {
        return parseIntent(node, path, typeNames, assistant.actions);
      });
  if (!intents) return intents.error();
  if (intents->size() < 2) return Error("intents: need at least two intents");
  assistant.intents = std::move(*intents);

  if (!root["out_of_scope"]) return Error("out_of_scope: is required (at least its responses)");
  Result<OutOfScopeSpec> outOfScope = parseOutOfScope(root["out_of_scope"]);
  if (!outOfScope) return outOfScope.error();
  assistant.out_of_scope = std::move(*outOfScope);
  return assistant;
}

}  // namespace

const IntentSpec* Assistant::findIntent(std::string_view intent) const {
  for (const IntentSpec& spec : intents) {
    if (spec.name == intent) return &spec;
  }
  return nullptr;
}

const ActionSpec* Assistant::findAction(std::string_view action) const {
  for (const ActionSpec& spec : actions) {
    if (spec.name == action) return &spec;
  }
  return nullptr;
}

Result<Assistant> parseAssistant(std::string_view yaml) {
  try {
    const YAML::Node root = YAML::Load(std::string(yaml));
    return parseDocument(root);
  } catch (const YAML::Exception& error) {
    return Error("line " + std::to_string(error.mark.line + 1) + ", column " +
                 std::to_string(error.mark.column + 1) + ": " + error.msg);
  }
}

Result<Assistant> loadAssistant(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(path + ": cannot open the file");
  std::ostringstream content;
  content << in.rdbuf();
  Result<Assistant> assistant = parseAssistant(content.str());
  if (!assistant) return assistant.error().withContext(path);
  return assistant;
}

}  // namespace va::nlu
