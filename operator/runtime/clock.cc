#include "operator/runtime/clock.h"

namespace va::runtime {

Clock::TimePoint SteadyClockImpl::now() const { return std::chrono::steady_clock::now(); }

void SteadyClockImpl::waitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                                TimePoint deadline) {
  cv.wait_until(lock, deadline);
}

}  // namespace va::runtime
