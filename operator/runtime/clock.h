// Steady time for the operator runtime, behind an interface so that tests drive it by hand
// (tests/fakes/fake_clock.h). Code that waits for a deadline waits through the clock:
//   std::unique_lock lock(mutex_);
//   while (!ready()) clock_.waitUntil(cv_, lock, deadline);   // as cv_.wait_until(lock, deadline)
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace va::runtime {

class Clock {
 public:
  using Duration = std::chrono::steady_clock::duration;
  using TimePoint = std::chrono::steady_clock::time_point;

  virtual ~Clock() = default;

  [[nodiscard]] virtual TimePoint now() const = 0;

  // Blocks until `deadline` has passed on this clock or `cv` is notified, like
  // cv.wait_until(lock, deadline): `lock` is held on entry and on return, and is released
  // while waiting. It may return early (spuriously), so callers re-check their condition in a
  // loop. Returns at once when the deadline has already passed.
  virtual void waitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                         TimePoint deadline) = 0;
};

// The production clock: std::chrono::steady_clock.
class SteadyClockImpl final : public Clock {
 public:
  [[nodiscard]] TimePoint now() const override;
  void waitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                 TimePoint deadline) override;
};

}  // namespace va::runtime
