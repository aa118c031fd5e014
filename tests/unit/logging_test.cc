// JSON logging: every line parses as one JSON object with zap's fields in zap's order,
// structured values survive escaping, levels filter, plain spdlog calls stay valid JSON.
#include "operator/runtime/logging.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace va::runtime {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::MatchesRegex;

class LoggingTest : public ::testing::Test {
 protected:
  std::shared_ptr<spdlog::logger> logger(const std::string& name,
                                         LogLevel level = LogLevel::kInfo) {
    return makeJsonLogger(name, std::make_shared<spdlog::sinks::ostream_sink_mt>(out_), level);
  }

  // Each output line parsed with key order kept; a line that is not JSON fails the test.
  std::vector<nlohmann::ordered_json> lines() const {
    std::vector<nlohmann::ordered_json> parsed;
    std::istringstream in(out_.str());
    std::string line;
    while (std::getline(in, line)) {
      auto object = nlohmann::ordered_json::parse(line, nullptr, false);
      EXPECT_TRUE(object.is_object()) << "not a JSON object: " << line;
      parsed.push_back(std::move(object));
    }
    return parsed;
  }

  std::ostringstream out_;
};

std::vector<std::string> keys(const nlohmann::ordered_json& object) {
  std::vector<std::string> names;
  for (const auto& item : object.items()) names.push_back(item.key());
  return names;
}

TEST_F(LoggingTest, WritesZapFieldsThenStructuredValuesInOrder) {
  auto log = logger("controller");
  logInfo(*log, "Reconciling",
          {{"controller", "virtualassistant"},
           {"namespace", "default"},
           {"name", "va-1"},
           {"reconcileID", "4f1c2a"},
           {"attempt", 2}});
  const auto parsed = lines();
  ASSERT_EQ(parsed.size(), 1U);
  const auto& line = parsed[0];
  EXPECT_THAT(keys(line), ElementsAre("level", "ts", "logger", "msg", "controller", "namespace",
                                      "name", "reconcileID", "attempt"));
  EXPECT_EQ(line["level"], "info");
  EXPECT_EQ(line["logger"], "controller");
  EXPECT_EQ(line["msg"], "Reconciling");
  EXPECT_EQ(line["namespace"], "default");
  EXPECT_EQ(line["attempt"], 2);
  EXPECT_THAT(line["ts"].get<std::string>(),
              MatchesRegex(R"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z)"));
}

TEST_F(LoggingTest, EscapesQuotesNewlinesControlCharactersAndBadUtf8) {
  auto log = logger("escape");
  const std::string tricky = "say \"hi\"\n\tback\\slash \x01 end";
  logError(*log, tricky, {{"key \"q\"", tricky}, {"nested", json{{"a", {1, 2}}}}});
  logInfo(*log, std::string("bad utf-8: \xff\xfe"));
  const auto parsed = lines();
  ASSERT_EQ(parsed.size(), 2U);
  EXPECT_EQ(parsed[0]["level"], "error");
  EXPECT_EQ(parsed[0]["msg"], tricky);
  EXPECT_EQ(parsed[0]["key \"q\""], tricky);
  EXPECT_EQ(parsed[0]["nested"]["a"][1], 2);
  EXPECT_EQ(parsed[1]["msg"], "bad utf-8: \xEF\xBF\xBD\xEF\xBF\xBD");  // U+FFFD twice
  // One record per line: the newline in the message is escaped.
  const std::string text = out_.str();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2);
}

TEST_F(LoggingTest, LevelFiltersRecords) {
  auto log = logger("levels", LogLevel::kInfo);
  logDebug(*log, "hidden");
  logInfo(*log, "shown");
  auto verbose = logger("verbose", LogLevel::kDebug);
  logDebug(*verbose, "debug shown");
  const auto parsed = lines();
  ASSERT_EQ(parsed.size(), 2U);
  EXPECT_EQ(parsed[0]["msg"], "shown");
  EXPECT_EQ(parsed[1]["msg"], "debug shown");
  EXPECT_EQ(parsed[1]["level"], "debug");
}

TEST_F(LoggingTest, PlainSpdlogCallsAndChildLoggersAreJsonToo) {
  auto log = logger("manager");
  log->warn("plain \"text\" {}", 42);
  auto child = withName(*log, "leader-election");
  logInfo(*child, "from the child", {{"k", "v"}});
  const auto parsed = lines();
  ASSERT_EQ(parsed.size(), 2U);
  EXPECT_EQ(parsed[0]["level"], "warn");
  EXPECT_EQ(parsed[0]["msg"], "plain \"text\" 42");
  EXPECT_EQ(parsed[1]["logger"], "manager.leader-election");
  EXPECT_EQ(parsed[1]["k"], "v");
}

TEST_F(LoggingTest, StdoutLoggerWritesOneJsonLinePerRecord) {
  ::testing::internal::CaptureStdout();
  auto log = makeJsonLogger("stdout", {.level = LogLevel::kInfo, .stream = LogStream::kStdout});
  logInfo(*log, "to stdout", {{"n", 1}});
  const std::string captured = ::testing::internal::GetCapturedStdout();
  const auto object = json::parse(captured, nullptr, false);
  ASSERT_TRUE(object.is_object()) << captured;
  EXPECT_EQ(object["msg"], "to stdout");
  EXPECT_EQ(captured.back(), '\n');
}

TEST(LogLevelTest, ParsesZapLogLevelValues) {
  EXPECT_EQ(parseLogLevel("debug"), LogLevel::kDebug);
  EXPECT_EQ(parseLogLevel("info"), LogLevel::kInfo);
  EXPECT_EQ(parseLogLevel("warn"), LogLevel::kWarn);
  EXPECT_EQ(parseLogLevel("error"), LogLevel::kError);
  EXPECT_EQ(parseLogLevel("0"), LogLevel::kInfo);
  EXPECT_EQ(parseLogLevel("3"), LogLevel::kDebug);
  EXPECT_EQ(parseLogLevel("verbose"), std::nullopt);
  EXPECT_EQ(parseLogLevel("-1"), std::nullopt);
  EXPECT_EQ(parseLogLevel(""), std::nullopt);
}

TEST(LogTimestampTest, IsRfc3339UtcWithMilliseconds) {
  const auto time = spdlog::log_clock::time_point(std::chrono::milliseconds(1714564800123));
  EXPECT_EQ(formatTimestamp(time), "2024-05-01T12:00:00.123Z");
}

}  // namespace
}  // namespace va::runtime
