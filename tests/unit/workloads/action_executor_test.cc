// action-executor: the assistant schema's action fields; the SSRF guard against a table of
// bypass attempts (numeric forms of loopback, IPv4-mapped and NAT64 IPv6, metadata addresses,
// private ranges, localhost names, user info, other schemes), with and without the test opt-in
// for 127.0.0.1; DNS rebinding (the call connects to the address checked, not to a second
// answer); and runs against an upstream on 127.0.0.1: encoding of slot values, JSON bodies,
// result slots, Idempotency-Key, retries, timeouts, signatures, redirects and bad input.
#include "workloads/action_executor/action_executor.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/workloads/test_support.h"
#include "workloads/common/http_server.h"
#include "workloads/common/ssrf_guard.h"
#include "workloads/nlu/assistant.h"
#include "workloads/output_manager/webhook.h"

namespace va::action_executor {
namespace {

using nlohmann::json;
using service::blockedReason;
using service::Secret;
using service::testing::LocalServer;

// An assistant with the given `actions:` section (YAML list items, indented by two).
std::string assistantYaml(const std::string& actions) {
  return "name: test\n"
         "out_of_scope:\n  responses: [Sorry.]\n"
         "actions:\n" +
         actions +
         "intents:\n"
         "  - {name: greet, examples: [hello], responses: [Hi!]}\n"
         "  - {name: bye, examples: [bye], responses: [Bye!]}\n";
}

nlu::Assistant assistantWith(const std::string& actions) {
  Result<nlu::Assistant> assistant = nlu::parseAssistant(assistantYaml(actions));
  EXPECT_TRUE(assistant.ok()) << assistant.error().message();
  return assistant.ok() ? std::move(assistant).value() : nlu::Assistant{};
}

std::string errorOf(const std::string& actions) {
  const Result<nlu::Assistant> assistant = nlu::parseAssistant(assistantYaml(actions));
  return assistant.ok() ? "ok" : assistant.error().message();
}

// --- the schema ---

TEST(ActionSchemaTest, ParsesTheNewFields) {
  const nlu::Assistant assistant = assistantWith(
      "  - name: book\n"
      "    method: POST\n"
      "    url: https://api.example.com/v1/book?date={date}\n"
      "    body: '{{\"date\": \"{date}\", \"note\": \"a {{literal}} brace\"}}'\n"
      "    timeout_seconds: 12\n"
      "    allowed_hosts: [api.example.com, API2.example.com]\n"
      "    result_slots: {confirmation: /id, first: /items/0/name}\n"
      "    headers: {X-Api-Version: '2', X-Date: '{date}'}\n"
      "  - {name: plain, method: GET, url: 'http://[::1]:8080/x'}\n");
  const nlu::ActionSpec* book = assistant.findAction("book");
  ASSERT_NE(book, nullptr);
  EXPECT_EQ(book->body, R"({{"date": "{date}", "note": "a {{literal}} brace"}})");
  EXPECT_EQ(book->timeout_seconds, 12);
  EXPECT_EQ(book->allowed_hosts, (std::vector<std::string>{"api.example.com", "api2.example.com"}));
  EXPECT_EQ(book->result_slots.at("confirmation"), "/id");
  EXPECT_EQ(book->headers.at("X-Date"), "{date}");
  const nlu::ActionSpec* plain = assistant.findAction("plain");
  ASSERT_NE(plain, nullptr);
  EXPECT_EQ(plain->timeout_seconds, 5);
  EXPECT_EQ(plain->allowed_hosts, std::vector<std::string>{"::1"});
  EXPECT_TRUE(plain->body.empty());
}

TEST(ActionSchemaTest, ErrorsNameTheField) {
  const std::string ok = "  - {name: a, method: GET, url: 'https://a.example.com/x'}\n";
  EXPECT_EQ(errorOf(ok), "ok");
  EXPECT_EQ(errorOf(ok + "  - {name: b, method: GET, url: 'https://b.example.com/', "
                         "timeout_seconds: 0}\n"),
            "actions[1].timeout_seconds: must be a whole number from 1 to 60");
  EXPECT_EQ(errorOf(ok + "  - {name: b, method: GET, url: 'https://b.example.com/', "
                         "timeout_seconds: 61}\n"),
            "actions[1].timeout_seconds: must be a whole number from 1 to 60");
  EXPECT_EQ(errorOf("  - {name: b, method: GET, url: 'https://b.example.com/', body: '{{}}'}\n"),
            "actions[0].body: only POST, PUT and PATCH send a body");
  EXPECT_EQ(errorOf("  - {name: b, method: POST, url: 'https://b.example.com/', "
                    "body: '{{\"n\": {n}}}'}\n"),
            "actions[0].body: placeholder {n} must be inside a JSON string (\"{n}\")");
  EXPECT_EQ(errorOf("  - {name: b, method: POST, url: 'https://b.example.com/', "
                    "body: '{{\"n\": \"{n}\"'}\n"),
            "actions[0].body: is not valid JSON (write {{ and }} for literal braces)");
  EXPECT_EQ(errorOf("  - {name: b, method: POST, url: 'https://b.example.com/', body: '{n'}\n"),
            "actions[0].body: unclosed { at offset 0");
  EXPECT_EQ(errorOf("  - {name: b, method: GET, url: 'https://b.example.com/', "
                    "allowed_hosts: [other.example.com]}\n"),
            "actions[0].allowed_hosts: must include the url's host \"b.example.com\"");
  EXPECT_EQ(errorOf("  - {name: b, method: GET, url: 'https://b.example.com/', "
                    "allowed_hosts: [b.example.com, 'evil/x']}\n"),
            "actions[0].allowed_hosts[1]: \"evil/x\" is not a host name (letters, digits, '.' "
            "and '-') or an IP address");
  EXPECT_EQ(errorOf("  - {name: b, method: GET, url: 'https://b.example.com/', "
                    "result_slots: {forecast: summary}}\n"),
            "actions[0].result_slots.forecast: \"summary\" is not a JSON pointer (such as "
            "/summary)");
  EXPECT_EQ(errorOf("  - {name: b, method: GET, url: 'https://b.example.com/', "
                    "result_slots: {Forecast: /summary}}\n"),
            "actions[0].result_slots.Forecast: \"Forecast\" must match [a-z][a-z0-9_]*");
  EXPECT_EQ(errorOf("  - {name: b, method: GET, url: 'https://b.example.com/', "
                    "headers: {Host: evil.example.com}}\n"),
            "actions[0].headers.Host: is set by the executor");
  EXPECT_EQ(errorOf("  - {name: b, method: GET, url: 'https://b.example.com/', "
                    "headers: {'Bad Name': x}}\n"),
            "actions[0].headers.Bad Name: a header name is letters, digits and '-'");
  EXPECT_EQ(errorOf("  - {name: b, method: GET, url: 'https://b.example.com/', "
                    "headers: {X-A: \"a\\r\\nInjected: 1\"}}\n"),
            "actions[0].headers.X-A: must not contain control characters");
  EXPECT_EQ(errorOf("  - {name: b, method: GET, url: 'https://b.example.com/', colour: red}\n"),
            "actions[0].colour: unknown field");
}

TEST(ActionSchemaTest, BodyAndHeaderPlaceholdersMustBeSlotsOfTheIntent) {
  const std::string yaml =
      "name: test\nout_of_scope:\n  responses: [Sorry.]\n"
      "actions:\n"
      "  - {name: b, method: POST, url: 'https://b.example.com/', body: '{{\"x\": \"{x}\"}}',"
      " headers: {X-Y: '{y}'}}\n"
      "intents:\n"
      "  - {name: greet, examples: [hello], responses: [Hi!]}\n"
      "  - name: act\n    examples: [do it]\n    responses: [Done.]\n    action: b\n"
      "    slots: [{name: SLOT, type: number}]\n";
  std::string noX = yaml;
  noX.replace(noX.find("SLOT"), 4, "y");
  EXPECT_EQ(nlu::parseAssistant(noX).error().message(),
            "intents[1].action: the body of \"b\" uses {x}, which is not a slot of this intent");
  std::string noY = yaml;
  noY.replace(noY.find("SLOT"), 4, "x");
  EXPECT_EQ(nlu::parseAssistant(noY).error().message(),
            "intents[1].action: the header X-Y of \"b\" uses {y}, which is not a slot of this "
            "intent");
}

TEST(ActionSchemaTest, TheDefaultAssistantDocumentsTheFields) {
  const Result<nlu::Assistant> assistant = nlu::parseAssistant(R"(name: x
out_of_scope: {responses: [no]}
actions:
  - name: weather
    method: GET
    url: https://weather.example.com/v1/current?city={city}
    allowed_hosts: [weather.example.com, api.weather.example.com]
    result_slots: {forecast: /summary}
intents:
  - {name: a, examples: [a], responses: [a]}
  - {name: b, examples: [b], responses: [b]}
)");
  ASSERT_TRUE(assistant.ok()) << assistant.error().message();
  EXPECT_EQ(nlu::urlHost("https://User@Weather.Example.com:8443/x?y"), "weather.example.com");
  EXPECT_EQ(nlu::urlHost("http://[::1]:80/"), "::1");
}

// --- the guard ---

TEST(SsrfGuardTest, ClassifiesAddresses) {
  EXPECT_EQ(blockedReason("93.184.216.34"), std::nullopt);
  EXPECT_EQ(blockedReason("2606:2800:220:1:248:1893:25c8:1946"), std::nullopt);
  EXPECT_EQ(blockedReason("127.0.0.1"), "loopback (127.0.0.0/8)");
  EXPECT_EQ(blockedReason("255.255.255.255"), "broadcast (255.255.255.255)");
  EXPECT_EQ(blockedReason("240.0.0.1"), "reserved (240.0.0.0/4)");
  EXPECT_EQ(blockedReason("239.1.1.1"), "multicast (224.0.0.0/4)");
  EXPECT_EQ(blockedReason("198.19.1.1"), "benchmarking (198.18.0.0/15)");
  EXPECT_EQ(blockedReason("100.127.255.255"), "carrier-grade NAT (100.64.0.0/10)");
  EXPECT_EQ(blockedReason("100.128.0.1"), std::nullopt);
  EXPECT_EQ(blockedReason("172.31.255.255"), "private (172.16.0.0/12)");
  EXPECT_EQ(blockedReason("172.32.0.1"), std::nullopt);
  EXPECT_EQ(blockedReason("::ffff:169.254.169.254"),
            "IPv4-mapped (::ffff:0:0/96), embedding 169.254.169.254: link-local (169.254.0.0/16)");
  EXPECT_EQ(blockedReason("64:ff9b::7f00:1"),
            "NAT64 (64:ff9b::/96), embedding 127.0.0.1: loopback (127.0.0.0/8)");
  EXPECT_EQ(blockedReason("ff02::1"), "multicast (ff00::/8)");
  EXPECT_EQ(blockedReason("fe80::1"), "link-local (fe80::/10)");
  EXPECT_EQ(blockedReason("fd12:3456::1"), "unique-local (fc00::/7)");
  EXPECT_EQ(blockedReason("::"), "unspecified (::)");
  EXPECT_EQ(blockedReason("not-an-address"), "not an IP address");
}

TEST(SsrfGuardTest, ParsesTheAllowList) {
  const auto list = SsrfGuard::parseAddressList(" 127.0.0.1, 0:0:0:0:0:0:0:1 ,");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(*list, (std::vector<std::string>{"127.0.0.1", "::1"}));
  EXPECT_EQ(SsrfGuard::parseAddressList("127.0.0.1,localhost").error().message(),
            "\"localhost\" is not an IP address (such as 127.0.0.1)");
  EXPECT_EQ(SsrfGuard::parseAddressList("127.1").error().message(),
            "\"127.1\" is not an IP address (such as 127.0.0.1)");
  EXPECT_TRUE(SsrfGuard::parseAddressList("")->empty());
}

struct BypassCase {
  std::string url;
  std::string reason;            // a part of the refusal's reason
  bool blockedWithOptIn = true;  // still blocked when 127.0.0.1 is opted in
};

// NOLINTNEXTLINE(readability-identifier-naming): the name gtest looks for
void PrintTo(const BypassCase& c, std::ostream* out) { *out << c.url; }

const std::vector<BypassCase>& bypassCases() {
  static const std::vector<BypassCase> kCases = {
      {"http://127.0.0.1/", "127.0.0.1 is loopback", false},
      {"http://127.0.0.2/", "127.0.0.2 is loopback"},
      {"http://127.1/", "127.0.0.1 is loopback"},
      {"http://2130706433/", "127.0.0.1 is loopback"},
      {"http://0177.0.0.1/", "127.0.0.1 is loopback"},
      {"http://0x7f.0.0.1/", "127.0.0.1 is loopback"},
      {"http://0x7f000001/", "127.0.0.1 is loopback"},
      {"http://017700000001/", "127.0.0.1 is loopback"},
      {"http://127.000.000.001/", "127.0.0.1 is loopback"},
      {"http://[::1]/", "::1 is loopback"},
      {"http://[0:0:0:0:0:0:0:1]:8080/", "::1 is loopback"},
      {"http://[::ffff:127.0.0.1]/", "IPv4-mapped (::ffff:0:0/96), embedding 127.0.0.1"},
      {"http://[::ffff:7f00:1]/", "IPv4-mapped (::ffff:0:0/96), embedding 127.0.0.1"},
      {"http://[0:0:0:0:0:ffff:127.0.0.1]/", "IPv4-mapped"},
      {"http://[::127.0.0.1]/", "IPv4-compatible (::/96), embedding 127.0.0.1"},
      {"http://[64:ff9b::7f00:1]/", "NAT64 (64:ff9b::/96), embedding 127.0.0.1"},
      {"http://[64:ff9b::a9fe:a9fe]/", "embedding 169.254.169.254: link-local"},
      {"http://[fe80::1]/", "link-local (fe80::/10)"},
      {"http://[fc00::1]/", "unique-local (fc00::/7)"},
      {"http://[fd12:3456::1]/", "unique-local (fc00::/7)"},
      {"http://[ff02::1]/", "multicast"},
      {"http://[::]/", "unspecified (::)"},
      {"http://169.254.169.254/latest/meta-data/", "link-local (169.254.0.0/16)"},
      {"http://[::ffff:169.254.169.254]/", "embedding 169.254.169.254: link-local"},
      {"http://[::ffff:a9fe:a9fe]/", "embedding 169.254.169.254: link-local"},
      {"http://10.0.0.1/", "private (10.0.0.0/8)"},
      {"http://172.16.0.1/", "private (172.16.0.0/12)"},
      {"http://192.168.1.1/", "private (192.168.0.0/16)"},
      {"http://100.64.0.1/", "carrier-grade NAT"},
      {"http://0.0.0.0/", "unspecified (0.0.0.0/8)"},
      {"http://0/", "0.0.0.0 is unspecified"},
      {"http://255.255.255.255/", "broadcast"},
      {"http://240.0.0.1/", "reserved (240.0.0.0/4)"},
      {"http://224.0.0.1/", "multicast"},
      {"http://198.18.0.1/", "benchmarking"},
      {"http://localhost/", "is a localhost name"},
      {"http://LOCALHOST./", "must not end with '.'"},
      {"http://api.localhost:8080/", "is a localhost name"},
      {"http://user@127.0.0.1/", "user info is not allowed"},
      {"http://user:pass@example.com/", "user info is not allowed"},
      {"http://example.com\\@127.0.0.1/", "backslashes"},
      {"http://%6c%6fcalhost/", "is not a host name"},
      {"http://127.0.0.1%2f@example.com/", "user info is not allowed"},
      {"ftp://example.com/", "scheme \"ftp\" is not allowed"},
      {"file:///etc/passwd", "scheme \"file\" is not allowed"},
      {"gopher://127.0.0.1:6379/_INFO", "scheme \"gopher\" is not allowed"},
      {"dict://127.0.0.1:11211/", "scheme \"dict\" is not allowed"},
      {"http://[fe80::1%25eth0]/", "is not an IPv6 address"},
      {"http://1572395042/", "not written in the usual form (93.184.216.34)"},
  };
  return kCases;
}

class SsrfBypassTest : public ::testing::TestWithParam<BypassCase> {};

TEST_P(SsrfBypassTest, IsBlocked) {
  const BypassCase& c = GetParam();
  // The action's allowlist is the URL's own host, as by default.
  const std::vector<std::string> allowedHosts = {nlu::urlHost(c.url)};
  for (const bool optIn : {false, true}) {
    if (optIn && !c.blockedWithOptIn) continue;
    const SsrfGuard guard(optIn ? std::vector<std::string>{"127.0.0.1"}
                                : std::vector<std::string>{});
    const Result<Destination, Refusal> checked = guard.check(c.url, allowedHosts);
    ASSERT_FALSE(checked.ok()) << c.url << " was let through to " << checked->address
                               << (optIn ? " (with 127.0.0.1 opted in)" : "");
    EXPECT_EQ(checked.error().kind, Refusal::Kind::kBlocked) << checked.error().reason;
    EXPECT_NE(checked.error().reason.find(c.reason), std::string::npos)
        << c.url << ": " << checked.error().reason;
  }
}

INSTANTIATE_TEST_SUITE_P(Table, SsrfBypassTest, ::testing::ValuesIn(bypassCases()));

TEST(SsrfGuardTest, TableIsLargeEnough) { EXPECT_GE(bypassCases().size(), 30U); }

TEST(SsrfGuardTest, OnlyTheOptedInLiteralPasses) {
  const SsrfGuard guard({"127.0.0.1"});
  const auto literal = guard.check("http://127.0.0.1:8080/x?y=1", {"127.0.0.1"});
  ASSERT_TRUE(literal.ok()) << literal.error().reason;
  EXPECT_EQ(literal->address, "127.0.0.1");
  EXPECT_TRUE(literal->literal);
  EXPECT_EQ(literal->resolveEntry(), "");
  EXPECT_EQ(literal->url.port, 8080);
  EXPECT_EQ(literal->url.target, "/x?y=1");
  // A host that is not on the action's allowlist is refused before any lookup.
  const auto other = guard.check("http://127.0.0.1:8080/", {"api.example.com"});
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().reason,
            "host \"127.0.0.1\" is not allowed for this action (allowed: api.example.com)");
}

// Answers from a script, one per lookup (the last one again when the script runs out).
class ScriptedResolver : public Resolver {
 public:
  explicit ScriptedResolver(std::vector<std::vector<std::string>> answers)
      : answers_(std::move(answers)) {}
  [[nodiscard]] Result<std::vector<std::string>> resolve(const std::string& host) const override {
    const std::lock_guard lock(mutex_);
    hosts_.push_back(host);
    const std::size_t index = std::min(lookups_++, answers_.size() - 1);
    if (answers_[index].empty()) return Error("Name or service not known");
    return answers_[index];
  }
  std::size_t lookups() const {
    const std::lock_guard lock(mutex_);
    return lookups_;
  }

