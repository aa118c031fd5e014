#include "workloads/common/ssrf_guard.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <cstring>

namespace va::service {
namespace {

std::string lowerCase(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string formatV4(std::uint32_t address) {
  return std::to_string(address >> 24U) + "." + std::to_string((address >> 16U) & 0xFFU) + "." +
         std::to_string((address >> 8U) & 0xFFU) + "." + std::to_string(address & 0xFFU);
}

struct V4Range {
  std::uint32_t base;
  int bits;
  const char* name;
};

// Checked in order: the broadcast address before the reserved 240/4 it is part of.
constexpr std::array<V4Range, 16> kBlockedV4 = {{
    {0xFFFFFFFFU, 32, "broadcast (255.255.255.255)"},
    {0x00000000U, 8, "unspecified (0.0.0.0/8)"},
    {0x0A000000U, 8, "private (10.0.0.0/8)"},
    {0x64400000U, 10, "carrier-grade NAT (100.64.0.0/10)"},
    {0x7F000000U, 8, "loopback (127.0.0.0/8)"},
    {0xA9FE0000U, 16, "link-local (169.254.0.0/16)"},
    {0xAC100000U, 12, "private (172.16.0.0/12)"},
    {0xC0000000U, 24, "IETF protocol assignments (192.0.0.0/24)"},
    {0xC0000200U, 24, "documentation (192.0.2.0/24)"},
    {0xC0586300U, 24, "6to4 relay anycast (192.88.99.0/24)"},
    {0xC0A80000U, 16, "private (192.168.0.0/16)"},
    {0xC6120000U, 15, "benchmarking (198.18.0.0/15)"},
    {0xC6336400U, 24, "documentation (198.51.100.0/24)"},
    {0xCB007100U, 24, "documentation (203.0.113.0/24)"},
    {0xE0000000U, 4, "multicast (224.0.0.0/4)"},
    {0xF0000000U, 4, "reserved (240.0.0.0/4)"},
}};

std::optional<std::string> blockedV4(std::uint32_t address) {
  for (const V4Range& range : kBlockedV4) {
    const std::uint32_t mask = range.bits == 0 ? 0 : ~std::uint32_t{0} << (32U - range.bits);
    if ((address & mask) == range.base) return std::string(range.name);
  }
  return std::nullopt;
}

struct V6Range {
  std::array<std::uint8_t, 16> base;
  int bits;
  const char* name;
  bool embedsV4;  // the last 32 bits are an IPv4 address
};

// NOLINTBEGIN(readability-identifier-naming): tables
constexpr std::array<V6Range, 14> kBlockedV6 = {{
    {{}, 128, "unspecified (::)", false},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, "loopback (::1)", false},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF}, 96, "IPv4-mapped (::ffff:0:0/96)", true},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF}, 96, "IPv4-translated (::ffff:0:0:0/96)", true},
    {{}, 96, "IPv4-compatible (::/96)", true},
    {{0, 0x64, 0xFF, 0x9B}, 96, "NAT64 (64:ff9b::/96)", true},
    {{0, 0x64, 0xFF, 0x9B, 0, 1}, 48, "local NAT64 (64:ff9b:1::/48)", false},
    {{0x01, 0x00}, 64, "discard-only (100::/64)", false},
    {{0x20, 0x01, 0x0D, 0xB8}, 32, "documentation (2001:db8::/32)", false},
    {{0x20, 0x01, 0x00, 0x00}, 32, "Teredo (2001::/32)", false},
    {{0x20, 0x02}, 16, "6to4 (2002::/16)", false},
    {{0xFC}, 7, "unique-local (fc00::/7)", false},
    {{0xFE, 0x80}, 10, "link-local (fe80::/10)", false},
    {{0xFE, 0xC0}, 10, "site-local (fec0::/10)", false},
}};
// NOLINTEND(readability-identifier-naming)

