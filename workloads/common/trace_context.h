// W3C trace context: trace and span ids and the `traceparent` header that carries them
// between services (https://www.w3.org/TR/trace-context/).
//   auto incoming = parseTraceparent(req.get_header_value("traceparent"));
//   TraceContext mine = incoming ? childOf(*incoming) : newRootTrace();
//   headers.emplace("traceparent", formatTraceparent(mine));
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace va::service {

struct TraceContext {
  std::string traceId;  // 32 lowercase hex digits, not all zero
  std::string spanId;   // 16 lowercase hex digits, not all zero
  std::uint8_t flags = 0x01;

  [[nodiscard]] bool valid() const;
  [[nodiscard]] bool sampled() const { return (flags & 0x01) != 0; }
};

// Empty for a missing or malformed header (wrong length, upper-case hex, all-zero ids, version
// ff); the caller then starts a new trace.
std::optional<TraceContext> parseTraceparent(std::string_view header);
std::string formatTraceparent(const TraceContext& context);

std::string newTraceId();
std::string newSpanId();
// A new sampled trace with a fresh span.
TraceContext newRootTrace();
// The same trace and flags with a new span id.
TraceContext childOf(const TraceContext& parent);

}  // namespace va::service
