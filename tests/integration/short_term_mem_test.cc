// short-term-mem against the real Redis of the ctest fixture "stores" (hack/local/stores.sh;
// the address is read from $VA_STORES_DIR/redis-url, so any port works), with the service in
// this process on 127.0.0.1 port 0 and prefrontal-cortex's client (RemoteShortTermMemory) over
// HTTP:
//   - 50 concurrent turns of one conversation run one at a time: sequences 1..50, each turn saw
//     the previous one's, none lost; and waiting turns are served in arrival order;
//   - a holder that never commits stalls the next turn for LEASE_TTL at most (and its late
//     commit gets 409); a waiter that vanished without giving up is skipped after the ticket TTL;
//   - Redis stopped mid-run (stores.sh stop-redis): 503 store_unavailable + Retry-After, /readyz
//     503, no hang; after start-redis the same server answers 200 again.
#include "workloads/short_term_mem/short_term_mem.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "workloads/common/http_server.h"
#include "workloads/prefrontal_cortex/remote_short_term_memory.h"
#include "workloads/short_term_mem/redis_client.h"

namespace va::short_term_mem {
namespace {

using nlohmann::json;
using prefrontal_cortex::ConversationContext;
using prefrontal_cortex::RemoteShortTermMemory;
using prefrontal_cortex::Turn;
using Clock = std::chrono::steady_clock;

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

std::string redisUrlText() {
  std::ifstream in(env("VA_STORES_DIR") + "/redis-url");
  std::string url;
  std::getline(in, url);
  return url;
}

// hack/local/stores.sh with the fixture's directory and the port of its redis-url.
int stores(const std::string& command, int redisPort) {
  const std::string line =
      "VA_STORES_DIR='" + env("VA_STORES_DIR") + "' VA_REDIS_PORT=" + std::to_string(redisPort) +
      " bash '" + env("VA_SOURCE_DIR") + "/hack/local/stores.sh' " + command + " >/dev/null 2>&1";
  return std::system(line.c_str());  // NOLINT(cert-env33-c): the test's own script
}

std::string uniqueId(const std::string& prefix) {
  std::random_device random;
  return prefix + "-" + std::to_string(random()) + std::to_string(random());
}

class ShortTermMemIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(env("VA_STORES_DIR").empty())
        << "VA_STORES_DIR is not set: run it through ctest, whose fixture \"stores\" starts Redis";
    va::service::Result<RedisUrl> url = parseRedisUrl(redisUrlText());
    ASSERT_TRUE(url.ok()) << "redis-url: " << url.error().message();
    url_ = *url;
  }

  void start(ShortTermMemOptions options) {
    RedisOptions redisOptions;
    redisOptions.maxIdleConnections = 64;  // one per HTTP worker, as main.cc does
    redis_ = std::make_unique<RedisClient>(url_, redisOptions);
    ASSERT_TRUE(redis_->ping().ok())
        << "the fixture's Redis does not answer at " << url_.describe();
    service_ = std::make_unique<ShortTermMemService>(*redis_, options, *registry_);
    va::service::HttpServerOptions serverOptions;
    serverOptions.host = "127.0.0.1";
    serverOptions.port = 0;
    serverOptions.workers = 64;
    serverOptions.queueCapacity = 256;
    server_ = std::make_unique<va::service::HttpServer>(serverOptions, registry_);
    service_->addRoutes(*server_);
    ASSERT_TRUE(server_->start().ok());
  }

  void TearDown() override {
    if (server_) (void)server_->shutdown(std::chrono::seconds(5));
  }

  [[nodiscard]] std::string baseUrl() const {
    return "http://127.0.0.1:" + std::to_string(server_->port());
  }

  [[nodiscard]] httplib::Client client() const {
    httplib::Client out("127.0.0.1", server_->port());
    out.set_connection_timeout(std::chrono::seconds(2));
    out.set_read_timeout(std::chrono::seconds(30));
    return out;
  }

  // POST .../turns: {status, body}.
  std::pair<int, json> beginTurn(const std::string& id, int waitMs) {
    httplib::Client http = client();
    const auto res = http.Post("/v1/conversations/" + id + "/turns",
                               json{{"wait_ms", waitMs}}.dump(), "application/json");
    if (!res) return {0, json()};
    return {res->status, json::parse(res->body, nullptr, false)};
  }

  RedisUrl url_;
  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
  std::unique_ptr<RedisClient> redis_;
  std::unique_ptr<ShortTermMemService> service_;
  std::unique_ptr<va::service::HttpServer> server_;
};

