// The language center's API on the default assistant: understanding, slot filling across turns,
// replies, the assistant description, bad input (400 naming the field) and the same over a real
// HTTP server on 127.0.0.1.
#include "workloads/language_center/language_center.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>
#include <string>

#include "workloads/common/http_metrics.h"
#include "workloads/common/http_server.h"
#include "workloads/nlu/default_assistant.h"

namespace va::language_center {
namespace {

using nlohmann::json;
using std::chrono::day;
using std::chrono::month;
using std::chrono::year;

class LanguageCenterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    registry_ = new prometheus::Registry();
    auto assistant = nlu::defaultAssistant();
    ASSERT_TRUE(assistant.ok()) << assistant.error().message();
    auto created = LanguageCenter::create(std::move(assistant).value(), *registry_, [] {
      return std::chrono::year_month_day{year{2026}, month{11}, day{27}};
    });
    ASSERT_TRUE(created.ok()) << created.error().message();
    center_ = new LanguageCenter(std::move(created).value());
  }
  static void TearDownTestSuite() {
    delete center_;
    delete registry_;
  }
  static Reply understand(const json& body) { return center_->understand(body.dump()); }

  static prometheus::Registry* registry_;
  static LanguageCenter* center_;
};
prometheus::Registry* LanguageCenterTest::registry_ = nullptr;
LanguageCenter* LanguageCenterTest::center_ = nullptr;

TEST_F(LanguageCenterTest, TrainsWellUnderASecond) { EXPECT_LT(center_->trainingSeconds(), 1.0); }

TEST_F(LanguageCenterTest, UnderstandsACompleteBooking) {
  const Reply r = understand({{"text", "book a table for 4 people tomorrow at 7pm"}});
  ASSERT_EQ(r.status, 200) << r.body.dump();
  EXPECT_EQ(r.body["intent"], "book_table");
  EXPECT_EQ(r.body["slots"]["party_size"], "4");
  EXPECT_EQ(r.body["slots"]["date"], "2026-11-28");
  EXPECT_EQ(r.body["slots"]["time"], "19:00");
  EXPECT_TRUE(r.body["missing_slots"].empty());
  EXPECT_EQ(r.body["action"], "book_table");
  EXPECT_EQ(r.body["reply"], "Booked a table for 4 on 2026-11-28 at 19:00.");
  EXPECT_EQ(r.body["source"], "builtin");
}

TEST_F(LanguageCenterTest, AsksForAMissingSlotThenFillsItInTheNextTurn) {
  const Reply first = understand({{"text", "i'd like to book a table for two"}});
  ASSERT_EQ(first.status, 200) << first.body.dump();
  EXPECT_EQ(first.body["intent"], "book_table");
  EXPECT_EQ(first.body["missing_slots"], json::array({"date", "time"}));
  EXPECT_EQ(first.body["reply"], "For which day?");
  EXPECT_TRUE(first.body["action"].is_null());

  // The dialogue manager passes the pending intent and the slots known so far.
  const Reply second = understand(
      {{"text", "on saturday at 8pm"}, {"intent", "book_table"}, {"slots", first.body["slots"]}});
  ASSERT_EQ(second.status, 200) << second.body.dump();
  EXPECT_EQ(second.body["intent"], "book_table");
  EXPECT_TRUE(second.body["continued"].get<bool>());
  EXPECT_EQ(second.body["slots"]["party_size"], first.body["slots"]["party_size"]);
  EXPECT_EQ(second.body["slots"]["date"], "2026-11-28");
  EXPECT_EQ(second.body["slots"]["time"], "20:00");
  EXPECT_EQ(second.body["action"], "book_table");
}

TEST_F(LanguageCenterTest, AnUtteranceGivingAMissingSlotContinuesThePendingIntent) {
  // "tomorrow" alone is classified as weather ("will it rain tomorrow"), but it is the date the
  // pending booking asked for.
  const Reply r = understand(
      {{"text", "tomorrow"}, {"intent", "book_table"}, {"slots", {{"party_size", "2"}}}});
  ASSERT_EQ(r.status, 200) << r.body.dump();
  EXPECT_EQ(r.body["intent"], "book_table");
  EXPECT_TRUE(r.body["continued"].get<bool>());
  EXPECT_EQ(r.body["slots"]["party_size"], "2");
  EXPECT_TRUE(r.body["slots"].contains("date"));
  EXPECT_EQ(r.body["missing_slots"], json::array({"time"}));
}

TEST_F(LanguageCenterTest, AClearlyDifferentRequestLeavesThePendingIntent) {
  const Reply r = understand({{"text", "what's the weather in paris"}, {"intent", "book_table"}});
  ASSERT_EQ(r.status, 200) << r.body.dump();
  EXPECT_EQ(r.body["intent"], "weather");
  EXPECT_FALSE(r.body["continued"].get<bool>());
}

