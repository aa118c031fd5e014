// A Clock for tests: time stands still until advance() moves it, and advance() wakes every
// waiter whose deadline it passes before returning, so tests never sleep for real.
//   FakeClock clock;
//   WorkQueue queue(clock);
//   queue.addAfter("ns/a", 10s);
//   clock.advance(10s);   // "ns/a" is now due
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <vector>

#include "operator/runtime/clock.h"

namespace va::runtime {

class FakeClock final : public Clock {
 public:
  // Starts well after the epoch so that "now - d" stays meaningful.
  explicit FakeClock(TimePoint start = TimePoint{} + std::chrono::hours(24)) : now_(start) {}

  [[nodiscard]] TimePoint now() const override {
    const std::lock_guard guard(mutex_);
    return now_;
  }

  void waitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                 TimePoint deadline) override {
    Waiter self{&cv, lock.mutex(), deadline, 0};
    {
      const std::lock_guard guard(mutex_);
      if (now_ >= deadline) return;
      waiters_.push_back(&self);
    }
    // The caller still holds `lock`, and advance() takes it before notifying, so a wake-up
    // between the registration above and this wait cannot be lost.
    cv.wait(lock);
    // advance() may be about to lock the caller's mutex to notify `self`: release that mutex
    // and let it finish before `self` goes out of scope. Lock order is always caller's mutex,
    // then mutex_; never the other way round.
    lock.unlock();
    {
      std::unique_lock guard(mutex_);
      notified_.wait(guard, [&] { return self.pendingWakes == 0; });
      waiters_.erase(std::find(waiters_.begin(), waiters_.end(), &self));
    }
    lock.lock();
  }

  // Moves time forward by `d` and wakes the waiters whose deadline is now reached.
  void advance(Duration d) {
    std::vector<Waiter*> due;
    {
      const std::lock_guard guard(mutex_);
      now_ += d;
      for (Waiter* waiter : waiters_) {
        if (waiter->deadline <= now_) {
          ++waiter->pendingWakes;
          due.push_back(waiter);
        }
      }
    }
    for (Waiter* waiter : due) {
      {
        const std::lock_guard callerGuard(*waiter->mutex);
        waiter->cv->notify_all();
      }
      {
        const std::lock_guard guard(mutex_);
        --waiter->pendingWakes;
      }
      notified_.notify_all();
    }
  }

  // How many threads are blocked in waitUntil() right now.
  [[nodiscard]] std::size_t numWaiters() const {
    const std::lock_guard guard(mutex_);
    return waiters_.size();
  }

 private:
  struct Waiter {
    std::condition_variable* cv;
    std::mutex* mutex;
    TimePoint deadline;
    int pendingWakes;  // advance() calls still to notify this waiter
  };

  mutable std::mutex mutex_;
  std::condition_variable notified_;
  TimePoint now_;
  std::vector<Waiter*> waiters_;
};

}  // namespace va::runtime
