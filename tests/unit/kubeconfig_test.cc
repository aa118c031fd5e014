#include "operator/kube/kubeconfig.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "operator/kube/base64.h"

namespace va::kube {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kCaPem = "-----BEGIN CERTIFICATE-----\nY2EtY2VydA==\n-----END CERTIFICATE-----\n";
const std::string kCertPem =
    "-----BEGIN CERTIFICATE-----\nY2xpZW50LWNlcnQ=\n-----END CERTIFICATE-----\n";
const std::string kKeyPem =
    "-----BEGIN EC PRIVATE KEY-----\nc2VjcmV0LWtleQ==\n-----END EC PRIVATE KEY-----\n";
constexpr const char* kToken = "s3cr3t-t0ken-value";

// A fresh directory per test, removed afterwards.
class KubeconfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "va-kubeconfig-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr) << "mkdtemp failed";
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Writes `contents` to dir_/relative (creating directories) and returns the full path.
  std::string write(const std::string& relative, const std::string& contents) {
    const fs::path path = dir_ / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << contents;
    return path.string();
  }

  fs::path dir_;
};

// A kubeconfig with one cluster "kind", one user "admin", context "dev" (current) and "prod".
std::string inlineKubeconfig() {
  return "apiVersion: v1\n"
         "kind: Config\n"
         "current-context: dev\n"
         "clusters:\n"
         "- name: kind\n"
         "  cluster:\n"
         "    server: https://127.0.0.1:6443/\n"
         "    certificate-authority-data: " +
         encodeBase64(kCaPem) +
         "\n"
         "- name: remote\n"
         "  cluster:\n"
         "    server: https://prod.example:443\n"
         "    insecure-skip-tls-verify: true\n"
         "users:\n"
         "- name: admin\n"
         "  user:\n"
         "    client-certificate-data: " +
         encodeBase64(kCertPem) +
         "\n"
         "    client-key-data: " +
         encodeBase64(kKeyPem) +
         "\n"
         "- name: robot\n"
         "  user:\n"
         "    token: " +
         kToken +
         "\n"
         "contexts:\n"
         "- name: dev\n"
         "  context:\n"
         "    cluster: kind\n"
         "    user: admin\n"
         "    namespace: team-a\n"
         "- name: prod\n"
         "  context:\n"
         "    cluster: remote\n"
         "    user: robot\n";
}

TEST_F(KubeconfigTest, LoadsInlineDataForTheCurrentContext) {
  const auto config = loadKubeconfig(write("config", inlineKubeconfig()));
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->server, "https://127.0.0.1:6443");
  EXPECT_EQ(config->caPem, kCaPem);
  EXPECT_EQ(config->clientCertPem, kCertPem);
  EXPECT_EQ(config->clientKeyPem, kKeyPem);
  EXPECT_TRUE(config->bearerToken.empty());
  EXPECT_TRUE(config->caFile.empty());
  EXPECT_EQ(config->defaultNamespace, "team-a");
  EXPECT_FALSE(config->insecureSkipTlsVerify);
}

TEST_F(KubeconfigTest, AnExplicitContextOverridesTheCurrentOne) {
  const auto config = loadKubeconfig(write("config", inlineKubeconfig()), "prod");
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->server, "https://prod.example:443");
  EXPECT_EQ(config->bearerToken, kToken);
  EXPECT_TRUE(config->clientCertPem.empty());
  EXPECT_TRUE(config->caPem.empty());
  EXPECT_TRUE(config->insecureSkipTlsVerify);
  EXPECT_EQ(config->defaultNamespace, "default");
}