TEST_F(ShortTermMemIntegrationTest, FiftyConcurrentTurnsRunOneAtATimeWithoutLostUpdates) {
  ShortTermMemOptions options;
  options.maxTurns = 100;
  options.maxWaiters = 60;
  start(options);
  RemoteShortTermMemory memory({.baseUrl = baseUrl(),
                                .requestTimeout = std::chrono::seconds(5),
                                .maxWait = std::chrono::seconds(60),
                                .connectTimeout = std::chrono::seconds(2),
                                .userAgent = "short-term-mem-test"});
  const std::string conversation = uniqueId("fifty");
  constexpr int kTurns = 50;
  std::atomic<int> failures{0};
  std::atomic<int> inTurn{0};
  std::atomic<int> overlaps{0};
  std::mutex mutex;
  std::vector<std::string> problems;
  const auto started = Clock::now();
  std::vector<std::thread> threads;
  threads.reserve(kTurns);
  for (int i = 0; i < kTurns; ++i) {
    threads.emplace_back([&, i] {
      const auto fail = [&](const std::string& why) {
        ++failures;
        const std::lock_guard lock(mutex);
        problems.push_back("turn of thread " + std::to_string(i) + ": " + why);
      };
      va::service::Result<ConversationContext> begun =
          memory.begin(conversation, std::chrono::seconds(60));
      if (!begun.ok()) return fail(begun.error().message());
      if (++inTurn != 1) ++overlaps;
      ConversationContext context = std::move(*begun);
      const std::int64_t sequence = context.lastSequence + 1;
      // The previous turn's commit is visible: every turn so far, the newest being the last.
      if (context.turns.size() != static_cast<std::size_t>(context.lastSequence) ||
          (context.lastSequence > 0 && context.turns.back().sequence != context.lastSequence)) {
        fail("saw last_sequence " + std::to_string(context.lastSequence) + " with " +
             std::to_string(context.turns.size()) + " turns");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));  // a little work in the turn
      context.lastSequence = sequence;
      context.turns.push_back(Turn{.sequence = sequence,
                                   .messageId = "m-" + std::to_string(i),
                                   .userText = "text " + std::to_string(i),
                                   .intent = "count",
                                   .reply = "ok"});
      context.slots["last_thread"] = std::to_string(i);
      --inTurn;
      const va::service::Status saved = memory.commit(conversation, context);
      if (!saved.ok()) fail(saved.error().message());
    });
  }
  for (std::thread& thread : threads) thread.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  for (const std::string& problem : problems) ADD_FAILURE() << problem;
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(overlaps.load(), 0);

  va::service::Result<std::optional<ConversationContext>> stored = memory.read(conversation);
  ASSERT_TRUE(stored.ok()) << stored.error().message();
  ASSERT_TRUE(stored->has_value());
  const ConversationContext& context = **stored;
  EXPECT_EQ(context.lastSequence, kTurns);
  ASSERT_EQ(context.turns.size(), static_cast<std::size_t>(kTurns));
  std::vector<std::string> ids;
  for (int i = 0; i < kTurns; ++i) {
    EXPECT_EQ(context.turns[static_cast<std::size_t>(i)].sequence, i + 1);
    ids.push_back(context.turns[static_cast<std::size_t>(i)].messageId);
  }
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(std::unique(ids.begin(), ids.end()), ids.end()) << "a turn was saved twice";
  // The summary is computed by the service from the newest turns.
  httplib::Client http = client();
  const auto raw = http.Get("/v1/conversations/" + conversation + "/context");
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->status, 200);
  EXPECT_FALSE(json::parse(raw->body)["summary"].get<std::string>().empty());
  std::printf("50 concurrent turns over HTTP in %.3f s (%.1f turns/s)\n", seconds,
              kTurns / seconds);
}