 private:
  std::vector<std::vector<std::string>> answers_;
  mutable std::mutex mutex_;
  mutable std::size_t lookups_ = 0;
  mutable std::vector<std::string> hosts_;
};

TEST(SsrfGuardTest, ResolvesOnceAndPinsTheCheckedAddress) {
  auto resolver = std::make_shared<ScriptedResolver>(
      std::vector<std::vector<std::string>>{{"93.184.216.34"}, {"127.0.0.1"}});
  const SsrfGuard guard({}, resolver);
  const auto checked = guard.check("https://rebind.example.com/x", {"rebind.example.com"});
  ASSERT_TRUE(checked.ok()) << checked.error().reason;
  EXPECT_EQ(resolver->lookups(), 1U);
  EXPECT_EQ(checked->address, "93.184.216.34");
  EXPECT_EQ(checked->resolveEntry(), "rebind.example.com:443:93.184.216.34");
  // The second answer (internal) is what a second lookup would get: refused then.
  const auto again = guard.check("https://rebind.example.com/x", {"rebind.example.com"});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().reason,
            "host \"rebind.example.com\" resolves to 127.0.0.1, loopback (127.0.0.0/8)");
}

TEST(SsrfGuardTest, EveryAnswerMustBePublic) {
  auto resolver = std::make_shared<ScriptedResolver>(std::vector<std::vector<std::string>>{
      {"93.184.216.34", "10.1.2.3"}, {"2606:2800:220:1::1", "::ffff:127.0.0.1"}, {}});
  const SsrfGuard guard({"127.0.0.1"}, resolver);
  EXPECT_EQ(guard.check("http://mixed.example.com/", {"mixed.example.com"}).error().reason,
            "host \"mixed.example.com\" resolves to 10.1.2.3, private (10.0.0.0/8)");
  EXPECT_NE(guard.check("http://mixed.example.com/", {"mixed.example.com"})
                .error()
                .reason.find("IPv4-mapped"),
            std::string::npos);
  const auto unresolved = guard.check("http://gone.example.com/", {"gone.example.com"});
  ASSERT_FALSE(unresolved.ok());
  EXPECT_EQ(unresolved.error().kind, Refusal::Kind::kUnresolved);
  // A public IPv6 answer is pinned in brackets.
  auto v6 = std::make_shared<ScriptedResolver>(
      std::vector<std::vector<std::string>>{{"2606:2800:220:1::1"}});
  const auto pinned = SsrfGuard({}, v6).check("http://v6.example.com:8080/", {"v6.example.com"});
  ASSERT_TRUE(pinned.ok()) << pinned.error().reason;
  EXPECT_EQ(pinned->resolveEntry(), "v6.example.com:8080:[2606:2800:220:1::1]");
}