TEST_F(KubeconfigTest, ResolvesFilesRelativeToTheKubeconfigDirectory) {
  write("home/pki/ca.crt", kCaPem);
  write("home/pki/admin.crt", kCertPem);
  const std::string keyPath = write("elsewhere/admin.key", kKeyPem);
  write("home/token", std::string(kToken) + "\n");
  const std::string path = write("home/config",
                                 "current-context: c\n"
                                 "clusters:\n"
                                 "- name: k\n"
                                 "  cluster:\n"
                                 "    server: https://10.0.0.1:6443\n"
                                 "    certificate-authority: pki/ca.crt\n"
                                 "users:\n"
                                 "- name: u\n"
                                 "  user:\n"
                                 "    client-certificate: ./pki/admin.crt\n"
                                 "    client-key: " +
                                     keyPath +
                                     "\n"
                                     "    token: ignored-because-tokenFile-wins\n"
                                     "    tokenFile: token\n"
                                     "contexts:\n"
                                     "- name: c\n"
                                     "  context: {cluster: k, user: u}\n");
  const auto config = loadKubeconfig(path);
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->caPem, kCaPem);
  EXPECT_EQ(config->clientCertPem, kCertPem);
  EXPECT_EQ(config->clientKeyPem, kKeyPem);
  EXPECT_EQ(config->bearerToken, kToken);
  EXPECT_EQ(fs::path(config->caFile), dir_ / "home" / "pki" / "ca.crt");
  EXPECT_EQ(fs::path(config->certFile).lexically_normal(), dir_ / "home" / "pki" / "admin.crt");
  EXPECT_EQ(config->keyFile, keyPath);
  EXPECT_EQ(fs::path(config->tokenFile), dir_ / "home" / "token");
}

TEST_F(KubeconfigTest, AContextWithoutUserConnectsAnonymously) {
  const auto config = loadKubeconfig(write("config",
                                           "current-context: anon\n"
                                           "clusters: [{name: k, cluster: {server: "
                                           "'http://127.0.0.1:8080'}}]\n"
                                           "contexts: [{name: anon, context: {cluster: k}}]\n"));
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->server, "http://127.0.0.1:8080");
  EXPECT_TRUE(config->bearerToken.empty());
  EXPECT_TRUE(config->clientKeyPem.empty());
}

TEST_F(KubeconfigTest, MergesFilesFirstDefinitionWins) {
  const std::string first = write("a/config",
                                  "current-context: dev\n"
                                  "contexts: [{name: dev, context: {cluster: k, user: u}}]\n"
                                  "users: [{name: u, user: {tokenFile: tok}}]\n");
  write("a/tok", "from-a");
  const std::string second = write("b/config",
                                   "current-context: other\n"
                                   "clusters: [{name: k, cluster: {server: 'https://b:6443'}}]\n"
                                   "users: [{name: u, user: {token: from-b}}]\n");
  const auto config = loadKubeconfigFiles({first, (dir_ / "missing").string(), second});
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->server, "https://b:6443");
  EXPECT_EQ(config->bearerToken, "from-a");
  EXPECT_EQ(fs::path(config->tokenFile), dir_ / "a" / "tok");

  const auto none = loadKubeconfigFiles({(dir_ / "x").string(), (dir_ / "y").string()});
  ASSERT_FALSE(none.ok());
  EXPECT_THAT(none.error().message(), HasSubstr("none of the listed files exists"));
}

// Sets an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
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

TEST_F(KubeconfigTest, DefaultConfigHonoursKubeconfigThenHome) {
  const std::string listed = write("listed/config", inlineKubeconfig());
  write("home/.kube/config",
        "current-context: h\n"
        "clusters: [{name: k, cluster: {server: 'https://home:6443'}}]\n"
        "contexts: [{name: h, context: {cluster: k}}]\n");
  {
    const ScopedEnv kubeconfig("KUBECONFIG", (dir_ / "absent").string() + ":" + listed);
    const ScopedEnv home("HOME", (dir_ / "home").string());
    const auto config = loadDefaultConfig();
    ASSERT_TRUE(config.ok()) << config.error().message();
    EXPECT_EQ(config->server, "https://127.0.0.1:6443");
    const auto prod = loadDefaultConfig("prod");
    ASSERT_TRUE(prod.ok()) << prod.error().message();
    EXPECT_EQ(prod->server, "https://prod.example:443");
  }
  {
    const ScopedEnv kubeconfig("KUBECONFIG", std::nullopt);
    const ScopedEnv home("HOME", (dir_ / "home").string());
    const auto config = loadDefaultConfig();
    ASSERT_TRUE(config.ok()) << config.error().message();
    EXPECT_EQ(config->server, "https://home:6443");
  }
  {
    const ScopedEnv kubeconfig("KUBECONFIG", std::nullopt);
    const ScopedEnv home("HOME", std::nullopt);
    const auto config = loadDefaultConfig();
    ASSERT_FALSE(config.ok());
    EXPECT_THAT(config.error().message(), HasSubstr("neither $KUBECONFIG nor $HOME"));
  }
}

