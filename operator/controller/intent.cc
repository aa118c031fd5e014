#include "operator/controller/intent.h"

#include <array>
#include <cmath>
#include <cstdlib>
#include <string>
#include <utility>

#include "operator/specs/meta.h"

namespace va::controller {

using nlohmann::json;

namespace {

// Keys whose string values are resource quantities.
bool quantityKey(std::string_view key) {
  return key == "cpu" || key == "memory" || key == "ephemeral-storage" || key == "averageValue";
}

bool sameQuantity(const std::string& a, const std::string& b) {
  const auto x = parseQuantity(a);
  const auto y = parseQuantity(b);
  if (!x || !y) return false;
  const long double scale = std::max(std::fabs(*x), std::fabs(*y));
  return std::fabs(*x - *y) <= scale * 1e-12L;
}

bool covers(const json& observed, const json& intent, bool quantities) {
  if (intent.is_object()) {
    if (!observed.is_object()) return false;
    for (const auto& [key, value] : intent.items()) {
      const auto it = observed.find(key);
      if (it == observed.end()) return false;
      if (!covers(*it, value, quantityKey(key))) return false;
    }
    return true;
  }
  if (intent.is_array()) {
    if (!observed.is_array() || observed.size() != intent.size()) return false;
    for (std::size_t i = 0; i < intent.size(); ++i) {
      if (!covers(observed[i], intent[i], false)) return false;
    }
    return true;
  }
  if (intent.is_number()) {
    if (!observed.is_number()) return false;
    if (intent.is_number_float() || observed.is_number_float()) {
      return observed.get<double>() == intent.get<double>();
    }
    return observed.get<std::int64_t>() == intent.get<std::int64_t>();
  }
  if (intent.is_string() && observed.is_string() && quantities) {
    const auto& a = observed.get_ref<const std::string&>();
    const auto& b = intent.get_ref<const std::string&>();
    return a == b || sameQuantity(a, b);
  }
  return observed == intent;
}

}  // namespace

std::optional<long double> parseQuantity(std::string_view text) {
  if (text.empty() || text.size() > 64) return std::nullopt;
  const std::string s(text);
  char* end = nullptr;
  const long double number = std::strtold(s.c_str(), &end);
  if (end == s.c_str() || !std::isfinite(number)) return std::nullopt;
  // strtold accepts "inf", "nan" and hex; a quantity starts with a sign, a digit or a dot.
  const char first = s.front();
  if (!(first == '+' || first == '-' || first == '.' || (first >= '0' && first <= '9'))) {
    return std::nullopt;
  }
  if (s.find_first_of("xX") != std::string::npos) return std::nullopt;
  const std::string_view suffix(end);
  static constexpr std::array<std::pair<std::string_view, long double>, 14> kSuffixes = {{
      {"", 1.0L},
      {"n", 1e-9L},
      {"u", 1e-6L},
      {"m", 1e-3L},
      {"k", 1e3L},
      {"M", 1e6L},
      {"G", 1e9L},
      {"T", 1e12L},
      {"P", 1e15L},
      {"E", 1e18L},
      {"Ki", 1024.0L},
      {"Mi", 1048576.0L},
      {"Gi", 1073741824.0L},
      {"Ti", 1099511627776.0L},
  }};
  for (const auto& [name, factor] : kSuffixes) {
    if (suffix == name) return number * factor;
  }
  return std::nullopt;
}

bool coversIntent(const json& observed, const json& intent) {
  // Quantities are compared by amount wherever a "cpu"/"memory"/"averageValue" key holds one.
  return covers(observed, intent, false);
}

bool upToDate(const json& observed, const json& desired) {
  const json::json_pointer hash =
      json::json_pointer("/metadata/annotations") / std::string(specs::kIntentHashAnnotation);
  if (desired.contains(hash) &&
      (!observed.contains(hash) || observed.at(hash) != desired.at(hash))) {
    return false;
  }
  return coversIntent(observed, desired);
}

}  // namespace va::controller
