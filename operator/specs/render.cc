#include "operator/specs/render.h"

#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

#include "operator/api/parse.h"
#include "operator/api/yaml_json.h"

namespace va::specs {

using nlohmann::json;

namespace {

bool looksNumeric(const std::string& s) {
  const char first = s.front();
  if (!(std::isdigit(static_cast<unsigned char>(first)) || first == '-' || first == '+' ||
        first == '.')) {
    return false;
  }
  return s.find_first_not_of("0123456789.eE+-_xXoOabcdefABCDEF:") == std::string::npos;
}

// Whether a string can be written as a plain scalar without YAML reading it as something else.
bool isPlainSafe(const std::string& s) {
  static const std::set<std::string> kReserved = {"true", "false", "yes", "no",   "on",
                                                  "off",  "y",     "n",   "null", "~"};
  if (s.empty() || looksNumeric(s)) return false;
  std::string lower;
  for (const char c : s) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (kReserved.contains(lower)) return false;
  if (!std::isalnum(static_cast<unsigned char>(s.front())) && s.front() != '_' &&
      s.front() != '/') {
    return false;
  }
  if (s.back() == ':') return false;
  return s.find_first_not_of(
             "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./@+=-:") ==
         std::string::npos;
}

std::string scalar(const json& value, int indent) {
  if (!value.is_string()) return value.dump();
  const auto& s = value.get_ref<const std::string&>();
  if (isPlainSafe(s)) return s;
  const bool literal = s.size() > 1 && s.back() == '\n' && !s.ends_with("\n\n") &&
                       s.front() != ' ' && s.find('\r') == std::string::npos &&
                       s.find('\t') == std::string::npos;
  if (!literal) return value.dump();
  std::string out = "|";
  const std::string pad(static_cast<std::size_t>(indent), ' ');
  std::istringstream lines(s);
  for (std::string line; std::getline(lines, line);) out += "\n" + (line.empty() ? "" : pad + line);
  return out;
}

bool isLeaf(const json& value) { return !value.is_structured() || value.empty(); }

std::string leaf(const json& value, int indent) {
  if (value.is_object()) return "{}";
  if (value.is_array()) return "[]";
  return scalar(value, indent);
}

void emit(const json& value, int indent, std::string& out);

void emitItem(const json& item, int indent, std::string& out) {
  const std::string pad(static_cast<std::size_t>(indent), ' ');
  if (isLeaf(item)) {
    out += pad + "- " + leaf(item, indent + 2) + "\n";
    return;
  }
  std::string nested;
  emit(item, indent + 2, nested);
  out += pad + "- " + nested.substr(static_cast<std::size_t>(indent) + 2);
}

void emit(const json& value, int indent, std::string& out) {
  const std::string pad(static_cast<std::size_t>(indent), ' ');
  if (value.is_array()) {
    for (const auto& item : value) emitItem(item, indent, out);
    return;
  }
  for (const auto& [key, item] : value.items()) {
    out += pad + scalar(json(key), indent) + ":";
    if (isLeaf(item)) {
      out += " " + leaf(item, indent + 2) + "\n";
    } else if (item.is_array()) {
      out += "\n";
      emit(item, indent, out);  // sequences under a key sit at the key's indentation
    } else {
      out += "\n";
      emit(item, indent + 2, out);
    }
  }
}

}  // namespace

std::string toYaml(const json& object) {
  std::string out;
  emit(object, 0, out);
  return out;
}

kube::Result<std::string> renderYaml(std::string_view text, const OperatorConfig& config) {
  auto documents = api::parseYamlDocuments(text);
  if (!documents) return documents.error();
  const json* found = nullptr;
  for (const json& document : *documents) {
    if (!document.is_object() || document.value("kind", "") != api::kKind) continue;
    if (found != nullptr) return kube::Error("more than one VirtualAssistant in the input");
    found = &document;
  }
  if (found == nullptr) return kube::Error("no VirtualAssistant in the input");
  auto va = api::parseVirtualAssistant(*found);
  if (!va) return va.error();
  std::string out;
  for (const json& child : desiredChildren(*va, config, ReferencedData{}).objects) {
    out += "---\n" + toYaml(child);
  }
  return out;
}

kube::Result<std::string> renderFile(const std::string& path, const OperatorConfig& config) {
  std::ifstream in(path);
  if (!in) return kube::Error(path + ": cannot open");
  std::stringstream text;
  text << in.rdbuf();
  auto rendered = renderYaml(text.str(), config);
  if (!rendered) return rendered.error().withContext(path);
  return rendered;
}

}  // namespace va::specs
