#include "workloads/common/http_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <vector>

#include "tests/unit/workloads/test_support.h"
#include "workloads/common/http_client.h"
#include "workloads/common/logging.h"
#include "workloads/common/tracing.h"

namespace va::service {
namespace {

using std::chrono::milliseconds;
using testing::eventually;
using testing::Gate;

HttpServerOptions testOptions() {
  HttpServerOptions options;
  options.host = "127.0.0.1";
  options.port = 0;
  options.workers = 4;
  options.queueCapacity = 8;
  options.maxBodyBytes = 1024;
  options.readTimeout = std::chrono::seconds(5);
  options.idleTimeout = std::chrono::seconds(5);
  return options;
}

// A client that reports what the server said, without retries or added context.
HttpClient plainClient() {
  HttpClientOptions options;
  options.maxAttempts = 1;
  options.propagateContext = false;
  options.totalTimeout = std::chrono::seconds(30);
  return HttpClient(options);
}

std::string errorCode(const HttpResponse& response) {
  const auto body = nlohmann::json::parse(response.body, nullptr, false);
  return body.is_discarded() ? "<not json: " + response.body + ">"
                             : body["error"]["code"].get<std::string>();
}

class HttpServerTest : public ::testing::Test {
 protected:
  void startServer(HttpServerOptions options = testOptions()) {
    server_ = std::make_unique<HttpServer>(std::move(options));
    server_->post("/echo", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(req.body, "text/plain");
    });
    server_->get(R"(/v1/items/([^/]+))", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(req.matches[1].str(), "text/plain");
    });
    addRoutes(*server_);
    const Status started = server_->start();
    ASSERT_TRUE(started.ok()) << started.error().message();
    ASSERT_GT(server_->port(), 0);
  }
  virtual void addRoutes(HttpServer& server) {
    if (routes_) routes_(server);
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + path;
  }
  std::function<void(HttpServer&)> routes_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, ServesRoutesAndProbes) {
  startServer();
  const HttpClient client = plainClient();
  const auto item = client.get(url("/v1/items/42"));
  ASSERT_TRUE(item.ok());
  EXPECT_EQ(item->status, 200);
  EXPECT_EQ(item->body, "42");
  const auto health = client.get(url("/healthz"));
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(nlohmann::json::parse(health->body)["status"], "ok");
  const auto ready = client.get(url("/readyz"));
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(ready->status, 200);
}

TEST_F(HttpServerTest, OversizedBodiesGet413) {
  startServer();
  const HttpClient client = plainClient();
  const auto fits = client.send({"POST", url("/echo"), {}, std::string(1024, 'a'), std::nullopt});
  ASSERT_TRUE(fits.ok());
  EXPECT_EQ(fits->status, 200);
  EXPECT_EQ(fits->body.size(), 1024U);

  const auto tooBig =
      client.send({"POST", url("/echo"), {}, std::string(64 * 1024, 'a'), std::nullopt});
  ASSERT_TRUE(tooBig.ok()) << tooBig.error().toError().message();
  EXPECT_EQ(tooBig->status, 413);
  EXPECT_EQ(errorCode(*tooBig), "payload_too_large");

  // Chunked bodies carry no length up front: the server stops reading at the limit.
  std::string chunked = "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 4; ++i) chunked += "400\r\n" + std::string(1024, 'b') + "\r\n";
  chunked += "0\r\n\r\n";
  const auto raw = testing::rawExchange(server_->port(), chunked);
  EXPECT_EQ(raw.status, 413) << raw.raw.substr(0, 200);
  EXPECT_EQ(nlohmann::json::parse(raw.body, nullptr, false)["error"]["code"], "payload_too_large");
}

TEST_F(HttpServerTest, TooManyOrTooLargeHeadersGet431) {
  startServer();
  const HttpClient client = plainClient();
  const auto withHeaders = [&](int count, std::size_t valueSize) {
    HttpHeaders headers;
    for (int i = 0; i < count; ++i) {
      headers.emplace_back("X-Extra-" + std::to_string(i), std::string(valueSize, 'v'));
    }
    return client.send({"GET", url("/healthz"), headers, "", std::nullopt});
  };
  const auto fine = withHeaders(80, 10);
  ASSERT_TRUE(fine.ok());
  EXPECT_EQ(fine->status, 200);

  const auto tooMany = withHeaders(150, 10);  // limit: 100 fields
  ASSERT_TRUE(tooMany.ok()) << tooMany.error().toError().message();
  EXPECT_EQ(tooMany->status, 431);
  EXPECT_EQ(errorCode(*tooMany), "request_header_fields_too_large");

  const auto tooLarge = withHeaders(10, 2000);  // 20 KB against a 16 KB limit
  ASSERT_TRUE(tooLarge.ok());
  EXPECT_EQ(tooLarge->status, 431);

  // One 9000-byte line: httplib alone would answer a bare 400.
  const auto longLine = withHeaders(1, 9000);
  ASSERT_TRUE(longLine.ok());
  EXPECT_EQ(longLine->status, 431);

  // The server keeps serving.
  const auto after = client.get(url("/healthz"));
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->status, 200);
}

