// The client through the fault-injecting proxy in front of the real API server: 429 with
// Retry-After, 500 on safe and unsafe methods, a slow answer, and a watch stream that is cut.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "operator/kube/client.h"
#include "tests/integration/test_cluster.h"
#include "tests/support/fault_proxy.h"

namespace va::kube {
namespace {

using integration::pollUntil;
using nlohmann::json;
using std::chrono::milliseconds;
using va::testing::FaultProxy;
using va::testing::SeenRequest;

class KubeFaultsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto config = integration::configFromEnvironment();
    if (!config) {
      setupError_ = config.error().message();
      return;
    }
    direct_ = std::make_unique<ClientImpl>(*config);
    auto ns = integration::createNamespace(*direct_, "va-kube-faults");
    if (!ns) {
      setupError_ = ns.error().message();
      return;
    }
    namespace_ = *ns;
    proxy_ = std::make_unique<FaultProxy>(integration::upstreamFor(*config));
  }

  static void TearDownTestSuite() {
    proxy_.reset();
    if (direct_ && !namespace_.empty()) integration::deleteNamespace(*direct_, namespace_);
    direct_.reset();
  }

  void SetUp() override { ASSERT_TRUE(setupError_.empty()) << setupError_; }

  // A client that speaks plain HTTP to the proxy, which adds the admin credentials.
  static std::unique_ptr<ClientImpl> proxied(const ClientOptions& options = {}) {
    RestConfig config;
    config.server = proxy_->url();
    return std::make_unique<ClientImpl>(config, options);
  }

  static std::vector<SeenRequest> seenFor(const std::string& method, const std::string& target) {
    std::vector<SeenRequest> out;
    for (const SeenRequest& seen : proxy_->seen()) {
      if (seen.method == method && seen.target == target) out.push_back(seen);
    }
    return out;
  }

  static std::string configMapPath(const std::string& name = {}) {
    return resourcePath("", "v1", "configmaps", namespace_, name);
  }

  static json configMap(const std::string& name) {
    return json{{"apiVersion", "v1"},
                {"kind", "ConfigMap"},
                {"metadata", {{"name", name}}},
                {"data", {{"k", "v"}}}};
  }

  static inline std::unique_ptr<ClientImpl> direct_;
  static inline std::unique_ptr<FaultProxy> proxy_;
  static inline std::string namespace_;
  static inline std::string setupError_;
};

TEST_F(KubeFaultsTest, TooManyRequestsIsRetriedAfterRetryAfter) {
  const std::string path = resourcePath("", "v1", "namespaces", "", namespace_);
  proxy_->failNext(2, 429, /*retryAfterSeconds=*/1, path);
  auto client = proxied();
  auto got = client->get(path);
  ASSERT_TRUE(got.ok()) << got.error().toString();
  EXPECT_EQ(got->at("metadata").at("name"), namespace_);

  const auto seen = seenFor("GET", path);
  ASSERT_EQ(seen.size(), 3U);
  EXPECT_EQ(seen[0].status, 429);
  EXPECT_EQ(seen[1].status, 429);
  EXPECT_EQ(seen[2].status, 200);
  EXPECT_GE(seen[1].at - seen[0].at, milliseconds(950));
  EXPECT_GE(seen[2].at - seen[1].at, milliseconds(950));
}

TEST_F(KubeFaultsTest, AServerErrorOnGetIsRetried) {
  const std::string path = configMapPath("absent-but-fine");
  proxy_->failNext(1, 500, 0, path);
  auto client = proxied();
  auto got = client->get(path);
  ASSERT_FALSE(got.ok());
  EXPECT_TRUE(got.error().isNotFound()) << got.error().toString();  // the real answer
  const auto seen = seenFor("GET", path);
  ASSERT_EQ(seen.size(), 2U);
  EXPECT_EQ(seen[0].status, 500);
  EXPECT_TRUE(seen[0].injected);
  EXPECT_EQ(seen[1].status, 404);
}

TEST_F(KubeFaultsTest, AServerErrorOnPostIsNotRetried) {
  proxy_->failNext(1, 500, 0, configMapPath());
  auto client = proxied();
  auto created = client->create(configMapPath(), configMap("never"));
  ASSERT_FALSE(created.ok());
  EXPECT_TRUE(created.error().isServerError()) << created.error().toString();
  EXPECT_EQ(seenFor("POST", configMapPath()).size(), 1U);
  auto absent = direct_->get(configMapPath("never"));
  EXPECT_FALSE(absent.ok());
}

TEST_F(KubeFaultsTest, ASlowAnswerBeyondTheRequestTimeoutIsATimeout) {
  const std::string path = configMapPath("slow");
  proxy_->delayNext(1, milliseconds(3000), path);
  ClientOptions options;
  options.requestTimeout = milliseconds(1000);
  auto client = proxied(options);
  const auto started = std::chrono::steady_clock::now();
  auto got = client->get(path);
  ASSERT_FALSE(got.ok());
  EXPECT_TRUE(got.error().isTimeout()) << got.error().toString();
  EXPECT_LT(std::chrono::steady_clock::now() - started, milliseconds(2500));
}

TEST_F(KubeFaultsTest, AWatchStreamCutByTheProxyIsATransportErrorPromptly) {
  auto client = proxied();
  ASSERT_TRUE(direct_->create(configMapPath(), configMap("before-cut")).ok());
  std::atomic<int> lines{0};
  std::optional<Result<void, ApiError>> result;
  std::atomic<bool> finished{false};
  std::chrono::steady_clock::time_point endedAt;
  CancelToken cancel;  // only so that a failing test does not hang
  std::thread watcher([&] {
    result = client->stream(
        withQuery(configMapPath(), "watch", "true"),
        [&](std::string_view) {
          ++lines;
          return true;
        },
        &cancel);
    endedAt = std::chrono::steady_clock::now();
    finished = true;
  });
  // The initial ADDED event shows that the stream is open end to end.
  const bool opened = pollUntil([&] { return lines > 0 || finished; }, std::chrono::seconds(20));
  const auto cutAt = std::chrono::steady_clock::now();
  proxy_->cutWatches();
  const bool ended = pollUntil([&] { return finished.load(); }, std::chrono::seconds(10));
  if (!ended) cancel.cancel();
  watcher.join();
  ASSERT_TRUE(opened) << "no event arrived through the proxy";
  ASSERT_TRUE(ended) << "stream() did not return after the cut";
  ASSERT_TRUE(result.has_value());
  ASSERT_FALSE(result->ok());
  EXPECT_EQ(result->error().kind(), ApiError::Kind::kTransport) << result->error().toString();
  EXPECT_LT(endedAt - cutAt, milliseconds(1000));
  EXPECT_GE(lines, 1);
}

}  // namespace
}  // namespace va::kube
