// ClientImpl's retries, rate limit and metrics against a local server, with a fake time source
// so that no retry sleeps for real.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "operator/kube/client.h"
#include "tests/fakes/fake_time_source.h"
#include "tests/support/local_http_server.h"

namespace va::kube {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr const char* kTooMany =
    R"({"kind":"Status","status":"Failure","reason":"TooManyRequests","code":429})";
constexpr const char* kInternal =
    R"({"kind":"Status","status":"Failure","reason":"InternalError","code":500})";

class ClientRetryTest : public ::testing::Test {
 protected:
  void start() { ASSERT_TRUE(local_.start()); }

  // No client-side limit unless a test turns it on: the sleeps are then only retry waits.
  ClientOptions options() {
    ClientOptions options;
    options.time = time_.source();
    options.rateLimit.qps = 0;
    return options;
  }

  RestConfig config() const {
    RestConfig config;
    config.server = local_.url();
    return config;
  }

  // Answers `status` (with `body` and Retry-After when > 0) to the first `failures` calls of
  // `path`, then 200 with {}.
  void failFirst(const std::string& path, int failures, int status, const char* body,
                 int retryAfter = 0) {
    const auto handler = [this, failures, status, body, retryAfter](const httplib::Request&,
                                                                    httplib::Response& res) {
      if (calls_.fetch_add(1) < failures) {
        res.status = status;
        if (retryAfter > 0) res.set_header("Retry-After", std::to_string(retryAfter));
        res.set_content(body, "application/json");
        return;
      }
      res.set_content("{}", "application/json");
    };
    local_.server().Get(path, handler);
    local_.server().Post(path, handler);
  }

  va::testing::LocalHttpServer local_;
  FakeTimeSource time_;
  std::atomic<int> calls_{0};
};

TEST_F(ClientRetryTest, TooManyRequestsWaitsForRetryAfterThenSucceedsForAnyMethod) {
  failFirst("/api/v1/namespaces", 2, 429, kTooMany, /*retryAfter=*/1);
  start();
  ClientImpl client(config(), options());
  auto created = client.create("/api/v1/namespaces", nlohmann::json::object());
  ASSERT_TRUE(created.ok()) << created.error().toString();
  EXPECT_EQ(calls_, 3);
  EXPECT_THAT(time_.sleeps(), ElementsAre(seconds(1), seconds(1)));
}

TEST_F(ClientRetryTest, RetryAfterIsCapped) {
  failFirst("/x", 1, 429, kTooMany, /*retryAfter=*/3600);
  start();
  ClientImpl client(config(), options());
  ASSERT_TRUE(client.get("/x").ok());
  EXPECT_THAT(time_.sleeps(), ElementsAre(seconds(60)));
}

TEST_F(ClientRetryTest, AServerErrorOnGetIsRetriedWithExponentialBackoff) {
  failFirst("/x", 2, 500, kInternal);
  start();
  ClientImpl client(config(), options());
  auto got = client.get("/x");
  ASSERT_TRUE(got.ok()) << got.error().toString();
  EXPECT_EQ(calls_, 3);
  const auto sleeps = time_.sleeps();
  ASSERT_EQ(sleeps.size(), 2U);
  EXPECT_GE(sleeps[0], milliseconds(200));
  EXPECT_LE(sleeps[0], milliseconds(250));
  EXPECT_GE(sleeps[1], milliseconds(400));
  EXPECT_LE(sleeps[1], milliseconds(500));
}

TEST_F(ClientRetryTest, AServerErrorOnPostIsNotRetried) {
  failFirst("/x", 1, 500, kInternal);
  start();
  ClientImpl client(config(), options());
  auto created = client.create("/x", nlohmann::json::object());
  ASSERT_FALSE(created.ok());
  EXPECT_TRUE(created.error().isServerError());
  EXPECT_EQ(calls_, 1);
  EXPECT_TRUE(time_.sleeps().empty());
}

TEST_F(ClientRetryTest, RetriesStopAfterMaxRetries) {
  failFirst("/x", 100, 503, R"({"kind":"Status","reason":"ServiceUnavailable","code":503})");
  start();
  ClientOptions limited = options();
  limited.maxRetries = 3;
  ClientImpl client(config(), limited);
  auto got = client.get("/x");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code(), 503);
  EXPECT_EQ(calls_, 4);
  EXPECT_EQ(time_.sleeps().size(), 3U);
}

