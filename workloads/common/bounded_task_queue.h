// A fixed pool of worker threads with a bounded backlog, for httplib::Server. httplib's own
// ThreadPool queues without limit, so an overloaded server hangs clients; this one hands
// work that does not fit to an overflow function, which answers 503 at once.
//   BoundedTaskQueue queue(8, 64, [](std::function<void()> task) { /* reject */ });
#pragma once

#include <httplib.h>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace va::service {

class BoundedTaskQueue : public httplib::TaskQueue {
 public:
  using Task = std::function<void()>;
  // Runs a task that did not fit, on the thread that offered it.
  using Overflow = std::function<void(Task task)>;

  BoundedTaskQueue(std::size_t workers, std::size_t capacity, Overflow overflow);
  ~BoundedTaskQueue() override;
  BoundedTaskQueue(const BoundedTaskQueue&) = delete;
  BoundedTaskQueue& operator=(const BoundedTaskQueue&) = delete;

  // Queues the task when a worker is idle or the backlog has room, else calls the overflow.
  void enqueue(Task task) override;
  // Lets the workers finish every queued task, then joins them. Idempotent.
  void shutdown() override;

  struct Stats {
    std::size_t busy = 0;    // workers running a task
    std::size_t queued = 0;  // tasks waiting for a worker
    std::size_t rejected = 0;
  };
  Stats stats() const;

 private:
  void work();

  const std::size_t capacity_;
  Overflow overflow_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Task> tasks_;
  std::size_t busy_ = 0;
  std::size_t rejected_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
  std::once_flag joined_;
};

}  // namespace va::service
