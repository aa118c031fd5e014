// A read-only view of one JSON object while filling the types of types.h: typed getters with
// fallbacks that never throw, and, when given a set, a record of every field path it was asked
// for (knownSpecFields() uses it to compare the C++ types with the CRD schema).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "operator/api/types.h"

namespace va::api {

class FieldReader {
 public:
  FieldReader(const nlohmann::json* node, std::string path, std::set<std::string>* visited)
      : node_(node), path_(std::move(path)), visited_(visited) {}

  // The child object or value at `key` (absent children read as fallbacks).
  [[nodiscard]] FieldReader at(std::string_view key) const;
  [[nodiscard]] bool present() const { return node_ != nullptr; }

  [[nodiscard]] std::string str(std::string_view key, std::string fallback = "") const;
  [[nodiscard]] std::optional<std::string> optStr(std::string_view key) const;
  [[nodiscard]] bool boolean(std::string_view key, bool fallback) const;
  [[nodiscard]] std::optional<std::int64_t> optInt(std::string_view key) const;
  [[nodiscard]] std::int32_t int32(std::string_view key, std::int32_t fallback) const;
  [[nodiscard]] std::optional<IntOrString> optIntOrString(std::string_view key) const;
  [[nodiscard]] StringMap stringMap(std::string_view key) const;

  // Reads each item of the list at `key` with fn(FieldReader) -> T. While recording, an empty or
  // absent list still visits one (absent) item so that the item's fields are recorded.
  template <typename Fn>
  [[nodiscard]] auto list(std::string_view key, Fn fn) const {
    const FieldReader field = at(key);
    std::vector<decltype(fn(field))> items;
    const std::string itemPath = field.path_ + "[]";
    if (field.node_ != nullptr && field.node_->is_array() && !field.node_->empty()) {
      for (const auto& item : *field.node_)
        items.push_back(fn(FieldReader(&item, itemPath, visited_)));
    } else if (visited_ != nullptr) {
      (void)fn(FieldReader(nullptr, itemPath, visited_));
    }
    return items;
  }

 private:
  [[nodiscard]] const nlohmann::json* child(std::string_view key) const;

  const nlohmann::json* node_;
  std::string path_;
  std::set<std::string>* visited_;
};

}  // namespace va::api
