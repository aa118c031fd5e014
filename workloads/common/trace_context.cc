#include "workloads/common/trace_context.h"

#include <random>

namespace va::service {
namespace {

bool isLowerHex(std::string_view text) {
  for (const char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool allZero(std::string_view text) {
  return text.find_first_not_of('0') == std::string_view::npos;
}

int hexValue(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

std::string randomHex(std::size_t bytes) {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes * 2);
  while (out.size() < bytes * 2) {
    std::uint64_t word = engine();
    for (int i = 0; i < 16 && out.size() < bytes * 2; ++i) {
      out.push_back(kDigits[word & 0xF]);
      word >>= 4;
    }
  }
  return out;
}

std::string nonZeroRandomHex(std::size_t bytes) {
  std::string id = randomHex(bytes);
  while (allZero(id)) id = randomHex(bytes);
  return id;
}

}  // namespace

bool TraceContext::valid() const {
  return traceId.size() == 32 && spanId.size() == 16 && isLowerHex(traceId) && isLowerHex(spanId) &&
         !allZero(traceId) && !allZero(spanId);
}

std::optional<TraceContext> parseTraceparent(std::string_view header) {
  // version "-" trace-id "-" parent-id "-" flags: 2 + 1 + 32 + 1 + 16 + 1 + 2 = 55 characters.
  constexpr std::size_t kLength = 55;
  if (header.size() < kLength) return std::nullopt;
  const std::string_view version = header.substr(0, 2);
  if (!isLowerHex(version) || version == "ff") return std::nullopt;
  // Version 00 has exactly this shape; later versions may append "-..." fields.
  if (version == "00" ? header.size() != kLength
                      : (header.size() > kLength && header[kLength] != '-')) {
    return std::nullopt;
  }
  if (header[2] != '-' || header[35] != '-' || header[52] != '-') return std::nullopt;
  TraceContext context;
  context.traceId = std::string(header.substr(3, 32));
  context.spanId = std::string(header.substr(36, 16));
  const std::string_view flags = header.substr(53, 2);
  if (!isLowerHex(flags) || !context.valid()) return std::nullopt;
  context.flags = static_cast<std::uint8_t>(hexValue(flags[0]) * 16 + hexValue(flags[1]));
  return context;
}

std::string formatTraceparent(const TraceContext& context) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out = "00-" + context.traceId + "-" + context.spanId + "-";
  out.push_back(kDigits[context.flags >> 4]);
  out.push_back(kDigits[context.flags & 0xF]);
  return out;
}

std::string newTraceId() { return nonZeroRandomHex(16); }
std::string newSpanId() { return nonZeroRandomHex(8); }

TraceContext newRootTrace() { return TraceContext{newTraceId(), newSpanId(), 0x01}; }

TraceContext childOf(const TraceContext& parent) {
  return TraceContext{parent.traceId, newSpanId(), parent.flags};
}

}  // namespace va::service