bool inPrefix(const std::array<std::uint8_t, 16>& address, const std::array<std::uint8_t, 16>& base,
              int bits) {
  for (int i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
    const auto index = static_cast<std::size_t>(i);
    const unsigned mask = bits >= 8 ? 0xFFU : (0xFFU << (8U - static_cast<unsigned>(bits))) & 0xFFU;
    if ((address[index] & mask) != (base[index] & mask)) return false;
  }
  return true;
}

std::optional<std::string> blockedV6(const std::array<std::uint8_t, 16>& address) {
  if (address[0] == 0xFF) return std::string("multicast (ff00::/8)");
  for (const V6Range& range : kBlockedV6) {
    if (!inPrefix(address, range.base, range.bits)) continue;
    std::string reason = range.name;
    if (range.embedsV4) {
      const std::uint32_t v4 = (std::uint32_t{address[12]} << 24U) |
                               (std::uint32_t{address[13]} << 16U) |
                               (std::uint32_t{address[14]} << 8U) | std::uint32_t{address[15]};
      reason += ", embedding " + formatV4(v4);
      if (const std::optional<std::string> inner = blockedV4(v4)) reason += ": " + *inner;
    }
    return reason;
  }
  return std::nullopt;
}

bool isNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

// The address getaddrinfo reads a numeric host as (inet_aton's forms for IPv4: 2130706433,
// 0x7f.1, 0177.0.0.1, 127.1), or nullopt for a name.
std::optional<std::string> numericHost(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0 || found == nullptr) {
    return std::nullopt;
  }
  std::array<char, INET6_ADDRSTRLEN> text{};
  const void* raw = found->ai_family == AF_INET
                        ? static_cast<const void*>(
                              &reinterpret_cast<const sockaddr_in*>(found->ai_addr)->sin_addr)
                        : static_cast<const void*>(
                              &reinterpret_cast<const sockaddr_in6*>(found->ai_addr)->sin6_addr);
  const bool ok = ::inet_ntop(found->ai_family, raw, text.data(), text.size()) != nullptr;
  ::freeaddrinfo(found);
  if (!ok) return std::nullopt;
  return std::string(text.data());
}

}  // namespace

Result<std::vector<std::string>> SystemResolver::resolve(const std::string& host) const {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int code = ::getaddrinfo(host.c_str(), nullptr, &hints, &found);
  if (code != 0) return Error(std::string(::gai_strerror(code)));
  std::vector<std::string> addresses;
  for (const addrinfo* entry = found; entry != nullptr; entry = entry->ai_next) {
    std::array<char, INET6_ADDRSTRLEN> text{};
    const void* raw = nullptr;
    if (entry->ai_family == AF_INET) {
      raw = &reinterpret_cast<const sockaddr_in*>(entry->ai_addr)->sin_addr;
    } else if (entry->ai_family == AF_INET6) {
      raw = &reinterpret_cast<const sockaddr_in6*>(entry->ai_addr)->sin6_addr;
    } else {
      continue;
    }
    if (::inet_ntop(entry->ai_family, raw, text.data(), text.size()) == nullptr) continue;
    std::string address(text.data());
    if (std::find(addresses.begin(), addresses.end(), address) == addresses.end()) {
      addresses.push_back(std::move(address));
    }
  }
  ::freeaddrinfo(found);
  if (addresses.empty()) return Error("no address");
  return addresses;
}

