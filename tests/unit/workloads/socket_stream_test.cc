#include "workloads/common/socket_stream.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

namespace va::service {
namespace {

using std::chrono::milliseconds;

class SocketStreamTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds_), 0); }
  void TearDown() override {
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  void peerSends(const std::string& data) {
    ASSERT_EQ(::send(fds_[1], data.data(), data.size(), 0), static_cast<ssize_t>(data.size()));
  }
  int fds_[2] = {-1, -1};
};

TEST_F(SocketStreamTest, BuffersUntilReadAndEnforcesTheBudget) {
  SocketStream stream(fds_[0], milliseconds(1000), milliseconds(1000));
  peerSends("abcdefgh");
  ASSERT_EQ(stream.fill(SocketStream::Clock::now() + milliseconds(1000)),
            SocketStream::Fill::kData);
  EXPECT_EQ(stream.buffered(), "abcdefgh");

  stream.beginRequest(5);
  char out[16];
  EXPECT_EQ(stream.read(out, 3), 3);
  EXPECT_EQ(std::string(out, 3), "abc");
  EXPECT_EQ(stream.read(out, sizeof(out)), 2);  // only what the budget allows
  EXPECT_EQ(stream.read(out, sizeof(out)), -1);
  EXPECT_TRUE(stream.budgetExceeded());
  EXPECT_EQ(stream.buffered(), "fgh");

  stream.beginRequest(100);  // the next request starts with the bytes left over
  EXPECT_FALSE(stream.budgetExceeded());
  EXPECT_EQ(stream.read(out, sizeof(out)), 3);
  EXPECT_EQ(std::string(out, 3), "fgh");
}

TEST_F(SocketStreamTest, ReadsTimeOutAndReportEndOfStream) {
  SocketStream stream(fds_[0], milliseconds(50), milliseconds(1000));
  stream.beginRequest(100);
  char out[4];
  EXPECT_EQ(stream.read(out, sizeof(out)), -1);
  EXPECT_TRUE(stream.failed());
  EXPECT_EQ(stream.fill(SocketStream::Clock::now() + milliseconds(20)),
            SocketStream::Fill::kTimeout);
  ::shutdown(fds_[1], SHUT_WR);
  EXPECT_EQ(stream.fill(SocketStream::Clock::now() + milliseconds(1000)),
            SocketStream::Fill::kClosed);
}

TEST_F(SocketStreamTest, StopsWaitingWhenAskedTo) {
  SocketStream stream(fds_[0], milliseconds(1000), milliseconds(1000));
  std::atomic<bool> stop{false};
  std::thread stopper([&] { stop = true; });
  const auto started = SocketStream::Clock::now();
  EXPECT_EQ(stream.fill(started + std::chrono::seconds(30), [&] { return stop.load(); }),
            SocketStream::Fill::kStopped);
  EXPECT_LT(SocketStream::Clock::now() - started, std::chrono::seconds(5));
  stopper.join();
}

TEST_F(SocketStreamTest, WritesAndReportsTheAddresses) {
  SocketStream stream(fds_[0], milliseconds(1000), milliseconds(1000));
  ASSERT_TRUE(stream.writeAll("pong"));
  char in[8] = {};
  EXPECT_EQ(::recv(fds_[1], in, sizeof(in), 0), 4);
  EXPECT_EQ(std::string(in, 4), "pong");
  EXPECT_TRUE(stream.is_writable());
  EXPECT_EQ(stream.socket(), fds_[0]);
}

}  // namespace
}  // namespace va::service
