// Whether a child as the API server holds it still carries what the operator applied, so that
// an unchanged VirtualAssistant costs no write at all:
//   if (!upToDate(observed, desired)) client.apply(path, desired, kFieldManager, true);
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

namespace va::controller {

// True when every field of `intent` is present in `observed` with the same value: objects are
// compared key by key (extra keys in `observed`, such as server defaults and other managers'
// fields, are allowed), lists element by element with equal lengths, numbers by value, and
// the string values of "cpu", "memory", "ephemeral-storage" and "averageValue" keys as
// resource quantities, by amount ("0.5" == "500m", "1Gi" == "1024Mi").
bool coversIntent(const nlohmann::json& observed, const nlohmann::json& intent);

// coversIntent, and the observed intent-hash annotation equals the desired one: a field the
// operator stopped setting (which coversIntent cannot see) changes the hash.
bool upToDate(const nlohmann::json& observed, const nlohmann::json& desired);

// The amount of a Kubernetes quantity ("250m", "1.5", "2Gi", "1e3") in base units; nullopt when
// `text` is not a quantity.
std::optional<long double> parseQuantity(std::string_view text);

}  // namespace va::controller
