#include "workloads/prefrontal_cortex/remote_long_term_memory.h"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

namespace va::prefrontal_cortex {
namespace {

using nlohmann::json;
using va::service::Error;
using va::service::HttpResult;
using va::service::Result;
using va::service::Status;

constexpr std::size_t kMaxRecallLimit = 100;  // the service's maximum

va::service::HttpClientOptions clientOptions(const RemoteLongTermMemoryOptions& options) {
  va::service::HttpClientOptions out;
  out.connectTimeout = options.connectTimeout;
  out.totalTimeout = options.requestTimeout;
  out.maxAttempts = options.maxAttempts;
  out.userAgent = options.userAgent;
  return out;
}

// The service's error message from its JSON error body, or the body itself.
std::string errorMessage(const va::service::HttpResponse& response) {
  const json body = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_object() && body.contains("error") && body["error"].is_object() &&
      body["error"].value("message", json()).is_string()) {
    return body["error"]["message"].get<std::string>();
  }
  return response.body.substr(0, 200);
}

// An error for a failed call, or the response when it succeeded.
Result<va::service::HttpResponse> checked(HttpResult result) {
  if (!result.ok()) {
    return Error("long-term-mem unavailable: " + result.error().message);
  }
  if (result->status == 503) {
    return Error("long-term-mem unavailable: " + errorMessage(*result));
  }
  if (!result->ok()) {
    return Error("long-term-mem: HTTP " + std::to_string(result->status) + ": " +
                 errorMessage(*result));
  }
  return std::move(result).value();
}

bool readNumber(std::string_view text, std::size_t at, std::size_t digits, int& out) {
  if (at + digits > text.size()) return false;
  const char* begin = text.data() + at;
  const auto [end, ec] = std::from_chars(begin, begin + digits, out);
  return ec == std::errc() && end == begin + digits;
}

// Percent-encodes everything but RFC 3986's unreserved characters.
std::string percentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[byte >> 4U]);
      out.push_back(kHex[byte & 0x0FU]);
    }
  }
  return out;
}

// "2026-01-02T03:04:05.678Z" (the service's timestamps); nullopt when malformed.
std::optional<std::chrono::system_clock::time_point> parseRfc3339Utc(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.fff]Z
  int year = 0;
  int month = 0;
  int day = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' ||
      text[16] != ':' || text.back() != 'Z') {
    return std::nullopt;
  }
  if (!readNumber(text, 0, 4, year) || !readNumber(text, 5, 2, month) ||
      !readNumber(text, 8, 2, day) || !readNumber(text, 11, 2, hour) ||
      !readNumber(text, 14, 2, minute) || !readNumber(text, 17, 2, second)) {
    return std::nullopt;
  }
  int millis = 0;
  if (text.size() > 20) {
    if (text[19] != '.' || text.size() < 22) return std::nullopt;
    const std::string_view fraction = text.substr(20, text.size() - 21);
    for (std::size_t i = 0; i < 3; ++i) {
      const char c = i < fraction.size() ? fraction[i] : '0';
      if (c < '0' || c > '9') return std::nullopt;
      millis = millis * 10 + (c - '0');
    }
  }
  std::tm parts{};
  parts.tm_year = year - 1900;
  parts.tm_mon = month - 1;
  parts.tm_mday = day;
  parts.tm_hour = hour;
  parts.tm_min = minute;
  parts.tm_sec = second;
  const std::time_t seconds = timegm(&parts);
  if (seconds == static_cast<std::time_t>(-1)) return std::nullopt;
  return std::chrono::system_clock::from_time_t(seconds) + std::chrono::milliseconds(millis);
}

}  // namespace

RemoteLongTermMemory::RemoteLongTermMemory(RemoteLongTermMemoryOptions options)
    : options_(std::move(options)), client_(clientOptions(options_)) {
  while (!options_.baseUrl.empty() && options_.baseUrl.back() == '/') options_.baseUrl.pop_back();
}

std::string RemoteLongTermMemory::factsUrl(const std::string& user) const {
  return options_.baseUrl + "/v1/users/" + percentEncode(user) + "/facts";
}

Status RemoteLongTermMemory::remember(const std::string& user, Fact fact) {
  const json body = {{"key", std::move(fact.key)},
                     {"value", std::move(fact.value)},
                     {"source_conversation", std::move(fact.sourceConversation)},
                     {"source_turn", fact.sourceTurn}};
  va::service::HttpRequest request;
  request.method = "POST";
  request.url = factsUrl(user);
  request.headers = {{"Content-Type", "application/json"}};
  request.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  request.idempotent = true;  // the same fact again is "unchanged"
  const Result<va::service::HttpResponse> response = checked(client_.send(request));
  if (!response.ok()) return response.error();
  return {};
}

Result<std::vector<Fact>> RemoteLongTermMemory::recall(const std::string& user,
                                                       std::string_view query, std::size_t limit) {
  if (limit == 0) return std::vector<Fact>{};
  const std::size_t n = std::min(limit, kMaxRecallLimit);
  const Result<va::service::HttpResponse> response = checked(
      client_.get(factsUrl(user) + "?q=" + percentEncode(query) + "&limit=" + std::to_string(n)));
  if (!response.ok()) return response.error();
  const json body = json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object() || !body.contains("facts") || !body["facts"].is_array()) {
    return Error("long-term-mem: the reply has no facts array");
  }
  std::vector<Fact> facts;
  for (const json& item : body["facts"]) {
    if (!item.is_object() || !item.value("key", json()).is_string() ||
        !item.value("value", json()).is_string()) {
      return Error("long-term-mem: a fact without a key or value");
    }
    Fact fact;
    fact.key = item["key"].get<std::string>();
    fact.value = item["value"].get<std::string>();
    if (item.value("source_conversation", json()).is_string()) {
      fact.sourceConversation = item["source_conversation"].get<std::string>();
    }
    if (item.value("source_turn", json()).is_number_integer()) {
      fact.sourceTurn = item["source_turn"].get<std::int64_t>();
    }
    if (item.value("updated_at", json()).is_string()) {
      if (auto at = parseRfc3339Utc(item["updated_at"].get<std::string>())) fact.updatedAt = *at;
    }
    facts.push_back(std::move(fact));
  }
  return facts;
}

}  // namespace va::prefrontal_cortex