TEST_F(LanguageCenterTest, OutOfScopeGetsTheFallbackReply) {
  const Reply r = understand({{"text", "how do i change the oil in a lawnmower engine"}});
  ASSERT_EQ(r.status, 200) << r.body.dump();
  EXPECT_EQ(r.body["intent"], "out_of_scope");
  EXPECT_TRUE(r.body["reply"].is_string());
  EXPECT_TRUE(r.body["action"].is_null());
}

TEST_F(LanguageCenterTest, ATemplateThatNeedsAVariableSaysSoUntilItIsGiven) {
  const Reply without = understand({{"text", "what did i ask you to remember"}});
  ASSERT_EQ(without.status, 200) << without.body.dump();
  EXPECT_EQ(without.body["intent"], "recall_fact");
  EXPECT_TRUE(without.body["reply"].is_null());
  EXPECT_EQ(without.body["missing_variables"], json::array({"facts"}));
  EXPECT_NE(without.body["reply_error"].get<std::string>().find("facts"), std::string::npos)
      << without.body.dump();

  const Reply with = center_->respond(
      json{{"intent", "recall_fact"}, {"variables", {{"facts", "your locker code is 4512"}}}}
          .dump());
  ASSERT_EQ(with.status, 200) << with.body.dump();
  EXPECT_EQ(with.body["reply"], "Here is what I remember: your locker code is 4512");
}

TEST_F(LanguageCenterTest, DescribesIntentsSlotsAndActions) {
  const Reply r = center_->describeAssistant();
  ASSERT_EQ(r.status, 200);
  bool booking = false;
  for (const json& intent : r.body["intents"]) {
    if (intent["name"] != "book_table") continue;
    booking = true;
    EXPECT_EQ(intent["action"], "book_table");
    EXPECT_EQ(intent["slots"].size(), 3U);
  }
  EXPECT_TRUE(booking);
  EXPECT_FALSE(r.body["actions"].empty());
}

struct BadInput {
  std::string body;
  std::string field;  // expected in the message
};

TEST_F(LanguageCenterTest, BadInputIs400NamingTheField) {
  const std::vector<BadInput> cases = {
      {"{", "JSON"},
      {"[1]", "object"},
      {R"({})", "text"},
      {R"({"text": 3})", "text"},
      {R"({"text": "   "})", "text"},
      {R"({"text": "hi", "colour": "red"})", "colour"},
      {R"({"text": "hi", "intent": 7})", "intent"},
      {R"({"text": "hi", "intent": "fly_to_mars"})", "intent"},
      {R"({"text": "hi", "slots": []})", "slots"},
      {R"({"text": "hi", "slots": {"city": 4}})", "slots.city"},
      {R"({"text": "hi", "variables": "x"})", "variables"},
      {R"({"text": "hi", "today": "2026-02-30"})", "today"},
      {R"({"text": "hi", "today": "tomorrow"})", "today"},
      {json{{"text", std::string(kMaxTextBytes + 1, 'a')}}.dump(), "text"},
  };
  for (const BadInput& c : cases) {
    const Reply r = center_->understand(c.body);
    EXPECT_EQ(r.status, 400) << c.body;
    const std::string message = r.body["error"]["message"].get<std::string>();
    EXPECT_NE(message.find(c.field), std::string::npos) << c.body << " -> " << message;
  }
  EXPECT_EQ(center_->respond(R"({"slots": {}})").status, 400);
  EXPECT_EQ(center_->respond(R"({"intent": "nope"})").status, 400);
}

TEST_F(LanguageCenterTest, ServesTheApiOverHttpWithMetrics) {
  auto registry = std::make_shared<prometheus::Registry>();
  service::HttpServerOptions options;
  options.host = "127.0.0.1";
  options.port = 0;
  service::HttpServer server(options, registry);
  auto assistant = nlu::defaultAssistant();
  ASSERT_TRUE(assistant.ok());
  auto created = LanguageCenter::create(std::move(assistant).value(), *registry);
  ASSERT_TRUE(created.ok());
  const LanguageCenter center = std::move(created).value();
  center.addRoutes(server);
  ASSERT_TRUE(server.start().ok());

  httplib::Client client("127.0.0.1", server.port());
  auto res = client.Post("/v1/understand", R"({"text": "hello there"})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(json::parse(res->body)["intent"], "greet");
  res = client.Post("/v1/understand", R"({"text": 1})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(json::parse(res->body)["error"]["code"], "invalid_field");
  res = client.Get("/v1/assistant");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  res = client.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_NE(res->body.find("va_language_center_understood_total{intent=\"greet\"} 1"),
            std::string::npos)
      << res->body;
  EXPECT_NE(res->body.find("va_language_center_understand_duration_seconds_count 1"),
            std::string::npos);
  EXPECT_TRUE(server.shutdown(std::chrono::seconds(5)).ok());
}

}  // namespace
}  // namespace va::language_center
