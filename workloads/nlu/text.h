// Text normalisation shared by the intent classifier: lower-cases ASCII, drops apostrophes inside
// words ("don't" -> "dont") and splits on everything else that is not a letter or a digit.
//   tokenize("What's the weather in Paris?") == {"whats", "the", "weather", "in", "paris"}
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace va::nlu {

// Lower-cases ASCII letters; bytes of multi-byte UTF-8 characters are kept as they are.
std::string toLowerAscii(std::string_view text);

// Words of the normalised text. Non-ASCII bytes count as letters; the symbols $ % & + # @ become
// words of their own because they carry meaning ("$20", "50%").
std::vector<std::string> tokenize(std::string_view text);

}  // namespace va::nlu
