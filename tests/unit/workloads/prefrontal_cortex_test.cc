// prefrontal-cortex's logic: the in-process memories (turn order, bounds, TTL, facts and recall),
// fact extraction, and the validation of proposed actions against the assistant's schema.
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "workloads/common/http_client.h"
#include "workloads/nlu/default_assistant.h"
#include "workloads/nlu/facts.h"
#include "workloads/prefrontal_cortex/dialogue.h"
#include "workloads/prefrontal_cortex/memory.h"

namespace va::prefrontal_cortex {
namespace {

using std::chrono::milliseconds;

TEST(ShortTermMemoryTest, TurnsOfOneConversationRunOneAtATimeInArrivalOrder) {
  InProcessShortTermMemory memory;
  ASSERT_TRUE(memory.begin("c-1", milliseconds(100)).ok());  // turn 1 holds the conversation
  std::mutex mutex;
  std::vector<int> order;
  std::vector<std::thread> waiters;
  for (int i = 0; i < 5; ++i) {
    waiters.emplace_back([&, i] {
      auto context = memory.begin("c-1", std::chrono::seconds(10));
      ASSERT_TRUE(context.ok());
      {
        const std::lock_guard lock(mutex);
        order.push_back(i);
      }
      context->lastSequence += 1;
      ASSERT_TRUE(memory.commit("c-1", *context).ok());
    });
    // Each waiter queues before the next one starts.
    std::this_thread::sleep_for(milliseconds(20));
  }
  // Another conversation is not held up.
  EXPECT_TRUE(memory.begin("c-2", milliseconds(100)).ok());
  memory.abort("c-2");
  ConversationContext first;
  ASSERT_TRUE(memory.commit("c-1", first).ok());
  for (std::thread& t : waiters) t.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
  auto last = memory.begin("c-1", milliseconds(100));
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->lastSequence, 5);  // no update lost
}

TEST(ShortTermMemoryTest, AWaitThatTimesOutGivesUpItsPlace) {
  InProcessShortTermMemory memory;
  ASSERT_TRUE(memory.begin("c-1", milliseconds(100)).ok());
  const auto timedOut = memory.begin("c-1", milliseconds(30));
  ASSERT_FALSE(timedOut.ok());
  EXPECT_NE(timedOut.error().message().find("still running"), std::string::npos);
  memory.abort("c-1");
  EXPECT_TRUE(memory.begin("c-1", milliseconds(100)).ok());  // not stuck behind the one gone
}

TEST(ShortTermMemoryTest, KeepsTheNewestTurnsAndForgetsIdleConversations) {
  auto now = std::chrono::steady_clock::now();
  InProcessOptions options;
  options.maxTurns = 3;
  options.ttl = std::chrono::seconds(60);
  options.now = [&] { return now; };
  InProcessShortTermMemory memory(options);
  auto context = memory.begin("c-1", milliseconds(10));
  ASSERT_TRUE(context.ok());
  for (int i = 1; i <= 5; ++i) context->turns.push_back(Turn{.sequence = i});
  context->lastSequence = 5;
  ASSERT_TRUE(memory.commit("c-1", *context).ok());
  context = memory.begin("c-1", milliseconds(10));
  ASSERT_EQ(context->turns.size(), 3U);
  EXPECT_EQ(context->turns.front().sequence, 3);
  memory.abort("c-1");

  now += std::chrono::minutes(5);                           // idle beyond the TTL
  ASSERT_TRUE(memory.begin("c-2", milliseconds(10)).ok());  // a new conversation sweeps
  memory.abort("c-2");
  context = memory.begin("c-1", milliseconds(10));
  EXPECT_EQ(context->lastSequence, 0);  // forgotten
}

TEST(ShortTermMemoryTest, CommitWithoutBeginIsAnError) {
  InProcessShortTermMemory memory;
  EXPECT_FALSE(memory.commit("c-1", ConversationContext{}).ok());
}

TEST(FactTest, ExtractsTheSubjectAndRepeatsItInTheSecondPerson) {
  const auto fact = nlu::extractFact("Remember that my locker code is 4512.");
  ASSERT_TRUE(fact.has_value());
  EXPECT_EQ(fact->key, "locker code");
  EXPECT_EQ(fact->value, "your locker code is 4512");
  const auto parked = nlu::extractFact("note that i parked on level 3");
  ASSERT_TRUE(parked.has_value());
  EXPECT_EQ(parked->value, "you parked on level 3");
  EXPECT_FALSE(nlu::extractFact("remember that").has_value());
}

TEST(LongTermMemoryTest, RecallsByKeywordPerUserAndUpdatesByKey) {
  InProcessLongTermMemory memory;
  const auto remember = [&](const std::string& utterance) {
    const auto stated = nlu::extractFact(utterance);
    return memory.remember("alice", Fact{.key = stated->key, .value = stated->value});
  };
  ASSERT_TRUE(remember("remember my locker code is 4512").ok());
  ASSERT_TRUE(remember("remember i'm allergic to peanuts").ok());
  ASSERT_TRUE(remember("remember my locker code is 9876").ok());
  auto facts = memory.recall("alice", "what's my locker code?", 5);
  ASSERT_TRUE(facts.ok());
  ASSERT_EQ(facts->size(), 1U);
  EXPECT_EQ(facts->front().value, "your locker code is 9876");  // the update replaced it
  facts = memory.recall("alice", "what do you remember about me", 5);
  EXPECT_EQ(facts->size(), 2U);  // nothing specific asked: everything, newest first
  facts = memory.recall("bob", "what's my locker code", 5);
  EXPECT_TRUE(facts->empty());
  facts = memory.recall("alice", "what is my wifi password", 5);
  EXPECT_TRUE(facts->empty());  // asked for something not remembered
}

class ValidateActionTest : public ::testing::Test {
 protected:
  ValidateActionTest()
      : dialogue_(*nlu::defaultAssistant(), DialogueOptions{}, shortTerm_, longTerm_, client_,
                  registry_) {}
  const nlu::IntentSpec& intent(const std::string& name) {
    assistant_ = *nlu::defaultAssistant();
    return *assistant_.findIntent(name);
  }
  nlu::Assistant assistant_;
  InProcessShortTermMemory shortTerm_;
  InProcessLongTermMemory longTerm_;
  va::service::HttpClient client_;
  prometheus::Registry registry_;
  DialogueManager dialogue_;
};

TEST_F(ValidateActionTest, AcceptsTheIntentsOwnActionWithWellTypedSlots) {
  const nlohmann::json slots = {{"party_size", "2"}, {"date", "2026-11-29"}, {"time", "19:00"}};
  EXPECT_EQ(dialogue_.validateAction(intent("book_table"), "book_table", slots), "");
  EXPECT_EQ(dialogue_.validateAction(intent("weather"), "weather", {{"city", "Paris"}}), "");
}

TEST_F(ValidateActionTest, RefusesAnotherIntentsActionMissingOrIllTypedSlots) {
  EXPECT_NE(dialogue_.validateAction(intent("greet"), "book_table", nlohmann::json::object()), "");
  EXPECT_NE(dialogue_.validateAction(intent("weather"), "book_table", {{"city", "Paris"}}), "");
  const nlohmann::json noTime = {{"party_size", "2"}, {"date", "2026-11-29"}};
  EXPECT_EQ(dialogue_.validateAction(intent("book_table"), "book_table", noTime),
            "action book_table needs slot time");
  const nlohmann::json badSize = {
      {"party_size", "2&admin=1"}, {"date", "2026-11-29"}, {"time", "19:00"}};
  EXPECT_EQ(dialogue_.validateAction(intent("book_table"), "book_table", badSize),
            "slot party_size is not a valid number");
  EXPECT_EQ(dialogue_.validateAction(intent("weather"), "weather", {{"city", "Atlantis"}}),
            "slot city is not a valid city");
}

TEST_F(ValidateActionTest, BadTurnBodiesAre400NamingTheField) {
  EXPECT_EQ(dialogue_.turn("{").status, 400);
  const Reply unknown = dialogue_.turn(R"({"conversation_id":"c","message_id":"m","text":"hi",
                                           "colour":"red"})");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(unknown.body["error"]["message"], "colour: unknown field");
  const Reply missing = dialogue_.turn(R"({"conversation_id":"c","text":"hi"})");
  EXPECT_EQ(missing.body["error"]["message"], "message_id: is required");
  const Reply typed = dialogue_.turn(R"({"conversation_id":"c","message_id":"m","text":5})");
  EXPECT_EQ(typed.body["error"]["message"], "text: must be a string");
}

}  // namespace
}  // namespace va::prefrontal_cortex
