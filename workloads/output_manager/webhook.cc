#include "workloads/output_manager/webhook.h"

#include <openssl/crypto.h>

#include <array>
#include <charconv>
#include <cstdint>

#include "workloads/common/signature.h"

namespace va::output_manager {

std::string signWebhook(const va::service::Secret& secret, std::string_view timestamp,
                        std::string_view body) {
  return va::service::signTimestamped(secret, timestamp, body);
}

bool verifyWebhook(const va::service::Secret& secret, std::string_view timestamp,
                   std::string_view body, std::string_view signature,
                   std::chrono::system_clock::time_point now, std::chrono::seconds tolerance) {
  std::int64_t seconds = 0;
  const auto [end, ec] =
      std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), seconds);
  if (ec != std::errc() || end != timestamp.data() + timestamp.size()) return false;
  const auto sent = std::chrono::system_clock::time_point(std::chrono::seconds(seconds));
  if (sent < now - tolerance || sent > now + tolerance) return false;
  const std::string expected = signWebhook(secret, timestamp, body);
  return expected.size() == signature.size() &&
         CRYPTO_memcmp(expected.data(), signature.data(), expected.size()) == 0;
}

}  // namespace va::output_manager
