#include "workloads/common/http_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <vector>

#include "tests/unit/workloads/test_support.h"
#include "workloads/common/logging.h"

namespace va::service {
namespace {

using std::chrono::milliseconds;

// Options that record backoff delays instead of sleeping.
struct RecordedSleeps {
  std::mutex mutex;
  std::vector<milliseconds> delays;
  HttpClientOptions options(int attempts) {
    HttpClientOptions result;
    result.maxAttempts = attempts;
    result.backoffBase = milliseconds(100);
    result.backoffCap = milliseconds(150);
    result.sleep = [this](milliseconds delay) {
      const std::lock_guard lock(mutex);
      delays.push_back(delay);
    };
    return result;
  }
};

TEST(HttpClientTest, ReturnsStatusHeadersAndBody) {
  testing::LocalServer server;
  server.server().Post("/echo", [](const httplib::Request& req, httplib::Response& res) {
    res.status = 201;
    res.set_header("X-Echo-Method", req.method);
    res.set_content(req.body, "application/json");
  });
  server.start();
  const HttpClient client;
  const auto reply = client.postJson(server.url("/echo"), R"({"a":1})");
  ASSERT_TRUE(reply.ok()) << reply.error().toError().message();
  EXPECT_EQ(reply->status, 201);
  EXPECT_TRUE(reply->ok());
  EXPECT_EQ(reply->body, R"({"a":1})");
  EXPECT_EQ(reply->header("x-echo-method"), "POST");
  EXPECT_EQ(reply->header("content-type"), "application/json");
  EXPECT_FALSE(reply->header("X-Missing").has_value());
}

TEST(HttpClientTest, ReusesTheConnectionOnTheSameThread) {
  testing::LocalServer server;
  server.server().Get("/who", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(std::to_string(req.remote_port), "text/plain");
  });
  server.start();
  const HttpClient client;
  const auto first = client.get(server.url("/who"));
  const auto second = client.get(server.url("/who"));
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->body, second->body) << "a second connection was opened";
}

TEST(HttpClientTest, PropagatesRequestIdAndTraceparentFromTheLogContext) {
  std::string seenRequestId;
  std::string seenTraceparent;
  testing::LocalServer server;
  server.server().Get("/ids", [&](const httplib::Request& req, httplib::Response&) {
    seenRequestId = req.get_header_value("X-Request-Id");
    seenTraceparent = req.get_header_value("traceparent");
  });
  server.start();
  const TraceContext trace{"4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", 1};
  {
    const ScopedLogContext scope(LogContext{"req-77", "", trace});
    ASSERT_TRUE(HttpClient().get(server.url("/ids")).ok());
  }
  EXPECT_EQ(seenRequestId, "req-77");
  const auto sent = parseTraceparent(seenTraceparent);
  ASSERT_TRUE(sent.has_value()) << seenTraceparent;
  EXPECT_EQ(sent->traceId, trace.traceId);
  EXPECT_NE(sent->spanId, trace.spanId);  // the client's own span, a child of the caller's

  ASSERT_TRUE(HttpClient().get(server.url("/ids")).ok());  // no context: a new trace
  EXPECT_TRUE(seenRequestId.empty());
  ASSERT_TRUE(parseTraceparent(seenTraceparent).has_value());
  EXPECT_NE(parseTraceparent(seenTraceparent)->traceId, trace.traceId);
}

TEST(HttpClientTest, ConnectionRefusedIsItsOwnErrorAndIsRetriedForAnyMethod) {
  RecordedSleeps sleeps;
  const HttpClient client(sleeps.options(3));
  const std::string url = "http://127.0.0.1:" + std::to_string(testing::closedPort()) + "/x";
  const auto reply = client.postJson(url, "{}");
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().kind, HttpErrorKind::kConnectionRefused);
  EXPECT_EQ(reply.error().attempts, 3);
  EXPECT_NE(reply.error().toError().message().find("connection refused"), std::string::npos);
  ASSERT_EQ(sleeps.delays.size(), 2U);
  for (const auto delay : sleeps.delays) EXPECT_LE(delay, milliseconds(150));
}

