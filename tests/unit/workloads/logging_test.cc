#include "workloads/common/logging.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>
#include <vector>

#include "tests/unit/workloads/test_support.h"

namespace va::service {
namespace {

// A JSON logger writing into a string, and the lines it wrote, parsed.
class CapturedLog {
 public:
  CapturedLog()
      : logger_(makeJsonLogger("test-component",
                               std::make_shared<spdlog::sinks::ostream_sink_mt>(out_))) {
    logger_->set_level(spdlog::level::trace);
  }
  spdlog::logger& logger() { return *logger_; }
  std::string text() const { return out_.str(); }
  std::vector<nlohmann::json> lines() const {
    std::vector<nlohmann::json> parsed;
    std::istringstream in(out_.str());
    for (std::string line; std::getline(in, line);) parsed.push_back(nlohmann::json::parse(line));
    return parsed;
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> logger_;
};

TEST(LoggingTest, WritesOneJsonObjectPerLine) {
  CapturedLog log;
  log.logger().info("hello {}", 42);
  log.logger().warn("careful");
  const auto lines = log.lines();
  ASSERT_EQ(lines.size(), 2U);
  EXPECT_EQ(lines[0]["msg"], "hello 42");
  EXPECT_EQ(lines[0]["level"], "info");
  EXPECT_EQ(lines[0]["logger"], "test-component");
  EXPECT_TRUE(std::regex_match(lines[0]["ts"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
  EXPECT_EQ(lines[1]["level"], "warning");
  EXPECT_FALSE(lines[0].contains("request_id"));
  EXPECT_FALSE(lines[0].contains("trace_id"));
}

TEST(LoggingTest, EscapesQuotesNewlinesControlCharactersAndBadUtf8) {
  CapturedLog log;
  log.logger().error("a \"quoted\" word\nsecond line\ttab \x01 and bad \xff byte, ok é");
  const std::string text = log.text();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
  const auto lines = log.lines();
  ASSERT_EQ(lines.size(), 1U);
  const std::string msg = lines[0]["msg"];
  EXPECT_NE(msg.find("a \"quoted\" word\nsecond line\ttab \x01 and bad "), std::string::npos);
  EXPECT_NE(msg.find("ok é"), std::string::npos);
}

TEST(LoggingTest, ContextIdsAppearWhileTheScopeLives) {
  CapturedLog log;
  const TraceContext trace{"4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", 1};
  {
    const ScopedLogContext scope(LogContext{"req-1", "conv-9", trace});
    log.logger().info("inside");
    {
      const ScopedLogContext inner(currentLogContext().withConversationId("conv-10"));
      log.logger().info("nested");
    }
    log.logger().info("back");
  }
  log.logger().info("outside");
  const auto lines = log.lines();
  ASSERT_EQ(lines.size(), 4U);
  EXPECT_EQ(lines[0]["request_id"], "req-1");
  EXPECT_EQ(lines[0]["trace_id"], trace.traceId);
  EXPECT_EQ(lines[0]["span_id"], trace.spanId);
  EXPECT_EQ(lines[0]["conversation_id"], "conv-9");
  EXPECT_EQ(lines[1]["conversation_id"], "conv-10");
  EXPECT_EQ(lines[1]["request_id"], "req-1");
  EXPECT_EQ(lines[2]["conversation_id"], "conv-9");
  EXPECT_FALSE(lines[3].contains("request_id"));
  EXPECT_FALSE(lines[3].contains("conversation_id"));
}

TEST(LoggingTest, ContextIsPerThread) {
  CapturedLog log;
  const ScopedLogContext scope(LogContext{"main-thread", "", {}});
  std::thread([&] { log.logger().info("from another thread"); }).join();
  const auto lines = log.lines();
  ASSERT_EQ(lines.size(), 1U);
  EXPECT_FALSE(lines[0].contains("request_id"));
}

TEST(LoggingTest, InitLoggingWritesJsonToStdout) {
  ::testing::internal::CaptureStdout();
  initLogging("stdout-component", spdlog::level::info);
  spdlog::debug("hidden");
  spdlog::info("shown");
  const std::string out = ::testing::internal::GetCapturedStdout();
  const auto line = nlohmann::json::parse(out.substr(0, out.find('\n')));
  EXPECT_EQ(line["msg"], "shown");
  EXPECT_EQ(line["logger"], "stdout-component");
  EXPECT_EQ(out.find("hidden"), std::string::npos);
}

TEST(LoggingTest, ParsesLogLevels) {
  EXPECT_EQ(*parseLogLevel("DEBUG"), spdlog::level::debug);
  EXPECT_EQ(*parseLogLevel("warn"), spdlog::level::warn);
  EXPECT_EQ(*parseLogLevel("error"), spdlog::level::err);
  const auto bad = parseLogLevel("loud");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("\"loud\" is not a log level"), std::string::npos);

  ConfigSpec spec;
  declareLoggingConfig(spec);
  const auto config = spec.load(mapEnvironment({{"VA_LOG_LEVEL", "debug"}}));
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(logLevelFrom(*config), spdlog::level::debug);
  const auto wrong = spec.load(mapEnvironment({{"VA_LOG_LEVEL", "verbose"}}));
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().message().rfind("VA_LOG_LEVEL: ", 0), 0U);
}

TEST(LoggingTest, LogFormatComesFromTheEnvironment) {
  ConfigSpec spec;
  declareLoggingConfig(spec);
  const auto wrong = spec.load(mapEnvironment({{"VA_LOG_FORMAT", "xml"}}));
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().message().rfind("VA_LOG_FORMAT: ", 0), 0U);

  const auto text = spec.load(mapEnvironment({{"VA_LOG_FORMAT", "text"}}));
  ASSERT_TRUE(text.ok());
  ::testing::internal::CaptureStdout();
  initLogging("text-component", *text);
  spdlog::info("plain words");
  std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find(" info text-component: plain words"), std::string::npos) << out;
  EXPECT_EQ(out.find('{'), std::string::npos) << out;