TEST_F(HttpServerTest, SlowHeadsAndIdleConnectionsAreClosed) {
  HttpServerOptions options = testOptions();
  options.readTimeout = milliseconds(200);
  options.idleTimeout = milliseconds(200);
  startServer(options);

  // A head that never completes (slowloris) gets 408 once the read timeout passes.
  auto started = std::chrono::steady_clock::now();
  const auto slow = testing::rawExchange(server_->port(), "GET /healthz HTTP/1.1\r\nHost: t\r\n");
  EXPECT_EQ(slow.status, 408) << slow.raw;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));

  // A kept-alive connection is answered, then closed by the server once idle.
  started = std::chrono::steady_clock::now();
  const auto idle =
      testing::rawExchange(server_->port(), "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(idle.status, 200) << idle.raw;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
}

class BlockingServerTest : public HttpServerTest {
 protected:
  void addRoutes(HttpServer& server) override {
    server.get("/block", [this](const httplib::Request&, httplib::Response& res) {
      ++entered_;
      gate_.wait();
      res.set_content("done", "text/plain");
    });
  }
  // Starts a GET on its own thread (and so its own connection).
  std::future<HttpResult> getInBackground(const std::string& path) {
    return std::async(std::launch::async, [this, path] { return plainClient().get(url(path)); });
  }
  Gate gate_;
  std::atomic<int> entered_{0};
};

TEST_F(BlockingServerTest, AFullQueueAnswers503WithRetryAfterAtOnce) {
  HttpServerOptions options = testOptions();
  options.workers = 2;
  options.queueCapacity = 1;
  options.retryAfter = std::chrono::seconds(3);
  startServer(options);

  auto first = getInBackground("/block");
  auto second = getInBackground("/block");
  ASSERT_TRUE(eventually([&] { return entered_ == 2; }));
  auto queued = getInBackground("/block");
  ASSERT_TRUE(eventually([&] { return server_->stats().queued == 1; }));

  const auto started = std::chrono::steady_clock::now();
  const auto rejected = plainClient().get(url("/block"));
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(rejected.ok()) << rejected.error().toError().message();
  EXPECT_EQ(rejected->status, 503);
  EXPECT_EQ(rejected->header("Retry-After"), "3");
  EXPECT_EQ(errorCode(*rejected), "service_unavailable");
  EXPECT_LT(took, std::chrono::seconds(2));
  EXPECT_EQ(server_->stats().rejected, 1U);

  gate_.open();
  for (auto* pending : {&first, &second, &queued}) {
    const auto reply = pending->get();
    ASSERT_TRUE(reply.ok()) << reply.error().toError().message();
    EXPECT_EQ(reply->status, 200);
    EXPECT_EQ(reply->body, "done");
  }
}

TEST_F(BlockingServerTest, IdleKeptAliveConnectionsGiveTheirWorkerToWaitingOnes) {
  HttpServerOptions options = testOptions();
  options.workers = 1;
  options.queueCapacity = 4;
  options.idleTimeout = std::chrono::minutes(5);
  startServer(options);
  gate_.open();
  // This thread's client keeps its connection (and so the only worker) open afterwards.
  const HttpClient client = plainClient();
  ASSERT_TRUE(client.get(url("/healthz")).ok());
  auto other = getInBackground("/block");
  ASSERT_EQ(other.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  const auto reply = other.get();
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->status, 200);
  const auto again = client.get(url("/healthz"));  // reconnects transparently
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->status, 200);
}

TEST_F(HttpServerTest, ReadinessFollowsItsChecks) {
  std::atomic<bool> databaseUp{true};
  startServer();
  server_->addReadinessCheck("cache", [] { return Status(); });
  server_->addReadinessCheck("postgres", [&]() -> Status {
    if (databaseUp) return {};
    return Error("connection refused");
  });
  const HttpClient client = plainClient();
  EXPECT_EQ(client.get(url("/readyz"))->status, 200);

  databaseUp = false;
  const auto down = client.get(url("/readyz"));
  ASSERT_TRUE(down.ok());
  EXPECT_EQ(down->status, 503);
  const auto body = nlohmann::json::parse(down->body);
  EXPECT_EQ(body["error"]["code"], "not_ready");
  EXPECT_EQ(body["error"]["message"], "postgres: connection refused");
  EXPECT_EQ(body["checks"]["cache"], "ok");
  EXPECT_EQ(client.get(url("/healthz"))->status, 200);  // liveness does not depend on it

  databaseUp = true;
  EXPECT_EQ(client.get(url("/readyz"))->status, 200);
}

