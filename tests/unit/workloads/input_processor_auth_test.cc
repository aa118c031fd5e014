// input-processor authentication: API keys (hashed, the keys file's errors by line) and JWTs
// signed here with OpenSSL (HS256 by HMAC, RS256 with a fresh RSA-2048 key), including the
// attacks RFC 8725 lists: alg "none", HS256 signed with the RSA public key, crit headers,
// non-canonical base64url, and claims out of range. Error messages never contain the token.
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <array>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "workloads/input_processor/auth.h"

// GCC 12 at -O2 reports destroying a moved-from Result<Authenticator> (a std::variant) in the
// helpers below as freeing a non-heap object: a false positive of -Wfree-nonheap-object.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wfree-nonheap-object"
#endif

namespace va::input_processor {
namespace {

using nlohmann::json;
using service::Secret;

constexpr std::int64_t kNow = 1764201600;
const std::string kHsSecret = "0123456789abcdef0123456789abcdef-hs256";

std::string base64Url(std::string_view data) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t bits = 0;
  int count = 0;
  for (const char c : data) {
    bits = (bits << 8U) | static_cast<unsigned char>(c);
    count += 8;
    while (count >= 6) {
      count -= 6;
      out.push_back(kAlphabet[(bits >> static_cast<unsigned>(count)) & 0x3FU]);
    }
  }
  if (count > 0) out.push_back(kAlphabet[(bits << (6U - static_cast<unsigned>(count))) & 0x3FU]);
  return out;
}

std::string hmacSha256(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest.data(), &length);
  return {reinterpret_cast<const char*>(digest.data()), length};
}

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

// One RSA-2048 key pair for the whole test program.
EVP_PKEY* rsaKey() {
  static const Pkey key(EVP_RSA_gen(2048));
  return key.get();
}

std::string publicKeyPem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(size));
  BIO_free(bio);
  return pem;
}

std::string rsaSha256(EVP_PKEY* key, std::string_view data) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::size_t length = 0;
  EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key);
  EVP_DigestSign(ctx, nullptr, &length, reinterpret_cast<const unsigned char*>(data.data()),
                 data.size());
  std::string signature(length, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &length,
                 reinterpret_cast<const unsigned char*>(data.data()), data.size());
  EVP_MD_CTX_free(ctx);
  signature.resize(length);
  return signature;
}

json validClaims() {
  return {{"iss", "https://idp.example"},
          {"aud", "va-api"},
          {"sub", "user-42"},
          {"iat", kNow - 10},
          {"exp", kNow + 300}};
}

std::string signingInput(const json& header, const json& claims) {
  return base64Url(header.dump()) + "." + base64Url(claims.dump());
}

std::string hs256Token(const json& claims, const json& header = {{"alg", "HS256"}, {"typ", "JWT"}},
                       const std::string& secret = kHsSecret) {
  const std::string input = signingInput(header, claims);
  return input + "." + base64Url(hmacSha256(secret, input));
}

std::string rs256Token(const json& claims, const json& header = {{"alg", "RS256"}, {"typ", "JWT"}},
                       EVP_PKEY* key = rsaKey()) {
  const std::string input = signingInput(header, claims);
  return input + "." + base64Url(rsaSha256(key, input));
}

std::chrono::system_clock::time_point fixedNow() {
  return std::chrono::system_clock::time_point(std::chrono::seconds(kNow));
}

JwtOptions jwtOptions() {
  JwtOptions options;
  options.issuer = "https://idp.example";
  options.audience = "va-api";
  return options;
}

Authenticator hsAuthenticator() {
  JwtOptions options = jwtOptions();
  options.hs256Secret = Secret(kHsSecret);
  auto auth = Authenticator::create({}, options, fixedNow);
  EXPECT_TRUE(auth.ok()) << auth.error().message();
  return std::move(auth).value();
}

