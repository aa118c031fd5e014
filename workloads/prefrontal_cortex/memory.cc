#include "workloads/prefrontal_cortex/memory.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <set>
#include <utility>

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

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::vector<std::string> words(std::string_view text) {
  std::vector<std::string> out;
  std::string word;
  for (const char c : lower(text)) {
    if (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '\'') {
      word += c;
    } else if (!word.empty()) {
      out.push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) out.push_back(std::move(word));
  return out;
}

const std::set<std::string, std::less<>>& stopWords() {
  static const std::set<std::string, std::less<>> kStop = {
      "a",    "about", "again",  "am",    "an",     "and",    "any",      "are",    "as",
      "ask",  "at",    "be",     "can",   "could",  "did",    "do",       "does",   "earlier",
      "for",  "from",  "have",   "i",     "i'm",    "in",     "is",       "it",     "know",
      "me",   "my",    "of",     "on",    "please", "recall", "remember", "remind", "said",
      "save", "saved", "say",    "tell",  "that",   "the",    "this",     "to",     "told",
      "was",  "what",  "what's", "where", "which",  "who",    "you",      "your",   "facts",
      "fact", "again", "about",  "again", "with",   "there"};
  return kStop;
}

// The request words a "remember ..." utterance starts with, longest first.
constexpr std::array<std::string_view, 22> kRequestPrefixes = {"i want you to remember that ",
                                                               "i want you to remember ",
                                                               "can you remember that ",
                                                               "can you remember ",
                                                               "please remember that ",
                                                               "please remember ",
                                                               "remember this for me, ",
                                                               "remember that ",
                                                               "remember ",
                                                               "don't forget that ",
                                                               "don't forget ",
                                                               "keep in mind that ",
                                                               "make a note that ",
                                                               "make a note ",
                                                               "note that ",
                                                               "store the fact that ",
                                                               "save this, ",
                                                               "memorize that ",
                                                               "memorise that ",
                                                               "jot down that ",
                                                               "jot down ",
                                                               "save that "};

// Second person for the reply: "my locker code" -> "your locker code".
std::string secondPerson(const std::vector<std::string>& tokens) {
  static const std::map<std::string, std::string, std::less<>> kSwap = {
      {"my", "your"},    {"i", "you"},  {"i'm", "you're"},      {"me", "you"},
      {"mine", "yours"}, {"am", "are"}, {"myself", "yourself"}, {"i've", "you've"}};
  std::string out;
  for (const std::string& token : tokens) {
    if (!out.empty()) out += ' ';
    const auto it = kSwap.find(token);
    out += it == kSwap.end() ? token : it->second;
  }
  return out;
}

}  // namespace

std::vector<std::string> keywords(std::string_view text) {
  std::vector<std::string> out;
  for (std::string& word : words(text)) {
    if (!stopWords().contains(word) && std::find(out.begin(), out.end(), word) == out.end()) {
      out.push_back(std::move(word));
    }
  }
  return out;
}

std::optional<Fact> extractFact(std::string_view utterance) {
  std::string text = lower(utterance);
  while (!text.empty() && (text.back() == '.' || text.back() == '!' || text.back() == ' ')) {
    text.pop_back();
  }
  for (const std::string_view prefix : kRequestPrefixes) {
    if (text.rfind(prefix, 0) == 0) {
      text.erase(0, prefix.size());
      break;
    }
  }
  const std::vector<std::string> tokens = words(text);
  if (keywords(text).empty()) return std::nullopt;  // nothing but request words ("that")
  Fact fact;
  fact.value = secondPerson(tokens);
  // The subject is what comes before " is " or " are " ("my locker code"), else every keyword.
  std::vector<std::string> subject;
  for (const std::string& token : tokens) {
    if (token == "is" || token == "are" || token == "was") break;
    subject.push_back(token);
  }
  if (subject.size() == tokens.size()) subject = keywords(text);
  std::string key;
  for (const std::string& word : subject) {
    if (word == "my" || word == "the" || word == "i") continue;
    if (!key.empty()) key += ' ';
    key += word;
  }
  fact.key = key.empty() ? fact.value : key;
  return fact;
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
  const std::vector<std::string> wanted = keywords(query);
  std::vector<std::pair<std::size_t, const Fact*>> scored;
  for (const Fact& fact : it->second) {
    const std::vector<std::string> have = keywords(fact.key + " " + fact.value);
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
