// input-processor flow control with fake clocks: per-principal token buckets (burst, 429 with
// the right Retry-After, refill, isolation, the bound on buckets kept) and the idempotency store
// (replay, body mismatch, waiting for a running request, abandon, TTL, capacity).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "workloads/input_processor/idempotency.h"
#include "workloads/input_processor/rate_limit.h"

namespace va::input_processor {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// "<prefix><i>", built by appending: GCC 12 at -O3 warns (-Wrestrict, bug 105651) on
// "literal" + std::to_string(i).
std::string numbered(const char* prefix, int i) {
  std::string out = prefix;
  out += std::to_string(i);
  return out;
}

// A steady clock that only moves when the test says so.
struct FakeClock {
  std::chrono::steady_clock::time_point now{std::chrono::hours(1000)};
  std::function<std::chrono::steady_clock::time_point()> fn() {
    return [this] { return now; };
  }
};

TEST(RateLimiterTest, AllowsBurstThenDeniesWithRetryAfter) {
  FakeClock clock;
  RateLimiter limiter(2.0, 3.0, clock.fn());  // 2 tokens/s, bucket of 3
  for (int i = 0; i < 3; ++i) {
    const auto d = limiter.take("alice");
    EXPECT_TRUE(d.allowed) << i;
    EXPECT_DOUBLE_EQ(d.remaining, 2.0 - i);
  }
  auto denied = limiter.take("alice");
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.retryAfter, milliseconds(500));  // one token at 2/s
  EXPECT_DOUBLE_EQ(denied.remaining, 0.0);

  clock.now += milliseconds(200);  // 0.4 token: 300 ms still to go
  denied = limiter.take("alice");
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.retryAfter, milliseconds(300));

  clock.now += milliseconds(300);
  EXPECT_TRUE(limiter.take("alice").allowed);
  EXPECT_FALSE(limiter.take("alice").allowed);
}

TEST(RateLimiterTest, RefillsUpToBurstOnly) {
  FakeClock clock;
  RateLimiter limiter(10.0, 2.0, clock.fn());
  EXPECT_TRUE(limiter.take("a").allowed);
  EXPECT_TRUE(limiter.take("a").allowed);
  EXPECT_FALSE(limiter.take("a").allowed);
  clock.now += std::chrono::hours(1);
  EXPECT_TRUE(limiter.take("a").allowed);
  EXPECT_TRUE(limiter.take("a").allowed);
  EXPECT_FALSE(limiter.take("a").allowed);
  clock.now += milliseconds(100);  // exactly one token at 10/s
  EXPECT_TRUE(limiter.take("a").allowed);
}

TEST(RateLimiterTest, PrincipalsHaveSeparateBuckets) {
  FakeClock clock;
  RateLimiter limiter(1.0, 1.0, clock.fn());
  EXPECT_TRUE(limiter.take("key:web").allowed);
  EXPECT_FALSE(limiter.take("key:web").allowed);
  EXPECT_TRUE(limiter.take("jwt:user-1").allowed);
  EXPECT_FALSE(limiter.take("jwt:user-1").allowed);
  const auto d = limiter.take("key:web");
  EXPECT_EQ(d.retryAfter, milliseconds(1000));
}

TEST(RateLimiterTest, ZeroRateDisablesTheLimit) {
  RateLimiter limiter(0.0, 1.0);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(limiter.take("a").allowed);
  EXPECT_EQ(limiter.size(), 0U);
}

TEST(RateLimiterTest, KeepsAtMostMaxPrincipalsDroppingTheLeastRecentlyUsed) {
  FakeClock clock;
  RateLimiter limiter(1.0, 1.0, clock.fn(), 3);
  for (int i = 0; i < 100; ++i) {
    limiter.take(numbered("p", i));
    EXPECT_LE(limiter.size(), 3U);
  }
  EXPECT_EQ(limiter.size(), 3U);
  // "p99" is still limited; "a" and "b" come and go while "p99" stays in use.
  EXPECT_FALSE(limiter.take("p99").allowed);
  EXPECT_TRUE(limiter.take("a").allowed);
  EXPECT_FALSE(limiter.take("p99").allowed);
  EXPECT_TRUE(limiter.take("b").allowed);
  EXPECT_FALSE(limiter.take("p99").allowed);
  EXPECT_EQ(limiter.size(), 3U);
}

