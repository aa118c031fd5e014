// Facts in what users say, for the dialogue manager and the consolidation job: the fact a
// "remember ..." utterance states, and the keywords a question and a fact can share.
//   extractFact("remember that my locker code is 4512")
//     -> {key "locker code", value "your locker code is 4512"}
//   keywords("what's my locker code?") -> {"locker", "code"}
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace va::nlu {

struct FactText {
  std::string key;    // what the fact is about: "locker code"
  std::string value;  // the fact as the assistant repeats it, in the second person
};

// The fact stated by a request to remember something; empty when nothing is left once the
// request words are removed ("remember that").
std::optional<FactText> extractFact(std::string_view utterance);

// The words of `text` that can match a fact (lower case, without stop words, each once).
std::vector<std::string> keywords(std::string_view text);

}  // namespace va::nlu
