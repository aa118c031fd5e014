// short-term-mem without a Redis: the context JSON's checks (each error names the field), the
// normalization (defaults, turns trimmed, the summary recomputed), Redis URLs (the password
// never in describe()), script SHA1s, the answers to bad input before Redis is asked, 503 +
// Retry-After when nothing listens at the Redis address, and the prefrontal-cortex client's
// JSON mapping. Against a real Redis: tests/integration/short_term_mem_test.cc.
#include "workloads/short_term_mem/short_term_mem.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <string>

#include "workloads/prefrontal_cortex/remote_short_term_memory.h"
#include "workloads/short_term_mem/redis_client.h"

namespace va::short_term_mem {
namespace {

using nlohmann::json;

json validContext() {
  return {{"last_sequence", 3},
          {"turns", json::array({{{"sequence", 2},
                                  {"message_id", "m2"},
                                  {"user_text", "hi"},
                                  {"intent", "greet"},
                                  {"reply", "hello"}},
                                 {{"sequence", 3},
                                  {"message_id", "m3"},
                                  {"user_text", "weather"},
                                  {"intent", "weather"},
                                  {"reply", "which city?"}}})},
          {"pending_intent", "weather"},
          {"slots", {{"date", "today"}}},
          {"callback_url", "https://example.com/hook"},
          {"user", "u-1"},
          {"summary", "ignored"}};
}

std::string errorOf(const json& context, std::size_t maxTurns = 20) {
  const va::service::Result<json> result = normalizeContext(context, maxTurns);
  return result.ok() ? "" : result.error().message();
}

TEST(ContextTest, AcceptsAValidContextAndRecomputesTheSummary) {
  const va::service::Result<json> out = normalizeContext(validContext(), 20);
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ((*out)["last_sequence"], 3);
  EXPECT_EQ((*out)["turns"].size(), 2U);
  EXPECT_EQ((*out)["turns"][1]["reply"], "which city?");
  EXPECT_EQ((*out)["slots"]["date"], "today");
  EXPECT_EQ((*out)["summary"], "hi | weather");
}

TEST(ContextTest, FillsMissingFieldsWithEmptyValues) {
  const va::service::Result<json> out = normalizeContext(json::object(), 20);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, emptyContext());
  const va::service::Result<json> turn = normalizeContext(
      {{"last_sequence", 1}, {"turns", json::array({{{"sequence", 1}}})}, {"user", nullptr}}, 20);
  ASSERT_TRUE(turn.ok()) << turn.error().message();
  EXPECT_EQ(
      (*turn)["turns"][0],
      json(
          {{"sequence", 1}, {"message_id", ""}, {"user_text", ""}, {"intent", ""}, {"reply", ""}}));
  EXPECT_EQ((*turn)["user"], "");
}

TEST(ContextTest, TrimsTurnsToTheNewest) {
  json context = {{"last_sequence", 30}, {"turns", json::array()}};
  for (int i = 1; i <= 30; ++i) {
    context["turns"].push_back({{"sequence", i}, {"user_text", "t" + std::to_string(i)}});
  }
  const va::service::Result<json> out = normalizeContext(context, 20);
  ASSERT_TRUE(out.ok());
  ASSERT_EQ((*out)["turns"].size(), 20U);
  EXPECT_EQ((*out)["turns"][0]["sequence"], 11);
  EXPECT_EQ((*out)["turns"][19]["sequence"], 30);
  EXPECT_EQ((*out)["summary"], "t26 | t27 | t28 | t29 | t30");
}

TEST(ContextTest, NamesTheBadField) {
  json context = validContext();
  context["turns"].push_back({{"sequence", "4"}});
  context["last_sequence"] = 4;
  EXPECT_EQ(errorOf(context), "context.turns[2].sequence: must be an integer");

  context = validContext();
  context["turns"][1]["sequence"] = 2.5;
  EXPECT_EQ(errorOf(context), "context.turns[1].sequence: must be an integer");

  context = validContext();
  context["turns"][1]["sequence"] = 2;
  EXPECT_EQ(errorOf(context),
            "context.turns[1].sequence: must be greater than the previous turn's");

  context = validContext();
  context["last_sequence"] = 2;
  EXPECT_EQ(errorOf(context), "context.turns[1].sequence: must not exceed last_sequence");

  context = validContext();
  context["turns"][0].erase("sequence");
  EXPECT_EQ(errorOf(context), "context.turns[0].sequence: is required");

  context = validContext();
  context["turns"][0]["reply"] = 7;
  EXPECT_EQ(errorOf(context), "context.turns[0].reply: must be a string");

  context = validContext();
  context["turns"][0]["mood"] = "happy";
  EXPECT_EQ(errorOf(context), "context.turns[0].mood: unknown field");

  context = validContext();
  context["turns"][1] = "text";
  EXPECT_EQ(errorOf(context), "context.turns[1]: must be an object");

  context = validContext();
  context["turns"] = json::object();
  EXPECT_EQ(errorOf(context), "context.turns: must be an array");

  context = validContext();
  context["slots"]["city"] = 3;
  EXPECT_EQ(errorOf(context), "context.slots.city: must be a string");

  context = validContext();
  context["slots"] = json::array();
  EXPECT_EQ(errorOf(context), "context.slots: must be an object");

  context = validContext();
  context["last_sequence"] = -1;
  EXPECT_EQ(errorOf(context), "context.last_sequence: must not be negative");

  context = validContext();
  context["last_sequence"] = "3";
  EXPECT_EQ(errorOf(context), "context.last_sequence: must be an integer");

  context = validContext();
  context["last_sequence"] = 18446744073709551615ULL;
  EXPECT_EQ(errorOf(context), "context.last_sequence: must be an integer");

  context = validContext();
  context["user"] = false;
  EXPECT_EQ(errorOf(context), "context.user: must be a string");

  context = validContext();
  context["callback_url"] = std::string(70000, 'x');
  EXPECT_EQ(errorOf(context), "context.callback_url: longer than 65536 bytes");

  context = validContext();
  context["extra"] = 1;
  EXPECT_EQ(errorOf(context), "context.extra: unknown field");

  EXPECT_EQ(errorOf(json::array()), "context: must be an object");
}

TEST(SummaryTest, KeepsTheNewestTextsWithinFiveHundredBytes) {
  EXPECT_EQ(summarize(json::array()), "");
  json turns = json::array();
  for (int i = 0; i < 3; ++i) turns.push_back({{"user_text", std::string(300, 'a' + i)}});
  const std::string summary = summarize(turns);
  EXPECT_EQ(summary.size(), 500U);
  EXPECT_EQ(summary.substr(summary.size() - 300), std::string(300, 'c'));
  // Cut at a character boundary: "é" is two bytes.
  json accents =
      json::array({{{"user_text", std::string(40, 'x')}}, {{"user_text", [] {
                                                              std::string s;
                                                              for (int i = 0; i < 250; ++i)
                                                                s += "\xC3\xA9";
                                                              return s;
                                                            }()}}});
  const std::string cut = summarize(accents);
  EXPECT_LE(cut.size(), 500U);
  EXPECT_NE(static_cast<unsigned char>(cut[0]) & 0xC0U, 0x80U);
  EXPECT_TRUE(json(cut).dump().size() > 0);
}

TEST(RedisUrlTest, ParsesHostPortDatabaseAndPassword) {
  const va::service::Result<RedisUrl> plain = parseRedisUrl("redis://127.0.0.1:16379/0");
  ASSERT_TRUE(plain.ok()) << plain.error().message();
  EXPECT_EQ(plain->host, "127.0.0.1");
  EXPECT_EQ(plain->port, 16379);
  EXPECT_EQ(plain->db, 0);
  EXPECT_FALSE(plain->password.has_value());

  const va::service::Result<RedisUrl> secret = parseRedisUrl("redis://:s%40cret@redis.va:6380/3");
  ASSERT_TRUE(secret.ok()) << secret.error().message();
  EXPECT_EQ(secret->host, "redis.va");
  EXPECT_EQ(secret->port, 6380);
  EXPECT_EQ(secret->db, 3);
  ASSERT_TRUE(secret->password.has_value());
  EXPECT_EQ(secret->password->reveal(), "s@cret");
  EXPECT_EQ(secret->describe(), "redis://redis.va:6380/3");

  const va::service::Result<RedisUrl> user = parseRedisUrl("redis://va:pw@[::1]");
  ASSERT_TRUE(user.ok()) << user.error().message();
  EXPECT_EQ(user->user, "va");
  EXPECT_EQ(user->host, "::1");
  EXPECT_EQ(user->port, 6379);
  EXPECT_EQ(user->describe(), "redis://[::1]:6379/0");

  for (const char* bad : {"http://h:1/0", "redis://", "redis://h:0/0", "redis://h:99999",
                          "redis://h:1/x", "redis://:%zz@h"}) {
    EXPECT_FALSE(parseRedisUrl(bad).ok()) << bad;
  }
  const va::service::Result<RedisUrl> badPort = parseRedisUrl("redis://:topsecret@h:x/0");
  ASSERT_FALSE(badPort.ok());
  EXPECT_EQ(badPort.error().message().find("topsecret"), std::string::npos);
}

TEST(RedisScriptTest, ComputesTheSha1ThatEvalshaNeeds) {
  EXPECT_EQ(RedisScript("return 1").sha(), "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
}

// A port nothing listens on: bound, never listened to, then closed.
int closedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));  // NOLINT
  socklen_t length = sizeof(address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);  // NOLINT
  const int port = ntohs(address.sin_port);
  ::close(fd);
  return port;
}

