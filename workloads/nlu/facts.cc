#include "workloads/nlu/facts.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <functional>
#include <map>
#include <set>
#include <utility>

namespace va::nlu {

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

std::optional<FactText> extractFact(std::string_view utterance) {
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
  FactText fact;
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

}  // namespace va::nlu