Result<Url> parseUrl(std::string_view url) {
  for (const char c : url) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= ' ' || byte >= 0x7F || c == '\\') {
      return Error("spaces, control characters, backslashes and non-ASCII are not allowed");
    }
  }
  const std::size_t schemeEnd = url.find("://");
  const std::size_t colon = url.find(':');
  if (schemeEnd == std::string_view::npos || colon < schemeEnd) {
    const std::string scheme(url.substr(0, colon == std::string_view::npos ? 0 : colon));
    return Error("scheme \"" + lowerCase(scheme) + "\" is not allowed (http and https only)");
  }
  Url out;
  out.scheme = lowerCase(url.substr(0, schemeEnd));
  if (out.scheme != "http" && out.scheme != "https") {
    return Error("scheme \"" + out.scheme + "\" is not allowed (http and https only)");
  }
  const std::size_t authorityStart = schemeEnd + 3;
  const std::size_t authorityEnd = std::min(url.find_first_of("/?#", authorityStart), url.size());
  const std::string_view authority = url.substr(authorityStart, authorityEnd - authorityStart);
  out.origin = std::string(url.substr(0, authorityEnd));
  out.target = std::string(url.substr(authorityEnd));
  out.target = out.target.substr(0, out.target.find('#'));
  if (out.target.empty() || out.target.front() != '/') out.target.insert(0, "/");
  if (authority.find('@') != std::string_view::npos) return Error("user info is not allowed");
  if (authority.empty()) return Error("no host");
  std::string_view host = authority;
  std::string_view port;
  if (authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return Error("unclosed [ in the host");
    host = authority.substr(1, close - 1);
    const std::string_view rest = authority.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return Error("malformed host");
    if (!rest.empty()) port = rest.substr(1);
    in6_addr parsed{};
    if (::inet_pton(AF_INET6, std::string(host).c_str(), &parsed) != 1) {
      return Error("\"" + std::string(host) + "\" is not an IPv6 address");
    }
  } else {
    const std::size_t portStart = authority.find(':');
    host = authority.substr(0, portStart);
    if (portStart != std::string_view::npos) port = authority.substr(portStart + 1);
  }
  out.host = lowerCase(host);
  if (authority.front() != '[') {
    if (out.host.empty() || !std::all_of(out.host.begin(), out.host.end(), isNameChar)) {
      return Error("\"" + out.host + "\" is not a host name (letters, digits, '.' and '-')");
    }
    if (out.host.back() == '.') return Error("a host name must not end with '.'");
    if (out.host.front() == '.' || out.host.find("..") != std::string::npos) {
      return Error("\"" + out.host + "\" has an empty label");
    }
  }
  out.port = out.scheme == "https" ? 443 : 80;
  if (!port.empty() || authority.back() == ':') {
    int value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value < 1 ||
        value > 65535) {
      return Error("bad port \"" + std::string(port) + "\"");
    }
    out.port = value;
  }
  return out;
}

std::optional<std::string> blockedReason(const std::string& address) {
  in_addr v4{};
  if (::inet_pton(AF_INET, address.c_str(), &v4) == 1) return blockedV4(ntohl(v4.s_addr));
  in6_addr v6{};
  if (::inet_pton(AF_INET6, address.c_str(), &v6) == 1) {
    std::array<std::uint8_t, 16> bytes{};
    std::memcpy(bytes.data(), v6.s6_addr, bytes.size());
    return blockedV6(bytes);
  }
  return "not an IP address";
}

std::optional<std::string> canonicalAddress(const std::string& address) {
  std::array<char, INET6_ADDRSTRLEN> text{};
  in_addr v4{};
  if (::inet_pton(AF_INET, address.c_str(), &v4) == 1 &&
      ::inet_ntop(AF_INET, &v4, text.data(), text.size()) != nullptr) {
    return std::string(text.data());
  }
  in6_addr v6{};
  if (::inet_pton(AF_INET6, address.c_str(), &v6) == 1 &&
      ::inet_ntop(AF_INET6, &v6, text.data(), text.size()) != nullptr) {
    return std::string(text.data());
  }
  return std::nullopt;
}

std::string Destination::resolveEntry() const {
  if (literal) return "";
  const bool v6 = address.find(':') != std::string::npos;
  return url.host + ":" + std::to_string(url.port) + ":" + (v6 ? "[" + address + "]" : address);
}

SsrfGuard::SsrfGuard(const std::vector<std::string>& allowedAddresses,
                     std::shared_ptr<const Resolver> resolver)
    : resolver_(resolver ? std::move(resolver) : std::make_shared<SystemResolver>()) {
  for (const std::string& address : allowedAddresses) {
    if (std::optional<std::string> canonical = canonicalAddress(address)) {
      allowedAddresses_.push_back(std::move(*canonical));
    }
  }
}

