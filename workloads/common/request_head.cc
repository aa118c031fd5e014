#include "workloads/common/request_head.h"

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace va::service {
namespace {

// httplib rejects longer lines (CRLF included) with a bare 400; stay under it.
constexpr std::size_t kHttplibLineLimit = CPPHTTPLIB_HEADER_MAX_LENGTH - 2;
constexpr std::size_t kHttplibRequestLineLimit = CPPHTTPLIB_REQUEST_URI_MAX_LENGTH - 2;

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

HeadScan reject(HeadStatus status, std::string reason) {
  HeadScan scan;
  scan.status = status;
  scan.reason = std::move(reason);
  return scan;
}

// Keeps the method and target already parsed, for the rejection's log line and metrics.
HeadScan tooLarge(HeadScan scan, std::string reason) {
  scan.status = HeadStatus::kHeadersTooLarge;
  scan.reason = std::move(reason);
  scan.head.headers.clear();
  return scan;
}

}  // namespace

std::optional<std::string> RequestHead::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (equalsIgnoreCase(key, name)) return value;
  }
  return std::nullopt;
}

bool RequestHead::chunked() const {
  const auto value = header("Transfer-Encoding");
  if (!value) return false;
  std::string lower(*value);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower.find("chunked") != std::string::npos;
}

std::optional<std::uint64_t> RequestHead::contentLength() const {
  const auto value = header("Content-Length");
  if (!value || value->empty()) return std::nullopt;
  std::uint64_t parsed = 0;
  const char* end = value->data() + value->size();
  auto [ptr, ec] = std::from_chars(value->data(), end, parsed);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return parsed;
}

bool RequestHead::contentLengthInvalid() const {
  return header("Content-Length").has_value() && !contentLength().has_value();
}

HeadScan scanRequestHead(std::string_view data, const HeadLimits& limits) {
  const std::size_t maxRequestLine = std::min(limits.maxRequestLineBytes, kHttplibRequestLineLimit);
  const std::size_t maxLine = std::min(limits.maxHeaderLineBytes, kHttplibLineLimit);

  const std::size_t requestLineEnd = data.find("\r\n");
  if (requestLineEnd == std::string_view::npos) {
    if (data.size() > maxRequestLine) {
      return reject(HeadStatus::kRequestLineTooLong,
                    "request line longer than " + std::to_string(maxRequestLine) + " bytes");
    }
    return {};
  }
  if (requestLineEnd > maxRequestLine) {
    return reject(HeadStatus::kRequestLineTooLong,
                  "request line of " + std::to_string(requestLineEnd) + " bytes (limit " +
                      std::to_string(maxRequestLine) + ")");
  }

  HeadScan scan;
  const std::string_view requestLine = data.substr(0, requestLineEnd);
  const std::size_t firstSpace = requestLine.find(' ');
  scan.head.method = std::string(requestLine.substr(0, firstSpace));
  if (firstSpace != std::string_view::npos) {
    const std::string_view rest = requestLine.substr(firstSpace + 1);
    scan.head.target = std::string(rest.substr(0, rest.find(' ')));
  }

  std::size_t headerBytes = 0;
  std::size_t position = requestLineEnd + 2;
  for (;;) {
    const std::size_t lineEnd = data.find("\r\n", position);
    const std::size_t lineLength =
        (lineEnd == std::string_view::npos ? data.size() : lineEnd) - position;
    if (lineLength > maxLine) {
      return tooLarge(std::move(scan),
                      "a header line longer than " + std::to_string(maxLine) + " bytes");
    }
    if (headerBytes + lineLength > limits.maxHeaderBytes) {
      return tooLarge(std::move(scan), "header fields larger than " +
                                           std::to_string(limits.maxHeaderBytes) + " bytes");
    }
    if (lineEnd == std::string_view::npos) return {HeadStatus::kIncomplete, {}, {}};
    if (lineLength == 0) {
      scan.head.length = lineEnd + 2;
      scan.status = HeadStatus::kComplete;
      return scan;
    }
    headerBytes += lineLength + 2;
    if (scan.head.headers.size() + 1 > limits.maxHeaderCount) {
      return tooLarge(std::move(scan),
                      "more than " + std::to_string(limits.maxHeaderCount) + " header fields");
    }
    const std::string_view line = data.substr(position, lineLength);
    const std::size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      scan.head.headers.emplace_back(std::string(trim(line.substr(0, colon))),
                                     std::string(trim(line.substr(colon + 1))));
    }
    position = lineEnd + 2;
  }
}

}  // namespace va::service
