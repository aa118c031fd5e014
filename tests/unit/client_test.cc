// ClientImpl's HTTP handling against a local HTTP server on an ephemeral loopback port:
// headers, error mapping, pagination, connection reuse. The API semantics are covered by the
// integration test against the real control plane.
#include "operator/kube/client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace va::kube {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // httplib's stop() does not wake an accept loop that has not started yet, so wait for one
    // answered request (any status) before the test runs.
    httplib::Client probe("127.0.0.1", port_);
    probe.set_connection_timeout(10);
    ASSERT_TRUE(probe.Get("/probe")) << "the test server did not start";
  }

  void TearDown() override {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  [[nodiscard]] RestConfig config() const {
    RestConfig config;
    config.server = "http://127.0.0.1:" + std::to_string(port_);
    return config;
  }

  // No retries and no client-side limit (a 429 would slow the next call for real); both are
  // covered in client_retry_test.cc.
  static ClientOptions noRetries() {
    ClientOptions options;
    options.maxRetries = 0;
    options.rateLimit.qps = 0;
    return options;
  }

  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

TEST_F(ClientTest, SendsJsonHeadersAndTheBearerTokenAndReturnsHeaders) {
  std::mutex mutex;
  httplib::Headers seen;
  std::string seenBody;
  server_.Post(
      "/api/v1/namespaces/ns/configmaps", [&](const httplib::Request& req, httplib::Response& res) {
        const std::lock_guard lock(mutex);
        seen = req.headers;
        seenBody = req.body;
        res.status = 201;
        res.set_header("X-Custom", "one");
        res.set_content(R"({"kind":"ConfigMap","metadata":{"name":"a"}})", "application/json");
      });
  RestConfig withToken = config();
  withToken.bearerToken = "t0ken";
  ClientImpl client(withToken);

  auto response = client.request("POST", "/api/v1/namespaces/ns/configmaps", R"({"a":1})",
                                 "application/json", {{"X-Request", "yes"}});
  ASSERT_TRUE(response.ok()) << response.error().toString();
  EXPECT_EQ(response->status, 201);
  EXPECT_EQ(response->header("content-type"), "application/json");
  EXPECT_EQ(response->header("X-CUSTOM"), "one");
  EXPECT_EQ(response->header("absent"), "");
  EXPECT_EQ(json::parse(response->body)["kind"], "ConfigMap");

  const std::lock_guard lock(mutex);
  EXPECT_EQ(seenBody, R"({"a":1})");
  EXPECT_EQ(seen.find("Authorization")->second, "Bearer t0ken");
  EXPECT_EQ(seen.find("Content-Type")->second, "application/json");
  EXPECT_EQ(seen.find("Accept")->second, "application/json");
  EXPECT_EQ(seen.find("X-Request")->second, "yes");
  EXPECT_EQ(seen.find("User-Agent")->second, "va-operator");
}

TEST_F(ClientTest, ReadsTheTokenFromTheTokenFile) {
  std::mutex mutex;
  std::string authorization;
  server_.Get("/version", [&](const httplib::Request& req, httplib::Response& res) {
    const std::lock_guard lock(mutex);
    authorization = req.get_header_value("Authorization");
    res.set_content(R"({"gitVersion":"v1.35.0"})", "application/json");
  });
  RestConfig withFile = config();
  withFile.bearerToken = "from-file";  // what the loader read
  withFile.tokenFile = "/nonexistent/token";
  ClientImpl client(withFile);
  auto version = serverVersion(client);
  ASSERT_TRUE(version.ok()) << version.error().toString();
  EXPECT_EQ(*version, "v1.35.0");
  const std::lock_guard lock(mutex);
  EXPECT_EQ(authorization, "Bearer from-file");
}

TEST_F(ClientTest, NonSuccessBecomesAnApiErrorWithStatusAndRetryAfter) {
  server_.Get("/api/v1/namespaces/ns/configmaps/busy", [](const httplib::Request&,
                                                          httplib::Response& res) {
    res.status = 429;
    res.set_header("Retry-After", "4");
    res.set_content(
        R"({"kind":"Status","apiVersion":"v1","status":"Failure","message":"too many requests","reason":"TooManyRequests","code":429})",
        "application/json");
  });
  ClientImpl client(config(), noRetries());
  auto got = client.get("/api/v1/namespaces/ns/configmaps/busy");
  ASSERT_FALSE(got.ok());
  EXPECT_TRUE(got.error().isTooManyRequests());
  EXPECT_EQ(got.error().code(), 429);
  EXPECT_EQ(got.error().retryAfterSeconds(), 4);
  EXPECT_EQ(got.error().request(), "GET /api/v1/namespaces/ns/configmaps/busy");
  EXPECT_THAT(got.error().toString(), HasSubstr("HTTP 429 TooManyRequests: too many requests"));

  // No handler: the server's own 404 page, which is not a Status.
  auto missing = client.get("/api/v1/nothing-here");
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.error().isNotFound());
}

