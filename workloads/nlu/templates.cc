#include "workloads/nlu/templates.h"

namespace va::nlu {
namespace {

bool isNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Walks the template once, calling onText for literal text and onName for each placeholder.
template <typename OnText, typename OnName>
Status walk(std::string_view text, OnText onText, OnName onName) {
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if ((c == '{' || c == '}') && i + 1 < text.size() && text[i + 1] == c) {
      onText(std::string_view(&text[i], 1));
      i += 2;
    } else if (c == '}') {
      return Error("unmatched } at offset " + std::to_string(i) + " (write }} for a brace)");
    } else if (c == '{') {
      const std::size_t close = text.find('}', i + 1);
      if (close == std::string_view::npos) {
        return Error("unclosed { at offset " + std::to_string(i));
      }
      const std::string_view name = text.substr(i + 1, close - i - 1);
      if (name.empty()) return Error("empty placeholder {} at offset " + std::to_string(i));
      for (const char n : name) {
        if (!isNameChar(n)) {
          return Error("placeholder {" + std::string(name) + "} at offset " + std::to_string(i) +
                       ": names use letters, digits and _");
        }
      }
      if (Status named = onName(name); !named) return named;
      i = close + 1;
    } else {
      const std::size_t next = text.find_first_of("{}", i);
      const std::size_t end = next == std::string_view::npos ? text.size() : next;
      onText(text.substr(i, end - i));
      i = end;
    }
  }
  return {};
}

}  // namespace

Result<std::vector<std::string>> templatePlaceholders(std::string_view text) {
  std::vector<std::string> names;
  Status status = walk(
      text, [](std::string_view) {},
      [&names](std::string_view name) -> Status {
        names.emplace_back(name);
        return {};
      });
  if (!status) return status.error();
  return names;
}

Result<std::string> fillTemplate(std::string_view text,
                                 const std::map<std::string, std::string, std::less<>>& values) {
  std::string out;
  Status status = walk(
      text, [&out](std::string_view literal) { out.append(literal); },
      [&](std::string_view name) -> Status {
        const auto value = values.find(name);
        if (value == values.end()) return Error("no value for {" + std::string(name) + "}");
        out.append(value->second);
        return {};
      });
  if (!status) return status.error();
  return out;
}

}  // namespace va::nlu
