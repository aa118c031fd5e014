#include "workloads/nlu/text.h"

namespace va::nlu {
namespace {

bool isWordByte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

bool isSymbolWord(char c) {
  return c == '$' || c == '%' || c == '&' || c == '+' || c == '#' || c == '@';
}

char lowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// The right single quotation mark U+2019 is written as an apostrophe by many keyboards.
constexpr std::string_view kCurlyApostrophe = "\xE2\x80\x99";

}  // namespace

std::string toLowerAscii(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = lowerAscii(c);
  return out;
}

std::vector<std::string> tokenize(std::string_view text) {
  std::vector<std::string> words;
  std::string current;
  const auto flush = [&] {
    if (!current.empty()) words.push_back(std::move(current));
    current.clear();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool apostrophe = c == '\'' || text.substr(i).starts_with(kCurlyApostrophe);
    if (apostrophe) {
      const std::size_t next = c == '\'' ? i + 1 : i + kCurlyApostrophe.size();
      // Inside a word the apostrophe joins its halves; elsewhere it is a separator.
      if (!current.empty() && next < text.size() &&
          isWordByte(static_cast<unsigned char>(text[next]))) {
        i = next - 1;
        continue;
      }
      flush();
      i = next - 1;
    } else if (isWordByte(static_cast<unsigned char>(c))) {
      current.push_back(lowerAscii(c));
    } else {
      flush();
      if (isSymbolWord(c)) words.emplace_back(1, c);
    }
  }
  flush();
  return words;
}

}  // namespace va::nlu