TEST(RateLimiterTest, IsThreadSafe) {
  RateLimiter limiter(1e-9, 100.0);  // effectively no refill
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        if (limiter.take("shared").allowed) ++allowed;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(allowed.load(), 100);
}

TEST(IdempotencyTest, ValidatesTheHeader) {
  EXPECT_TRUE(validateIdempotencyKey("a").ok());
  EXPECT_TRUE(validateIdempotencyKey("3f1c9a2e-7b4d-4e8f-9a01-5c2d3e4f5a6b").ok());
  EXPECT_TRUE(validateIdempotencyKey(std::string(255, '~')).ok());
  EXPECT_EQ(validateIdempotencyKey("").error().message(), "Idempotency-Key header is empty");
  EXPECT_EQ(validateIdempotencyKey(std::string(256, 'a')).error().message(),
            "Idempotency-Key header is longer than 255 characters");
  const std::string visibleOnly = "Idempotency-Key header must be visible ASCII characters only";
  EXPECT_EQ(validateIdempotencyKey("a b").error().message(), visibleOnly);
  EXPECT_EQ(validateIdempotencyKey("a\tb").error().message(), visibleOnly);
  EXPECT_EQ(validateIdempotencyKey("caf\xc3\xa9").error().message(), visibleOnly);
  EXPECT_EQ(validateIdempotencyKey(std::string("a\0b", 3)).error().message(), visibleOnly);
}

TEST(IdempotencyTest, KeysAndFingerprints) {
  EXPECT_NE(idempotencyKey("a:b", "c", "k"), idempotencyKey("a", "b:c", "k"));
  EXPECT_NE(idempotencyKey("a", "c", "k"), idempotencyKey("b", "c", "k"));
  EXPECT_EQ(idempotencyKey("a", "c", "k"), idempotencyKey("a", "c", "k"));
  // printf 'secret' | sha256sum
  EXPECT_EQ(requestFingerprint("secret"),
            "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b");
}

TEST(IdempotencyTest, ReplaysACompletedRequest) {
  IdempotencyStore store;
  const std::string key = idempotencyKey("key:web", "conv-1", "k1");
  const std::string fp = requestFingerprint(R"({"text":"hi"})");
  EXPECT_EQ(store.begin(key, fp).outcome, IdempotencyStore::Outcome::kNew);
  store.complete(key, StoredResponse{202, R"({"id":"r1"})"});
  for (int i = 0; i < 2; ++i) {
    const auto claim = store.begin(key, fp);
    EXPECT_EQ(claim.outcome, IdempotencyStore::Outcome::kDone);
    ASSERT_TRUE(claim.response.has_value());
    EXPECT_EQ(claim.response->status, 202);
    EXPECT_EQ(claim.response->body, R"({"id":"r1"})");
  }
  // The same header value for another conversation or principal is another key.
  EXPECT_EQ(store.begin(idempotencyKey("key:web", "conv-2", "k1"), fp).outcome,
            IdempotencyStore::Outcome::kNew);
  EXPECT_EQ(store.begin(idempotencyKey("key:app", "conv-1", "k1"), fp).outcome,
            IdempotencyStore::Outcome::kNew);
}

TEST(IdempotencyTest, SameKeyWithAnotherBodyIsAMismatch) {
  IdempotencyStore store;
  EXPECT_EQ(store.begin("k", requestFingerprint("a")).outcome, IdempotencyStore::Outcome::kNew);
  EXPECT_EQ(store.begin("k", requestFingerprint("b")).outcome,
            IdempotencyStore::Outcome::kMismatch);
  store.complete("k", StoredResponse{200, "a"});
  EXPECT_EQ(store.begin("k", requestFingerprint("b")).outcome,
            IdempotencyStore::Outcome::kMismatch);
}

TEST(IdempotencyTest, WaiterIsReleasedByComplete) {
  IdempotencyStore store;
  ASSERT_EQ(store.begin("k", "fp").outcome, IdempotencyStore::Outcome::kNew);
  EXPECT_EQ(store.begin("k", "fp").outcome, IdempotencyStore::Outcome::kInProgress);
  std::optional<StoredResponse> seen;
  std::thread waiter([&] { seen = store.waitFor("k", seconds(30)); });
  std::this_thread::sleep_for(milliseconds(20));
  const auto started = std::chrono::steady_clock::now();
  store.complete("k", StoredResponse{200, "done"});
  waiter.join();
  EXPECT_LT(std::chrono::steady_clock::now() - started, seconds(5));
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->body, "done");
}