class ServiceWithoutRedisTest : public ::testing::Test {
 protected:
  RedisClient redis{RedisUrl{.host = "127.0.0.1", .port = closedPort(), .db = 0, .user = {}},
                    {.connectTimeout = std::chrono::milliseconds(500),
                     .commandTimeout = std::chrono::milliseconds(500),
                     .maxIdleConnections = 4}};
  prometheus::Registry registry;
  ShortTermMemService service{redis, {}, registry};
};

TEST_F(ServiceWithoutRedisTest, RefusesBadInputBeforeAskingRedis) {
  const std::string lease(32, 'a');
  EXPECT_EQ(service.beginTurn("bad id", "").status, 400);
  EXPECT_EQ(service.beginTurn("c-1", "{").body["error"]["code"], "malformed_json");
  EXPECT_EQ(service.beginTurn("c-1", R"({"wait_ms": -1})").body["error"]["message"],
            "wait_ms: must be an integer from 0 to 60000");
  EXPECT_EQ(service.beginTurn("c-1", R"({"wait_ms": 1.5})").status, 400);
  EXPECT_EQ(service.beginTurn("c-1", R"({"wait": 1})").body["error"]["message"],
            "wait: unknown field");
  EXPECT_EQ(service.commit("c-1", R"({"context": {}})").body["error"]["message"],
            "lease: is required");
  EXPECT_EQ(service.commit("c-1", R"({"lease": "x", "context": {}})").body["error"]["message"],
            "lease: must be a lease token from POST .../turns");
  EXPECT_EQ(service.commit("c-1", json{{"lease", lease}}.dump()).body["error"]["message"],
            "context: is required");
  const Reply turn = service.commit(
      "c-1",
      json{{"lease", lease},
           {"context", {{"last_sequence", 1}, {"turns", json::array({{{"sequence", "1"}}})}}}}
          .dump());
  EXPECT_EQ(turn.status, 400);
  EXPECT_EQ(turn.body["error"]["code"], "invalid_field");
  EXPECT_EQ(turn.body["error"]["message"], "context.turns[0].sequence: must be an integer");
  EXPECT_EQ(service.abort("c-1", "nope").status, 400);
  EXPECT_EQ(service.read(std::string(129, 'a')).status, 400);
}