TEST(SsrfGuardTest, AnEmptyHostListMeansAnyPublicHost) {
  // output-manager's callbacks: no host allowlist, the address checks all the same.
  auto resolver = std::make_shared<ScriptedResolver>(
      std::vector<std::vector<std::string>>{{"93.184.216.34"}, {"10.1.2.3"}});
  const SsrfGuard guard({}, resolver);
  const auto any = guard.check("https://hooks.example.net/x", {});
  ASSERT_TRUE(any.ok()) << any.error().reason;
  EXPECT_EQ(any->resolveEntry(), "hooks.example.net:443:93.184.216.34");
  EXPECT_EQ(guard.check("https://hooks.example.net/x", {}).error().reason,
            "host \"hooks.example.net\" resolves to 10.1.2.3, private (10.0.0.0/8)");
  EXPECT_EQ(guard.check("http://169.254.169.254/", {}).error().reason,
            "address 169.254.169.254 is link-local (169.254.0.0/16)");
  EXPECT_FALSE(guard.check("http://localhost/", {}).ok());
  EXPECT_TRUE(guard.check("http://93.184.216.34/", {}).ok());
  EXPECT_EQ(resolver->lookups(), 2U);
}

TEST(SsrfGuardTest, CheckingWithoutResolvingNeverLooksUp) {
  auto resolver =
      std::make_shared<ScriptedResolver>(std::vector<std::vector<std::string>>{{"10.1.2.3"}});
  const SsrfGuard guard({"127.0.0.1"}, resolver);
  const auto name = guard.checkWithoutResolving("https://hooks.example.net/x", {});
  ASSERT_TRUE(name.ok()) << name.error().reason;
  EXPECT_FALSE(name->literal);
  EXPECT_EQ(name->address, "");
  const auto literal = guard.checkWithoutResolving("http://127.0.0.1:8080/", {});
  ASSERT_TRUE(literal.ok()) << literal.error().reason;
  EXPECT_EQ(literal->address, "127.0.0.1");
  EXPECT_EQ(guard.checkWithoutResolving("http://10.0.0.1/", {}).error().reason,
            "address 10.0.0.1 is private (10.0.0.0/8)");
  EXPECT_EQ(guard.checkWithoutResolving("ftp://x/", {}).error().reason,
            "bad URL: scheme \"ftp\" is not allowed (http and https only)");
  EXPECT_EQ(guard.checkWithoutResolving("http://a.example.com/", {"b.example.com"}).error().reason,
            "host \"a.example.com\" is not allowed for this action (allowed: b.example.com)");
  EXPECT_EQ(resolver->lookups(), 0U);
}

