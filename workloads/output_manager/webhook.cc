#include "workloads/output_manager/webhook.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <charconv>
#include <cstdint>

namespace va::output_manager {

std::string signWebhook(const va::service::Secret& secret, std::string_view timestamp,
                        std::string_view body) {
  std::string message;
  message.reserve(timestamp.size() + 1 + body.size());
  message.append(timestamp).append(".").append(body);
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  const std::string& key = secret.reveal();
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest.data(),
       &length);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "v1=";
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4U]);
    out.push_back(kHex[digest[i] & 0x0FU]);
  }
  return out;
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