TEST_F(ShortTermMemIntegrationTest, WaitingTurnsAreServedInArrivalOrder) {
  ShortTermMemOptions options;
  options.maxWaiters = 60;
  start(options);
  const std::string conversation = uniqueId("order");
  const auto [status, held] = beginTurn(conversation, 1000);
  ASSERT_EQ(status, 200);
  constexpr int kWaiters = 8;
  std::mutex mutex;
  std::vector<int> served;
  std::vector<std::thread> waiters;
  for (int i = 0; i < kWaiters; ++i) {
    waiters.emplace_back([&, i] {
      const auto [code, body] = beginTurn(conversation, 20000);
      if (code != 200) {
        ADD_FAILURE() << "waiter " << i << " got " << code << " " << body.dump();
        return;
      }
      {
        const std::lock_guard lock(mutex);
        served.push_back(i);
      }
      httplib::Client http = client();
      const auto res = http.Delete("/v1/conversations/" + conversation + "/turns/" +
                                   body["lease"].get<std::string>());
      EXPECT_TRUE(res && res->status == 200);
    });
    // Each waiter takes its ticket before the next one arrives.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  httplib::Client http = client();
  const auto committed =
      http.Put("/v1/conversations/" + conversation + "/context",
               json{{"lease", held["lease"]}, {"context", {{"last_sequence", 1}}}}.dump(),
               "application/json");
  ASSERT_TRUE(committed);
  EXPECT_EQ(committed->status, 200) << committed->body;
  for (std::thread& waiter : waiters) waiter.join();
  std::vector<int> expected(kWaiters);
  for (int i = 0; i < kWaiters; ++i) expected[static_cast<std::size_t>(i)] = i;
  EXPECT_EQ(served, expected);
}

TEST_F(ShortTermMemIntegrationTest, AnExpiredLeaseOrAVanishedWaiterDoesNotStallTheQueue) {
  ShortTermMemOptions options;
  options.leaseTtl = std::chrono::milliseconds(1500);
  options.ticketTtl = std::chrono::milliseconds(1000);
  start(options);
  const std::string conversation = uniqueId("expiry");
  // A holder that never commits.
  const auto [heldStatus, held] = beginTurn(conversation, 1000);
  ASSERT_EQ(heldStatus, 200);
  EXPECT_EQ(held["sequence"], 1);
  auto started = Clock::now();
  const auto [nextStatus, next] = beginTurn(conversation, 10000);
  auto waited = Clock::now() - started;
  ASSERT_EQ(nextStatus, 200) << next.dump();
  EXPECT_GE(waited, std::chrono::milliseconds(1000)) << "the lease was not respected";
  EXPECT_LT(waited, std::chrono::milliseconds(1500 + 1000)) << "stalled beyond LEASE_TTL";
  // The late holder's commit is refused; nothing it sent is written.
  httplib::Client http = client();
  const auto late = http.Put(
      "/v1/conversations/" + conversation + "/context",
      json{{"lease", held["lease"]}, {"context", {{"last_sequence", 1}, {"user", "late"}}}}.dump(),
      "application/json");
  ASSERT_TRUE(late);
  EXPECT_EQ(late->status, 409);
  EXPECT_EQ(json::parse(late->body)["error"]["code"], "lease_lost");
  const auto ok = http.Put(
      "/v1/conversations/" + conversation + "/context",
      json{{"lease", next["lease"]}, {"context", {{"last_sequence", 1}, {"user", "next"}}}}.dump(),
      "application/json");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
  EXPECT_EQ(json::parse(ok->body)["sequence"], 1);
  // A retried commit of the same lease answers 200 again (its reply may have been lost).
  const auto again = http.Put(
      "/v1/conversations/" + conversation + "/context",
      json{{"lease", next["lease"]}, {"context", {{"last_sequence", 1}, {"user", "next"}}}}.dump(),
      "application/json");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200) << again->body;
  const auto read = http.Get("/v1/conversations/" + conversation + "/context");
  ASSERT_TRUE(read);
  EXPECT_EQ(json::parse(read->body)["user"], "next");

  // A waiter that gave up (wait_ms elapsed) leaves the queue at once; one that vanished (its
  // replica died: a ticket queued straight in Redis, never polled again) is skipped after the
  // ticket TTL.
  const auto [heldAgain, holder] = beginTurn(conversation, 1000);
  ASSERT_EQ(heldAgain, 200);
  EXPECT_EQ(holder["sequence"], 2);
  const auto [gaveUp, busyBody] = beginTurn(conversation, 200);
  EXPECT_EQ(gaveUp, 503);
  EXPECT_EQ(busyBody["error"]["code"], "conversation_busy");
  const std::string base = "va:stm:{" + conversation + "}:";
  const RedisResult time = redis_->command({"TIME"});
  ASSERT_TRUE(time.ok());
  const std::int64_t nowMs =
      std::stoll(time->elements[0].str) * 1000 + std::stoll(time->elements[1].str) / 1000;
  const RedisResult ticket = redis_->command({"INCR", base + "tickets"});
  ASSERT_TRUE(ticket.ok());
  const std::string vanished = std::to_string(ticket->integer);
  ASSERT_TRUE(redis_->command({"ZADD", base + "queue", vanished, vanished}).ok());
  ASSERT_TRUE(
      redis_->command({"ZADD", base + "alive", std::to_string(nowMs + 1000), vanished}).ok());
  const auto released = http.Delete("/v1/conversations/" + conversation + "/turns/" +
                                    holder["lease"].get<std::string>());
  ASSERT_TRUE(released);
  EXPECT_EQ(released->status, 200);
  EXPECT_EQ(json::parse(released->body)["released"], true);
  started = Clock::now();
  const auto [afterVanished, body] = beginTurn(conversation, 10000);
  waited = Clock::now() - started;
  ASSERT_EQ(afterVanished, 200) << body.dump();
  EXPECT_LT(waited, std::chrono::milliseconds(1000 + 1000)) << "stalled by a vanished waiter";
  EXPECT_EQ(body["sequence"], 2);  // the aborted turn wrote nothing
  const auto aborted = http.Delete("/v1/conversations/" + conversation + "/turns/" +
                                   body["lease"].get<std::string>());
  ASSERT_TRUE(aborted);
}

