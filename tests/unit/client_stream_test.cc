// ClientImpl::stream() against a local server that sends chunked lines: line splitting across
// chunks, stopping, cancelling from another thread, a connection cut mid-line, error statuses
// and the idle timeout.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "operator/kube/client.h"
#include "tests/support/local_http_server.h"

namespace va::kube {
namespace {

using std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A flag the server's handler waits on, so that a test decides when the server goes on; the
// fixture opens it at the end so that no handler outlives the test.
class Gate {
 public:
  void open() {
    {
      const std::lock_guard lock(mutex_);
      open_ = true;
    }
    cv_.notify_all();
  }
  // True when opened, false when `limit` passed first.
  bool wait(milliseconds limit = std::chrono::seconds(10)) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, limit, [&] { return open_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool open_ = false;
};

class ClientStreamTest : public ::testing::Test {
 protected:
  void TearDown() override {
    release_.open();
    local_.stop();
  }

  [[nodiscard]] RestConfig config() const {
    RestConfig config;
    config.server = local_.url();
    return config;
  }

  // Serves `path` as a chunked body: each element of `chunks` is one chunk; a chunk "<wait>"
  // waits for `gate` instead; when `cut`, the connection closes without the final chunk.
  void serveChunks(const std::string& path, std::vector<std::string> chunks, Gate* gate = nullptr,
                   bool cut = false) {
    local_.server().Get(
        path, [this, chunks, gate, cut](const httplib::Request&, httplib::Response& res) {
          res.set_chunked_content_provider(
              "application/json", [this, chunks, gate, cut](size_t, httplib::DataSink& sink) {
                for (const std::string& chunk : chunks) {
                  if (chunk == "<wait>") {
                    if (gate != nullptr) gate->wait();
                    release_.wait();
                    continue;
                  }
                  if (!sink.write(chunk.data(), chunk.size())) return false;
                }
                if (cut) return false;
                sink.done();
                return true;
              });
        });
    ASSERT_TRUE(local_.start());
  }

  va::testing::LocalHttpServer local_;
  Gate release_;
};

TEST_F(ClientStreamTest, DeliversLinesSplitAcrossChunks) {
  serveChunks("/watch", {R"({"n":1})"
                         "\n"
                         R"({"n":)",
                         "2}\n{\"n\"", ":3}\n\n", R"({"n":4})"});
  ClientImpl client(config());
  std::vector<std::string> lines;
  auto streamed = client.stream("/watch", [&](std::string_view line) {
    lines.emplace_back(line);
    return true;
  });
  ASSERT_TRUE(streamed.ok()) << streamed.error().toString();
  // An empty line is a line; a last line without '\n' at a clean end is delivered too.
  EXPECT_THAT(lines, ElementsAre(R"({"n":1})", R"({"n":2})", R"({"n":3})", "", R"({"n":4})"));
}

TEST_F(ClientStreamTest, AHandlerThatReturnsFalseStopsTheStream) {
  serveChunks("/watch", {"a\nb\nc\n", "<wait>", "d\n"});
  ClientImpl client(config());
  std::vector<std::string> lines;
  auto streamed = client.stream("/watch", [&](std::string_view line) {
    lines.emplace_back(line);
    return line != "b";
  });
  ASSERT_TRUE(streamed.ok()) << streamed.error().toString();
  EXPECT_THAT(lines, ElementsAre("a", "b"));
}

TEST_F(ClientStreamTest, CancelFromAnotherThreadEndsTheStreamPromptly) {
  serveChunks("/watch", {"first\n", "<wait>"});
  ClientImpl client(config());
  CancelToken token;
  Gate firstLine;
  std::thread canceller([&] {
    firstLine.wait();
    token.cancel();
  });
  std::vector<std::string> lines;
  const auto started = std::chrono::steady_clock::now();
  auto streamed = client.stream(
      "/watch",
      [&](std::string_view line) {
        lines.emplace_back(line);
        firstLine.open();
        return true;
      },
      &token);
  const auto took = std::chrono::steady_clock::now() - started;
  canceller.join();
  ASSERT_TRUE(streamed.ok()) << streamed.error().toString();
  EXPECT_THAT(lines, ElementsAre("first"));
  EXPECT_TRUE(token.cancelled());
  EXPECT_LT(took, std::chrono::seconds(2));  // checked every 100 ms; generous for loaded CI
}

TEST_F(ClientStreamTest, AConnectionCutMidLineIsATransportError) {
  serveChunks("/watch", {"whole\n", R"({"half":)"}, nullptr, /*cut=*/true);
  ClientImpl client(config());
  std::vector<std::string> lines;
  auto streamed = client.stream("/watch", [&](std::string_view line) {
    lines.emplace_back(line);
    return true;
  });
  ASSERT_FALSE(streamed.ok());
  EXPECT_EQ(streamed.error().kind(), ApiError::Kind::kTransport) << streamed.error().toString();
  EXPECT_EQ(streamed.error().request(), "GET /watch");
  EXPECT_THAT(lines, ElementsAre("whole"));  // the half line is never delivered
}

TEST_F(ClientStreamTest, GoneIsAnApiErrorWithTheServersStatus) {
  local_.server().Get("/watch", [](const httplib::Request&, httplib::Response& res) {
    res.status = 410;
    res.set_content(
        R"j({"kind":"Status","apiVersion":"v1","status":"Failure","message":"too old resource version: 1 (5)","reason":"Expired","code":410})j",
        "application/json");
  });
  ASSERT_TRUE(local_.start());
  ClientImpl client(config());
  bool called = false;
  auto streamed = client.stream("/watch", [&](std::string_view) { return called = true; });
  ASSERT_FALSE(streamed.ok());
  EXPECT_TRUE(streamed.error().isGone()) << streamed.error().toString();
  EXPECT_THAT(streamed.error().message(), HasSubstr("too old resource version"));
  EXPECT_FALSE(called);
}

TEST_F(ClientStreamTest, ASilentStreamIsATimeout) {
  serveChunks("/watch", {"hello\n", "<wait>"});
  ClientOptions options;
  options.streamIdleTimeout = milliseconds(300);
  ClientImpl client(config(), options);
  std::vector<std::string> lines;
  auto streamed = client.stream("/watch", [&](std::string_view line) {
    lines.emplace_back(line);
    return true;
  });
  ASSERT_FALSE(streamed.ok());
  EXPECT_TRUE(streamed.error().isTimeout()) << streamed.error().toString();
  EXPECT_THAT(lines, ElementsAre("hello"));
}

TEST_F(ClientStreamTest, NothingListeningIsATransportError) {
  ASSERT_TRUE(local_.start());
  const RestConfig closed = config();
  local_.stop();
  ClientImpl client(closed);
  auto streamed = client.stream("/watch", [](std::string_view) { return true; });
  ASSERT_FALSE(streamed.ok());
  EXPECT_EQ(streamed.error().kind(), ApiError::Kind::kTransport);
}

}  // namespace
}  // namespace va::kube