TEST(SsrfGuardTest, LocalhostStaysBlockedWhenTheSystemResolvesIt) {
  // Blocked by name; and were it resolved, ::1 (or 127.0.0.1 alone) is not the opted-in literal.
  const SsrfGuard guard({"127.0.0.1"});
  EXPECT_FALSE(guard.check("http://localhost/", {"localhost"}).ok());
  EXPECT_FALSE(guard.check("http://localhost.localdomain/", {"localhost.localdomain"}).ok());
}

TEST(UrlEncodeTest, KeepsValuesInsideTheirPlaceholder) {
  EXPECT_EQ(urlEncode("x/../../admin?y=", true), "x%2F%2E%2E%2F%2E%2E%2Fadmin%3Fy%3D");
  EXPECT_EQ(urlEncode("evil.com@127.0.0.1", false), "evil.com%40127.0.0.1");
  EXPECT_EQ(urlEncode("a b&c=d#e", false), "a%20b%26c%3Dd%23e");
  EXPECT_EQ(urlEncode("..", true), "%2E%2E");
  EXPECT_EQ(urlEncode("Zürich", false), "Z%C3%BCrich");
}

TEST(SignatureTest, MatchesTheWebhookScheme) {
  // python3: hmac.new(b'whsec_test', b'1764201600.{"a":1}', hashlib.sha256).hexdigest()
  EXPECT_EQ(signRequest(Secret("whsec_test"), "1764201600", R"({"a":1})"),
            "v1=bbced4c0ff53884650b4b78eaa000794406b03e60bed48f60f2c00abd58ac7c7");
}