// Restarts Redis even when the test fails half-way, so later tests find it up.
class RedisRestarter {
 public:
  explicit RedisRestarter(int port) : port_(port) {}
  ~RedisRestarter() {
    if (stopped_) stores("start-redis", port_);
  }
  RedisRestarter(const RedisRestarter&) = delete;
  RedisRestarter& operator=(const RedisRestarter&) = delete;
  void stop() {
    stopped_ = true;
    EXPECT_EQ(stores("stop-redis", port_), 0);
  }
  void start() {
    EXPECT_EQ(stores("start-redis", port_), 0);
    stopped_ = false;
  }

 private:
  int port_;
  bool stopped_ = false;
};

TEST_F(ShortTermMemIntegrationTest, AnswersServiceUnavailableWhileRedisIsDownAndRecovers) {
  start({});
  const std::string conversation = uniqueId("outage");
  httplib::Client http = client();
  const std::pair<int, json> begun = beginTurn(conversation, 1000);
  ASSERT_EQ(begun.first, 200);
  const json& held = begun.second;
  const auto ready = http.Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);

  RedisRestarter redis(url_.port);
  redis.stop();
  const auto started = Clock::now();
  const std::string path = "/v1/conversations/" + conversation;
  const std::vector<std::pair<std::string, httplib::Result>> calls = [&] {
    std::vector<std::pair<std::string, httplib::Result>> out;
    out.emplace_back("POST turns",
                     http.Post(path + "/turns", R"({"wait_ms": 5000})", "application/json"));
    out.emplace_back(
        "PUT context",
        http.Put(path + "/context",
                 json{{"lease", held["lease"]}, {"context", {{"last_sequence", 1}}}}.dump(),
                 "application/json"));
    out.emplace_back("GET context", http.Get(path + "/context"));
    out.emplace_back("DELETE turn",
                     http.Delete(path + "/turns/" + held["lease"].get<std::string>()));
    return out;
  }();
  for (const auto& [what, res] : calls) {
    ASSERT_TRUE(res) << what << ": no answer";
    EXPECT_EQ(res->status, 503) << what << ": " << res->body;
    EXPECT_EQ(res->get_header_value("Retry-After"), "1") << what;
    EXPECT_EQ(json::parse(res->body)["error"]["code"], "store_unavailable") << what;
  }
  const auto notReady = http.Get("/readyz");
  ASSERT_TRUE(notReady);
  EXPECT_EQ(notReady->status, 503);
  EXPECT_NE(notReady->body.find("redis"), std::string::npos);
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(6)) << "calls hung while Redis was down";

  redis.start();
  const auto deadline = Clock::now() + std::chrono::seconds(15);
  int readyStatus = 0;
  while (Clock::now() < deadline) {
    const auto res = http.Get("/readyz");
    readyStatus = res ? res->status : 0;
    if (readyStatus == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(readyStatus, 200) << "not ready again after Redis came back";
  // The same server process serves turns again (the lease held before the outage either
  // survived in the append-only file, or not: either way the lease TTL bounds it; release it).
  (void)http.Delete(path + "/turns/" + held["lease"].get<std::string>());
  const auto [again, body] = beginTurn(conversation, 5000);
  EXPECT_EQ(again, 200) << body.dump();
  const auto read = http.Put(
      path + "/context", json{{"lease", body["lease"]}, {"context", {{"last_sequence", 1}}}}.dump(),
      "application/json");
  ASSERT_TRUE(read);
  EXPECT_EQ(read->status, 200) << read->body;
  const auto context = http.Get(path + "/context");
  ASSERT_TRUE(context);
  EXPECT_EQ(context->status, 200);
  const auto metrics = http.Get("/metrics");
  ASSERT_TRUE(metrics);
  for (const char* line :
       {R"(va_short_term_mem_operations_total{operation="begin",outcome="unavailable"} 1)",
        R"(va_short_term_mem_operations_total{operation="commit",outcome="ok"} 1)",
        "va_short_term_mem_operation_duration_seconds_bucket",
        "va_short_term_mem_lease_wait_seconds_count"}) {
    EXPECT_NE(metrics->body.find(line), std::string::npos) << line;
  }
}

}  // namespace
}  // namespace va::short_term_mem
