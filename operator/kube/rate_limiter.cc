#include "operator/kube/rate_limiter.h"

#include <algorithm>
#include <utility>

namespace va::kube {
namespace {

double seconds(TimeSource::Clock::duration duration) {
  return std::chrono::duration<double>(duration).count();
}

}  // namespace

AdaptiveRateLimiter::AdaptiveRateLimiter(RateLimit limit, TimeSource time)
    : limit_(limit),
      time_(std::move(time)),
      tokens_(std::max(1, limit_.burst)),
      updatedAt_(time_.now()),
      rateAfterDecrease_(limit_.qps) {}

double AdaptiveRateLimiter::rateAt(TimePoint at) const {
  if (!decreased_) return limit_.qps;
  const double recovered =
      rateAfterDecrease_ + limit_.recoveryQpsPerSecond * seconds(at - decreasedAt_);
  return std::min(limit_.qps, recovered);
}

void AdaptiveRateLimiter::refill(TimePoint at) {
  if (at <= updatedAt_) return;
  // Between decreases the rate is min(qps, linear): concave, so the trapezoid rule gives at
  // most the tokens really earned (the safe side) and is exact while the rate is constant.
  const double meanRate = (rateAt(updatedAt_) + rateAt(at)) / 2;
  tokens_ =
      std::min<double>(std::max(1, limit_.burst), tokens_ + meanRate * seconds(at - updatedAt_));
  updatedAt_ = at;
}

TimeSource::Clock::duration AdaptiveRateLimiter::reserve() {
  if (limit_.qps <= 0) return {};
  const std::lock_guard lock(mutex_);
  const TimePoint now = time_.now();
  refill(now);
  tokens_ -= 1;
  if (tokens_ >= 0) return {};
  // Callers queue up behind each other: the debt is paid back at the current rate.
  const double wait = -tokens_ / std::max(limit_.minQps, rateAt(now));
  return std::chrono::duration_cast<TimeSource::Clock::duration>(
      std::chrono::duration<double>(wait));
}

void AdaptiveRateLimiter::acquire() {
  const auto wait = reserve();
  if (wait > TimeSource::Clock::duration::zero()) time_.sleepFor(wait);
}

void AdaptiveRateLimiter::onThrottled() {
  if (limit_.qps <= 0) return;
  const std::lock_guard lock(mutex_);
  const TimePoint now = time_.now();
  if (decreased_ && now - decreasedAt_ < limit_.decreaseHoldOff) return;
  refill(now);
  rateAfterDecrease_ = std::max(limit_.minQps, rateAt(now) * limit_.decreaseFactor);
  decreasedAt_ = now;
  decreased_ = true;
  tokens_ = std::min(tokens_, 0.0);
}

double AdaptiveRateLimiter::currentQps() const {
  const std::lock_guard lock(mutex_);
  return rateAt(time_.now());
}

}  // namespace va::kube
