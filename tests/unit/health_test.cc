// The probe and metrics server on real sockets (port 0): readyz follows its checks, verbose and
// exclude behave as in controller-runtime, /metrics serves the registry in text format.
#include "operator/runtime/health.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>

namespace va::runtime {
namespace {

using ::testing::HasSubstr;

struct Reply {
  int status = 0;
  std::string body;
  std::string contentType;
};

Reply httpGet(int port, const std::string& path) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(5);
  client.set_read_timeout(5);
  const auto result = client.Get(path);
  if (!result) {
    ADD_FAILURE() << "GET " << path << " failed: " << httplib::to_string(result.error());
    return {};
  }
  return {result->status, result->body, result->get_header_value("Content-Type")};
}

std::unique_ptr<HealthServer> startServer(std::shared_ptr<prometheus::Registry> registry = {}) {
  auto server = HealthServer::start({.metricsBindAddress = "127.0.0.1:0",
                                     .healthProbeBindAddress = "127.0.0.1:0",
                                     .registry = std::move(registry)});
  if (!server) {
    ADD_FAILURE() << server.error().message();
    return nullptr;
  }
  return std::move(*server);
}

TEST(HealthServerTest, ReadyzFollowsItsChecks) {
  auto server = startServer();
  ASSERT_NE(server, nullptr);
  const int port = server->healthProbePort();
  ASSERT_GT(port, 0);
  EXPECT_NE(port, server->metricsPort());

  std::atomic<bool> synced{false};
  server->addReadyzCheck("ping", ping);
  server->addReadyzCheck("informers", [&]() -> kube::Status {
    if (synced) return {};
    return kube::Error("caches not synced\nyet");
  });

  Reply reply = httpGet(port, "/readyz");
  EXPECT_EQ(reply.status, 500);
  EXPECT_EQ(reply.body,
            "[-]informers failed: caches not synced yet\n[+]ping ok\nreadyz check failed\n");
  EXPECT_THAT(reply.contentType, HasSubstr("text/plain"));
  EXPECT_EQ(httpGet(port, "/readyz/informers").status, 500);
  EXPECT_EQ(httpGet(port, "/readyz/ping").body, "ok");
  EXPECT_EQ(httpGet(port, "/readyz/unknown").status, 404);

  // Excluding the failing check makes the endpoint pass.
  reply = httpGet(port, "/readyz?exclude=informers");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "ok");

  synced = true;
  reply = httpGet(port, "/readyz");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "ok");
  reply = httpGet(port, "/readyz?verbose");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "[+]informers ok\n[+]ping ok\nreadyz check passed\n");

  synced = false;
  EXPECT_EQ(httpGet(port, "/readyz").status, 500);
  // Liveness has its own checks: none, so a ping stands in.
  reply = httpGet(port, "/healthz?verbose=1");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "[+]ping ok\nhealthz check passed\n");
}

TEST(HealthServerTest, AThrowingCheckFailsInsteadOfCrashing) {
  auto server = startServer();
  ASSERT_NE(server, nullptr);
  server->addHealthzCheck("throws", []() -> kube::Status { throw std::runtime_error("boom"); });
  const Reply reply = httpGet(server->healthProbePort(), "/healthz");
  EXPECT_EQ(reply.status, 500);
  EXPECT_THAT(reply.body, HasSubstr("[-]throws failed: check threw: boom"));
}

TEST(HealthServerTest, MetricsServesTheRegistryInTextFormat) {
  auto registry = std::make_shared<prometheus::Registry>();
  auto& counter = prometheus::BuildCounter()
                      .Name("va_test_reconciles_total")
                      .Help("Reconciles in this test.")
                      .Register(*registry)
                      .Add({{"controller", "va"}});
  counter.Increment(3);
  auto server = startServer(registry);
  ASSERT_NE(server, nullptr);

  const Reply reply = httpGet(server->metricsPort(), "/metrics");
  EXPECT_EQ(reply.status, 200);
  EXPECT_THAT(reply.contentType, HasSubstr("text/plain; version=0.0.4"));
  EXPECT_THAT(reply.body, HasSubstr("# TYPE va_test_reconciles_total counter"));
  EXPECT_THAT(reply.body, HasSubstr("va_test_reconciles_total{controller=\"va\"} 3"));
  // Probes live on the other port only.
  EXPECT_EQ(httpGet(server->metricsPort(), "/readyz").status, 404);
  EXPECT_EQ(httpGet(server->healthProbePort(), "/metrics").status, 404);
}

TEST(HealthServerTest, AnAddressOfZeroTurnsTheEndpointOff) {
  auto server = HealthServer::start(
      {.metricsBindAddress = "0", .healthProbeBindAddress = "127.0.0.1:0", .registry = {}});
  ASSERT_TRUE(server) << server.error().message();
  EXPECT_EQ((*server)->metricsPort(), 0);
  EXPECT_GT((*server)->healthProbePort(), 0);
  (*server)->stop();
  (*server)->stop();  // idempotent
}

TEST(HealthServerTest, ABusyPortIsAnErrorNamingTheAddress) {
  auto first = startServer();
  ASSERT_NE(first, nullptr);
  const std::string busy = "127.0.0.1:" + std::to_string(first->healthProbePort());
  auto second = HealthServer::start(
      {.metricsBindAddress = "0", .healthProbeBindAddress = busy, .registry = {}});
  ASSERT_FALSE(second);
  EXPECT_THAT(second.error().message(), HasSubstr(busy));
}

TEST(BindAddressTest, ParsesControllerRuntimeForms) {
  auto all = parseBindAddress(":8080");
  ASSERT_TRUE(all && *all);
  EXPECT_EQ((*all)->host, "0.0.0.0");
  EXPECT_EQ((*all)->port, 8080);

  auto local = parseBindAddress("127.0.0.1:0");
  ASSERT_TRUE(local && *local);
  EXPECT_EQ((*local)->host, "127.0.0.1");
  EXPECT_EQ((*local)->port, 0);

  auto v6 = parseBindAddress("[::1]:9443");
  ASSERT_TRUE(v6 && *v6);
  EXPECT_EQ((*v6)->host, "::1");
  EXPECT_EQ((*v6)->port, 9443);

  auto off = parseBindAddress("0");
  ASSERT_TRUE(off);
  EXPECT_FALSE(*off);

  for (const char* bad : {"8080", "host:", "host:http", ":70000", "::1:80", "[::1]80"}) {
    auto parsed = parseBindAddress(bad);
    EXPECT_FALSE(parsed) << bad;
    if (!parsed) {
      EXPECT_THAT(parsed.error().message(), HasSubstr(bad));
    }
  }
}

}  // namespace
}  // namespace va::runtime