TEST_F(HttpServerTest, MetricsCountRequestsByRouteMethodAndCode) {
  startServer();
  const HttpClient client = plainClient();
  for (const char* id : {"a", "b", "c"})
    ASSERT_EQ(client.get(url(std::string("/v1/items/") + id))->status, 200);
  ASSERT_EQ(client.get(url("/nowhere"))->status, 404);
  ASSERT_EQ(client.send({"POST", url("/echo"), {}, std::string(4096, 'x'), std::nullopt})->status,
            413);

  std::string text;
  const bool counted = eventually([&] {
    const auto metrics = client.get(url("/metrics"));
    text = metrics.ok() ? metrics->body : "";
    return text.find(R"(http_requests_total{code="413",handler="none",method="POST"} 1)") !=
               std::string::npos &&
           text.find(
               R"m(http_requests_total{code="200",handler="/v1/items/([^/]+)",method="GET"} 3)m") !=
               std::string::npos;
  });
  EXPECT_TRUE(counted) << text;
  EXPECT_NE(text.find(R"(http_requests_total{code="404",handler="none",method="GET"} 1)"),
            std::string::npos)
      << text;
  EXPECT_NE(
      text.find(
          R"m(http_request_duration_seconds_count{handler="/v1/items/([^/]+)",method="GET"} 3)m"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("http_requests_in_flight 1"), std::string::npos) << text;  // this scrape
  const auto scrape = client.get(url("/metrics"));
  EXPECT_EQ(scrape->header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
}

class RecordingSink : public SpanSink {
 public:
  void record(SpanData span) override {
    const std::lock_guard lock(mutex_);
    spans_.push_back(std::move(span));
  }
  std::vector<SpanData> spans() {
    const std::lock_guard lock(mutex_);
    return spans_;
  }

 private:
  std::mutex mutex_;
  std::vector<SpanData> spans_;
};

TEST_F(HttpServerTest, TraceparentAndRequestIdRoundTrip) {
  LogContext seen;
  std::mutex mutex;
  routes_ = [&](HttpServer& server) {
    server.get("/trace", [&](const httplib::Request&, httplib::Response&) {
      const std::lock_guard lock(mutex);
      seen = currentLogContext();
    });
  };
  startServer();
  auto sink = std::make_shared<RecordingSink>();
  setSpanSink(sink);

  const std::string incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  const auto reply =
      plainClient().get(url("/trace"), {{"traceparent", incoming}, {"X-Request-Id", "abc-123"}});
  ASSERT_TRUE(reply.ok());
  {
    const std::lock_guard lock(mutex);
    EXPECT_EQ(seen.requestId, "abc-123");
    EXPECT_EQ(seen.trace.traceId, "4bf92f3577b34da6a3ce929d0e0e4736");
    EXPECT_NE(seen.trace.spanId, "00f067aa0ba902b7");
    EXPECT_EQ(reply->header("X-Request-Id"), "abc-123");
    const auto returned = parseTraceparent(reply->header("traceparent").value_or(""));
    ASSERT_TRUE(returned.has_value());
    EXPECT_EQ(returned->traceId, seen.trace.traceId);
    EXPECT_EQ(returned->spanId, seen.trace.spanId);
  }
  ASSERT_TRUE(eventually([&] { return !sink->spans().empty(); }));
  setSpanSink(nullptr);
  const SpanData span = sink->spans().front();
  EXPECT_EQ(span.kind, SpanKind::kServer);
  EXPECT_EQ(span.name, "GET /trace");
  EXPECT_EQ(span.traceId, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(span.parentSpanId, "00f067aa0ba902b7");

  // A malformed traceparent starts a new trace; a bad or missing request id is replaced.
  const auto fresh = plainClient().get(
      url("/trace"),
      {{"traceparent", "00-XYZ-00f067aa0ba902b7-01"}, {"X-Request-Id", "has space"}});
  ASSERT_TRUE(fresh.ok());
  const std::lock_guard lock(mutex);
  EXPECT_TRUE(seen.trace.valid());
  EXPECT_NE(seen.trace.traceId, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(seen.requestId.size(), 32U);
  EXPECT_EQ(fresh->header("X-Request-Id"), seen.requestId);
}

TEST_F(HttpServerTest, ErrorsAreJson) {
  routes_ = [](HttpServer& server) {
    server.get("/throws", [](const httplib::Request&, httplib::Response&) {
      throw std::runtime_error("secret internal detail");
    });
  };
  startServer();
  const HttpClient client = plainClient();
  const auto missing = client.get(url("/nowhere"));
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(errorCode(*missing), "not_found");
  EXPECT_EQ(missing->header("Content-Type"), "application/json");
  const auto thrown = client.get(url("/throws"));
  ASSERT_TRUE(thrown.ok());
  EXPECT_EQ(thrown->status, 500);
  EXPECT_EQ(errorCode(*thrown), "internal");
  EXPECT_EQ(thrown->body.find("secret internal detail"), std::string::npos);
}

TEST_F(BlockingServerTest, SigtermDrainsInFlightRequestsAndRefusesNewConnections) {
  startServer();
  const int port = server_->port();
  auto running = std::async(std::launch::async,
                            [this] { return server_->runUntilSignal(std::chrono::seconds(30)); });
  ASSERT_TRUE(eventually([] {
    struct sigaction current {};
    sigaction(SIGTERM, nullptr, &current);
    return current.sa_handler != SIG_DFL;
  }));
  auto slow = getInBackground("/block");
  ASSERT_TRUE(eventually([&] { return server_->stats().inFlight == 1; }));

  ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);
  ASSERT_TRUE(eventually([&] { return server_->stats().draining; }));
  ASSERT_TRUE(eventually([&] {
    const int fd = testing::connectTo(port);
    if (fd >= 0) ::close(fd);
    return fd < 0 && errno == ECONNREFUSED;
  }));
  EXPECT_EQ(running.wait_for(milliseconds(0)), std::future_status::timeout) << "did not wait";

  gate_.open();
  const auto reply = slow.get();
  ASSERT_TRUE(reply.ok()) << reply.error().toError().message();
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, "done");
  const Status stopped = running.get();
  EXPECT_TRUE(stopped.ok()) << stopped.error().message();
}

TEST_F(BlockingServerTest, ADrainTimeoutIsReportedWithTheRequestsStillRunning) {
  startServer();
  auto slow = getInBackground("/block");
  ASSERT_TRUE(eventually([&] { return server_->stats().inFlight == 1; }));
  server_->requestShutdown();
  const Status stopped = server_->runUntilSignal(milliseconds(100));
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.error().message(), "drain timed out after 100ms with 1 requests in flight");
  gate_.open();
  EXPECT_EQ(slow.get()->status, 200);
}

TEST(HttpServerConfigTest, OptionsComeFromTheEnvironment) {
  ConfigSpec spec;
  declareHttpServerConfig(spec, 8081);
  const auto config = spec.load(mapEnvironment({{"VA_PORT", "9000"},
                                                {"VA_HTTP_MAX_BODY_BYTES", "2048"},
                                                {"VA_HTTP_READ_TIMEOUT", "3s"},
                                                {"VA_HTTP_WORKERS", "2"}}));
  ASSERT_TRUE(config.ok()) << config.error().message();
  const HttpServerOptions options = httpServerOptionsFrom(*config);
  EXPECT_EQ(options.port, 9000);
  EXPECT_EQ(options.host, "0.0.0.0");
  EXPECT_EQ(options.maxBodyBytes, 2048U);
  EXPECT_EQ(options.readTimeout, milliseconds(3000));
  EXPECT_EQ(options.workers, 2U);
  EXPECT_EQ(config->durationMs("VA_DRAIN_TIMEOUT"), milliseconds(20000));
  EXPECT_EQ(httpServerOptionsFrom(*spec.load(mapEnvironment({}))).port, 8081);
  const auto bad = spec.load(mapEnvironment({{"VA_HTTP_WORKERS", "0"}}));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message(), R"(VA_HTTP_WORKERS: "0" is out of range (1-1024))");
}

TEST(HttpServerStartTest, ReportsAnAddressInUse) {
  HttpServer first(testOptions());
  ASSERT_TRUE(first.start().ok());
  HttpServerOptions options = testOptions();
  options.port = first.port();
  HttpServer second(options);
  const Status started = second.start();
  ASSERT_FALSE(started.ok());
  EXPECT_NE(
      started.error().message().find("cannot listen on 127.0.0.1:" + std::to_string(first.port())),
      std::string::npos)
      << started.error().message();
}

}  // namespace
}  // namespace va::service
