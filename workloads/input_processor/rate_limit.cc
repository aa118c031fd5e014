#include "workloads/input_processor/rate_limit.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>

namespace va::input_processor {

RateLimiter::RateLimiter(double ratePerSecond, double burst, Clock now, std::size_t maxPrincipals)
    : rate_(ratePerSecond),
      burst_(std::max(burst, 1.0)),
      now_(now ? std::move(now) : [] { return std::chrono::steady_clock::now(); }),
      maxPrincipals_(std::max<std::size_t>(maxPrincipals, 1)) {}

RateLimiter::Decision RateLimiter::take(const std::string& principal) {
  if (rate_ <= 0) return Decision{true, std::chrono::milliseconds(0), burst_};
  const auto now = now_();
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(principal);
  if (it == buckets_.end()) {
    if (buckets_.size() >= maxPrincipals_) {
      buckets_.erase(recent_.back());
      recent_.pop_back();
    }
    recent_.push_front(principal);
    it = buckets_.emplace(principal, Bucket{burst_, now, recent_.begin()}).first;
  } else {
    recent_.splice(recent_.begin(), recent_, it->second.recent);
  }
  Bucket& bucket = it->second;
  const double elapsed = std::chrono::duration<double>(now - bucket.updated).count();
  if (elapsed > 0) {
    bucket.tokens = std::min(burst_, bucket.tokens + elapsed * rate_);
    bucket.updated = now;
  }
  // The epsilon absorbs rounding in the refill (0.1 s at 10/s must give back a whole token).
  if (bucket.tokens + 1e-9 >= 1.0) {
    bucket.tokens = std::max(0.0, bucket.tokens - 1.0);
    return Decision{true, std::chrono::milliseconds(0), bucket.tokens};
  }
  // Capped at a day so that a tiny rate cannot overflow the duration.
  const double waitMs = std::min(std::ceil((1.0 - bucket.tokens) / rate_ * 1000.0), 86'400'000.0);
  return Decision{false, std::chrono::milliseconds(static_cast<std::int64_t>(waitMs)),
                  bucket.tokens};
}

std::size_t RateLimiter::size() const {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

}  // namespace va::input_processor
