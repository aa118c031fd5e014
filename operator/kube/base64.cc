#include "operator/kube/base64.h"

#include <openssl/evp.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace va::kube {
namespace {

bool isBase64Char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

}  // namespace

Result<std::string> decodeBase64(std::string_view encoded) {
  std::string compact;
  compact.reserve(encoded.size());
  for (const char c : encoded) {
    if (!isSpace(c)) compact.push_back(c);
  }
  if (compact.size() % 4 != 0) {
    return Error("invalid base64: length " + std::to_string(compact.size()) +
                 " is not a multiple of 4 (missing padding?)");
  }
  if (compact.size() > INT_MAX) return Error("invalid base64: input too large");

  std::size_t padding = 0;
  while (padding < compact.size() && compact[compact.size() - 1 - padding] == '=') ++padding;
  if (padding > 2) return Error("invalid base64: more than two '=' padding characters");
  for (std::size_t i = 0; i < compact.size() - padding; ++i) {
    if (!isBase64Char(compact[i])) {
      return Error("invalid base64: unexpected character at offset " + std::to_string(i));
    }
  }
  if (compact.empty()) return std::string();

  // EVP_DecodeBlock decodes whole 4-character groups and counts the padding as zero bytes.
  std::string out(compact.size() / 4 * 3, '\0');
  const int written = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                      reinterpret_cast<const unsigned char*>(compact.data()),
                                      static_cast<int>(compact.size()));
  if (written < 0 || static_cast<std::size_t>(written) != out.size()) {
    return Error("invalid base64: cannot be decoded");
  }
  out.resize(out.size() - padding);
  return out;
}

std::string encodeBase64(std::string_view bytes) {
  if (bytes.empty()) return {};
  std::string out((bytes.size() + 2) / 3 * 4 + 1, '\0');  // + NUL that EVP_EncodeBlock writes
  // EVP_EncodeBlock counts in int; Kubernetes objects are far below this (1.5 MiB in etcd).
  if (bytes.size() > static_cast<std::size_t>(INT_MAX / 4 * 3)) {
    std::fprintf(stderr, "va::kube::encodeBase64: %zu bytes is more than it can encode\n",
                 bytes.size());
    std::abort();
  }
  const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                      reinterpret_cast<const unsigned char*>(bytes.data()),
                                      static_cast<int>(bytes.size()));
  out.resize(written > 0 ? static_cast<std::size_t>(written) : 0);
  return out;
}

}  // namespace va::kube