TEST_F(KubeconfigTest, MissingFileAndBadYamlNameTheFile) {
  const std::string missing = (dir_ / "nope").string();
  const auto absent = loadKubeconfig(missing);
  ASSERT_FALSE(absent.ok());
  EXPECT_THAT(absent.error().message(), HasSubstr("cannot read " + missing));
  EXPECT_THAT(absent.error().message(), HasSubstr("No such file or directory"));

  const std::string broken = write("broken", "clusters: [unclosed\n");
  const auto bad = loadKubeconfig(broken);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message(), HasSubstr("kubeconfig " + broken + ": invalid YAML"));

  const std::string scalar = write("scalar", "just a string\n");
  const auto notMap = loadKubeconfig(scalar);
  ASSERT_FALSE(notMap.ok());
  EXPECT_THAT(notMap.error().message(), HasSubstr("expected a mapping at the top level"));
}

// One broken kubeconfig and the words its error must contain.
struct BrokenCase {
  const char* name;
  std::string yaml;
  std::string expected;
  std::optional<std::string> context = std::nullopt;
};

std::string kubeconfigWith(const std::string& cluster, const std::string& user,
                           const std::string& context = "{cluster: k, user: u}") {
  return "current-context: c\n"
         "contexts: [{name: c, context: " +
         context +
         "}]\n"
         "clusters: [{name: k, cluster: " +
         cluster +
         "}]\n"
         "users: [{name: u, user: " +
         user + "}]\n";
}

const std::string kServer = "server: 'https://h:6443'";
const std::string kCaData = "certificate-authority-data: " + encodeBase64(kCaPem);
const std::string kCertData = "client-certificate-data: " + encodeBase64(kCertPem);
const std::string kKeyData = "client-key-data: " + encodeBase64(kKeyPem);

