// The controller work queue of "namespace/name" keys, after client-go's workqueue: a key is
// queued at most once however often it is added, handed to at most one worker at a time, and
// can be added after a delay or with per-key exponential backoff. Time comes from a Clock.
//
// N workers share one queue; each runs this loop on its own thread:
//   while (std::optional<std::string> key = queue.get()) {   // nullopt once shut down
//     if (reconcile(*key)) {
//       queue.forget(*key);          // success: reset the key's backoff
//     } else {
//       queue.addRateLimited(*key);  // failure: retry after 5 ms, 10 ms, 20 ms, ... 1000 s
//     }
//     queue.done(*key);              // always; a key added meanwhile is queued again now
//   }
// and the owner stops them with queue.shutDownWithDrain() (or shutDown()) and joins them.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "operator/runtime/clock.h"

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace va::runtime {

struct WorkQueueOptions {
  // Value of the `name` and `controller` labels on the queue's metrics.
  std::string name;
  // Where the workqueue_* metrics are registered; none when null. Queues sharing a registry
  // need distinct names. The metrics stay in the registry after the queue is gone.
  std::shared_ptr<prometheus::Registry> registry;
  // addRateLimited() waits baseDelay * 2^numRequeues, at most maxDelay (client-go's defaults).
  Clock::Duration baseDelay = std::chrono::milliseconds(5);
  Clock::Duration maxDelay = std::chrono::seconds(1000);
};

// Thread-safe. The clock (and registry) must outlive the queue, and no thread may still be
// inside get() or shutDownWithDrain() when the queue is destroyed.
class WorkQueue {
 public:
  explicit WorkQueue(Clock& clock, WorkQueueOptions options = {});
  ~WorkQueue();

  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Queues `key` unless it is already queued. A key being processed is not handed out again
  // before done(); it is queued then. Ignored after shut down.
  void add(const std::string& key);

  // Blocks until a key is available and marks it as being processed; nullopt once the queue
  // is shut down and empty. As in client-go, keys queued before the shutdown are still
  // handed out.
  [[nodiscard]] std::optional<std::string> get();

  // Ends the processing of a key returned by get(); queues it again if it was added meanwhile.
  // A key that is not being processed is ignored.
  void done(const std::string& key);

  // add(key) once `delay` has passed (at once if delay <= 0). While a key waits, a later
  // deadline for it is ignored and an earlier one replaces it. Counted as a retry.
  void addAfter(const std::string& key, Clock::Duration delay);

  // addAfter(key, baseDelay * 2^numRequeues(key), capped at maxDelay), then counts the requeue.
  void addRateLimited(const std::string& key);

  // Resets the key's backoff: the next addRateLimited() waits baseDelay again.
  void forget(const std::string& key);

  // How many times addRateLimited() was called for `key` since the last forget().
  [[nodiscard]] int numRequeues(const std::string& key) const;

  // Stops accepting adds, drops keys waiting for their delay and wakes every get().
  void shutDown();

  // shutDown(), then waits until every key handed out by get() is done(). A concurrent
  // shutDown() ends the wait early.
  void shutDownWithDrain();

  [[nodiscard]] bool shuttingDown() const;

  // Number of keys queued and ready for get() (not counting those being processed or waiting
  // for their delay).
  [[nodiscard]] std::size_t len();

  // Refreshes workqueue_unfinished_work_seconds and workqueue_longest_running_processor_seconds.
  // get() and done() do it too; call it periodically (client-go: every 500 ms) or before a
  // scrape so that a stuck worker shows up.
  void updateUnfinishedWork();

 private:
  struct Metrics;
  using Lock = std::unique_lock<std::mutex>;

  void addLocked(const std::string& key, Clock::TimePoint readySince);
  void addAfterLocked(const std::string& key, Clock::Duration delay);
  // Moves the keys whose delay has passed into the queue.
  void promoteDueLocked();
  void updateUnfinishedWorkLocked(Clock::TimePoint now);
  void shutDownLocked(bool drain);

  Clock& clock_;
  const WorkQueueOptions options_;
  const std::unique_ptr<Metrics> metrics_;  // null without a registry

  mutable std::mutex mutex_;
  std::condition_variable keysAvailable_;  // a key was queued, or shutdown
  std::condition_variable drained_;        // processing_ became empty, or shutDown()
  bool shuttingDown_ = false;
  bool draining_ = false;

  std::deque<std::string> queue_;               // ready keys in order; each also in dirty_
  std::unordered_set<std::string> dirty_;       // keys to be processed (queued or re-added)
  std::unordered_set<std::string> processing_;  // keys between get() and done()

  std::map<std::string, Clock::TimePoint> waitingByKey_;        // delayed key -> deadline
  std::set<std::pair<Clock::TimePoint, std::string>> waiting_;  // ordered by deadline

  std::unordered_map<std::string, int> requeues_;

  // For the duration metrics: when a key became ready, and when its processing started.
  std::unordered_map<std::string, Clock::TimePoint> readySince_;
  std::unordered_map<std::string, Clock::TimePoint> processingSince_;
};

}  // namespace va::runtime
