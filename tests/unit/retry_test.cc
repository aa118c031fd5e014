// Backoff delays and retryOnConflict with a fake time source.
#include "operator/kube/retry.h"

#include <gtest/gtest.h>

#include <chrono>

#include "operator/kube/client.h"
#include "tests/fakes/fake_time_source.h"

namespace va::kube {
namespace {

using std::chrono::milliseconds;

ApiError conflict() {
  return ApiError::fromResponse(
      409, R"({"kind":"Status","reason":"Conflict","message":"the object has been modified"})");
}

TEST(BackoffTest, GrowsByTheFactorUpToTheCapPlusJitter) {
  const Backoff backoff{milliseconds(100), 2.0, 0.5, 10, milliseconds(1000)};
  EXPECT_EQ(backoff.delay(0, 0.0), milliseconds(100));
  EXPECT_EQ(backoff.delay(1, 0.0), milliseconds(200));
  EXPECT_EQ(backoff.delay(3, 0.0), milliseconds(800));
  EXPECT_EQ(backoff.delay(4, 0.0), milliseconds(1000));      // capped
  EXPECT_EQ(backoff.delay(1, 0.5), milliseconds(250));       // +25% of the 50% jitter band
  EXPECT_EQ(kDefaultRetry.delay(3, 0.0), milliseconds(10));  // client-go: factor 1
  EXPECT_EQ(kDefaultRetry.steps, 5);
}

TEST(BackoffTest, JitterFractionIsInTheUnitInterval) {
  for (int i = 0; i < 1000; ++i) {
    const double f = jitterFraction();
    ASSERT_GE(f, 0.0);
    ASSERT_LT(f, 1.0);
  }
}

TEST(RetryOnConflictTest, RerunsOnConflictUntilItSucceeds) {
  FakeTimeSource time;
  int calls = 0;
  auto result = retryOnConflict(
      [&]() -> ApiResult<int> {
        ++calls;
        if (calls < 3) return conflict();
        return 42;
      },
      5, time.source());
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(*result, 42);
  EXPECT_EQ(calls, 3);
  ASSERT_EQ(time.sleeps().size(), 2U);
  for (auto d : time.sleeps()) {
    EXPECT_GE(d, milliseconds(10));
    EXPECT_LE(d, milliseconds(11));
  }
}

TEST(RetryOnConflictTest, StopsAfterMaxAttemptsAndReturnsTheConflict) {
  FakeTimeSource time;
  int calls = 0;
  auto result = retryOnConflict(
      [&]() -> Result<void, ApiError> {
        ++calls;
        return conflict();
      },
      4, time.source());
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(result.error().isConflict());
  EXPECT_EQ(calls, 4);
}

TEST(RetryOnConflictTest, OtherErrorsAreNotRetried) {
  FakeTimeSource time;
  int calls = 0;
  auto result = retryOnConflict(
      [&]() -> ApiResult<int> {
        ++calls;
        return ApiError::fromResponse(404, R"({"kind":"Status","reason":"NotFound"})");
      },
      5, time.source());
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(result.error().isNotFound());
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(time.sleeps().empty());
}

}  // namespace
}  // namespace va::kube