TEST(IdempotencyTest, WaitTimesOutWhileStillRunning) {
  IdempotencyStore store;
  ASSERT_EQ(store.begin("k", "fp").outcome, IdempotencyStore::Outcome::kNew);
  EXPECT_FALSE(store.waitFor("k", milliseconds(30)).has_value());
  EXPECT_EQ(store.begin("k", "fp").outcome, IdempotencyStore::Outcome::kInProgress);  // -> 409
  EXPECT_FALSE(store.waitFor("unknown", seconds(30)).has_value());  // returns at once
}

TEST(IdempotencyTest, AbandonReleasesWaitersAndLetsARetryProceed) {
  IdempotencyStore store;
  ASSERT_EQ(store.begin("k", "fp").outcome, IdempotencyStore::Outcome::kNew);
  std::optional<StoredResponse> seen{StoredResponse{}};
  std::thread waiter([&] { seen = store.waitFor("k", seconds(30)); });
  std::this_thread::sleep_for(milliseconds(20));
  store.abandon("k");
  waiter.join();
  EXPECT_FALSE(seen.has_value());
  EXPECT_EQ(store.begin("k", "fp").outcome, IdempotencyStore::Outcome::kNew);
  // A retry after abandon may even carry another body.
  store.abandon("k");
  EXPECT_EQ(store.begin("k", "other").outcome, IdempotencyStore::Outcome::kNew);
}

TEST(IdempotencyTest, EntriesExpireAfterTheTtl) {
  FakeClock clock;
  IdempotencyStore store(100, std::chrono::hours(24), clock.fn());
  ASSERT_EQ(store.begin("k", "fp").outcome, IdempotencyStore::Outcome::kNew);
  store.complete("k", StoredResponse{200, "x"});
  clock.now += std::chrono::hours(23);
  EXPECT_EQ(store.begin("k", "fp").outcome, IdempotencyStore::Outcome::kDone);
  clock.now += std::chrono::hours(1);
  EXPECT_EQ(store.begin("k", "other").outcome, IdempotencyStore::Outcome::kNew);
  EXPECT_EQ(store.size(), 1U);
}

TEST(IdempotencyTest, CapacityEvictsTheOldestCompletedFirst) {
  FakeClock clock;
  IdempotencyStore store(3, std::chrono::hours(24), clock.fn());
  ASSERT_EQ(store.begin("running", "fp").outcome, IdempotencyStore::Outcome::kNew);
  for (int i = 0; i < 10; ++i) {
    const std::string key = numbered("done", i);
    ASSERT_EQ(store.begin(key, "fp").outcome, IdempotencyStore::Outcome::kNew);
    store.complete(key, StoredResponse{200, key});
    EXPECT_LE(store.size(), 3U);
  }
  EXPECT_EQ(store.begin("running", "fp").outcome, IdempotencyStore::Outcome::kInProgress);
  EXPECT_EQ(store.begin("done9", "fp").outcome, IdempotencyStore::Outcome::kDone);
  EXPECT_EQ(store.begin("done8", "fp").outcome, IdempotencyStore::Outcome::kDone);
  EXPECT_EQ(store.begin("done0", "fp").outcome, IdempotencyStore::Outcome::kNew);  // evicted
  EXPECT_EQ(store.size(), 3U);
  // When every entry is running, the oldest running one goes.
  IdempotencyStore busy(2, std::chrono::hours(24), clock.fn());
  ASSERT_EQ(busy.begin("a", "fp").outcome, IdempotencyStore::Outcome::kNew);
  ASSERT_EQ(busy.begin("b", "fp").outcome, IdempotencyStore::Outcome::kNew);
  ASSERT_EQ(busy.begin("c", "fp").outcome, IdempotencyStore::Outcome::kNew);
  EXPECT_EQ(busy.size(), 2U);
  EXPECT_EQ(busy.begin("a", "fp").outcome, IdempotencyStore::Outcome::kNew);
}

}  // namespace
}  // namespace va::input_processor
