#include "operator/api/field_reader.h"

namespace va::api {

using nlohmann::json;

const json* FieldReader::child(std::string_view key) const {
  if (node_ == nullptr || !node_->is_object()) return nullptr;
  const auto it = node_->find(key);
  return it == node_->end() || it->is_null() ? nullptr : &*it;
}

FieldReader FieldReader::at(std::string_view key) const {
  std::string path = path_ + "." + std::string(key);
  if (visited_ != nullptr) visited_->insert(path);
  return {child(key), std::move(path), visited_};
}

std::optional<std::string> FieldReader::optStr(std::string_view key) const {
  const FieldReader field = at(key);
  if (field.node_ == nullptr || !field.node_->is_string()) return std::nullopt;
  return field.node_->get<std::string>();
}

std::string FieldReader::str(std::string_view key, std::string fallback) const {
  return optStr(key).value_or(std::move(fallback));
}

bool FieldReader::boolean(std::string_view key, bool fallback) const {
  const FieldReader field = at(key);
  return field.node_ != nullptr && field.node_->is_boolean() ? field.node_->get<bool>() : fallback;
}

std::optional<std::int64_t> FieldReader::optInt(std::string_view key) const {
  const FieldReader field = at(key);
  if (field.node_ == nullptr || !field.node_->is_number_integer()) return std::nullopt;
  return field.node_->get<std::int64_t>();
}

std::int32_t FieldReader::int32(std::string_view key, std::int32_t fallback) const {
  // The schema bounds every integer field well inside int32.
  return static_cast<std::int32_t>(optInt(key).value_or(fallback));
}

std::optional<IntOrString> FieldReader::optIntOrString(std::string_view key) const {
  const FieldReader field = at(key);
  if (field.node_ == nullptr) return std::nullopt;
  if (field.node_->is_number_integer()) return IntOrString(field.node_->get<std::int64_t>());
  if (field.node_->is_string()) return IntOrString(field.node_->get<std::string>());
  return std::nullopt;
}

StringMap FieldReader::stringMap(std::string_view key) const {
  const FieldReader field = at(key);
  StringMap map;
  if (field.node_ == nullptr || !field.node_->is_object()) return map;
  for (const auto& [name, value] : field.node_->items()) {
    if (value.is_string()) map.emplace(name, value.get<std::string>());
  }
  return map;
}

}  // namespace va::api