std::vector<BrokenCase> brokenCases() {
  return {
      {"NoCurrentContext", "clusters: []\n", "current-context is not set and no context was given"},
      {"UnknownContext", kubeconfigWith("{" + kServer + "}", "{}"), "context \"foo\" not found",
       "foo"},
      {"ContextsNotAList", "current-context: c\ncontexts: {c: 1}\n", "contexts: expected a list"},
      {"ContextWithoutName", "current-context: c\ncontexts: [{context: {cluster: k}}]\n",
       "contexts[0].name: missing"},
      {"ContextWithoutCluster", kubeconfigWith("{" + kServer + "}", "{}", "{user: u}"),
       "contexts[c].cluster: missing"},
      {"UnknownCluster", kubeconfigWith("{" + kServer + "}", "{}", "{cluster: zz, user: u}"),
       R"(cluster "zz" (from context "c") not found)"},
      {"UnknownUser", kubeconfigWith("{" + kServer + "}", "{}", "{cluster: k, user: zz}"),
       R"(user "zz" (from context "c") not found)"},
      {"MissingServer", kubeconfigWith("{" + kCaData + "}", "{}"), "clusters[k].server: missing"},
      {"ServerWithoutScheme", kubeconfigWith("{server: 'h:6443'}", "{}"),
       "clusters[k].server: \"h:6443\" does not start with https:// or http://"},
      {"ServerNotAString", kubeconfigWith("{server: {a: b}}", "{}"),
       "clusters[k].server: expected a string"},
      {"CaDataNotBase64",
       kubeconfigWith("{" + kServer + ", certificate-authority-data: 'abc'}", "{}"),
       "clusters[k].certificate-authority-data: invalid base64"},
      {"CaDataNotPem",
       kubeconfigWith("{" + kServer + ", certificate-authority-data: " + encodeBase64("DER?") + "}",
                      "{}"),
       "clusters[k].certificate-authority-data: not PEM"},
      {"CaFileMissing", kubeconfigWith("{" + kServer + ", certificate-authority: no/ca.crt}", "{}"),
       "clusters[k].certificate-authority: cannot read /"},
      {"CaDataAndFile",
       kubeconfigWith("{" + kServer + ", " + kCaData + ", certificate-authority: ca.crt}", "{}"),
       "clusters[k]: both certificate-authority-data and certificate-authority are set"},
      {"InsecureWithCa",
       kubeconfigWith("{" + kServer + ", " + kCaData + ", insecure-skip-tls-verify: true}", "{}"),
       "clusters[k]: insecure-skip-tls-verify and a certificate authority are both set"},
      {"InsecureNotBool",
       kubeconfigWith("{" + kServer + ", insecure-skip-tls-verify: maybe}", "{}"),
       "clusters[k].insecure-skip-tls-verify: expected true or false, got \"maybe\""},
      {"ProxyUrl", kubeconfigWith("{" + kServer + ", proxy-url: 'http://proxy:3128'}", "{}"),
       "clusters[k].proxy-url: proxies are not supported"},
      {"KeyDataNotBase64",
       kubeconfigWith("{" + kServer + "}", "{" + kCertData + ", client-key-data: '%%%%'}"),
       "users[u].client-key-data: invalid base64"},
      {"CertWithoutKey", kubeconfigWith("{" + kServer + "}", "{" + kCertData + "}"),
       "users[u]: client-certificate is set but client-key is not"},
      {"KeyWithoutCert", kubeconfigWith("{" + kServer + "}", "{" + kKeyData + "}"),
       "users[u]: client-key is set but client-certificate is not"},
      {"KeyFileMissing",
       kubeconfigWith("{" + kServer + "}", "{" + kCertData + ", client-key: k.pem}"),
       "users[u].client-key: cannot read /"},
      {"TokenFileMissing", kubeconfigWith("{" + kServer + "}", "{tokenFile: t}"),
       "users[u].tokenFile: cannot read /"},
      {"ExecPlugin",
       kubeconfigWith("{" + kServer + "}", std::string("{token: ") + kToken +
                                               ", exec: {command: gke-gcloud-auth-plugin}}"),
       "users[u].exec: credential plugins are not supported"},
      {"Impersonation", kubeconfigWith("{" + kServer + "}", "{token: t, as: someone}"),
       "users[u].as: impersonation is not supported"},
      {"UserNotAMapping", kubeconfigWith("{" + kServer + "}", "[a]"),
       "users[u].user: expected a mapping"},
  };
}

class KubeconfigErrorTest : public KubeconfigTest,
                            public ::testing::WithParamInterface<BrokenCase> {};

TEST_P(KubeconfigErrorTest, NamesTheFileAndTheField) {
  const BrokenCase& broken = GetParam();
  const std::string path = write("config", broken.yaml);
  const auto result = loadKubeconfig(path, broken.context);
  ASSERT_FALSE(result.ok()) << "accepted:\n" << broken.yaml;
  const std::string& message = result.error().message();
  EXPECT_THAT(message, HasSubstr("kubeconfig " + path + ": " + broken.expected));
  // Secrets never appear in errors.
  EXPECT_THAT(message, Not(HasSubstr(kToken)));
  EXPECT_THAT(message, Not(HasSubstr(encodeBase64(kKeyPem))));
  EXPECT_THAT(message, Not(HasSubstr("c2VjcmV0LWtleQ")));
}

INSTANTIATE_TEST_SUITE_P(Broken, KubeconfigErrorTest, ::testing::ValuesIn(brokenCases()),
                         [](const auto& testCase) { return std::string(testCase.param.name); });

TEST_F(KubeconfigTest, EmptyTokenFileIsAnError) {
  write("t", "\n");
  const std::string path = write("config", kubeconfigWith("{" + kServer + "}", "{tokenFile: t}"));
  const auto result = loadKubeconfig(path);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.error().message(),
              HasSubstr("users[u].tokenFile: " + (dir_ / "t").string() + " is empty"));
}

}  // namespace
}  // namespace va::kube