TEST_F(ClientRetryTest, ConnectionRefusedIsRetriedForAnyMethod) {
  start();
  const RestConfig closed = config();
  local_.stop();
  ClientOptions limited = options();
  limited.maxRetries = 2;
  ClientImpl client(closed, limited);
  auto created = client.create("/api/v1/namespaces", nlohmann::json::object());
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.error().kind(), ApiError::Kind::kTransport);
  EXPECT_EQ(time_.sleeps().size(), 2U);
}

TEST_F(ClientRetryTest, ATimeoutIsNotRetried) {
  local_.server().Get("/slow", [this](const httplib::Request&, httplib::Response& res) {
    ++calls_;
    std::this_thread::sleep_for(milliseconds(300));  // the server is slow
    res.set_content("{}", "application/json");
  });
  start();
  ClientOptions quick = options();
  quick.requestTimeout = milliseconds(50);
  ClientImpl client(config(), quick);
  auto got = client.get("/slow");
  ASSERT_FALSE(got.ok());
  EXPECT_TRUE(got.error().isTimeout());
  EXPECT_EQ(calls_, 1);
  EXPECT_TRUE(time_.sleeps().empty());
}

TEST_F(ClientRetryTest, A429SlowsTheClientSideLimit) {
  failFirst("/x", 1, 429, kTooMany);
  start();
  ClientOptions limited = options();
  limited.rateLimit = RateLimit{.qps = 20, .burst = 30};
  limited.maxRetries = 0;
  ClientImpl client(config(), limited);
  ASSERT_FALSE(client.get("/x").ok());
  EXPECT_TRUE(time_.sleeps().empty());
  // The saved burst is gone and the rate halved: the next call waits 1/10 s.
  ASSERT_TRUE(client.get("/x").ok());
  EXPECT_THAT(time_.sleeps(), ElementsAre(milliseconds(100)));
}

TEST_F(ClientRetryTest, RecordsClientGoMetrics) {
  failFirst("/x", 1, 500, kInternal);
  start();
  auto registry = std::make_shared<prometheus::Registry>();
  ClientOptions measured = options();
  measured.metrics = registry;
  ClientImpl client(config(), measured);
  ASSERT_TRUE(client.get("/x").ok());  // a 500, then a 200
  ASSERT_FALSE(client.get("/absent").ok());
  // A second client on the same registry shares the families.
  ClientImpl second(config(), measured);
  ASSERT_TRUE(second.get("/x").ok());

  const std::string text = prometheus::TextSerializer().Serialize(registry->Collect());
  const std::string host = "127.0.0.1:" + std::to_string(local_.port());
  EXPECT_THAT(text, HasSubstr(R"(rest_client_requests_total{code="500",host=")" + host +
                              R"(",method="GET"} 1)"));
  EXPECT_THAT(text, HasSubstr(R"(rest_client_requests_total{code="200",host=")" + host +
                              R"(",method="GET"} 2)"));
  EXPECT_THAT(text, HasSubstr(R"(rest_client_requests_total{code="404",host=")" + host +
                              R"(",method="GET"} 1)"));
  EXPECT_THAT(text, HasSubstr(R"(rest_client_request_duration_seconds_count{host=")" + host +
                              R"(",verb="GET"} 4)"));
}

TEST_F(ClientRetryTest, PlainHttpIsHttp11) {
  failFirst("/x", 0, 200, "");
  start();
  ClientImpl client(config(), options());
  auto response = client.request("GET", "/x");
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->httpVersion, 11);
}

}  // namespace
}  // namespace va::kube
