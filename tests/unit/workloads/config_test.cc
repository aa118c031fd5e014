#include "workloads/common/config.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <sstream>

#include "tests/unit/workloads/test_support.h"

namespace va::service {
namespace {

using std::chrono::milliseconds;
using testing::TempFile;

ConfigSpec serverSpec() {
  ConfigSpec spec;
  spec.string("VA_LISTEN_ADDR", "0.0.0.0")
      .port("VA_PORT", 8080)
      .durationMs("VA_READ_TIMEOUT", milliseconds(5000))
      .integer("VA_WORKERS", 8, 1, 64)
      .boolean("VA_VERBOSE", false)
      .choice("VA_LOG_LEVEL", {"debug", "info"}, "info")
      .secretFile("VA_API_KEYS_FILE", Presence::kOptional);
  return spec;
}

TEST(ConfigTest, DefaultsApplyWhenNothingIsSet) {
  const auto config = serverSpec().load(mapEnvironment({}));
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->string("VA_LISTEN_ADDR"), "0.0.0.0");
  EXPECT_EQ(config->port("VA_PORT"), 8080);
  EXPECT_EQ(config->durationMs("VA_READ_TIMEOUT"), milliseconds(5000));
  EXPECT_EQ(config->integer("VA_WORKERS"), 8);
  EXPECT_FALSE(config->boolean("VA_VERBOSE"));
  EXPECT_EQ(config->string("VA_LOG_LEVEL"), "info");
  EXPECT_FALSE(config->secret("VA_API_KEYS_FILE").has_value());
  EXPECT_FALSE(config->has("VA_API_KEYS_FILE"));
}

TEST(ConfigTest, EnvironmentOverridesDefaults) {
  const auto config = serverSpec().load(mapEnvironment({{"VA_LISTEN_ADDR", "127.0.0.1"},
                                                        {"VA_PORT", "9090"},
                                                        {"VA_READ_TIMEOUT", "2s"},
                                                        {"VA_WORKERS", "3"},
                                                        {"VA_VERBOSE", "yes"},
                                                        {"VA_LOG_LEVEL", "debug"}}));
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->string("VA_LISTEN_ADDR"), "127.0.0.1");
  EXPECT_EQ(config->port("VA_PORT"), 9090);
  EXPECT_EQ(config->durationMs("VA_READ_TIMEOUT"), milliseconds(2000));
  EXPECT_EQ(config->integer("VA_WORKERS"), 3);
  EXPECT_TRUE(config->boolean("VA_VERBOSE"));
  EXPECT_EQ(config->string("VA_LOG_LEVEL"), "debug");
}

TEST(ConfigTest, ReadsTheProcessEnvironment) {
  ::setenv("VA_SERVICE_TEST_PORT", "7070", 1);
  ConfigSpec spec;
  spec.port("VA_SERVICE_TEST_PORT");
  const auto config = spec.load();
  ::unsetenv("VA_SERVICE_TEST_PORT");
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->port("VA_SERVICE_TEST_PORT"), 7070);
}

TEST(ConfigTest, ErrorsNameTheVariableAndTheReason) {
  const auto config = serverSpec().load(mapEnvironment({{"VA_PORT", "abc"}}));
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().message(), R"(VA_PORT: "abc" is not a port number (1-65535))");
}

TEST(ConfigTest, EveryBadVariableIsReported) {
  const auto config = serverSpec().load(mapEnvironment({{"VA_PORT", "70000"},
                                                        {"VA_READ_TIMEOUT", "soon"},
                                                        {"VA_WORKERS", "100"},
                                                        {"VA_VERBOSE", "maybe"},
                                                        {"VA_LOG_LEVEL", "loud"}}));
  ASSERT_FALSE(config.ok());
  const std::string& message = config.error().message();
  EXPECT_NE(message.find(R"(VA_PORT: "70000" is not a port number (1-65535))"), std::string::npos);
  EXPECT_NE(message.find(R"(VA_READ_TIMEOUT: "soon" is not a duration)"), std::string::npos);
  EXPECT_NE(message.find(R"(VA_WORKERS: "100" is out of range (1-64))"), std::string::npos);
  EXPECT_NE(message.find(R"(VA_VERBOSE: "maybe" is not a boolean)"), std::string::npos);
  EXPECT_NE(message.find(R"(VA_LOG_LEVEL: "loud" is not one of: debug, info)"), std::string::npos);
}