// --- runs against an upstream on 127.0.0.1 ---

struct Seen {
  std::string method;
  std::string target;  // as sent, still encoded
  std::string path;    // decoded by httplib
  std::multimap<std::string, std::string> params;
  std::string body;
  httplib::Headers headers;
};

class ExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto& server = upstream_.server();
    const auto record = [this](const httplib::Request& req) {
      const std::lock_guard lock(mutex_);
      seen_.push_back({req.method,
                       req.target,
                       req.path,
                       {req.params.begin(), req.params.end()},
                       req.body,
                       req.headers});
    };
    server.Get(R"(/weather/(.*))", [record](const httplib::Request& req, httplib::Response& res) {
      record(req);
      res.set_content(R"({"summary":"sunny","temp":21.5,"days":[{"name":"mon"}]})",
                      "application/json");
    });
    server.Post("/book", [this, record](const httplib::Request& req, httplib::Response& res) {
      record(req);
      const int n = ++bookCalls_;
      if (n <= bookFailures_) {
        res.status = 503;
        return;
      }
      res.status = 201;
      res.set_content(R"({"confirmation_id":"c-42"})", "application/json");
    });
    server.Get("/flaky", [this, record](const httplib::Request& req, httplib::Response& res) {
      record(req);
      const int n = ++flakyCalls_;
      res.status = n <= flakyFailures_ ? 503 : 200;
      res.set_content(R"({"n":)" + std::to_string(n) + "}", "application/json");
    });
    server.Post("/slow", [record](const httplib::Request& req, httplib::Response& res) {
      record(req);
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));
      res.set_content("{}", "application/json");
    });
    server.Get("/text", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(100000, 'x'), "text/plain");
    });
    server.Get("/missing", [](const httplib::Request&, httplib::Response& res) {
      res.status = 404;
      res.set_content(R"({"error":"no such city"})", "application/json");
    });
    server.Get(R"(/redirect)", [this](const httplib::Request& req, httplib::Response& res) {
      const std::string to = req.get_param_value("to");
      res.status = 302;
      res.set_header("Location", to == "self" ? "/final" : to == "loop" ? "/redirect?to=loop" : to);
      ++redirects_;
    });
    server.Get("/final", [record](const httplib::Request& req, httplib::Response& res) {
      record(req);
      res.set_content(R"({"final":true})", "application/json");
    });
    upstream_.start();
  }

  std::string base() const { return "http://127.0.0.1:" + std::to_string(upstream_.port()); }

  std::string actions() const {
    const std::string b = base();
    return "  - {name: weather, method: GET, url: '" + b +
           "/weather/{city}?q={q}&units=metric', result_slots: {forecast: /summary, "
           "temperature: /temp, first_day: /days/0/name, absent: /nothing}, "
           "headers: {X-City: 'city {city}'}}\n"
           "  - name: book\n"
           "    method: POST\n"
           "    url: '" +
           b +
           "/book'\n"
           "    body: '{{\"date\": \"{date}\", \"party\": \"{party}\"}}'\n"
           "    result_slots: {confirmation: /confirmation_id}\n"
           "  - {name: flaky, method: GET, url: '" +
           b +
           "/flaky'}\n"
           "  - {name: slow, method: POST, url: '" +
           b +
           "/slow', timeout_seconds: 1}\n"
           "  - {name: text, method: GET, url: '" +
           b +
           "/text'}\n"
           "  - {name: missing, method: GET, url: '" +
           b +
           "/missing'}\n"
           "  - {name: redirect, method: GET, url: '" +
           b +
           "/redirect?to={to}', allowed_hosts: [127.0.0.1, 127.0.0.2, 169.254.169.254, "
           "'::1']}\n"
           "  - {name: closed, method: GET, url: 'http://127.0.0.1:" +
           std::to_string(service::testing::closedPort()) + "/'}\n";
  }

  ExecutorOptions options() const {
    ExecutorOptions options;
    options.allowedAddresses = {"127.0.0.1"};
    options.backoffBase = std::chrono::milliseconds(1);
    return options;
  }

  ActionExecutor executor(ExecutorOptions options) {
    return {assistantWith(actions()), std::move(options), registry_};
  }

  std::vector<Seen> seen() {
    const std::lock_guard lock(mutex_);
    return seen_;
  }

  double runs(const std::string& action, const std::string& outcome) {
    for (const auto& family : registry_.Collect()) {
      if (family.name != "va_action_executor_runs_total") continue;
      for (const auto& metric : family.metric) {
        bool matches = true;
        for (const auto& label : metric.label) {
          if (label.name == "action") matches = matches && label.value == action;
          if (label.name == "outcome") matches = matches && label.value == outcome;
        }
        if (matches) return metric.counter.value;
      }
    }
    return -1;
  }

  LocalServer upstream_;
  prometheus::Registry registry_;
  std::mutex mutex_;
  std::vector<Seen> seen_;
  std::atomic<int> bookCalls_{0};
  std::atomic<int> bookFailures_{0};
  std::atomic<int> flakyCalls_{0};
  std::atomic<int> flakyFailures_{0};
  std::atomic<int> redirects_{0};
};

