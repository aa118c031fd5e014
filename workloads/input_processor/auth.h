// Who is calling input-processor: API keys (stored only as SHA-256 hashes) and JWTs (HS256 or
// RS256, checked as RFC 8725 recommends). The caller hands over the raw Authorization header;
// error messages are safe to send back to the client and never contain the token.
//   // api-keys file: one "<name> sha256:<hex>" per line, "#" comments; hashApiKey makes the hash.
//   auto keys = parseApiKeys(config.text("VA_API_KEYS_FILE").value_or(""));
//   JwtOptions jwt;
//   jwt.rs256PublicKeyPem = pem;  jwt.issuer = "https://idp.example";  jwt.audience = "va";
//   Result<Authenticator> auth = Authenticator::create(*keys, jwt);
//   Result<Principal> who = auth->authenticate(request.header("Authorization"));
//   if (!who) return reply(401, who.error().message());
//   limiter.take(who->id);   // "key:<name>" or "jwt:<sub>"
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "workloads/common/config.h"
#include "workloads/common/result.h"

namespace va::input_processor {

using service::Error;
using service::Result;
using service::Status;

// Longest bearer token accepted (API key or JWT), in bytes.
inline constexpr std::size_t kMaxTokenSize = std::size_t{8} * 1024;

// One API key: its name (used in the principal id and logs) and the lowercase hex SHA-256 of the
// key itself.
struct ApiKey {
  std::string name;
  std::string sha256Hex;
};

// "sha256:" followed by the 64 lowercase hex digits of SHA-256(key), as written in the keys file.
std::string hashApiKey(std::string_view key);

// Reads a keys file: one "<name> sha256:<64 hex digits>" per line, blank lines and lines starting
// with "#" ignored. Names are 1 to 64 of [A-Za-z0-9._-]; names and hashes must be unique. The
// error names the line: `line 3: expected "<name> sha256:<64 hex digits>"`.
Result<std::vector<ApiKey>> parseApiKeys(std::string_view fileText);

// JWT verification settings. The key decides the algorithm: HS256 only with hs256Secret (at least
// 32 bytes), RS256 only with rs256PublicKeyPem (a "BEGIN PUBLIC KEY" RSA key of 2048 bits or
// more). issuer and audience are required.
struct JwtOptions {
  std::optional<va::service::Secret> hs256Secret;
  std::optional<std::string> rs256PublicKeyPem;
  std::string issuer;
  std::string audience;
  std::chrono::seconds leeway{60};  // allowed clock skew for exp, nbf and iat
};

// An authenticated caller.
struct Principal {
  std::string id;      // "key:<name>" or "jwt:<sub>"
  std::string method;  // "api_key" or "jwt"
};

class RsaPublicKey;  // an OpenSSL public key, defined in auth.cc

// Checks Authorization headers against the configured API keys and JWT settings. Immutable after
// create(), so one instance may be shared by all request threads.
class Authenticator {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;

  // Fails when neither keys nor JWT are configured, on duplicate or malformed keys, and on bad
  // JWT options (missing issuer or audience, short secret, unreadable PEM).
  static Result<Authenticator> create(
      std::vector<ApiKey> keys, std::optional<JwtOptions> jwt,
      Clock now = [] { return std::chrono::system_clock::now(); });

  // `authorizationHeader` is the raw header value, "" when absent. It must be "Bearer <token>"
  // (scheme case-insensitive); a token with exactly two dots is a JWT, anything else an API key.
  [[nodiscard]] Result<Principal> authenticate(std::string_view authorizationHeader) const;

 private:
  Authenticator() = default;
  [[nodiscard]] Result<Principal> authenticateApiKey(std::string_view token) const;
  [[nodiscard]] Result<Principal> authenticateJwt(std::string_view token) const;

  std::unordered_map<std::string, std::string> keyNamesByHash_;  // sha256 hex -> name
  std::optional<JwtOptions> jwt_;
  std::shared_ptr<const RsaPublicKey> rsaKey_;
  Clock now_;
};

}  // namespace va::input_processor
