#include "workloads/common/bounded_task_queue.h"

#include <algorithm>

namespace va::service {

BoundedTaskQueue::BoundedTaskQueue(std::size_t workers, std::size_t capacity, Overflow overflow)
    : capacity_(capacity), overflow_(std::move(overflow)) {
  workers = std::max<std::size_t>(1, workers);
  workers_.reserve(workers);
  for (std::size_t i = 0; i < workers; ++i) workers_.emplace_back([this] { work(); });
}

BoundedTaskQueue::~BoundedTaskQueue() { shutdown(); }

void BoundedTaskQueue::enqueue(Task task) {
  {
    std::unique_lock lock(mutex_);
    const std::size_t idle = workers_.size() - busy_;
    // Idle workers take queued tasks first; a task fits if the backlog stays within capacity.
    if (!stopping_ && tasks_.size() < idle + capacity_) {
      tasks_.push_back(std::move(task));
      lock.unlock();
      ready_.notify_one();
      return;
    }
    ++rejected_;
  }
  if (overflow_) overflow_(std::move(task));
}

void BoundedTaskQueue::shutdown() {
  std::call_once(joined_, [this] {
    {
      const std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    ready_.notify_all();
    for (auto& worker : workers_) worker.join();
  });
}

BoundedTaskQueue::Stats BoundedTaskQueue::stats() const {
  const std::lock_guard lock(mutex_);
  const std::size_t idle = stopping_ ? 0 : workers_.size() - busy_;
  // Tasks not yet picked up by an idle worker are waiting, whatever the moment.
  const std::size_t waiting = tasks_.size() > idle ? tasks_.size() - idle : 0;
  return Stats{busy_ + std::min(tasks_.size(), idle), waiting, rejected_};
}

void BoundedTaskQueue::work() {
  for (;;) {
    Task task;
    {
      std::unique_lock lock(mutex_);
      ready_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty()) return;  // stopping, and nothing left to run
      task = std::move(tasks_.front());
      tasks_.pop_front();
      ++busy_;
    }
    task();
    const std::lock_guard lock(mutex_);
    --busy_;
  }
}

}  // namespace va::service
