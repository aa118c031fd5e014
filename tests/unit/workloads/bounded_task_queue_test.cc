#include "workloads/common/bounded_task_queue.h"

#include <gtest/gtest.h>

#include <atomic>

#include "tests/unit/workloads/test_support.h"

namespace va::service {
namespace {

TEST(BoundedTaskQueueTest, RunsTasksOnItsWorkers) {
  std::atomic<int> ran{0};
  BoundedTaskQueue queue(2, 4, nullptr);
  for (int i = 0; i < 6; ++i) queue.enqueue([&] { ++ran; });
  ASSERT_TRUE(testing::eventually([&] { return ran == 6; }));
  queue.shutdown();
  EXPECT_EQ(queue.stats().rejected, 0U);
}

TEST(BoundedTaskQueueTest, HandsTasksBeyondWorkersPlusCapacityToTheOverflow) {
  testing::Gate gate;
  std::atomic<int> ran{0};
  std::atomic<int> overflowed{0};
  BoundedTaskQueue queue(2, 1, [&](BoundedTaskQueue::Task task) {
    ++overflowed;
    task();  // the overflow decides; here it runs the task at once
  });
  const auto blocked = [&] {
    gate.wait();
    ++ran;
  };
  queue.enqueue(blocked);
  queue.enqueue(blocked);
  ASSERT_TRUE(testing::eventually([&] { return queue.stats().busy == 2; }));
  queue.enqueue(blocked);  // waits in the backlog
  EXPECT_EQ(queue.stats().queued, 1U);
  EXPECT_EQ(overflowed, 0);

  queue.enqueue([&] { ++ran; });  // no room: overflow, on this thread
  EXPECT_EQ(overflowed, 1);
  EXPECT_EQ(ran, 1);
  EXPECT_EQ(queue.stats().rejected, 1U);

  gate.open();
  ASSERT_TRUE(testing::eventually([&] { return ran == 4; }));
  EXPECT_TRUE(testing::eventually([&] { return queue.stats().busy == 0; }));
}

TEST(BoundedTaskQueueTest, ShutdownFinishesQueuedTasksAndIsIdempotent) {
  testing::Gate gate;
  std::atomic<int> ran{0};
  BoundedTaskQueue queue(1, 3, nullptr);
  queue.enqueue([&] {
    gate.wait();
    ++ran;
  });
  queue.enqueue([&] { ++ran; });
  queue.enqueue([&] { ++ran; });
  std::thread stopper([&] { queue.shutdown(); });
  gate.open();
  stopper.join();
  EXPECT_EQ(ran, 3);
  queue.shutdown();

  std::atomic<int> overflowed{0};
  BoundedTaskQueue stopped(1, 1, [&](BoundedTaskQueue::Task) { ++overflowed; });
  stopped.shutdown();
  stopped.enqueue([] {});
  EXPECT_EQ(overflowed, 1);
}

}  // namespace
}  // namespace va::service
