// A guard against server-side request forgery for calls to URLs that someone else chose
// (action-executor's actions, output-manager's callback URLs): before any call, the URL is
// parsed strictly (http and https only, no user info, a plain host name or IP address), its host
// must be on the caller's allowlist (when there is one), and the host is resolved ONCE; every
// address it resolves to must be public (no loopback, private, link-local, CGNAT, multicast,
// reserved, IPv4-mapped or NAT64 address...). The call then connects to exactly the checked
// address (curl's CURLOPT_RESOLVE entry, Destination::resolveEntry), so a second DNS answer
// cannot change it. Numeric hosts are read the way getaddrinfo and curl read them (2130706433,
// 0x7f.0.0.1 and 127.1 are all 127.0.0.1), and only the usual dotted form is accepted at all.
// Redirects must not be followed blindly: each hop is a new URL to check (HttpClient never
// follows one).
//   SsrfGuard guard;                                   // or {{"127.0.0.1"}} in tests
//   auto destination = guard.check(url, action.allowed_hosts);   // {} for any public host
//   if (!destination) return forbidden(destination.error().reason);
//   options.resolve = {destination->resolveEntry()};   // empty for an IP literal
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "workloads/common/result.h"

namespace va::service {

// Resolves a host name to numeric addresses ("93.184.216.34", "2606:2800:220:1::1").
class Resolver {
 public:
  virtual ~Resolver() = default;
  [[nodiscard]] virtual Result<std::vector<std::string>> resolve(const std::string& host) const = 0;
};

// getaddrinfo, every address family.
class SystemResolver : public Resolver {
 public:
  [[nodiscard]] Result<std::vector<std::string>> resolve(const std::string& host) const override;
};

struct Url {
  std::string scheme;  // http or https
  std::string host;    // lower case, IPv6 without brackets
  int port = 0;
  std::string origin;  // "scheme://authority" as written
  std::string target;  // path and query, "/" at least
};

// A strict parse: the error says what is wrong ("user info is not allowed").
Result<Url> parseUrl(std::string_view url);

// Why a numeric address must not be called ("loopback (127.0.0.0/8)"), or nullopt when it is a
// public address. Anything that does not parse as an address is blocked too.
std::optional<std::string> blockedReason(const std::string& address);

// The usual text of a numeric address ("::1", "127.0.0.1"), or nullopt for anything else.
std::optional<std::string> canonicalAddress(const std::string& address);

struct Destination {
  Url url;
  std::string address;   // the checked address to connect to (empty before resolving)
  bool literal = false;  // the URL's host is that address (nothing to resolve)
  // "host:port:address" for CURLOPT_RESOLVE; empty for a literal.
  [[nodiscard]] std::string resolveEntry() const;
};

struct Refusal {
  enum class Kind { kBlocked, kUnresolved };
  Kind kind = Kind::kBlocked;
  std::string reason;
};

class SsrfGuard {
 public:
  // `allowedAddresses`: IP literals that may be called although their range is blocked (a test
  // server on 127.0.0.1); only when the URL names them as such or a name resolves to them
  // alone. Without a resolver, the system's.
  explicit SsrfGuard(const std::vector<std::string>& allowedAddresses = {},
                     std::shared_ptr<const Resolver> resolver = nullptr);

  // A comma list of IP literals ("127.0.0.1, ::1"), each in canonical form, or an error
  // naming the entry that is not one.
  static Result<std::vector<std::string>> parseAddressList(std::string_view list);

  // Where `url` may be called, or why not. `allowedHosts` are lower-case host names or
  // addresses (an action's allowed_hosts); an empty list means any host (only the address
  // checks apply), so a caller with an allowlist must never pass an empty one by accident.
  [[nodiscard]] Result<Destination, Refusal> check(
      std::string_view url, const std::vector<std::string>& allowedHosts) const;

  // What check() decides without a DNS lookup (cheap, for validating input): the URL's form,
  // the host allowlist, localhost names and an IP literal's range. For a host name the
  // Destination has no address yet, and the call still needs check(). Never kUnresolved.
  [[nodiscard]] Result<Destination, Refusal> checkWithoutResolving(
      std::string_view url, const std::vector<std::string>& allowedHosts) const;

 private:
  [[nodiscard]] bool allowedAddress(const std::string& address) const;

  std::vector<std::string> allowedAddresses_;
  std::shared_ptr<const Resolver> resolver_;
};

}  // namespace va::service
