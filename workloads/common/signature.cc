#include "workloads/common/signature.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>

namespace va::service {

std::string signTimestamped(const Secret& secret, std::string_view timestamp,
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

}  // namespace va::service