TEST_F(ClientTest, A2xxBodyThatIsNotJsonIsADecodeError) {
  server_.Get("/html", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("<html>proxy login</html>", "text/html");
  });
  ClientImpl client(config());
  auto got = client.get("/html");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().kind(), ApiError::Kind::kDecode);
  EXPECT_THAT(got.error().message(), HasSubstr("text/html"));
}

TEST_F(ClientTest, ListFollowsContinueTokensAndAddsAPageSize) {
  std::mutex mutex;
  std::vector<std::string> queries;
  server_.Get("/api/v1/pods", [&](const httplib::Request& req, httplib::Response& res) {
    const std::lock_guard lock(mutex);
    queries.push_back(req.get_param_value("limit") + "|" + req.get_param_value("continue"));
    if (!req.has_param("continue")) {
      res.set_content(
          R"({"kind":"PodList","metadata":{"resourceVersion":"7","continue":"tok+/="},"items":[{"n":1},{"n":2}]})",
          "application/json");
    } else {
      res.set_content(R"({"kind":"PodList","metadata":{"resourceVersion":"7"},"items":[{"n":3}]})",
                      "application/json");
    }
  });
  ClientImpl client(config());
  auto listed = client.list("/api/v1/pods");
  ASSERT_TRUE(listed.ok()) << listed.error().toString();
  EXPECT_EQ(listed->at("items"), json::parse(R"([{"n":1},{"n":2},{"n":3}])"));
  EXPECT_EQ(listed->at("metadata"), json::parse(R"({"resourceVersion":"7"})"));
  const std::lock_guard lock(mutex);
  EXPECT_EQ(queries, (std::vector<std::string>{"500|", "500|tok+/="}));
}

TEST_F(ClientTest, ReusesTheConnectionForSequentialCalls) {
  std::mutex mutex;
  std::vector<int> ports;
  server_.Get("/ping", [&](const httplib::Request& req, httplib::Response& res) {
    const std::lock_guard lock(mutex);
    ports.push_back(req.remote_port);
    res.set_content("{}", "application/json");
  });
  ClientImpl client(config());
  for (int i = 0; i < 3; ++i) {
    auto got = client.get("/ping");
    ASSERT_TRUE(got.ok()) << got.error().toString();
  }
  const std::lock_guard lock(mutex);
  ASSERT_EQ(ports.size(), 3U);
  EXPECT_EQ(ports[0], ports[1]);
  EXPECT_EQ(ports[1], ports[2]);
}

TEST_F(ClientTest, ASlowServerIsATimeout) {
  server_.Get("/slow", [](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the server is slow
    res.set_content("{}", "application/json");
  });
  ClientOptions options;
  options.requestTimeout = std::chrono::milliseconds(50);
  ClientImpl client(config(), options);
  auto got = client.get("/slow");
  ASSERT_FALSE(got.ok());
  EXPECT_TRUE(got.error().isTimeout()) << got.error().toString();
  EXPECT_TRUE(got.error().isTransport());
}

TEST_F(ClientTest, NothingListeningIsATransportError) {
  RestConfig closed = config();
  server_.stop();
  thread_.join();
  ClientImpl client(closed, noRetries());
  auto got = client.get("/version");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().kind(), ApiError::Kind::kTransport);
  EXPECT_EQ(got.error().code(), 0);
  EXPECT_THAT(got.error().toString(), HasSubstr("GET /version: transport error"));
}

TEST_F(ClientTest, RejectsPathsWithoutALeadingSlashAndUnencodableBodies) {
  ClientImpl client(config());
  auto relative = client.get("api/v1/pods");
  ASSERT_FALSE(relative.ok());
  EXPECT_EQ(relative.error().kind(), ApiError::Kind::kEncode);

  auto badUtf8 = client.create("/api/v1/namespaces", json{{"name", "\xff\xfe"}});
  ASSERT_FALSE(badUtf8.ok());
  EXPECT_EQ(badUtf8.error().kind(), ApiError::Kind::kEncode);
  EXPECT_THAT(badUtf8.error().message(), HasSubstr("not valid UTF-8"));
}

}  // namespace
}  // namespace va::kube