Authenticator rsAuthenticator() {
  JwtOptions options = jwtOptions();
  options.rs256PublicKeyPem = publicKeyPem(rsaKey());
  auto auth = Authenticator::create({}, options, fixedNow);
  EXPECT_TRUE(auth.ok()) << auth.error().message();
  return std::move(auth).value();
}

// The error for "Bearer <token>", checking that the message does not echo the token.
std::string rejection(const Authenticator& auth, const std::string& token) {
  auto result = auth.authenticate("Bearer " + token);
  if (result.ok()) return "accepted as " + result->id;
  const std::string& message = result.error().message();
  EXPECT_EQ(message.find(token), std::string::npos) << message;
  for (std::size_t part = 0; part < token.size(); part += 16) {
    const std::string piece = token.substr(part, 16);
    if (piece.size() == 16) {
      EXPECT_EQ(message.find(piece), std::string::npos) << message;
    }
  }
  return message;
}

TEST(ApiKeyTest, HashIsPrefixedLowercaseSha256) {
  // printf 'secret' | sha256sum
  EXPECT_EQ(hashApiKey("secret"),
            "sha256:2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b");
}

TEST(ApiKeyTest, ParsesKeysFileWithCommentsAndBlankLines) {
  const std::string text = "# clients\n\nweb " + hashApiKey("k1") + "\r\n  mobile.app\t" +
                           hashApiKey("k2") + "  \n# end";
  auto keys = parseApiKeys(text);
  ASSERT_TRUE(keys.ok()) << keys.error().message();
  ASSERT_EQ(keys->size(), 2U);
  EXPECT_EQ((*keys)[0].name, "web");
  EXPECT_EQ("sha256:" + (*keys)[0].sha256Hex, hashApiKey("k1"));
  EXPECT_EQ((*keys)[1].name, "mobile.app");
}

TEST(ApiKeyTest, KeysFileErrorsNameTheLine) {
  const std::string good = "a " + hashApiKey("k1") + "\n";
  const auto error = [](const std::string& text) {
    auto keys = parseApiKeys(text);
    return keys.ok() ? std::string("ok") : keys.error().message();
  };
  EXPECT_EQ(error(good + "# c\nplaintext-key-only\n"),
            R"(line 3: expected "<name> sha256:<64 hex digits>")");
  EXPECT_EQ(error(good + "b sha256:abc\n"), R"(line 2: expected "<name> sha256:<64 hex digits>")");
  EXPECT_EQ(error(good + "b md5:" + std::string(64, 'a')),
            R"(line 2: expected "<name> sha256:<64 hex digits>")");
  EXPECT_EQ(error(good + "b " + hashApiKey("k2") + " extra"),
            R"(line 2: expected "<name> sha256:<64 hex digits>")");
  EXPECT_EQ(error(good + "b/c " + hashApiKey("k2")),
            "line 2: a key name is 1 to 64 letters, digits, '.', '_' or '-'");
  EXPECT_EQ(error(good + "a " + hashApiKey("k2")), R"(line 2: duplicate key name "a")");
  EXPECT_EQ(error(good + "b " + hashApiKey("k1")), "line 2: duplicate key hash");
  // Uppercase hex is accepted and stored in lowercase.
  std::string upper = hashApiKey("k3");
  for (std::size_t i = 7; i < upper.size(); ++i)
    upper[i] = static_cast<char>(std::toupper(upper[i]));
  auto keys = parseApiKeys("c " + upper);
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ("sha256:" + (*keys)[0].sha256Hex, hashApiKey("k3"));
}