TEST_F(ExecutorTest, GetEncodesSlotsAndMapsTheResult) {
  const ActionExecutor ex = executor(options());
  const Reply reply = ex.run(
      "weather",
      json{{"slots", {{"city", "x/../../admin?y="}, {"q", "evil.com@127.0.0.1&units=imperial#f"}}}}
          .dump());
  ASSERT_EQ(reply.status, 200) << reply.body.dump();
  EXPECT_EQ(reply.body["action"], "weather");
  EXPECT_EQ(reply.body["status"], "ok");
  EXPECT_EQ(reply.body["http_status"], 200);
  EXPECT_EQ(reply.body["result"]["summary"], "sunny");
  EXPECT_EQ(reply.body["slots"],
            (json{{"forecast", "sunny"}, {"temperature", "21.5"}, {"first_day", "mon"}}));
  const std::vector<Seen> calls = seen();
  ASSERT_EQ(calls.size(), 1U);
  EXPECT_EQ(
      calls[0].target,
      "/weather/x%2F%2E%2E%2F%2E%2E%2Fadmin%3Fy%3D?q=evil.com%40127.0.0.1%26units%3Dimperial%23f"
      "&units=metric");
  // Each value arrived whole, in its own placeholder: one path segment, one q parameter.
  EXPECT_EQ(calls[0].path, "/weather/x/../../admin?y=");
  ASSERT_EQ(calls[0].params.count("q"), 1U);
  EXPECT_EQ(calls[0].params.find("q")->second, "evil.com@127.0.0.1&units=imperial#f");
  ASSERT_EQ(calls[0].params.count("units"), 1U);
  EXPECT_EQ(calls[0].params.find("units")->second, "metric");
  EXPECT_EQ(calls[0].headers.find("X-City")->second, "city x/../../admin?y=");
  EXPECT_EQ(calls[0].headers.count("X-VA-Signature"), 0U);  // no secret configured
  EXPECT_EQ(runs("weather", "ok"), 1);
}

TEST_F(ExecutorTest, PostSendsAJsonBodyAnIdempotencyKeyAndASignature) {
  ExecutorOptions opts = options();
  opts.signingSecret = Secret("whsec_test");
  const ActionExecutor ex = executor(opts);
  const std::string tricky = "7\", \"admin\": true, \"x\": \"\n\\";
  const Reply reply = ex.run("book", json{{"slots", {{"date", "2026-05-01"}, {"party", tricky}}},
                                          {"idempotency_key", "book-1"}}
                                         .dump());
  ASSERT_EQ(reply.status, 200) << reply.body.dump();
  EXPECT_EQ(reply.body["http_status"], 201);
  EXPECT_EQ(reply.body["slots"], (json{{"confirmation", "c-42"}}));
  const std::vector<Seen> calls = seen();
  ASSERT_EQ(calls.size(), 1U);
  const json sent = json::parse(calls[0].body);
  EXPECT_EQ(sent, (json{{"date", "2026-05-01"}, {"party", tricky}}));  // no field was added
  EXPECT_EQ(calls[0].headers.find("Content-Type")->second, "application/json");
  EXPECT_EQ(calls[0].headers.find("Idempotency-Key")->second, "book-1");
  const std::string timestamp = calls[0].headers.find("X-VA-Timestamp")->second;
  const std::string signature = calls[0].headers.find("X-VA-Signature")->second;
  EXPECT_TRUE(output_manager::verifyWebhook(Secret("whsec_test"), timestamp, calls[0].body,
                                            signature, std::chrono::system_clock::now(),
                                            std::chrono::minutes(5)));
  EXPECT_FALSE(output_manager::verifyWebhook(Secret("other"), timestamp, calls[0].body, signature,
                                             std::chrono::system_clock::now(),
                                             std::chrono::minutes(5)));
}

