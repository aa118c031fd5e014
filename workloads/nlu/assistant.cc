#include "workloads/nlu/assistant.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <initializer_list>
#include <map>
#include <nlohmann/json.hpp>
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

bool isHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == ':';
}

bool isHeaderNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

std::string lowerCase(std::string text) {
  for (char& c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return text;
}

// A JSON body template: valid JSON once filled in, with every placeholder inside a string, so
// that a (JSON-escaped) value can never add a field or change the document's structure.
Status checkBodyTemplate(const std::string& body, const std::string& path) {
  Result<std::vector<std::string>> names = templatePlaceholders(body);
  if (!names) return names.error().withContext(path);
  constexpr char kMarker = '\x7f';
  std::map<std::string, std::string, std::less<>> values;
  for (const std::string& name : *names) values[name] = std::string(1, kMarker);
  const Result<std::string> filled = fillTemplate(body, values);
  if (!filled) return filled.error().withContext(path);
  bool inString = false;
  std::size_t seen = 0;
  for (std::size_t i = 0; i < filled->size(); ++i) {
    const char c = (*filled)[i];
    if (c == kMarker) {
      if (!inString) {
        return Error(path + ": placeholder {" + (*names)[std::min(seen, names->size() - 1)] +
                     "} must be inside a JSON string (\"{" +
                     (*names)[std::min(seen, names->size() - 1)] + "}\")");
      }
      ++seen;
    } else if (inString && c == '\\') {
      ++i;  // an escaped character
    } else if (c == '"') {
      inString = !inString;
    }
  }
  if (!nlohmann::json::accept(*filled)) {
    return Error(path + ": is not valid JSON (write {{ and }} for literal braces)");
  }
  return {};
}

Result<std::vector<std::string>> parseAllowedHosts(const YAML::Node& node, const std::string& path,
                                                   const std::string& urlHostName) {
  if (!node) return std::vector<std::string>{urlHostName};
  Result<std::vector<std::string>> hosts = stringList(node, path, true);
  if (!hosts) return hosts;
  for (std::size_t i = 0; i < hosts->size(); ++i) {
    std::string& host = (*hosts)[i];
    host = lowerCase(host);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    if (!std::all_of(host.begin(), host.end(), isHostChar) || host.front() == '.' ||
        host.back() == '.') {
      return Error(at(path, i) + ": \"" + host +
                   "\" is not a host name (letters, digits, '.' and '-') or an IP address");
    }
  }
  if (std::find(hosts->begin(), hosts->end(), urlHostName) == hosts->end()) {
    return Error(path + ": must include the url's host \"" + urlHostName + "\"");
  }
  return hosts;
}

Result<std::map<std::string, std::string>> parseResultSlots(const YAML::Node& node,
                                                            const std::string& path) {
  std::map<std::string, std::string> slots;
  if (!node) return slots;
  if (!node.IsMap() || node.size() == 0) return Error(path + ": must be a non-empty mapping");
  for (const auto& entry : node) {
    const std::string name = entry.first.Scalar();
    const std::string where = field(path, name);
    if (Status s = checkName(name, where); !s) return s.error();
    Result<std::string> pointer = scalar(entry.second, where, true);
    if (!pointer) return pointer.error();
    bool valid = pointer->front() == '/';
    if (valid) {
      try {
        const nlohmann::json::json_pointer parsed(*pointer);
      } catch (const nlohmann::json::exception&) {
        valid = false;
      }
    }
    if (!valid) {
      return Error(where + ": \"" + *pointer + "\" is not a JSON pointer (such as /summary)");
    }
    slots[name] = *pointer;
  }
  return slots;
}

Result<std::map<std::string, std::string>> parseHeaders(const YAML::Node& node,
                                                        const std::string& path) {
  std::map<std::string, std::string> headers;
  if (!node) return headers;
  if (!node.IsMap() || node.size() == 0) return Error(path + ": must be a non-empty mapping");
  // Set by the executor (or by curl) and not to be replaced by a definition.
  static const std::set<std::string> kReserved = {
      "host",         "content-length",  "transfer-encoding", "connection",     "expect",
      "content-type", "idempotency-key", "x-va-timestamp",    "x-va-signature", "te",
      "upgrade",      "x-request-id",    "traceparent"};
  for (const auto& entry : node) {
    const std::string name = entry.first.Scalar();
    const std::string where = field(path, name);
    if (name.empty() || !std::all_of(name.begin(), name.end(), isHeaderNameChar)) {
      return Error(where + ": a header name is letters, digits and '-'");
    }
    if (kReserved.count(lowerCase(name)) != 0) return Error(where + ": is set by the executor");
    Result<std::string> value = scalar(entry.second, where, true);
    if (!value) return value.error();
    if (std::any_of(value->begin(), value->end(),
                    [](char c) { return static_cast<unsigned char>(c) < ' ' || c == 0x7F; })) {
      return Error(where + ": must not contain control characters");
    }
    if (Result<std::vector<std::string>> p = templatePlaceholders(*value); !p) {
      return p.error().withContext(where);
    }
    headers[name] = *value;
  }
  return headers;
}

Result<ActionSpec> parseAction(const YAML::Node& node, const std::string& path) {
  if (Status s = checkMapping(node, path,
                              {"name", "method", "url", "body", "timeout_seconds", "allowed_hosts",
                               "result_slots", "headers"});
      !s) {
    return s.error();
  }
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
  if (std::any_of(url->begin(), url->end(),
                  [](char c) { return static_cast<unsigned char>(c) <= ' ' || c == 0x7F; })) {
    return Error(urlPath + ": must not contain spaces or control characters");
  }
  action.name = *name;
  action.method = *method;
  action.url = *url;

  Result<std::string> body = scalar(node["body"], field(path, "body"), false);
  if (!body) return body.error();
  if (!body->empty()) {
    if (action.method != "POST" && action.method != "PUT" && action.method != "PATCH") {
      return Error(field(path, "body") + ": only POST, PUT and PATCH send a body");
    }
    if (Status s = checkBodyTemplate(*body, field(path, "body")); !s) return s.error();
  }
  action.body = *body;
  if (const YAML::Node timeout = node["timeout_seconds"]) {
    if (!timeout.IsScalar() || !YAML::convert<int>::decode(timeout, action.timeout_seconds) ||
        action.timeout_seconds < 1 || action.timeout_seconds > 60) {
      return Error(field(path, "timeout_seconds") + ": must be a whole number from 1 to 60");
    }
  }
  Result<std::vector<std::string>> hosts =
      parseAllowedHosts(node["allowed_hosts"], field(path, "allowed_hosts"), urlHost(*url));
  if (!hosts) return hosts.error();
  action.allowed_hosts = std::move(*hosts);
  Result<std::map<std::string, std::string>> resultSlots =
      parseResultSlots(node["result_slots"], field(path, "result_slots"));
  if (!resultSlots) return resultSlots.error();
  action.result_slots = std::move(*resultSlots);
  Result<std::map<std::string, std::string>> headers =
      parseHeaders(node["headers"], field(path, "headers"));
  if (!headers) return headers.error();
  action.headers = std::move(*headers);
  return action;
}

// Placeholders of an action's URL, body and headers that are not slots of `intent`.
Status checkActionSlots(const ActionSpec& action, const IntentSpec& intent,
                        const std::string& path) {
  const auto check = [&](const std::string& text, const std::string& what) -> Status {
    const Result<std::vector<std::string>> used = templatePlaceholders(text);
    for (const std::string& name : *used) {
      if (std::none_of(intent.slots.begin(), intent.slots.end(),
                       [&](const SlotSpec& s) { return s.name == name; })) {
        std::string message = path;
        message.append(": the ").append(what).append(" of \"").append(action.name);
        message.append("\" uses {").append(name).append("}, which is not a slot of this intent");
        return Error(message);
      }
    }
    return {};
  };
  if (Status s = check(action.url, "url"); !s) return s;
  if (Status s = check(action.body, "body"); !s) return s;
  for (const auto& [header, value] : action.headers) {
    if (Status s = check(value, "header " + header); !s) return s;
  }
  return {};
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
    if (Status s = checkActionSlots(*found, intent, field(path, "action")); !s) return s.error();
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

std::string urlHost(std::string_view url) {
  const std::size_t schemeEnd = url.find("://");
  if (schemeEnd == std::string_view::npos) return "";
  std::string_view authority = url.substr(schemeEnd + 3);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  if (const std::size_t userEnd = authority.rfind('@'); userEnd != std::string_view::npos) {
    authority.remove_prefix(userEnd + 1);
  }
  std::string_view host = authority;
  if (!host.empty() && host.front() == '[') {
    const std::size_t close = host.find(']');
    host = close == std::string_view::npos ? host.substr(1) : host.substr(1, close - 1);
  } else {
    host = host.substr(0, host.find(':'));
  }
  return lowerCase(std::string(host));
}

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