TEST(ApiKeyTest, AuthenticatesKnownKeysOnly) {
  auto keys = parseApiKeys("web " + hashApiKey("sk_live_abcdef") + "\n");
  ASSERT_TRUE(keys.ok());
  auto auth = Authenticator::create(*keys, std::nullopt);
  ASSERT_TRUE(auth.ok()) << auth.error().message();

  auto who = auth->authenticate("Bearer sk_live_abcdef");
  ASSERT_TRUE(who.ok()) << who.error().message();
  EXPECT_EQ(who->id, "key:web");
  EXPECT_EQ(who->method, "api_key");
  EXPECT_TRUE(auth->authenticate("bearer   sk_live_abcdef ").ok());
  EXPECT_TRUE(auth->authenticate("BEARER sk_live_abcdef").ok());

  EXPECT_EQ(rejection(*auth, "sk_live_abcdeg"), "unknown API key");
  EXPECT_EQ(auth->authenticate("").error().message(), "missing Authorization header");
  EXPECT_EQ(auth->authenticate("   ").error().message(), "missing Authorization header");
  const std::string badFormat = R"(Authorization: expected "Bearer <token>")";
  EXPECT_EQ(auth->authenticate("Basic dXNlcjpwYXNz").error().message(), badFormat);
  EXPECT_EQ(auth->authenticate("sk_live_abcdef").error().message(), badFormat);
  EXPECT_EQ(auth->authenticate("Bearer").error().message(), badFormat);
  EXPECT_EQ(auth->authenticate("Bearer a b").error().message(), badFormat);
  EXPECT_EQ(rejection(*auth, std::string(kMaxTokenSize + 1, 'k')), "token too long");
  // Two dots make a JWT, which this authenticator does not take.
  EXPECT_EQ(rejection(*auth, "aaaa.bbbb.cccc"), "JWT authentication is not enabled");
}

TEST(AuthenticatorTest, CreateRejectsBadConfiguration) {
  const auto error = [](std::vector<ApiKey> keys, std::optional<JwtOptions> jwt) {
    auto auth = Authenticator::create(std::move(keys), std::move(jwt));
    return auth.ok() ? std::string("ok") : auth.error().message();
  };
  EXPECT_EQ(error({}, std::nullopt),
            "no API keys and no JWT settings: no client could authenticate");
  const std::string hex = hashApiKey("k").substr(7);
  EXPECT_EQ(error({{"a", hex}, {"a", hashApiKey("j").substr(7)}}, std::nullopt),
            R"(duplicate API key name "a")");
  EXPECT_EQ(error({{"a", hex}, {"b", hex}}, std::nullopt), R"(API key "b": duplicate key hash)");
  EXPECT_EQ(error({{"a", "xyz"}}, std::nullopt), R"(API key "a": the hash is not 64 hex digits)");

  EXPECT_EQ(error({}, jwtOptions()), "JWT: neither an HS256 secret nor an RS256 public key is set");
  JwtOptions shortSecret = jwtOptions();
  shortSecret.hs256Secret = Secret("too-short");
  EXPECT_EQ(error({}, shortSecret), "JWT: the HS256 secret must be at least 32 bytes");
  JwtOptions noIssuer = jwtOptions();
  noIssuer.hs256Secret = Secret(kHsSecret);
  noIssuer.issuer.clear();
  EXPECT_EQ(error({}, noIssuer), "JWT: the issuer is required");
  JwtOptions noAudience = jwtOptions();
  noAudience.hs256Secret = Secret(kHsSecret);
  noAudience.audience.clear();
  EXPECT_EQ(error({}, noAudience), "JWT: the audience is required");
  JwtOptions badPem = jwtOptions();
  badPem.rs256PublicKeyPem = "-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n";
  EXPECT_EQ(error({}, badPem),
            R"(JWT: the RS256 public key is not a PEM public key ("BEGIN PUBLIC KEY"))");
  JwtOptions ecKey = jwtOptions();
  const Pkey ec(EVP_EC_gen("P-256"));
  ecKey.rs256PublicKeyPem = publicKeyPem(ec.get());
  EXPECT_EQ(error({}, ecKey), "JWT: the RS256 public key is not an RSA key");
  JwtOptions smallKey = jwtOptions();
  const Pkey small(EVP_RSA_gen(1024));
  smallKey.rs256PublicKeyPem = publicKeyPem(small.get());
  EXPECT_EQ(error({}, smallKey), "JWT: the RS256 public key must have at least 2048 bits");
}

