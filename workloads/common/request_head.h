// Finds and checks an HTTP/1.1 request head (request line and header lines) in the bytes read
// so far, before httplib parses it, so that oversized heads get 414/431 instead of httplib's
// 400 and are never held in memory whole.
//   HeadScan scan = scanRequestHead(buffered, limits);
//   if (scan.status == HeadStatus::kIncomplete) read more; if kHeadersTooLarge answer 431.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace va::service {

struct HeadLimits {
  std::size_t maxRequestLineBytes = 8190;  // without CRLF; httplib's own limit is 8192 with it
  std::size_t maxHeaderBytes = 16384;      // all header lines with their CRLFs
  std::size_t maxHeaderCount = 100;
  std::size_t maxHeaderLineBytes = 8190;  // without CRLF; capped at httplib's compiled limit
};

struct RequestHead {
  std::size_t length = 0;  // bytes up to and including the blank line
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;

  // The first value of a header, by case-insensitive name.
  [[nodiscard]] std::optional<std::string> header(std::string_view name) const;
  [[nodiscard]] bool chunked() const;
  // Empty when absent or not a plain decimal number (then contentLengthInvalid() is true).
  [[nodiscard]] std::optional<std::uint64_t> contentLength() const;
  [[nodiscard]] bool contentLengthInvalid() const;
};

enum class HeadStatus {
  kIncomplete,  // no blank line yet and no limit exceeded: read more
  kComplete,
  kRequestLineTooLong,  // 414
  kHeadersTooLarge,     // 431
};

struct HeadScan {
  HeadStatus status = HeadStatus::kIncomplete;
  RequestHead head;    // for kComplete
  std::string reason;  // for the rejections, e.g. "101 header fields (limit 100)"
};

HeadScan scanRequestHead(std::string_view data, const HeadLimits& limits);

}  // namespace va::service