TEST(ConfigTest, DurationsTakeUnits) {
  ConfigSpec spec;
  spec.durationMs("A").durationMs("B").durationMs("C").durationMs("D").durationMs("E");
  const auto config = spec.load(
      mapEnvironment({{"A", "250"}, {"B", "250ms"}, {"C", "3s"}, {"D", "2m"}, {"E", "1h"}}));
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->durationMs("A"), milliseconds(250));
  EXPECT_EQ(config->durationMs("B"), milliseconds(250));
  EXPECT_EQ(config->durationMs("C"), milliseconds(3000));
  EXPECT_EQ(config->durationMs("D"), milliseconds(120000));
  EXPECT_EQ(config->durationMs("E"), milliseconds(3600000));
  for (const char* bad : {"-1s", "1.5s", "s", "10 s", "1d"}) {
    const auto rejected =
        spec.load(mapEnvironment({{"A", bad}, {"B", "1"}, {"C", "1"}, {"D", "1"}, {"E", "1"}}));
    ASSERT_FALSE(rejected.ok()) << bad;
    EXPECT_EQ(rejected.error().message().rfind("A: ", 0), 0U) << rejected.error().message();
  }
}

TEST(ConfigTest, MissingRequiredVariablesAreNamed) {
  ConfigSpec spec;
  spec.string("VA_REDIS_URL").secretFile("VA_DB_PASSWORD_FILE", Presence::kRequired);
  const auto config = spec.load(mapEnvironment({{"VA_REDIS_URL", ""}}));
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().message(),
            "VA_REDIS_URL: required but not set; "
            "VA_DB_PASSWORD_FILE: required (a path to a mounted file) but not set");
}

TEST(ConfigTest, SecretsComeFromTheNamedFileWithoutTrailingNewline) {
  const TempFile file("k-123,k-456\n");
  const auto config = serverSpec().load(mapEnvironment({{"VA_API_KEYS_FILE", file.path()}}));
  ASSERT_TRUE(config.ok()) << config.error().message();
  const auto secret = config->secret("VA_API_KEYS_FILE");
  ASSERT_TRUE(secret.has_value());
  EXPECT_EQ(secret->reveal(), "k-123,k-456");
}

TEST(ConfigTest, UnreadableOrEmptySecretFilesAreErrors) {
  const auto missing =
      serverSpec().load(mapEnvironment({{"VA_API_KEYS_FILE", "/nonexistent/keys"}}));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message(),
            R"(VA_API_KEYS_FILE: cannot read "/nonexistent/keys": No such file or directory)");

  const TempFile empty("\n");
  const auto blank = serverSpec().load(mapEnvironment({{"VA_API_KEYS_FILE", empty.path()}}));
  ASSERT_FALSE(blank.ok());
  EXPECT_NE(blank.error().message().find("VA_API_KEYS_FILE: secret file"), std::string::npos);
}

TEST(ConfigTest, TextFilesAreReadAsIs) {
  const TempFile file("allow: weather\n");
  ConfigSpec spec;
  spec.textFile("VA_ALLOWLIST_FILE", Presence::kRequired);
  const auto config = spec.load(mapEnvironment({{"VA_ALLOWLIST_FILE", file.path()}}));
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->text("VA_ALLOWLIST_FILE"), "allow: weather");
}

TEST(ConfigTest, SecretsPrintAsRedacted) {
  const Secret secret("hunter2");
  std::ostringstream out;
  out << secret;
  EXPECT_EQ(out.str(), "<redacted>");
  EXPECT_EQ(fmt::format("key={}", secret), "key=<redacted>");
}

TEST(ConfigTest, DescribeShowsValuesAndRedactsSecrets) {
  const TempFile file("top-secret-value");
  const auto config =
      serverSpec().load(mapEnvironment({{"VA_API_KEYS_FILE", file.path()}, {"VA_PORT", "9000"}}));
  ASSERT_TRUE(config.ok()) << config.error().message();
  const nlohmann::json described = config->describe();
  EXPECT_EQ(described["VA_PORT"]["value"], 9000);
  EXPECT_EQ(described["VA_PORT"]["source"], "env");
  EXPECT_EQ(described["VA_LISTEN_ADDR"]["source"], "default");
  EXPECT_EQ(described["VA_READ_TIMEOUT"]["value"], "5000ms");
  EXPECT_EQ(described["VA_API_KEYS_FILE"]["value"], "<redacted>");
  EXPECT_EQ(described["VA_API_KEYS_FILE"]["source"], file.path());
  EXPECT_EQ(described.dump().find("top-secret-value"), std::string::npos);
}

TEST(ConfigDeathTest, ExitWithErrorPrintsTheMessageAndExits78) {
  const auto config = serverSpec().load(mapEnvironment({{"VA_PORT", "abc"}}));
  ASSERT_FALSE(config.ok());
  EXPECT_EXIT(exitWithError("configuration", config.error()), ::testing::ExitedWithCode(78),
              R"(configuration: VA_PORT: .*abc.* is not a port number)");
}

TEST(ConfigDeathTest, ReadingAnUndeclaredVariableAborts) {
  const auto config = serverSpec().load(mapEnvironment({}));
  ASSERT_TRUE(config.ok());
  EXPECT_DEATH((void)config->string("VA_NOT_DECLARED"), "VA_NOT_DECLARED was not declared");
  EXPECT_DEATH((void)config->port("VA_LISTEN_ADDR"), "VA_LISTEN_ADDR is not set or not a port");
}

}  // namespace
}  // namespace va::service