TEST(JwtTest, AcceptsValidHs256AndRs256Tokens) {
  auto hs = hsAuthenticator().authenticate("Bearer " + hs256Token(validClaims()));
  ASSERT_TRUE(hs.ok()) << hs.error().message();
  EXPECT_EQ(hs->id, "jwt:user-42");
  EXPECT_EQ(hs->method, "jwt");

  auto rs = rsAuthenticator().authenticate("Bearer " + rs256Token(validClaims()));
  ASSERT_TRUE(rs.ok()) << rs.error().message();
  EXPECT_EQ(rs->id, "jwt:user-42");

  // typ is optional, case-insensitive, and may be "at+jwt" (RFC 9068).
  EXPECT_TRUE(hsAuthenticator()
                  .authenticate("Bearer " + hs256Token(validClaims(), {{"alg", "HS256"}}))
                  .ok());
  EXPECT_TRUE(rsAuthenticator()
                  .authenticate("Bearer " +
                                rs256Token(validClaims(), {{"alg", "RS256"}, {"typ", "at+JWT"}}))
                  .ok());
  EXPECT_EQ(
      rejection(rsAuthenticator(), rs256Token(validClaims(), {{"alg", "RS256"}, {"typ", "JWE"}})),
      "token type not accepted");
}

TEST(JwtTest, BothKeysConfiguredEachAlgorithmUsesItsOwnKey) {
  JwtOptions options = jwtOptions();
  options.hs256Secret = Secret(kHsSecret);
  options.rs256PublicKeyPem = publicKeyPem(rsaKey());
  auto auth = Authenticator::create({}, options, fixedNow);
  ASSERT_TRUE(auth.ok()) << auth.error().message();
  EXPECT_TRUE(auth->authenticate("Bearer " + hs256Token(validClaims())).ok());
  EXPECT_TRUE(auth->authenticate("Bearer " + rs256Token(validClaims())).ok());
  // Key confusion still fails: the HMAC key is the configured secret, not the PEM.
  const std::string confused =
      hs256Token(validClaims(), {{"alg", "HS256"}}, publicKeyPem(rsaKey()));
  EXPECT_EQ(rejection(*auth, confused), "token signature invalid");
}

TEST(JwtTest, RejectsAlgorithmsNotChosenByTheKey) {
  const Authenticator rs = rsAuthenticator();
  const Authenticator hs = hsAuthenticator();
  // alg "none" with an empty signature.
  const std::string none = signingInput({{"alg", "none"}}, validClaims()) + ".";
  EXPECT_EQ(rejection(rs, none), "token algorithm none not accepted");
  EXPECT_EQ(rejection(hs, none), "token algorithm none not accepted");
  // Key confusion: HS256 "signed" with the RSA public key as the HMAC secret.
  const std::string confused =
      hs256Token(validClaims(), {{"alg", "HS256"}}, publicKeyPem(rsaKey()));
  EXPECT_EQ(rejection(rs, confused), "token algorithm HS256 not accepted");
  // An RS256 token against an HS256-only authenticator, RS512, and a weird alg value.
  EXPECT_EQ(rejection(hs, rs256Token(validClaims())), "token algorithm RS256 not accepted");
  EXPECT_EQ(rejection(rs, rs256Token(validClaims(), {{"alg", "RS512"}})),
            "token algorithm RS512 not accepted");
  EXPECT_EQ(rejection(rs, rs256Token(validClaims(), {{"alg", "<script>alert(1)</script>"}})),
            "token algorithm not accepted");
  EXPECT_EQ(rejection(rs, rs256Token(validClaims(), {{"typ", "JWT"}})),
            R"(token header has no "alg")");
  EXPECT_EQ(rejection(rs, rs256Token(validClaims(), {{"alg", 256}})),
            R"(token header has no "alg")");
  EXPECT_EQ(rejection(rs, rs256Token(validClaims(), {{"alg", "RS256"}, {"crit", {"exp"}}})),
            R"(token header "crit" not supported)");
}