TEST_F(ExecutorTest, RetriesAGetOn503) {
  flakyFailures_ = 2;
  const ActionExecutor ex = executor(options());
  const Reply reply = ex.run("flaky", "{}");
  ASSERT_EQ(reply.status, 200) << reply.body.dump();
  EXPECT_EQ(reply.body["result"]["n"], 3);
  EXPECT_EQ(flakyCalls_.load(), 3);
}

TEST_F(ExecutorTest, GivesUpAfterThreeAttemptsWith502AndTheStatus) {
  flakyFailures_ = 100;
  const ActionExecutor ex = executor(options());
  const Reply reply = ex.run("flaky", "{}");
  EXPECT_EQ(reply.status, 502);
  EXPECT_EQ(reply.body["error"]["code"], "upstream_error");
  EXPECT_EQ(reply.body["error"]["http_status"], 503);
  EXPECT_EQ(flakyCalls_.load(), 3);
  EXPECT_EQ(runs("flaky", "upstream_error"), 1);
}

TEST_F(ExecutorTest, NoRetryForAPostWithoutAKey) {
  bookFailures_ = 1;
  const ActionExecutor ex = executor(options());
  const Reply reply = ex.run("book", json{{"slots", {{"date", "d"}, {"party", "2"}}}}.dump());
  EXPECT_EQ(reply.status, 502) << reply.body.dump();
  EXPECT_EQ(reply.body["error"]["http_status"], 503);
  EXPECT_EQ(bookCalls_.load(), 1);
  EXPECT_EQ(seen()[0].headers.count("Idempotency-Key"), 0U);
}

TEST_F(ExecutorTest, RetriesAPostWithAKey) {
  bookFailures_ = 1;
  const ActionExecutor ex = executor(options());
  const Reply reply = ex.run(
      "book", json{{"slots", {{"date", "d"}, {"party", "2"}}}, {"idempotency_key", "k-7"}}.dump());
  EXPECT_EQ(reply.status, 200) << reply.body.dump();
  EXPECT_EQ(bookCalls_.load(), 2);
  for (const Seen& call : seen()) EXPECT_EQ(call.headers.find("Idempotency-Key")->second, "k-7");
}

TEST_F(ExecutorTest, TimesOutWith504) {
  const ActionExecutor ex = executor(options());
  const auto started = std::chrono::steady_clock::now();
  const Reply reply = ex.run("slow", "{}");
  EXPECT_EQ(reply.status, 504) << reply.body.dump();
  EXPECT_EQ(reply.body["error"]["code"], "timeout");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(1450));
  EXPECT_EQ(runs("slow", "timeout"), 1);
}

TEST_F(ExecutorTest, ConnectionFailureIs502) {
  const ActionExecutor ex = executor(options());
  const Reply reply = ex.run("closed", "{}");
  EXPECT_EQ(reply.status, 502) << reply.body.dump();
  EXPECT_EQ(reply.body["error"]["code"], "upstream_error");
}

TEST_F(ExecutorTest, UpstreamRejectionIs502WithItsStatus) {
  const ActionExecutor ex = executor(options());
  const Reply reply = ex.run("missing", "{}");
  EXPECT_EQ(reply.status, 502);
  EXPECT_EQ(reply.body["error"]["http_status"], 404);
}

TEST_F(ExecutorTest, ANonJsonResponseIsTextData) {
  const ActionExecutor ex = executor(options());
  const Reply reply = ex.run("text", "{}");
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body["result"]["text"].get<std::string>().size(), kMaxTextBytes);
  EXPECT_EQ(reply.body["result"]["truncated"], true);
  EXPECT_EQ(reply.body["slots"], json::object());
}

TEST_F(ExecutorTest, RedirectsAreCheckedAgainAtEveryHop) {
  const ActionExecutor ex = executor(options());
  const auto run = [&](const std::string& to) {
    return ex.run("redirect", json{{"slots", {{"to", to}}}}.dump());
  };
  const Reply self = run("self");
  ASSERT_EQ(self.status, 200) << self.body.dump();
  EXPECT_EQ(self.body["result"]["final"], true);

  const std::string port = std::to_string(upstream_.port());
  for (const auto& [to, reason] : std::vector<std::pair<std::string, std::string>>{
           {"http://127.0.0.2:" + port + "/", "127.0.0.2 is loopback"},
           {"http://169.254.169.254/latest/meta-data/", "169.254.169.254 is link-local"},
           {"http://[::1]:" + port + "/", "::1 is loopback"},
           {"http://evil.example.com/", "host \"evil.example.com\" is not allowed"},
           {"http://localhost:" + port + "/final", "localhost name"},
           {"file:///etc/passwd", "scheme \"file\" is not allowed"},
           {"http://user@127.0.0.1:" + port + "/final", "user info"}}) {
    const Reply reply = run(to);
    EXPECT_EQ(reply.status, 403) << to << ": " << reply.body.dump();
    EXPECT_EQ(reply.body["error"]["code"], "blocked") << to;
    EXPECT_NE(reply.body["error"]["message"].get<std::string>().find(reason), std::string::npos)
        << reply.body.dump();
  }
  redirects_ = 0;
  const Reply loop = run("loop");
  EXPECT_EQ(loop.status, 502);
  EXPECT_EQ(loop.body["error"]["message"], "action redirect: more than 3 redirects");
  EXPECT_EQ(redirects_.load(), 4);  // the first call and three hops
  EXPECT_EQ(runs("redirect", "blocked"), 7);
}

