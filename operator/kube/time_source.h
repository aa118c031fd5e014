// The client's view of time: a steady `now` and a `sleepFor`, replaced in tests so that retry
// delays and rate limits are checked without sleeping (a fake's sleepFor advances its now).
//   TimeSource time = TimeSource::steady();
//   time.sleepFor(std::chrono::milliseconds(200));
#pragma once

#include <chrono>
#include <functional>

namespace va::kube {

struct TimeSource {
  using Clock = std::chrono::steady_clock;

  std::function<Clock::time_point()> now;
  std::function<void(Clock::duration)> sleepFor;

  // std::chrono::steady_clock and std::this_thread::sleep_for.
  static TimeSource steady();
};

}  // namespace va::kube
