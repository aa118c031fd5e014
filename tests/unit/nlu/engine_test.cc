#include "workloads/nlu/engine.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "workloads/nlu/default_assistant.h"

namespace va::nlu {
namespace {

using std::chrono::day;
using std::chrono::month;
using std::chrono::year;

const std::chrono::year_month_day kToday{year{2024}, month{3}, day{1}};  // a Friday

class DefaultAssistantTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Result<Assistant> assistant = defaultAssistant();
    ASSERT_TRUE(assistant.ok()) << assistant.error().message();
    Result<NluEngine> engine = NluEngine::create(std::move(*assistant));
    ASSERT_TRUE(engine.ok()) << engine.error().message();
    engine_ = new NluEngine(std::move(*engine));  // NOLINT(cppcoreguidelines-owning-memory)
  }
  static void TearDownTestSuite() {
    delete engine_;  // NOLINT(cppcoreguidelines-owning-memory)
    engine_ = nullptr;
  }
  static const NluEngine& engine() { return *engine_; }

 private:
  static NluEngine* engine_;
};

NluEngine* DefaultAssistantTest::engine_ = nullptr;

TEST(DefaultAssistantYamlTest, EmbeddedTextMatchesTheFile) {
  const char* root = std::getenv("VA_SOURCE_DIR");  // NOLINT(concurrency-mt-unsafe)
  ASSERT_NE(root, nullptr) << "run through ctest, which sets VA_SOURCE_DIR";
  std::ifstream in(std::string(root) + "/workloads/nlu/default_assistant.yaml");
  ASSERT_TRUE(in.good());
  std::ostringstream text;
  text << in.rdbuf();
  EXPECT_EQ(defaultAssistantYaml(), text.str()) << "re-run cmake to embed the edited YAML";
}

TEST_F(DefaultAssistantTest, HasTheConciergeIntents) {
  for (const char* intent :
       {"greet", "goodbye", "book_table", "weather", "remember_fact", "recall_fact", "help"}) {
    EXPECT_NE(engine().assistant().findIntent(intent), nullptr) << intent;
  }
  EXPECT_FALSE(engine().assistant().out_of_scope.examples.empty());
}

TEST_F(DefaultAssistantTest, ItsOwnExamplesClassifyCorrectly) {
  for (const IntentSpec& intent : engine().assistant().intents) {
    for (const std::string& example : intent.examples) {
      EXPECT_EQ(engine().understand(example, kToday).intent, intent.name) << example;
    }
  }
  for (const std::string& example : engine().assistant().out_of_scope.examples) {
    EXPECT_EQ(engine().understand(example, kToday).intent, kOutOfScopeIntent) << example;
  }
}

TEST_F(DefaultAssistantTest, UnderstandsNewPhrasings) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"hey, good morning!", "greet"},
      {"ok bye for now", "goodbye"},
      {"could you book us a table for 3 on saturday", "book_table"},
      {"is it going to rain in london", "weather"},
      {"please remember that my car is in spot 42", "remember_fact"},
      {"what did i tell you to remember", "recall_fact"},
      {"what can you help me with", "help"},
  };
  for (const auto& [text, intent] : cases) {
    EXPECT_EQ(engine().understand(text, kToday).intent, intent) << text;
  }
}

TEST_F(DefaultAssistantTest, FillsSlotsAndAnswers) {
  const Understanding u = engine().understand("book a table for 4 tomorrow at 7:30pm", kToday);
  ASSERT_EQ(u.intent, "book_table");
  EXPECT_EQ(u.slots.at("party_size"), "4");
  EXPECT_EQ(u.slots.at("date"), "2024-03-02");
  EXPECT_EQ(u.slots.at("time"), "19:30");
  EXPECT_TRUE(u.missing_slots.empty());
  const Result<std::string> reply = engine().respond(u);
  ASSERT_TRUE(reply.ok()) << reply.error().message();
  EXPECT_EQ(*reply, "Booked a table for 4 on 2024-03-02 at 19:30.");
}

TEST_F(DefaultAssistantTest, AsksForTheFirstMissingSlot) {
  Understanding u = engine().understand("i'd like to book a table for two", kToday);
  ASSERT_EQ(u.intent, "book_table");
  EXPECT_EQ(u.missing_slots, (std::vector<std::string>{"date", "time"}));
  EXPECT_EQ(*engine().respond(u), "For which day?");

  // The next turn answers the prompt; the slots of the first turn are kept.
  const Understanding next = engine().understand("friday at 8pm", kToday);
  u.slots = engine().fillSlots("book_table", next.entities, u.slots);
  EXPECT_EQ(*engine().respond(u), "Booked a table for 2 on 2024-03-08 at 20:00.");
}

TEST_F(DefaultAssistantTest, SlotTypesAndVariables) {
  const Understanding weather = engine().understand("what's the weather in NYC", kToday);
  ASSERT_EQ(weather.intent, "weather");
  EXPECT_EQ(weather.slots.at("city"), "New York");
  EXPECT_EQ(*engine().respond(weather), "Let me check the weather in New York.");

  const Understanding recall = engine().understand("what do you remember about me", kToday);
  ASSERT_EQ(recall.intent, "recall_fact");
  EXPECT_FALSE(engine().respond(recall).ok());  // {facts} comes from the dialogue manager
  EXPECT_EQ(*engine().respond(recall, {{"facts", "you parked on level 3"}}),
            "Here is what I remember: you parked on level 3");
}

TEST_F(DefaultAssistantTest, OutOfScopeGetsTheFallback) {
  const Understanding u = engine().understand("what is the boiling point of mercury", kToday);
  EXPECT_EQ(u.intent, kOutOfScopeIntent);
  EXPECT_TRUE(u.slots.empty());
  EXPECT_EQ(*engine().respond(u), engine().assistant().out_of_scope.responses.front());
}

TEST(EngineTest, TrainingErrorsAreReported) {
  Assistant assistant;
  assistant.name = "broken";
  assistant.intents = {IntentSpec{"a", {"x"}, {}, {"A"}, {}, ""}};
  assistant.out_of_scope.responses = {"no"};
  const Result<NluEngine> engine = NluEngine::create(assistant);
  ASSERT_FALSE(engine.ok());
  EXPECT_EQ(engine.error().message(),
            "training the intent classifier: examples: need at least two in-scope intents");
}

}  // namespace
}  // namespace va::nlu
