#include "workloads/input_processor/auth.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

namespace va::input_processor {

// Owns an OpenSSL public key; EVP_PKEY may be used by several threads at once for verification.
class RsaPublicKey {
 public:
  explicit RsaPublicKey(EVP_PKEY* key) : key_(key) {}
  [[nodiscard]] EVP_PKEY* get() const { return key_.get(); }

 private:
  struct Free {
    void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
  };
  std::unique_ptr<EVP_PKEY, Free> key_;
};

namespace {

using nlohmann::json;

constexpr std::string_view kHashPrefix = "sha256:";
constexpr std::size_t kSha256HexSize = 64;
constexpr std::size_t kMaxKeyNameSize = 64;
constexpr std::size_t kMinHs256SecretSize = 32;  // RFC 7518 section 3.2: at least the hash size
constexpr int kMinRsaBits = 2048;

std::string sha256Hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(std::size_t{2} * length);
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4U]);
    out.push_back(kHex[digest[i] & 0x0FU]);
  }
  return out;
}

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::string_view trim(std::string_view text) {
  while (!text.empty() && isSpace(text.front())) text.remove_prefix(1);
  while (!text.empty() && isSpace(text.back())) text.remove_suffix(1);
  return text;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool isValidKeyName(std::string_view name) {
  return !name.empty() && name.size() <= kMaxKeyNameSize &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' ||
                  c == '-';
         });
}

// The 64 hex digits in lowercase, or nothing when `hex` is not that.
std::optional<std::string> normalizeSha256Hex(std::string_view hex) {
  if (hex.size() != kSha256HexSize) return std::nullopt;
  std::string out;
  out.reserve(hex.size());
  for (const char c : hex) {
    if (std::isxdigit(static_cast<unsigned char>(c)) == 0) return std::nullopt;
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

// Unpadded base64url (RFC 7515 section 2); rejects '=', other alphabets and non-zero spare bits.
std::optional<std::string> decodeBase64Url(std::string_view in) {
  if (in.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(in.size() * 3 / 4);
  std::uint32_t bits = 0;
  int count = 0;
  for (const char c : in) {
    std::uint32_t value = 0;
    if (c >= 'A' && c <= 'Z') {
      value = static_cast<std::uint32_t>(c - 'A');
    } else if (c >= 'a' && c <= 'z') {
      value = static_cast<std::uint32_t>(c - 'a' + 26);
    } else if (c >= '0' && c <= '9') {
      value = static_cast<std::uint32_t>(c - '0' + 52);
    } else if (c == '-') {
      value = 62;
    } else if (c == '_') {
      value = 63;
    } else {
      return std::nullopt;
    }
    bits = ((bits << 6U) | value) & 0xFFFFU;
    count += 6;
    if (count >= 8) {
      count -= 8;
      out.push_back(static_cast<char>((bits >> static_cast<unsigned>(count)) & 0xFFU));
    }
  }
  if ((bits & ((1U << static_cast<unsigned>(count)) - 1U)) != 0) return std::nullopt;
  return out;
}

Result<std::shared_ptr<const RsaPublicKey>> loadRsaPublicKey(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return Error("JWT: cannot read the RS256 public key");
  EVP_PKEY* raw = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  ERR_clear_error();
  if (raw == nullptr) {
    return Error("JWT: the RS256 public key is not a PEM public key (\"BEGIN PUBLIC KEY\")");
  }
  auto key = std::make_shared<const RsaPublicKey>(raw);
  if (EVP_PKEY_get_base_id(key->get()) != EVP_PKEY_RSA) {
    return Error("JWT: the RS256 public key is not an RSA key");
  }
  if (EVP_PKEY_get_bits(key->get()) < kMinRsaBits) {
    return Error("JWT: the RS256 public key must have at least 2048 bits");
  }
  return key;
}

bool verifyHs256(const va::service::Secret& secret, std::string_view signingInput,
                 std::string_view signature) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  const std::string& key = secret.reveal();
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(signingInput.data()), signingInput.size(),
           digest.data(), &length) == nullptr) {
    return false;
  }
  return signature.size() == length && CRYPTO_memcmp(digest.data(), signature.data(), length) == 0;
}

bool verifyRs256(const RsaPublicKey& key, std::string_view signingInput,
                 std::string_view signature) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) return false;
  const bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key.get()) == 1 &&
                  EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()),
                                   signature.size(),
                                   reinterpret_cast<const unsigned char*>(signingInput.data()),
                                   signingInput.size()) == 1;
  EVP_MD_CTX_free(ctx);
  ERR_clear_error();
  return ok;
}

// The "alg" value is named in the error only when it looks like an algorithm name, so that
// arbitrary token text is never echoed back.
Error algorithmNotAccepted(const std::string& alg) {
  const bool printable =
      !alg.empty() && alg.size() <= 16 && std::all_of(alg.begin(), alg.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '+';
      });
  return Error(printable ? "token algorithm " + alg + " not accepted"
                         : std::string("token algorithm not accepted"));
}