TEST_F(ExecutorTest, AnActionWithoutAllowedHostsIsRefused) {
  // Parsed definitions always have some (the URL's host by default); one built in code may
  // not, and an empty list must not turn into the guard's "any public host".
  nlu::Assistant assistant = assistantWith(actions());
  for (nlu::ActionSpec& action : assistant.actions) action.allowed_hosts.clear();
  const ActionExecutor ex(std::move(assistant), options(), registry_);
  const Reply reply = ex.run("flaky", "{}");
  EXPECT_EQ(reply.status, 403);
  EXPECT_EQ(reply.body["error"]["code"], "blocked");
  EXPECT_EQ(reply.body["error"]["message"], "action flaky has no allowed_hosts");
  EXPECT_TRUE(seen().empty());
  EXPECT_EQ(runs("flaky", "blocked"), 1);
}

TEST_F(ExecutorTest, DnsRebindingCannotMoveThePinnedAddress) {
  // "rebind.test" exists for this resolver only: its first answer is the opted-in 127.0.0.1,
  // any later one 169.254.169.254. The call reaches the upstream, so curl connected to the
  // address checked (it has no DNS answer of its own for this name), after one lookup.
  auto resolver = std::make_shared<ScriptedResolver>(
      std::vector<std::vector<std::string>>{{"127.0.0.1"}, {"169.254.169.254"}});
  ExecutorOptions opts = options();
  opts.resolver = resolver;
  const ActionExecutor ex(
      assistantWith("  - {name: rebind, method: GET, url: 'http://rebind.test:" +
                    std::to_string(upstream_.port()) + "/final'}\n"),
      opts, registry_);
  const Reply reply = ex.run("rebind", "{}");
  ASSERT_EQ(reply.status, 200) << reply.body.dump();
  EXPECT_EQ(resolver->lookups(), 1U);
  ASSERT_EQ(seen().size(), 1U);
  EXPECT_EQ(seen()[0].headers.find("Host")->second,
            "rebind.test:" + std::to_string(upstream_.port()));
  // The next run looks up again, gets the metadata address and is refused.
  const Reply second = ex.run("rebind", "{}");
  EXPECT_EQ(second.status, 403);
  EXPECT_EQ(resolver->lookups(), 2U);
  EXPECT_EQ(seen().size(), 1U);
}

TEST_F(ExecutorTest, WithoutTheOptInLoopbackIsBlocked) {
  const ActionExecutor ex = executor(ExecutorOptions{});
  const Reply reply = ex.run("flaky", "{}");
  EXPECT_EQ(reply.status, 403);
  EXPECT_EQ(reply.body["error"]["code"], "blocked");
  EXPECT_EQ(reply.body["error"]["message"], "address 127.0.0.1 is loopback (127.0.0.0/8)");
  EXPECT_EQ(flakyCalls_.load(), 0);
  EXPECT_EQ(runs("flaky", "blocked"), 1);
}

TEST_F(ExecutorTest, BadInputIs400NamingTheField) {
  const ActionExecutor ex = executor(options());
  const auto error = [&](const std::string& action, const std::string& body) {
    const Reply reply = ex.run(action, body);
    EXPECT_EQ(reply.status, 400) << body;
    return reply.body["error"]["message"].get<std::string>();
  };
  EXPECT_EQ(error("book", "{nope"), "body is not valid JSON");
  EXPECT_EQ(error("book", "[]"), "body must be a JSON object");
  EXPECT_EQ(error("book", R"({"slot": {}})"), "slot: unknown field");
  EXPECT_EQ(error("book", R"({"slots": []})"), "slots: must be an object");
  EXPECT_EQ(error("book", R"({"slots": {"date": 5, "party": "2"}})"),
            "slots.date: must be a string");
  EXPECT_EQ(error("book", R"({"slots": {"party": "2"}})"), "slots.date: required by action book");
  EXPECT_EQ(error("book", R"({"slots": {"date": "d", "party": "2"}, "idempotency_key": 7})"),
            "idempotency_key: must be a string of 1 to 255 printable ASCII characters");
  EXPECT_EQ(error("book", R"({"slots": {"date": "d", "party": "2"}, "idempotency_key": "a b"})"),
            "idempotency_key: must be a string of 1 to 255 printable ASCII characters");
  EXPECT_EQ(error("weather", json{{"slots", {{"city", "a\r\nX-Evil: 1"}, {"q", "x"}}}}.dump()),
            "slots.city: must not contain control characters (used in a header)");
  EXPECT_EQ(
      error("book", json{{"slots", {{"date", std::string(5000, 'd')}, {"party", "2"}}}}.dump()),
      "slots.date: longer than 4096 bytes");
  EXPECT_TRUE(seen().empty());
  EXPECT_EQ(runs("book", "invalid"), 9);

  const Reply unknown = ex.run("launch_missiles", "{}");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.body["error"]["code"], "unknown_action");
  EXPECT_NE(unknown.body["error"]["message"].get<std::string>().find("launch_missiles"),
            std::string::npos);
}

TEST_F(ExecutorTest, ServesTheApiOverHttp) {
  const ActionExecutor ex = executor(options());
  service::HttpServerOptions serverOptions;
  serverOptions.host = "127.0.0.1";
  serverOptions.port = 0;
  service::HttpServer server(serverOptions);
  ex.addRoutes(server);
  ASSERT_TRUE(server.start().ok());
  httplib::Client client("127.0.0.1", server.port());
  const auto ok = client.Post("/v1/actions/flaky/run", "{}", "application/json");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(json::parse(ok->body)["status"], "ok");
  const auto missing = client.Post("/v1/actions/nope/run", "{}", "application/json");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(json::parse(missing->body)["error"]["code"], "unknown_action");
  EXPECT_TRUE(server.shutdown(std::chrono::seconds(5)).ok());
}

}  // namespace
}  // namespace va::action_executor
