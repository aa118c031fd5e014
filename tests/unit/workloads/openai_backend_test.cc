// The language center's OpenAI-compatible backend: the request it sends (tools from the
// assistant's intents, the key as a bearer token), the response variants it tolerates, and the
// fallback to the built-in NLU on an error status, a timeout or an unusable answer, against a
// stand-in endpoint on 127.0.0.1 (an httplib server playing the external model API).
#include "workloads/language_center/openai_backend.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "workloads/language_center/language_center.h"
#include "workloads/nlu/default_assistant.h"

namespace va::language_center {
namespace {

using nlohmann::json;

nlu::Assistant assistant() {
  auto a = nlu::defaultAssistant();
  EXPECT_TRUE(a.ok());
  return std::move(a).value();
}

std::string completion(const json& message) {
  return json{
      {"id", "chatcmpl-1"},
      {"object", "chat.completion"},
      {"choices",
       json::array({{{"index", 0}, {"message", message}, {"finish_reason", "tool_calls"}}})}}
      .dump();
}

json toolCall(const std::string& name, const json& arguments, bool withId = true) {
  json call = {{"type", "function"}, {"function", {{"name", name}, {"arguments", arguments}}}};
  if (withId) call["id"] = "call_1";
  return {{"role", "assistant"}, {"content", nullptr}, {"tool_calls", json::array({call})}};
}

TEST(ParseChatCompletionTest, ReadsAToolCallWithStringArguments) {
  const auto a = assistant();
  const auto answer = parseChatCompletion(
      a, completion(toolCall("book_table", R"({"party_size": "4", "time": "19:00"})")));
  ASSERT_TRUE(answer.ok()) << answer.error().message();
  EXPECT_EQ(answer->intent, "book_table");
  EXPECT_EQ(answer->slots.at("party_size"), "4");
  EXPECT_EQ(answer->slots.at("time"), "19:00");
  EXPECT_FALSE(answer->slots.contains("date"));
}

TEST(ParseChatCompletionTest, ToleratesObjectArgumentsMissingIdsNumbersAndTheLegacyField) {
  const auto a = assistant();
  auto answer = parseChatCompletion(
      a, completion(toolCall("book_table", json{{"party_size", 2}, {"date", "2026-12-01"}},
                             /*withId=*/false)));
  ASSERT_TRUE(answer.ok()) << answer.error().message();
  EXPECT_EQ(answer->slots.at("party_size"), "2");
  EXPECT_EQ(answer->slots.at("date"), "2026-12-01");

  answer = parseChatCompletion(
      a, completion(
             {{"role", "assistant"},
              {"function_call", {{"name", "weather"}, {"arguments", R"({"city": "Paris"})"}}}}));
  ASSERT_TRUE(answer.ok()) << answer.error().message();
  EXPECT_EQ(answer->intent, "weather");
  EXPECT_EQ(answer->slots.at("city"), "Paris");

  // Undeclared arguments are dropped; an empty arguments string is no arguments.
  answer = parseChatCompletion(a, completion(toolCall("weather", R"({"city": "Rome", "x": 1})")));
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->slots.size(), 1U);
  answer = parseChatCompletion(a, completion(toolCall("out_of_scope", "")));
  ASSERT_TRUE(answer.ok()) << answer.error().message();
  EXPECT_EQ(answer->intent, "out_of_scope");
}

TEST(ParseChatCompletionTest, RejectsWhatCannotBeUsed) {
  const auto a = assistant();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"not json", "not a JSON object"},
      {R"({"choices": []})", "no choices[0].message"},
      {completion({{"role", "assistant"}, {"content", "Sure! Booked."}}), "called no tool"},
      {completion(toolCall("launch_rocket", "{}")), "not an intent of the assistant"},
      {completion(toolCall("weather", "[1, 2]")), "not an object"},
      {completion(toolCall("weather", "{broken")), "not an object"},
  };
  for (const auto& [body, expected] : cases) {
    const auto answer = parseChatCompletion(a, body);
    ASSERT_FALSE(answer.ok()) << body;
    EXPECT_NE(answer.error().message().find(expected), std::string::npos)
        << body << " -> " << answer.error().message();
  }
}

TEST(OpenAiBackendTest, OffersEveryIntentAsATool) {
  const auto a = assistant();
  const OpenAiBackend backend({.baseUrl = "http://127.0.0.1:1/v1",
                               .model = "test-model",
                               .apiKey = std::nullopt,
                               .timeout = std::chrono::seconds(1)});
  const json body = backend.requestBody(a, "table for two");
  EXPECT_EQ(body["model"], "test-model");
  EXPECT_EQ(body["messages"][1], (json{{"role", "user"}, {"content", "table for two"}}));
  ASSERT_EQ(body["tools"].size(), a.intents.size() + 1);
  bool booking = false;
  for (const json& tool : body["tools"]) {
    if (tool["function"]["name"] != "book_table") continue;
    booking = true;
    EXPECT_TRUE(tool["function"]["parameters"]["properties"].contains("party_size"));
    EXPECT_TRUE(tool["function"]["parameters"]["properties"].contains("date"));
  }
  EXPECT_TRUE(booking);
  EXPECT_EQ(body["tools"].back()["function"]["name"], "out_of_scope");
}

