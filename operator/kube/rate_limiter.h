// The client-side request limit: a token bucket (QPS and burst, as client-go's flowcontrol)
// whose rate adapts to the server's 429s the way TCP adapts to loss (AIMD): each 429 halves
// the rate, and the rate then climbs back linearly to the configured QPS.
//   AdaptiveRateLimiter limiter(RateLimit{}, TimeSource::steady());
//   limiter.acquire();                        // before each request
//   if (code == 429) limiter.onThrottled();
#pragma once

#include <chrono>
#include <mutex>

#include "operator/kube/time_source.h"

namespace va::kube {

struct RateLimit {
  // Sustained requests per second and the bucket size. client-go's 5/10 throttles an operator
  // that reconciles many objects; controller-runtime's 20/30 are used here. qps <= 0 turns the
  // limit off.
  double qps = 20;
  int burst = 30;
  // The rate never drops below this, however many 429s arrive.
  double minQps = 1;
  // Multiplicative decrease on a 429.
  double decreaseFactor = 0.5;
  // Additive increase: QPS regained per second after the last decrease (10 s from 10 back to
  // 20 QPS).
  double recoveryQpsPerSecond = 1;
  // 429s within this long of the last decrease count once: a burst of requests that were all
  // in flight when the server started throttling is one signal, not many.
  std::chrono::milliseconds decreaseHoldOff = std::chrono::seconds(1);
};

// Thread-safe. Callers that wait do so through the TimeSource outside the lock.
class AdaptiveRateLimiter {
 public:
  AdaptiveRateLimiter(RateLimit limit, TimeSource time);

  // Takes a token, waiting (time.sleepFor) until one is due.
  void acquire();
  // Takes a token and returns how long the caller must wait before using it (zero when one is
  // available now). acquire() is reserve() followed by the wait.
  [[nodiscard]] TimeSource::Clock::duration reserve();
  // The server answered 429: lower the rate (at most once per decreaseHoldOff) and drop any
  // saved-up burst.
  void onThrottled();
  // The rate in force now.
  [[nodiscard]] double currentQps() const;

 private:
  using TimePoint = TimeSource::Clock::time_point;

  [[nodiscard]] double rateAt(TimePoint at) const;  // needs mutex_
  void refill(TimePoint at);                        // needs mutex_

  const RateLimit limit_;
  const TimeSource time_;
  mutable std::mutex mutex_;
  double tokens_;
  TimePoint updatedAt_;
  double rateAfterDecrease_;  // the rate set by the last decrease
  TimePoint decreasedAt_{};   // when it was set (epoch: never)
  bool decreased_ = false;
};

}  // namespace va::kube
