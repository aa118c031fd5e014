#include "workloads/prefrontal_cortex/memory.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <set>
#include <utility>

#include "workloads/nlu/facts.h"

namespace va::prefrontal_cortex {

using va::service::Error;
using va::service::Result;
using va::service::Status;

InProcessShortTermMemory::InProcessShortTermMemory(InProcessOptions options)
    : options_(std::move(options)) {}

Result<ConversationContext> InProcessShortTermMemory::begin(const std::string& conversationId,
                                                            std::chrono::milliseconds wait) {
  std::unique_lock lock(mutex_);
  auto it = conversations_.find(conversationId);
  if (it == conversations_.end()) {
    evictLocked();
    it = conversations_.emplace(conversationId, Entry{}).first;
  }
  Entry& entry = it->second;
  const std::uint64_t me = ++nextWaiter_;
  entry.waiting.push_back(me);
  const bool turn = cv_.wait_for(lock, wait, [&] {
    return !entry.busy && !entry.waiting.empty() && entry.waiting.front() == me;
  });
  if (!turn) {
    entry.waiting.erase(std::find(entry.waiting.begin(), entry.waiting.end(), me));
    cv_.notify_all();
    return Error("conversation " + conversationId + ": the previous turn is still running after " +
                 std::to_string(wait.count()) + " ms");
  }
  entry.waiting.pop_front();
  entry.busy = true;
  entry.touched = options_.now();
  return entry.context;
}

Status InProcessShortTermMemory::commit(const std::string& conversationId,
                                        const ConversationContext& context) {
  {
    const std::lock_guard lock(mutex_);
    const auto it = conversations_.find(conversationId);
    if (it == conversations_.end() || !it->second.busy) {
      return Error("conversation " + conversationId + ": commit without begin");
    }
    Entry& entry = it->second;
    entry.context = context;
    if (entry.context.turns.size() > options_.maxTurns) {
      const auto drop = static_cast<std::ptrdiff_t>(entry.context.turns.size() - options_.maxTurns);
      entry.context.turns.erase(entry.context.turns.begin(), entry.context.turns.begin() + drop);
    }
    entry.busy = false;
    entry.touched = options_.now();
  }
  cv_.notify_all();
  return {};
}

void InProcessShortTermMemory::abort(const std::string& conversationId) {
  {
    const std::lock_guard lock(mutex_);
    const auto it = conversations_.find(conversationId);
    if (it != conversations_.end()) it->second.busy = false;
  }
  cv_.notify_all();
}

void InProcessShortTermMemory::evictLocked() {
  const auto now = options_.now();
  const auto idle = [](const Entry& e) { return !e.busy && e.waiting.empty(); };
  // Expired conversations are swept at most once a minute (a sweep visits every conversation).
  if (now - lastSweep_ >= std::chrono::minutes(1)) {
    lastSweep_ = now;
    for (auto it = conversations_.begin(); it != conversations_.end();) {
      it = idle(it->second) && now - it->second.touched > options_.ttl ? conversations_.erase(it)
                                                                       : std::next(it);
    }
  }
  while (conversations_.size() >= options_.maxConversations) {
    auto oldest = conversations_.end();
    for (auto it = conversations_.begin(); it != conversations_.end(); ++it) {
      if (idle(it->second) &&
          (oldest == conversations_.end() || it->second.touched < oldest->second.touched)) {
        oldest = it;
      }
    }
    if (oldest == conversations_.end()) return;  // every conversation is in a turn
    conversations_.erase(oldest);
  }
}

InProcessLongTermMemory::InProcessLongTermMemory(InProcessOptions options)
    : options_(std::move(options)) {}

Status InProcessLongTermMemory::remember(const std::string& user, Fact fact) {
  const std::lock_guard lock(mutex_);
  std::vector<Fact>& facts = facts_[user];
  for (Fact& existing : facts) {
    if (existing.key == fact.key) {
      existing = std::move(fact);
      return {};
    }
  }
  if (facts.size() >= options_.maxFactsPerUser) facts.erase(facts.begin());
  facts.push_back(std::move(fact));
  return {};
}

Result<std::vector<Fact>> InProcessLongTermMemory::recall(const std::string& user,
                                                          std::string_view query,
                                                          std::size_t limit) {
  const std::lock_guard lock(mutex_);
  const auto it = facts_.find(user);
  if (it == facts_.end()) return std::vector<Fact>{};
  const std::vector<std::string> wanted = nlu::keywords(query);
  std::vector<std::pair<std::size_t, const Fact*>> scored;
  for (const Fact& fact : it->second) {
    const std::vector<std::string> have = nlu::keywords(fact.key + " " + fact.value);
    std::size_t score = 0;
    for (const std::string& word : wanted) {
      if (std::find(have.begin(), have.end(), word) != have.end()) ++score;
    }
    if (score > 0) scored.emplace_back(score, &fact);
  }
  if (wanted.empty()) {  // nothing specific asked: the newest facts
    const std::vector<Fact>& all = it->second;
    for (std::size_t i = all.size(); i > 0; --i) scored.emplace_back(0, &all[i - 1]);
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<Fact> out;
  for (const auto& [score, fact] : scored) {
    if (out.size() == limit) break;
    out.push_back(*fact);
  }
  return out;
}

}  // namespace va::prefrontal_cortex