// A stand-in for the model API: answers each POST /v1/chat/completions with what the test set.
class FakeModelApi {
 public:
  FakeModelApi() {
    server_.Post("/v1/chat/completions",
                 [this](const httplib::Request& req, httplib::Response& res) {
                   std::lock_guard lock(mutex_);
                   ++calls_;
                   lastAuthorization_ = req.get_header_value("Authorization");
                   lastBody_ = json::parse(req.body, nullptr, false);
                   if (delay_.count() > 0) std::this_thread::sleep_for(delay_);
                   res.status = status_;
                   res.set_content(body_, "application/json");
                 });
    server_.set_keep_alive_max_count(1);  // so that stop() need not wait for idle connections
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeModelApi() {
    server_.stop();
    thread_.join();
  }
  void answer(int status, std::string body, std::chrono::milliseconds delay = {}) {
    std::lock_guard lock(mutex_);
    status_ = status;
    body_ = std::move(body);
    delay_ = delay;
  }
  [[nodiscard]] std::string baseUrl() const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/v1/";
  }
  int calls() {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  std::string lastAuthorization() {
    std::lock_guard lock(mutex_);
    return lastAuthorization_;
  }
  json lastBody() {
    std::lock_guard lock(mutex_);
    return lastBody_;
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mutex_;
  int status_ = 200;
  std::string body_;
  std::chrono::milliseconds delay_{0};
  int calls_ = 0;
  std::string lastAuthorization_;
  json lastBody_;
};

class LanguageCenterWithModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto created = LanguageCenter::create(
        assistant(), registry_,
        [] {
          return std::chrono::year_month_day{std::chrono::year{2026}, std::chrono::month{11},
                                             std::chrono::day{27}};
        },
        OpenAiOptions{.baseUrl = api_.baseUrl(),
                      .model = "test-model",
                      .apiKey = service::Secret("sk-test-key"),
                      .timeout = std::chrono::milliseconds(500)});
    ASSERT_TRUE(created.ok()) << created.error().message();
    center_.emplace(std::move(created).value());
  }
  Reply understand(const std::string& text) {
    return center_->understand(json{{"text", text}}.dump());
  }
  double counter(const std::string& outcome) {
    for (const auto& family : registry_.Collect()) {
      if (family.name != "va_language_center_model_requests_total") continue;
      for (const auto& metric : family.metric) {
        for (const auto& label : metric.label) {
          if (label.name == "outcome" && label.value == outcome) return metric.counter.value;
        }
      }
    }
    return -1;
  }

  FakeModelApi api_;
  prometheus::Registry registry_;
  std::optional<LanguageCenter> center_;
};

TEST_F(LanguageCenterWithModelTest, TheModelPicksTheIntentAndEntitiesFillTheRest) {
  // The model reads the party size; the date and time come from the built-in extractors.
  api_.answer(200, completion(toolCall("book_table", R"({"party_size": "6"})")));
  const Reply r = understand("a table for six people tomorrow at 8pm");
  ASSERT_EQ(r.status, 200) << r.body.dump();
  EXPECT_EQ(r.body["source"], "openai");
  EXPECT_TRUE(r.body["fallback_reason"].is_null());
  EXPECT_EQ(r.body["intent"], "book_table");
  EXPECT_EQ(r.body["slots"]["party_size"], "6");
  EXPECT_EQ(r.body["slots"]["date"], "2026-11-28");
  EXPECT_EQ(r.body["slots"]["time"], "20:00");
  EXPECT_EQ(r.body["reply"], "Booked a table for 6 on 2026-11-28 at 20:00.");
  EXPECT_EQ(api_.calls(), 1);
  EXPECT_EQ(api_.lastAuthorization(), "Bearer sk-test-key");
  EXPECT_EQ(api_.lastBody()["messages"][1]["content"], "a table for six people tomorrow at 8pm");
  EXPECT_EQ(counter("ok"), 1);
}

TEST_F(LanguageCenterWithModelTest, AnErrorStatusFallsBackToTheBuiltInNlu) {
  api_.answer(500, R"({"error": {"message": "overloaded"}})");
  const Reply r = understand("what's the weather in paris");
  ASSERT_EQ(r.status, 200) << r.body.dump();
  EXPECT_EQ(r.body["source"], "builtin");
  EXPECT_EQ(r.body["intent"], "weather");
  EXPECT_NE(r.body["fallback_reason"].get<std::string>().find("500"), std::string::npos)
      << r.body.dump();
  EXPECT_EQ(counter("failed"), 1);
}

TEST_F(LanguageCenterWithModelTest, ASlowModelFallsBackWithinTheTimeout) {
  api_.answer(200, completion(toolCall("weather", R"({"city": "Oslo"})")),
              std::chrono::milliseconds(2000));
  const auto start = std::chrono::steady_clock::now();
  const Reply r = understand("what's the weather in paris");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body["source"], "builtin");
  EXPECT_EQ(r.body["slots"]["city"], "Paris");
  EXPECT_LT(elapsed, std::chrono::milliseconds(1500)) << "the 500 ms timeout was not kept";
}

TEST_F(LanguageCenterWithModelTest, AnUnknownToolFallsBack) {
  api_.answer(200, completion(toolCall("transfer_money", R"({"amount": 1000})")));
  const Reply r = understand("hello there");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body["source"], "builtin");
  EXPECT_EQ(r.body["intent"], "greet");
  EXPECT_NE(r.body["fallback_reason"].get<std::string>().find("transfer_money"), std::string::npos);
}

}  // namespace
}  // namespace va::language_center