bool acceptedType(const std::string& typ) {
  std::string_view type = typ;
  if (type.size() > 12 && equalsIgnoreCase(type.substr(0, 12), "application/")) {
    type.remove_prefix(12);
  }
  return equalsIgnoreCase(type, "JWT") || equalsIgnoreCase(type, "at+jwt");
}

// Reads an optional NumericDate claim; an error when present but not a number.
Result<std::optional<double>> numericDate(const json& claims, const char* name) {
  const auto it = claims.find(name);
  if (it == claims.end()) return std::optional<double>();
  if (!it->is_number()) return Error(std::string("token claim \"") + name + "\" is not a number");
  return std::optional<double>(it->get<double>());
}

bool audienceContains(const json& claims, const std::string& audience) {
  const auto it = claims.find("aud");
  if (it == claims.end()) return false;
  if (it->is_string()) return it->get_ref<const std::string&>() == audience;
  if (!it->is_array()) return false;
  return std::any_of(it->begin(), it->end(), [&](const json& entry) {
    return entry.is_string() && entry.get_ref<const std::string&>() == audience;
  });
}

}  // namespace

std::string hashApiKey(std::string_view key) { return std::string(kHashPrefix) + sha256Hex(key); }

Result<std::vector<ApiKey>> parseApiKeys(std::string_view fileText) {
  std::vector<ApiKey> keys;
  std::set<std::string, std::less<>> names;
  std::set<std::string, std::less<>> hashes;
  int lineNumber = 0;
  while (!fileText.empty()) {
    const std::size_t newline = fileText.find('\n');
    const std::string_view line =
        trim(fileText.substr(0, newline == std::string_view::npos ? fileText.size() : newline));
    fileText.remove_prefix(newline == std::string_view::npos ? fileText.size() : newline + 1);
    ++lineNumber;
    if (line.empty() || line.front() == '#') continue;
    const std::string where = "line " + std::to_string(lineNumber) + ": ";

    const std::size_t gap = line.find_first_of(" \t");
    const std::string_view name = line.substr(0, gap);
    const std::string_view hash =
        gap == std::string_view::npos ? std::string_view() : trim(line.substr(gap));
    std::optional<std::string> hex;
    if (hash.substr(0, kHashPrefix.size()) == kHashPrefix) {
      hex = normalizeSha256Hex(hash.substr(kHashPrefix.size()));
    }
    if (!hex) return Error(where + "expected \"<name> sha256:<64 hex digits>\"");
    if (!isValidKeyName(name)) {
      return Error(where + "a key name is 1 to 64 letters, digits, '.', '_' or '-'");
    }
    if (names.count(name) != 0)
      return Error(where + "duplicate key name \"" + std::string(name) + "\"");
    if (hashes.count(*hex) != 0) return Error(where + "duplicate key hash");
    names.emplace(name);
    hashes.insert(*hex);
    keys.push_back(ApiKey{std::string(name), std::move(*hex)});
  }
  return keys;
}

Result<Authenticator> Authenticator::create(std::vector<ApiKey> keys, std::optional<JwtOptions> jwt,
                                            Clock now) {
  if (keys.empty() && !jwt) {
    return Error("no API keys and no JWT settings: no client could authenticate");
  }
  Authenticator auth;
  std::set<std::string, std::less<>> names;
  for (ApiKey& key : keys) {
    if (!isValidKeyName(key.name)) {
      return Error("API key name \"" + key.name + "\": 1 to 64 letters, digits, '.', '_' or '-'");
    }
    std::optional<std::string> hex = normalizeSha256Hex(key.sha256Hex);
    if (!hex) return Error("API key \"" + key.name + "\": the hash is not 64 hex digits");
    if (!names.insert(key.name).second) {
      return Error("duplicate API key name \"" + key.name + "\"");
    }
    if (auth.keyNamesByHash_.count(*hex) != 0) {
      return Error("API key \"" + key.name + "\": duplicate key hash");
    }
    auth.keyNamesByHash_.emplace(std::move(*hex), std::move(key.name));
  }
  if (jwt) {
    if (!jwt->hs256Secret && !jwt->rs256PublicKeyPem) {
      return Error("JWT: neither an HS256 secret nor an RS256 public key is set");
    }
    if (jwt->issuer.empty()) return Error("JWT: the issuer is required");
    if (jwt->audience.empty()) return Error("JWT: the audience is required");
    if (jwt->leeway < std::chrono::seconds(0)) return Error("JWT: the leeway must not be negative");
    if (jwt->hs256Secret && jwt->hs256Secret->reveal().size() < kMinHs256SecretSize) {
      return Error("JWT: the HS256 secret must be at least 32 bytes");
    }
    if (jwt->rs256PublicKeyPem) {
      auto key = loadRsaPublicKey(*jwt->rs256PublicKeyPem);
      if (!key) return key.error();
      auth.rsaKey_ = std::move(key).value();
    }
    auth.jwt_ = std::move(jwt);
  }
  auth.now_ = now ? std::move(now) : [] { return std::chrono::system_clock::now(); };
  return auth;
}

