// AdaptiveRateLimiter with a fake time source: the token bucket, the halving on 429 and the
// linear recovery.
#include "operator/kube/rate_limiter.h"

#include <gtest/gtest.h>

#include <chrono>

#include "tests/fakes/fake_time_source.h"

namespace va::kube {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

milliseconds inMs(TimeSource::Clock::duration d) { return std::chrono::round<milliseconds>(d); }

TEST(RateLimiterTest, ABurstPassesThenCallersArePacedAtTheRate) {
  FakeTimeSource time;
  AdaptiveRateLimiter limiter(RateLimit{.qps = 20, .burst = 30}, time.source());
  for (int i = 0; i < 30; ++i) EXPECT_EQ(limiter.reserve(), TimeSource::Clock::duration::zero());
  EXPECT_EQ(inMs(limiter.reserve()), milliseconds(50));
  EXPECT_EQ(inMs(limiter.reserve()), milliseconds(100));  // queued behind the one before

  time.advance(seconds(2));  // 40 tokens earned, 2 owed, the bucket holds 30 at most
  for (int i = 0; i < 30; ++i) EXPECT_EQ(limiter.reserve(), TimeSource::Clock::duration::zero());
  EXPECT_GT(limiter.reserve(), TimeSource::Clock::duration::zero());
}

TEST(RateLimiterTest, AcquireWaitsThroughTheTimeSource) {
  FakeTimeSource time;
  AdaptiveRateLimiter limiter(RateLimit{.qps = 10, .burst = 1}, time.source());
  limiter.acquire();
  EXPECT_TRUE(time.sleeps().empty());
  limiter.acquire();
  limiter.acquire();
  ASSERT_EQ(time.sleeps().size(), 2U);
  EXPECT_EQ(inMs(time.sleeps()[0]), milliseconds(100));
  EXPECT_EQ(inMs(time.sleeps()[1]), milliseconds(100));  // the first wait paid its own debt
}

TEST(RateLimiterTest, A429HalvesTheRateAndDropsTheSavedBurst) {
  FakeTimeSource time;
  AdaptiveRateLimiter limiter(RateLimit{.qps = 20, .burst = 30}, time.source());
  EXPECT_DOUBLE_EQ(limiter.currentQps(), 20);
  limiter.onThrottled();
  EXPECT_DOUBLE_EQ(limiter.currentQps(), 10);
  // The 30 saved tokens are gone: the next caller waits for a token at the new rate.
  EXPECT_EQ(inMs(limiter.reserve()), milliseconds(100));

  // Requests that were in flight together report their 429s together: one decrease.
  time.advance(milliseconds(500));
  limiter.onThrottled();
  EXPECT_DOUBLE_EQ(limiter.currentQps(), 10.5);  // recovering at 1 QPS per second
  time.advance(milliseconds(500));
  limiter.onThrottled();  // a second later: 11 QPS halves to 5.5
  EXPECT_DOUBLE_EQ(limiter.currentQps(), 5.5);
}

TEST(RateLimiterTest, TheRateRecoversLinearlyToTheConfiguredQps) {
  FakeTimeSource time;
  AdaptiveRateLimiter limiter(RateLimit{.qps = 20, .burst = 30}, time.source());
  limiter.onThrottled();
  time.advance(seconds(5));
  EXPECT_DOUBLE_EQ(limiter.currentQps(), 15);
  time.advance(seconds(5));
  EXPECT_DOUBLE_EQ(limiter.currentQps(), 20);
  time.advance(seconds(60));
  EXPECT_DOUBLE_EQ(limiter.currentQps(), 20);
}

TEST(RateLimiterTest, TheRateNeverFallsBelowTheFloor) {
  FakeTimeSource time;
  AdaptiveRateLimiter limiter(RateLimit{.qps = 20, .burst = 30, .minQps = 2}, time.source());
  for (int i = 0; i < 20; ++i) {
    limiter.onThrottled();
    time.advance(seconds(1));
  }
  EXPECT_GE(limiter.currentQps(), 2);
  EXPECT_LT(limiter.currentQps(), 4);
}

TEST(RateLimiterTest, ANonPositiveQpsTurnsTheLimitOff) {
  FakeTimeSource time;
  AdaptiveRateLimiter limiter(RateLimit{.qps = 0, .burst = 1}, time.source());
  limiter.onThrottled();
  for (int i = 0; i < 100; ++i) EXPECT_EQ(limiter.reserve(), TimeSource::Clock::duration::zero());
}

}  // namespace
}  // namespace va::kube