TEST_F(ServiceWithoutRedisTest, AnswersStoreUnavailableWithRetryAfterWhenRedisIsDown) {
  const std::string lease(32, 'a');
  const auto started = std::chrono::steady_clock::now();
  for (const Reply& reply :
       {service.beginTurn("c-1", R"({"wait_ms": 5000})"),
        service.commit("c-1", json{{"lease", lease}, {"context", json::object()}}.dump()),
        service.abort("c-1", lease), service.read("c-1")}) {
    EXPECT_EQ(reply.status, 503);
    EXPECT_EQ(reply.body["error"]["code"], "store_unavailable");
    EXPECT_EQ(reply.retryAfterSeconds, 1);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(4));
  EXPECT_FALSE(redis.ping().ok());
}

}  // namespace
}  // namespace va::short_term_mem

namespace va::prefrontal_cortex {
namespace {

TEST(RemoteContextJsonTest, RoundTripsAConversationContext) {
  ConversationContext context;
  context.lastSequence = 2;
  context.turns.push_back(Turn{.sequence = 2,
                               .messageId = "m2",
                               .userText = "what's the weather",
                               .intent = "weather",
                               .reply = "which city?"});
  context.pendingIntent = "weather";
  context.slots["date"] = "today";
  context.callbackUrl = "https://example.com/hook";
  context.user = "u-1";
  const nlohmann::json json = contextToJson(context);
  // What the service accepts.
  ASSERT_TRUE(va::short_term_mem::normalizeContext(json, 20).ok());
  const va::service::Result<ConversationContext> back = contextFromJson(json);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->lastSequence, 2);
  ASSERT_EQ(back->turns.size(), 1U);
  EXPECT_EQ(back->turns[0].userText, "what's the weather");
  EXPECT_EQ(back->turns[0].reply, "which city?");
  EXPECT_EQ(back->pendingIntent, "weather");
  EXPECT_EQ(back->slots.at("date"), "today");
  EXPECT_EQ(back->callbackUrl, "https://example.com/hook");
  EXPECT_EQ(back->user, "u-1");
}

TEST(RemoteShortTermMemoryTest, ReportsAnUnreachableServiceAsUnavailable) {
  RemoteShortTermMemory memory({.baseUrl = "http://127.0.0.1:1",
                                .requestTimeout = std::chrono::milliseconds(500),
                                .maxWait = std::chrono::milliseconds(500),
                                .connectTimeout = std::chrono::milliseconds(500),
                                .userAgent = "test"});
  const va::service::Result<ConversationContext> begun =
      memory.begin("c-1", std::chrono::milliseconds(100));
  ASSERT_FALSE(begun.ok());
  EXPECT_EQ(begun.error().message().rfind("short-term-mem unavailable: ", 0), 0U)
      << begun.error().message();
  const va::service::Status committed = memory.commit("c-1", ConversationContext{});
  ASSERT_FALSE(committed.ok());
  EXPECT_NE(committed.error().message().find("without begin"), std::string::npos);
  memory.abort("c-1");  // no lease: nothing to do
}

}  // namespace
}  // namespace va::prefrontal_cortex