Result<Principal> Authenticator::authenticate(std::string_view authorizationHeader) const {
  const std::string_view header = trim(authorizationHeader);
  if (header.empty()) return Error("missing Authorization header");
  const std::size_t gap = header.find_first_of(" \t");
  const Error badFormat("Authorization: expected \"Bearer <token>\"");
  if (gap == std::string_view::npos) return badFormat;
  const std::string_view token = trim(header.substr(gap));
  if (!equalsIgnoreCase(header.substr(0, gap), "Bearer") || token.empty() ||
      token.find_first_of(" \t") != std::string_view::npos) {
    return badFormat;
  }
  if (token.size() > kMaxTokenSize) return Error("token too long");
  if (std::count(token.begin(), token.end(), '.') == 2) {
    if (!jwt_) return Error("JWT authentication is not enabled");
    return authenticateJwt(token);
  }
  return authenticateApiKey(token);
}

Result<Principal> Authenticator::authenticateApiKey(std::string_view token) const {
  // Looked up by hash: the server never holds the keys themselves.
  const auto it = keyNamesByHash_.find(sha256Hex(token));
  if (it == keyNamesByHash_.end()) return Error("unknown API key");
  return Principal{"key:" + it->second, "api_key"};
}

Result<Principal> Authenticator::authenticateJwt(std::string_view token) const {
  const std::size_t firstDot = token.find('.');
  const std::size_t secondDot = token.find('.', firstDot + 1);
  const std::string_view signingInput = token.substr(0, secondDot);
  const auto headerText = decodeBase64Url(token.substr(0, firstDot));
  const auto payloadText = decodeBase64Url(token.substr(firstDot + 1, secondDot - firstDot - 1));
  const auto signature = decodeBase64Url(token.substr(secondDot + 1));
  if (!headerText || !payloadText || !signature) return Error("token malformed: invalid base64url");

  const json header = json::parse(*headerText, nullptr, false);
  if (header.is_discarded() || !header.is_object()) {
    return Error("token malformed: the header is not a JSON object");
  }
  const auto alg = header.find("alg");
  if (alg == header.end() || !alg->is_string()) return Error("token header has no \"alg\"");
  if (header.contains("crit")) return Error("token header \"crit\" not supported");
  const auto typ = header.find("typ");
  if (typ != header.end() && (!typ->is_string() || !acceptedType(typ->get<std::string>()))) {
    return Error("token type not accepted");
  }

  // The configured key decides the algorithm; the token's "alg" only has to agree with it.
  const auto& algorithm = alg->get_ref<const std::string&>();
  bool valid = false;
  if (algorithm == "HS256" && jwt_->hs256Secret) {
    valid = verifyHs256(*jwt_->hs256Secret, signingInput, *signature);
  } else if (algorithm == "RS256" && rsaKey_) {
    valid = verifyRs256(*rsaKey_, signingInput, *signature);
  } else {
    return algorithmNotAccepted(algorithm);
  }
  if (!valid) return Error("token signature invalid");

  const json claims = json::parse(*payloadText, nullptr, false);
  if (claims.is_discarded() || !claims.is_object()) {
    return Error("token malformed: the payload is not a JSON object");
  }
  const double now = std::chrono::duration<double>(now_().time_since_epoch()).count();
  const auto leeway = static_cast<double>(jwt_->leeway.count());
  const auto exp = numericDate(claims, "exp");
  if (!exp) return exp.error();
  if (!*exp) return Error("token has no \"exp\" claim");
  if (now >= **exp + leeway) return Error("token expired");
  const auto nbf = numericDate(claims, "nbf");
  if (!nbf) return nbf.error();
  if (*nbf && **nbf > now + leeway) return Error("token not yet valid");
  const auto iat = numericDate(claims, "iat");
  if (!iat) return iat.error();
  if (*iat && **iat > now + leeway) return Error("token issued in the future");

  const auto iss = claims.find("iss");
  if (iss == claims.end() || !iss->is_string() ||
      iss->get_ref<const std::string&>() != jwt_->issuer) {
    return Error("token issuer mismatch");
  }
  if (!audienceContains(claims, jwt_->audience)) return Error("token audience mismatch");
  const auto sub = claims.find("sub");
  if (sub == claims.end() || !sub->is_string() || sub->get_ref<const std::string&>().empty()) {
    return Error("token has no \"sub\" claim");
  }
  return Principal{"jwt:" + sub->get<std::string>(), "jwt"};
}

}  // namespace va::input_processor