TEST(JwtTest, RejectsWrongSignatures) {
  const Authenticator rs = rsAuthenticator();
  const Authenticator hs = hsAuthenticator();
  EXPECT_EQ(rejection(hs, hs256Token(validClaims(), {{"alg", "HS256"}},
                                     "another-secret-of-at-least-32-bytes!")),
            "token signature invalid");
  const Pkey other(EVP_RSA_gen(2048));
  EXPECT_EQ(rejection(rs, rs256Token(validClaims(), {{"alg", "RS256"}}, other.get())),
            "token signature invalid");
  // A valid signature moved onto other claims.
  const std::string token = rs256Token(validClaims());
  json changed = validClaims();
  changed["sub"] = "admin";
  const std::string forged =
      signingInput({{"alg", "RS256"}, {"typ", "JWT"}}, changed) + token.substr(token.rfind('.'));
  EXPECT_EQ(rejection(rs, forged), "token signature invalid");
  // A truncated HMAC.
  const std::string input = signingInput({{"alg", "HS256"}}, validClaims());
  EXPECT_EQ(rejection(hs, input + "." + base64Url(hmacSha256(kHsSecret, input).substr(0, 16))),
            "token signature invalid");
}

TEST(JwtTest, RejectsMalformedEncoding) {
  const Authenticator hs = hsAuthenticator();
  const std::string token = hs256Token(validClaims());
  const std::size_t first = token.find('.');
  const std::string malformed = "token malformed: invalid base64url";
  // '=' padding on a segment (the header is re-encoded so that it needs padding).
  const std::string header = base64Url(R"({"alg":"HS256","a":""})");
  ASSERT_NE(header.size() % 4, 0U);
  EXPECT_EQ(rejection(hs, header + "==" + token.substr(first)), malformed);
  // Standard base64 characters, other garbage, and an impossible length.
  EXPECT_EQ(rejection(hs, "eyJ+" + token.substr(4)), malformed);
  EXPECT_EQ(rejection(hs, "eyJ*" + token.substr(4)), malformed);
  EXPECT_EQ(rejection(hs, "eyJhb" + token.substr(first)), malformed);
  // Non-zero spare bits: "fQ" is the canonical encoding of "}", "fR" sets a spare bit.
  EXPECT_EQ(rejection(hs, "eyJ9fR" + token.substr(first)), malformed);
  EXPECT_EQ(rejection(hs, base64Url("not json") + token.substr(first)),
            "token malformed: the header is not a JSON object");
  EXPECT_EQ(rejection(hs, base64Url("[1]") + token.substr(first)),
            "token malformed: the header is not a JSON object");
  EXPECT_EQ(rejection(hs, ".." + std::string("x")), malformed);
  // A correctly signed payload that is not an object.
  const std::string input = base64Url(R"({"alg":"HS256"})") + "." + base64Url("[]");
  EXPECT_EQ(rejection(hs, input + "." + base64Url(hmacSha256(kHsSecret, input))),
            "token malformed: the payload is not a JSON object");
  // Oversized: a big claim pushes the token past 8 KiB.
  json big = validClaims();
  big["pad"] = std::string(kMaxTokenSize, 'x');
  EXPECT_EQ(rejection(hs, hs256Token(big)), "token too long");
}

