#include "operator/kube/api_error.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <utility>

namespace va::kube {
namespace {

// A non-Status body can be an HTML page from a proxy; keep enough to recognise it.
constexpr std::size_t kMaxBodyMessage = 512;

// The reasons apimachinery knows; for any other reason the predicates fall back to the code.
constexpr std::array<std::string_view, 19> kKnownReasons = {
    "Unauthorized",
    "Forbidden",
    "NotFound",
    "AlreadyExists",
    "Conflict",
    "Gone",
    "Invalid",
    "ServerTimeout",
    "StoreReadError",
    "Timeout",
    "TooManyRequests",
    "BadRequest",
    "MethodNotAllowed",
    "NotAcceptable",
    "RequestEntityTooLarge",
    "UnsupportedMediaType",
    "InternalError",
    "Expired",
    "ServiceUnavailable",
};

bool isKnownReason(std::string_view reason) {
  return std::find(kKnownReasons.begin(), kKnownReasons.end(), reason) != kKnownReasons.end();
}

std::string_view trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  const auto first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(kSpace);
  return text.substr(first, last - first + 1);
}

// Cuts at a byte limit without splitting a UTF-8 sequence.
std::string truncateUtf8(std::string_view text, std::size_t limit) {
  if (text.size() <= limit) return std::string(text);
  std::size_t cut = limit;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0U) == 0x80U) --cut;
  return std::string(text.substr(0, cut)) + "... (truncated)";
}

std::string stringField(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

StatusDetails parseDetails(const nlohmann::json& details) {
  StatusDetails out;
  if (!details.is_object()) return out;
  out.name = stringField(details, "name");
  out.group = stringField(details, "group");
  out.kind = stringField(details, "kind");
  if (const auto retry = details.find("retryAfterSeconds");
      retry != details.end() && retry->is_number_integer()) {
    const auto seconds = retry->get<std::int64_t>();
    if (seconds >= 0 && seconds <= INT32_MAX) out.retryAfterSeconds = static_cast<int>(seconds);
  }
  if (const auto causes = details.find("causes"); causes != details.end() && causes->is_array()) {
    for (const auto& cause : *causes) {
      if (!cause.is_object()) continue;
      out.causes.push_back(StatusCause{stringField(cause, "reason"), stringField(cause, "field"),
                                       stringField(cause, "message")});
    }
  }
  return out;
}

}  // namespace

std::optional<int> parseRetryAfter(std::string_view header) {
  header = trim(header);
  if (header.empty()) return std::nullopt;
  std::int64_t seconds = 0;
  const auto [end, ec] = std::from_chars(header.data(), header.data() + header.size(), seconds);
  if (ec == std::errc::result_out_of_range) return INT32_MAX;
  if (ec != std::errc() || end != header.data() + header.size() || seconds < 0) {
    return std::nullopt;
  }
  return static_cast<int>(std::min<std::int64_t>(seconds, INT32_MAX));
}

ApiError::ApiError(Kind kind, int code, std::string message)
    : kind_(kind), code_(code), message_(std::move(message)) {}

ApiError ApiError::fromResponse(int httpCode, std::string_view body,
                                std::string_view retryAfterHeader) {
  ApiError error(Kind::kStatus, httpCode, {});
  // parse(..., allow_exceptions=false) yields a discarded value instead of throwing.
  const auto status = nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
  if (status.is_object() && stringField(status, "kind") == "Status") {
    error.reason_ = stringField(status, "reason");
    error.message_ = stringField(status, "message");
    if (const auto details = status.find("details"); details != status.end()) {
      error.details_ = parseDetails(*details);
    }
  } else {
    error.message_ = truncateUtf8(trim(body), kMaxBodyMessage);
  }
  if (error.message_.empty()) error.message_ = "the server gave no message";
  error.retryAfterSeconds_ = parseRetryAfter(retryAfterHeader);
  if (!error.retryAfterSeconds_) error.retryAfterSeconds_ = error.details_.retryAfterSeconds;
  return error;
}

ApiError ApiError::transport(std::string message) {
  return {Kind::kTransport, 0, std::move(message)};
}

ApiError ApiError::timeout(std::string message) { return {Kind::kTimeout, 0, std::move(message)}; }

ApiError ApiError::encode(std::string message) { return {Kind::kEncode, 0, std::move(message)}; }

ApiError ApiError::decode(int httpCode, std::string message) {
  return {Kind::kDecode, httpCode, std::move(message)};
}

ApiError ApiError::withRequest(std::string_view method, std::string_view path) const {
  ApiError copy = *this;
  copy.request_ = std::string(method) + " " + std::string(path);
  return copy;
}

bool ApiError::reasonOrCode(std::string_view reason, int code) const {
  if (kind_ != Kind::kStatus) return false;
  if (reason_ == reason) return true;
  return !isKnownReason(reason_) && code_ == code;
}

bool ApiError::isNotFound() const { return reasonOrCode("NotFound", 404); }

bool ApiError::isAlreadyExists() const {
  return kind_ == Kind::kStatus && reason_ == "AlreadyExists";
}

bool ApiError::isConflict() const { return reasonOrCode("Conflict", 409); }

bool ApiError::isGone() const { return reasonOrCode("Gone", 410) || reasonOrCode("Expired", 410); }

bool ApiError::isInvalid() const { return reasonOrCode("Invalid", 422); }

bool ApiError::isTooManyRequests() const {
  return kind_ == Kind::kStatus && (reason_ == "TooManyRequests" || code_ == 429);
}

bool ApiError::isUnauthorized() const { return reasonOrCode("Unauthorized", 401); }

bool ApiError::isForbidden() const { return reasonOrCode("Forbidden", 403); }

bool ApiError::isServerError() const { return kind_ == Kind::kStatus && code_ >= 500; }

bool ApiError::isTransport() const { return kind_ == Kind::kTransport || kind_ == Kind::kTimeout; }

bool ApiError::isTimeout() const { return kind_ == Kind::kTimeout; }

std::string ApiError::toString() const {
  std::string out = request_.empty() ? std::string() : request_ + ": ";
  switch (kind_) {
    case Kind::kStatus:
      out += "HTTP " + std::to_string(code_);
      if (!reason_.empty()) out += " " + reason_;
      break;
    case Kind::kTransport:
      out += "transport error";
      break;
    case Kind::kTimeout:
      out += "timed out";
      break;
    case Kind::kEncode:
      out += "cannot encode request";
      break;
    case Kind::kDecode:
      out += "bad response (HTTP " + std::to_string(code_) + ")";
      break;
  }
  // An Invalid Status already lists its causes in the message; they are not repeated.
  out += ": " + message_;
  if (retryAfterSeconds_) out += " (retry after " + std::to_string(*retryAfterSeconds_) + "s)";
  return out;
}

}  // namespace va::kube