Result<std::vector<std::string>> SsrfGuard::parseAddressList(std::string_view list) {
  std::vector<std::string> addresses;
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    std::string_view entry = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    while (!entry.empty() && entry.front() == ' ') entry.remove_prefix(1);
    while (!entry.empty() && entry.back() == ' ') entry.remove_suffix(1);
    if (entry.empty()) continue;
    const std::optional<std::string> canonical = canonicalAddress(std::string(entry));
    if (!canonical) {
      return Error("\"" + std::string(entry) + "\" is not an IP address (such as 127.0.0.1)");
    }
    addresses.push_back(*canonical);
  }
  return addresses;
}

bool SsrfGuard::allowedAddress(const std::string& address) const {
  return std::find(allowedAddresses_.begin(), allowedAddresses_.end(), address) !=
         allowedAddresses_.end();
}

Result<Destination, Refusal> SsrfGuard::checkWithoutResolving(
    std::string_view url, const std::vector<std::string>& allowedHosts) const {
  const auto blocked = [](std::string reason) {
    return Refusal{Refusal::Kind::kBlocked, std::move(reason)};
  };
  Result<Url> parsed = parseUrl(url);
  if (!parsed) return blocked("bad URL: " + parsed.error().message());
  Destination destination{std::move(*parsed), "", false};
  const std::string& host = destination.url.host;
  if (host == "localhost" || (host.size() > 10 && host.ends_with(".localhost"))) {
    return blocked("host \"" + host + "\" is a localhost name");
  }
  if (!allowedHosts.empty() &&
      std::find(allowedHosts.begin(), allowedHosts.end(), host) == allowedHosts.end()) {
    std::string allowed;
    for (const std::string& name : allowedHosts) allowed += (allowed.empty() ? "" : ", ") + name;
    return blocked("host \"" + host + "\" is not allowed for this action (allowed: " + allowed +
                   ")");
  }
  if (const std::optional<std::string> numeric = numericHost(host)) {
    if (std::optional<std::string> reason = blockedReason(*numeric);
        reason && !(allowedAddress(*numeric) && *numeric == host)) {
      return blocked("address " + *numeric + " is " + *reason);
    }
    // 2130706433 or 0x5db8d822 may be public, but no legitimate caller writes an address so.
    if (*numeric != host) {
      return blocked("address \"" + host + "\" is not written in the usual form (" + *numeric +
                     ")");
    }
    destination.literal = true;
    destination.address = *numeric;
  }
  return destination;
}

Result<Destination, Refusal> SsrfGuard::check(std::string_view url,
                                              const std::vector<std::string>& allowedHosts) const {
  Result<Destination, Refusal> destination = checkWithoutResolving(url, allowedHosts);
  if (!destination || destination->literal) return destination;
  const std::string& host = destination->url.host;
  Result<std::vector<std::string>> resolved = resolver_->resolve(host);
  if (!resolved || resolved->empty()) {
    return Refusal{Refusal::Kind::kUnresolved,
                   "cannot resolve \"" + host + "\"" +
                       (resolved ? std::string() : ": " + resolved.error().message())};
  }
  // Every address must pass: a name with a public and an internal answer is refused.
  std::string first;
  for (const std::string& address : *resolved) {
    const std::optional<std::string> canonical = canonicalAddress(address);
    if (!canonical) {
      return Refusal{Refusal::Kind::kBlocked,
                     "host \"" + host + "\" resolves to a malformed address"};
    }
    if (!allowedAddress(*canonical)) {
      if (std::optional<std::string> reason = blockedReason(*canonical)) {
        return Refusal{Refusal::Kind::kBlocked,
                       "host \"" + host + "\" resolves to " + *canonical + ", " + *reason};
      }
    }
    if (first.empty()) first = *canonical;
  }
  destination->address = std::move(first);
  return destination;
}

}  // namespace va::service
