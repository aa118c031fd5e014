// loadInClusterConfig() with the service-account files in a temporary directory, the fallback
// of loadDefaultConfig() to it, and the client re-reading a rotated token.
#include "operator/kube/in_cluster.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>

#include "operator/kube/client.h"
#include "tests/fakes/fake_time_source.h"
#include "tests/support/local_http_server.h"

namespace va::kube {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const std::string kCaPem = "-----BEGIN CERTIFICATE-----\nY2EtY2VydA==\n-----END CERTIFICATE-----\n";

// Sets (or with nullopt unsets) an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::optional<std::string>& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value->c_str(), 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

class InClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "va-in-cluster-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    paths_.tokenFile = write("token", "t0ken\n");
    paths_.caFile = write("ca.crt", kCaPem);
    paths_.namespaceFile = write("namespace", "operators");
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string write(const std::string& name, const std::string& contents) {
    const fs::path path = dir_ / name;
    std::ofstream(path) << contents;
    return path.string();
  }

  fs::path dir_;
  InClusterPaths paths_;
};

TEST_F(InClusterTest, LoadsTheServiceAccount) {
  const ScopedEnv host("KUBERNETES_SERVICE_HOST", "10.96.0.1");
  const ScopedEnv port("KUBERNETES_SERVICE_PORT", "443");
  auto config = loadInClusterConfig(paths_);
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->server, "https://10.96.0.1:443");
  EXPECT_EQ(config->bearerToken, "t0ken");
  EXPECT_EQ(config->tokenFile, paths_.tokenFile);
  EXPECT_EQ(config->caPem, kCaPem);
  EXPECT_EQ(config->caFile, paths_.caFile);
  EXPECT_EQ(config->defaultNamespace, "operators");
  EXPECT_FALSE(config->insecureSkipTlsVerify);
}

TEST_F(InClusterTest, BracketsAnIpv6Host) {
  const ScopedEnv host("KUBERNETES_SERVICE_HOST", "fd00:10:96::1");
  const ScopedEnv port("KUBERNETES_SERVICE_PORT", "6443");
  auto config = loadInClusterConfig(paths_);
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->server, "https://[fd00:10:96::1]:6443");
}

TEST_F(InClusterTest, ErrorsNameTheMissingVariableOrFile) {
  {
    const ScopedEnv host("KUBERNETES_SERVICE_HOST", std::nullopt);
    const ScopedEnv port("KUBERNETES_SERVICE_PORT", "443");
    auto config = loadInClusterConfig(paths_);
    ASSERT_FALSE(config.ok());
    EXPECT_THAT(config.error().message(), HasSubstr("$KUBERNETES_SERVICE_HOST is not set"));
  }
  const ScopedEnv host("KUBERNETES_SERVICE_HOST", "10.96.0.1");
  {
    const ScopedEnv port("KUBERNETES_SERVICE_PORT", "");
    auto config = loadInClusterConfig(paths_);
    ASSERT_FALSE(config.ok());
    EXPECT_THAT(config.error().message(), HasSubstr("$KUBERNETES_SERVICE_PORT is not set"));
  }
  const ScopedEnv port("KUBERNETES_SERVICE_PORT", "443");
  for (std::string* file : {&paths_.tokenFile, &paths_.caFile}) {
    InClusterPaths missing = paths_;
    const std::string absent = (dir_ / "absent").string();
    (file == &paths_.tokenFile ? missing.tokenFile : missing.caFile) = absent;
    auto config = loadInClusterConfig(missing);
    ASSERT_FALSE(config.ok());
    EXPECT_THAT(config.error().message(), HasSubstr("cannot read " + absent));
  }
  write("token", " \n");
  auto empty = loadInClusterConfig(paths_);
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(empty.error().message(), HasSubstr(paths_.tokenFile + " is empty"));
  EXPECT_THAT(empty.error().message(), HasSubstr("in-cluster config"));
}

TEST_F(InClusterTest, WithoutANamespaceFileTheNamespaceIsDefault) {
  const ScopedEnv host("KUBERNETES_SERVICE_HOST", "10.96.0.1");
  const ScopedEnv port("KUBERNETES_SERVICE_PORT", "443");
  paths_.namespaceFile = (dir_ / "absent").string();
  auto config = loadInClusterConfig(paths_);
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->defaultNamespace, "default");
}

TEST_F(InClusterTest, DefaultConfigFallsBackToInClusterAfterHome) {
  const ScopedEnv kubeconfig("KUBECONFIG", std::nullopt);
  const ScopedEnv home("HOME", dir_.string());  // no .kube/config there
  const ScopedEnv host("KUBERNETES_SERVICE_HOST", "10.96.0.1");
  const ScopedEnv port("KUBERNETES_SERVICE_PORT", "443");
  // The default paths under /var/run/secrets do not exist here: the error shows the fallback.
  auto config = loadDefaultConfig();
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.error().message(),
              HasSubstr("in-cluster config: cannot read "
                        "/var/run/secrets/kubernetes.io/serviceaccount/token"));

  auto withContext = loadDefaultConfig("prod");
  ASSERT_FALSE(withContext.ok());
  EXPECT_THAT(withContext.error().message(), HasSubstr("context \"prod\" requested"));
}

TEST_F(InClusterTest, TheClientRereadsARotatedTokenAtMostOnceAMinute) {
  std::mutex mutex;
  std::vector<std::string> seen;
  va::testing::LocalHttpServer local;
  local.server().Get("/version", [&](const httplib::Request& req, httplib::Response& res) {
    const std::lock_guard lock(mutex);
    seen.push_back(req.get_header_value("Authorization"));
    res.set_content(R"({"gitVersion":"v1.35.0"})", "application/json");
  });
  ASSERT_TRUE(local.start());
  const ScopedEnv host("KUBERNETES_SERVICE_HOST", "127.0.0.1");
  const ScopedEnv port("KUBERNETES_SERVICE_PORT", std::to_string(local.port()));
  auto config = loadInClusterConfig(paths_);
  ASSERT_TRUE(config.ok()) << config.error().message();
  config->server = local.url();  // plain HTTP for the test server

  FakeTimeSource time;
  ClientOptions options;
  options.time = time.source();
  ClientImpl client(*config, options);
  ASSERT_TRUE(client.get("/version").ok());
  write("token", "rotated\n");
  time.advance(std::chrono::seconds(30));
  ASSERT_TRUE(client.get("/version").ok());
  time.advance(std::chrono::seconds(31));
  ASSERT_TRUE(client.get("/version").ok());
  write("token", "");  // a failed or empty re-read keeps the last good token
  time.advance(std::chrono::minutes(2));
  ASSERT_TRUE(client.get("/version").ok());

  const std::lock_guard lock(mutex);
  EXPECT_EQ(seen, (std::vector<std::string>{"Bearer t0ken", "Bearer t0ken", "Bearer rotated",
                                            "Bearer rotated"}));
}

}  // namespace
}  // namespace va::kube