TEST(HttpClientTest, TimeoutsAreReportedAsTimeouts) {
  testing::Gate release;
  testing::LocalServer server;
  server.server().Get("/slow",
                      [&](const httplib::Request&, httplib::Response&) { release.wait(); });
  server.start();
  HttpClientOptions options;
  options.totalTimeout = milliseconds(200);
  options.maxAttempts = 1;
  const auto started = std::chrono::steady_clock::now();
  const auto reply = HttpClient(options).get(server.url("/slow"));
  const auto took = std::chrono::steady_clock::now() - started;
  release.open();
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().kind, HttpErrorKind::kTimeout);
  EXPECT_LT(took, std::chrono::seconds(5));
}

TEST(HttpClientTest, RetriesIdempotentRequestsOnUnavailableWithBackoff) {
  std::atomic<int> calls{0};
  testing::LocalServer server;
  const auto flaky = [&](const httplib::Request&, httplib::Response& res) {
    res.status = ++calls < 3 ? 503 : 200;
  };
  server.server().Get("/flaky", flaky);
  server.server().Post("/flaky", flaky);
  server.start();
  RecordedSleeps sleeps;
  const HttpClient client(sleeps.options(4));

  const auto reply = client.get(server.url("/flaky"));
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(sleeps.delays.size(), 2U);

  calls = 0;
  const auto post = client.postJson(server.url("/flaky"), "{}");
  ASSERT_TRUE(post.ok());
  EXPECT_EQ(post->status, 503) << "a POST must not be repeated after it reached the server";
  EXPECT_EQ(calls, 1);

  calls = 0;
  HttpRequest keyed{"POST", server.url("/flaky"), {{"Idempotency-Key", "k1"}}, "{}", true};
  const auto retried = client.send(keyed);
  ASSERT_TRUE(retried.ok());
  EXPECT_EQ(retried->status, 200);
  EXPECT_EQ(calls, 3);
}

TEST(HttpClientTest, RequireSuccessTurnsStatusesIntoErrors) {
  testing::LocalServer server;
  server.server().Get("/missing", [](const httplib::Request&, httplib::Response& res) {
    res.status = 404;
    res.set_content(R"({"error":{"code":"not_found"}})", "application/json");
  });
  server.start();
  const auto reply = requireSuccess(HttpClient().get(server.url("/missing")));
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().kind, HttpErrorKind::kHttpStatus);
  ASSERT_TRUE(reply.error().response.has_value());
  EXPECT_EQ(reply.error().response->status, 404);
  EXPECT_NE(reply.error().response->body.find("not_found"), std::string::npos);
}

TEST(HttpClientTest, RejectsBadRequestsAndOversizedReplies) {
  EXPECT_EQ(HttpClient().send({"GE T", "http://127.0.0.1:1/", {}, "", std::nullopt}).error().kind,
            HttpErrorKind::kInvalidRequest);
  EXPECT_EQ(HttpClient().get("ftp://127.0.0.1/file").error().kind, HttpErrorKind::kInvalidRequest);

  testing::LocalServer server;
  server.server().Get("/big", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(100000, 'x'), "text/plain");
  });
  server.start();
  HttpClientOptions options;
  options.maxResponseBytes = 1000;
  const auto reply = HttpClient(options).get(server.url("/big"));
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().kind, HttpErrorKind::kResponseTooLarge);
}

TEST(HttpClientTest, BackoffIsFullJitterUnderAnExponentialCap) {
  for (int retry = 1; retry <= 6; ++retry) {
    const auto ceiling = std::min(milliseconds(1000), milliseconds(100) * (1 << (retry - 1)));
    bool sawBelowHalf = false;
    for (int i = 0; i < 200; ++i) {
      const auto delay = backoffDelay(retry, milliseconds(100), milliseconds(1000));
      EXPECT_GE(delay, milliseconds(0));
      EXPECT_LE(delay, ceiling);
      sawBelowHalf = sawBelowHalf || delay < ceiling / 2;
    }
    EXPECT_TRUE(sawBelowHalf) << "no jitter at retry " << retry;
  }
}

}  // namespace
}  // namespace va::service
