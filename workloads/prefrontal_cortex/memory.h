// What the dialogue manager remembers, behind two small interfaces:
//   ShortTermMemory  a conversation's context (the last turns, the intent waiting for a slot,
//                    the slots filled so far, the callback URL) and its turn order: begin()
//                    waits until the conversation's previous turn has ended, so the turns of one
//                    conversation are processed one at a time and in arrival order.
//   LongTermMemory   facts a user asked the assistant to remember, recalled by keywords.
// The in-process implementations below keep everything in this process's memory (bounded, with
// a TTL); the short-term-mem (Redis) and long-term-mem (PostgreSQL) services implement the same
// interfaces over HTTP, so that several replicas share them.
//   InProcessShortTermMemory stm({.maxTurns = 20, .ttl = std::chrono::hours(24)});
//   auto context = stm.begin("c-1", std::chrono::seconds(10));   // the conversation's turn
//   context->slots["city"] = "Paris";
//   stm.commit("c-1", *context);                                 // saves and ends the turn
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "workloads/common/result.h"
#include "workloads/nlu/engine.h"

namespace va::prefrontal_cortex {

struct Turn {
  std::int64_t sequence = 0;
  std::string messageId{};
  std::string userText{};
  std::string intent{};
  std::string reply{};
};

struct ConversationContext {
  std::int64_t lastSequence = 0;  // the sequence of the newest committed turn
  std::vector<Turn> turns;        // the newest last, at most maxTurns
  std::string pendingIntent;      // the intent waiting for a slot, or empty
  nlu::Values slots;              // the pending intent's slots filled so far
  std::string callbackUrl;        // where replies are also delivered, or empty
  std::string user;
};

class ShortTermMemory {
 public:
  virtual ~ShortTermMemory() = default;
  // Waits (up to `wait`) until no other turn of the conversation is running, then returns its
  // context; the caller must end the turn with commit() or abort(). A timeout is an error whose
  // message says so (the caller answers 503).
  virtual va::service::Result<ConversationContext> begin(const std::string& conversationId,
                                                         std::chrono::milliseconds wait) = 0;
  virtual va::service::Status commit(const std::string& conversationId,
                                     const ConversationContext& context) = 0;
  virtual void abort(const std::string& conversationId) = 0;
};

struct Fact {
  std::string key{};    // what the fact is about: "locker code"
  std::string value{};  // the fact as the assistant repeats it: "your locker code is 4512"
  std::string sourceConversation{};
  std::int64_t sourceTurn = 0;
  std::chrono::system_clock::time_point updatedAt{};
};

class LongTermMemory {
 public:
  virtual ~LongTermMemory() = default;
  // Adds the fact, or updates the user's fact with the same key.
  virtual va::service::Status remember(const std::string& user, Fact fact) = 0;
  // The user's facts sharing a keyword with `query`, best first; all of them (newest first)
  // when the query names nothing specific ("what do you remember about me").
  virtual va::service::Result<std::vector<Fact>> recall(const std::string& user,
                                                        std::string_view query,
                                                        std::size_t limit) = 0;
};

struct InProcessOptions {
  std::size_t maxTurns = 20;
  std::chrono::seconds ttl{24 * 3600};  // a conversation idle this long is forgotten
  std::size_t maxConversations = 100000;
  std::size_t maxFactsPerUser = 200;
  std::function<std::chrono::steady_clock::time_point()> now = std::chrono::steady_clock::now;
};

class InProcessShortTermMemory final : public ShortTermMemory {
 public:
  explicit InProcessShortTermMemory(InProcessOptions options = {});
  va::service::Result<ConversationContext> begin(const std::string& conversationId,
                                                 std::chrono::milliseconds wait) override;
  va::service::Status commit(const std::string& conversationId,
                             const ConversationContext& context) override;
  void abort(const std::string& conversationId) override;

 private:
  struct Entry {
    ConversationContext context;
    bool busy = false;
    std::deque<std::uint64_t> waiting;  // the turns waiting, in arrival order
    std::chrono::steady_clock::time_point touched;
  };
  void evictLocked();

  InProcessOptions options_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::uint64_t nextWaiter_ = 0;
  std::chrono::steady_clock::time_point lastSweep_{};
  std::map<std::string, Entry, std::less<>> conversations_;
};

class InProcessLongTermMemory final : public LongTermMemory {
 public:
  explicit InProcessLongTermMemory(InProcessOptions options = {});
  va::service::Status remember(const std::string& user, Fact fact) override;
  va::service::Result<std::vector<Fact>> recall(const std::string& user, std::string_view query,
                                                std::size_t limit) override;

 private:
  InProcessOptions options_;
  std::mutex mutex_;
  std::map<std::string, std::vector<Fact>, std::less<>> facts_;
};

}  // namespace va::prefrontal_cortex