  const auto json = spec.load(mapEnvironment({}));
  ASSERT_TRUE(json.ok());
  ::testing::internal::CaptureStdout();
  initLogging("json-component", *json);
  spdlog::info("structured");
  out = ::testing::internal::GetCapturedStdout();
  EXPECT_EQ(nlohmann::json::parse(out.substr(0, out.find('\n')))["msg"], "structured");
}

TEST(LoggingTest, SecretsNeverAppearInLogs) {
  const testing::TempFile file("s3cr3t-api-key\n");
  ConfigSpec spec;
  spec.secretFile("VA_API_KEYS_FILE", Presence::kRequired).port("VA_PORT", 8080);
  const auto config = spec.load(mapEnvironment({{"VA_API_KEYS_FILE", file.path()}}));
  ASSERT_TRUE(config.ok()) << config.error().message();
  const Secret secret = *config->secret("VA_API_KEYS_FILE");

  CapturedLog log;
  log.logger().info("effective configuration: {}", config->describe().dump());
  log.logger().info("api key is {}", secret);
  std::ostringstream streamed;
  streamed << "key " << secret;
  log.logger().warn("{}", streamed.str());

  const std::string text = log.text();
  EXPECT_EQ(text.find("s3cr3t-api-key"), std::string::npos) << text;
  EXPECT_NE(text.find("api key is <redacted>"), std::string::npos);
  EXPECT_NE(text.find("key <redacted>"), std::string::npos);
  EXPECT_EQ(log.lines().size(), 3U);
  EXPECT_EQ(secret.reveal(), "s3cr3t-api-key");  // still usable where it is needed
}

TEST(LoggingTest, FormatsTimestampsInUtcWithMilliseconds) {
  const auto time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1700000000123));
  EXPECT_EQ(formatTimestamp(time), "2023-11-14T22:13:20.123Z");
}

}  // namespace
}  // namespace va::service
