// A kube::TimeSource for tests: time stands still, and sleepFor records the wait and moves time
// forward by it at once, so retry delays and rate limits are asserted without sleeping.
//   FakeTimeSource time;
//   ClientOptions options;
//   options.time = time.source();
//   ... EXPECT_EQ(time.sleeps(), (std::vector<Duration>{1s, 1s}));
#pragma once

#include <chrono>
#include <mutex>
#include <vector>

#include "operator/kube/time_source.h"

namespace va::kube {

class FakeTimeSource {
 public:
  using Clock = TimeSource::Clock;
  using Duration = Clock::duration;

  // The returned source refers to this object, which must outlive it.
  TimeSource source() {
    return TimeSource{[this] { return now(); }, [this](Duration d) { sleep(d); }};
  }

  [[nodiscard]] Clock::time_point now() const {
    const std::lock_guard lock(mutex_);
    return now_;
  }
  void advance(Duration d) {
    const std::lock_guard lock(mutex_);
    now_ += d;
  }
  [[nodiscard]] std::vector<Duration> sleeps() const {
    const std::lock_guard lock(mutex_);
    return sleeps_;
  }

 private:
  void sleep(Duration d) {
    const std::lock_guard lock(mutex_);
    sleeps_.push_back(d);
    now_ += d;
  }

  mutable std::mutex mutex_;
  Clock::time_point now_ = Clock::time_point{} + std::chrono::hours(24);
  std::vector<Duration> sleeps_;
};

}  // namespace va::kube