TEST(JwtTest, ChecksTimeClaimsWithLeeway) {
  const Authenticator hs = hsAuthenticator();
  const auto with = [](const char* name, const json& value) {
    json claims = validClaims();
    claims[name] = value;
    return hs256Token(claims);
  };
  const auto without = [](const char* name) {
    json claims = validClaims();
    claims.erase(name);
    return hs256Token(claims);
  };
  EXPECT_EQ(rejection(hs, with("exp", kNow - 61)), "token expired");
  EXPECT_EQ(rejection(hs, with("exp", kNow - 60)), "token expired");
  EXPECT_EQ(rejection(hs, with("exp", kNow - 59)), "accepted as jwt:user-42");  // within leeway
  EXPECT_EQ(rejection(hs, with("exp", kNow + 0.5)), "accepted as jwt:user-42");
  EXPECT_EQ(rejection(hs, without("exp")), R"(token has no "exp" claim)");
  EXPECT_EQ(rejection(hs, with("exp", "tomorrow")), R"(token claim "exp" is not a number)");
  EXPECT_EQ(rejection(hs, with("exp", true)), R"(token claim "exp" is not a number)");
  EXPECT_EQ(rejection(hs, with("nbf", kNow + 120)), "token not yet valid");
  EXPECT_EQ(rejection(hs, with("nbf", kNow + 30)), "accepted as jwt:user-42");
  EXPECT_EQ(rejection(hs, with("nbf", "x")), R"(token claim "nbf" is not a number)");
  EXPECT_EQ(rejection(hs, with("iat", kNow + 120)), "token issued in the future");
  EXPECT_EQ(rejection(hs, without("iat")), "accepted as jwt:user-42");

  JwtOptions strict = jwtOptions();
  strict.hs256Secret = Secret(kHsSecret);
  strict.leeway = std::chrono::seconds(0);
  auto auth = Authenticator::create({}, strict, fixedNow);
  ASSERT_TRUE(auth.ok());
  EXPECT_EQ(rejection(*auth, with("exp", kNow)), "token expired");
  EXPECT_EQ(rejection(*auth, with("nbf", kNow + 1)), "token not yet valid");
}

TEST(JwtTest, ChecksIssuerAudienceAndSubject) {
  const Authenticator rs = rsAuthenticator();
  const auto with = [](const char* name, const json& value) {
    json claims = validClaims();
    claims[name] = value;
    return rs256Token(claims);
  };
  const auto without = [](const char* name) {
    json claims = validClaims();
    claims.erase(name);
    return rs256Token(claims);
  };
  EXPECT_EQ(rejection(rs, with("iss", "https://evil.example")), "token issuer mismatch");
  EXPECT_EQ(rejection(rs, without("iss")), "token issuer mismatch");
  EXPECT_EQ(rejection(rs, with("aud", json::array({"other", "va-api"}))),
            "accepted as jwt:user-42");
  EXPECT_EQ(rejection(rs, with("aud", json::array({"other", "VA-API"}))),
            "token audience mismatch");
  EXPECT_EQ(rejection(rs, with("aud", json::array())), "token audience mismatch");
  EXPECT_EQ(rejection(rs, with("aud", "other")), "token audience mismatch");
  EXPECT_EQ(rejection(rs, without("aud")), "token audience mismatch");
  EXPECT_EQ(rejection(rs, without("sub")), R"(token has no "sub" claim)");
  EXPECT_EQ(rejection(rs, with("sub", "")), R"(token has no "sub" claim)");
  EXPECT_EQ(rejection(rs, with("sub", 42)), R"(token has no "sub" claim)");
}

TEST(JwtTest, ApiKeysAndJwtsTogether) {
  auto keys = parseApiKeys("web " + hashApiKey("sk_test_123") + "\n");
  ASSERT_TRUE(keys.ok());
  JwtOptions options = jwtOptions();
  options.hs256Secret = Secret(kHsSecret);
  auto auth = Authenticator::create(*keys, options, fixedNow);
  ASSERT_TRUE(auth.ok());
  EXPECT_EQ(auth->authenticate("Bearer sk_test_123")->id, "key:web");
  EXPECT_EQ(auth->authenticate("Bearer " + hs256Token(validClaims()))->id, "jwt:user-42");
  EXPECT_EQ(rejection(*auth, "sk_test_124"), "unknown API key");
}

}  // namespace
}  // namespace va::input_processor
