#include "workloads/nlu/entities.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <optional>

#include "workloads/nlu/text.h"

namespace va::nlu {
namespace {

using std::chrono::day;
using std::chrono::days;
using std::chrono::month;
using std::chrono::sys_days;
using std::chrono::weekday;
using std::chrono::year;
using std::chrono::year_month_day;

enum class Kind { kWord, kDigits, kSymbol, kEnd };

struct Token {
  std::string text;  // lower-cased
  std::size_t start = 0;
  std::size_t end = 0;
  Kind kind = Kind::kWord;
};

struct Match {
  std::size_t count = 0;  // tokens consumed
  std::string type;
  std::string value;
};

bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isLetter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || static_cast<unsigned char>(c) >= 0x80;
}

std::vector<Token> lex(std::string_view text) {
  std::vector<Token> tokens;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t start = i;
    Kind kind = Kind::kSymbol;
    if (isDigit(text[i])) {
      kind = Kind::kDigits;
      while (i < text.size() && isDigit(text[i])) ++i;
    } else if (isLetter(text[i])) {
      kind = Kind::kWord;
      while (i < text.size() && isLetter(text[i])) ++i;
    } else if (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r') {
      ++i;
      continue;
    } else {
      ++i;
    }
    tokens.push_back({toLowerAscii(text.substr(start, i - start)), start, i, kind});
  }
  return tokens;
}

// Reads tokens from a position, with the checks every matcher needs.
class Cursor {
 public:
  Cursor(const std::vector<Token>& tokens, std::size_t at) : tokens_(tokens), at_(at) {}
  // Past the end: a token of kind kEnd with no text, which no matcher accepts.
  [[nodiscard]] const Token& token(std::size_t ahead = 0) const {
    static const Token kEnd{"", 0, 0, Kind::kEnd};
    return at_ + ahead < tokens_.size() ? tokens_[at_ + ahead] : kEnd;
  }
  [[nodiscard]] bool is(std::size_t ahead, std::string_view text) const {
    return token(ahead).kind != Kind::kEnd && token(ahead).text == text;
  }
  // Token `ahead` starts right where the previous one ends ("5pm", "17:30").
  [[nodiscard]] bool joined(std::size_t ahead) const {
    return token(ahead).kind != Kind::kEnd && ahead > 0 &&
           tokens_[at_ + ahead - 1].end == token(ahead).start;
  }
  [[nodiscard]] std::size_t position() const { return at_; }

 private:
  const std::vector<Token>& tokens_;
  std::size_t at_;
};

std::optional<int> smallNumberWord(std::string_view word) {
  static constexpr std::array<std::string_view, 20> kUnits = {
      "zero",     "one",     "two",     "three",     "four",     "five",    "six",
      "seven",    "eight",   "nine",    "ten",       "eleven",   "twelve",  "thirteen",
      "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"};
  for (std::size_t i = 0; i < kUnits.size(); ++i) {
    if (kUnits[i] == word) return static_cast<int>(i);
  }
  return std::nullopt;
}

std::optional<int> tensWord(std::string_view word) {
  static constexpr std::array<std::string_view, 8> kTens = {
      "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"};
  for (std::size_t i = 0; i < kTens.size(); ++i) {
    if (kTens[i] == word) return static_cast<int>(20 + 10 * i);
  }
  return std::nullopt;
}

// 0..99 in words: "seven", "fifteen", "forty two", "forty-two". Returns the value and tokens used.
std::optional<std::pair<int, std::size_t>> wordsBelowHundred(const Cursor& c, std::size_t at) {
  const Token& t = c.token(at);
  if (auto small = smallNumberWord(t.text)) return std::pair{*small, std::size_t{1}};
  const auto tens = tensWord(t.text);
  if (!tens) return std::nullopt;
  std::size_t next = at + 1;
  if (c.is(next, "-") && c.joined(next)) ++next;
  if (auto unit = smallNumberWord(c.token(next).text); unit && *unit >= 1 && *unit <= 9) {
    return std::pair{*tens + *unit, next + 1 - at};
  }
  return std::pair{*tens, std::size_t{1}};
}

std::optional<std::pair<long, std::size_t>> numberWords(const Cursor& c) {
  long value = 0;
  std::size_t used = 0;
  if (c.is(0, "a") && (c.is(1, "hundred") || c.is(1, "thousand"))) {
    value = 1;
    used = 1;
  } else if (auto low = wordsBelowHundred(c, 0)) {
    value = low->first;
    used = low->second;
  } else {
    return std::nullopt;
  }
  for (const auto& [word, factor] : {std::pair{"hundred", 100L}, std::pair{"thousand", 1000L}}) {
    if (!c.is(used, word)) continue;
    value *= factor;
    ++used;
    std::size_t rest = used;
    if (c.is(rest, "and")) ++rest;
    if (auto low = wordsBelowHundred(c, rest)) {
      value += low->first;
      used = rest + low->second;
    }
  }
  return std::pair{value, used};
}

std::optional<Match> matchNumber(const Cursor& c) {
  const Token& t = c.token(0);
  if (t.kind != Kind::kDigits) {
    auto words = numberWords(c);
    if (!words) return std::nullopt;
    return Match{words->second, "number", std::to_string(words->first)};
  }
  std::string value = t.text;
  std::size_t used = 1;
  // Thousands groups ("1,000"), then a decimal part ("3.5").
  while (c.is(used, ",") && c.joined(used) && c.joined(used + 1) &&
         c.token(used + 1).kind == Kind::kDigits && c.token(used + 1).text.size() == 3) {
    value += c.token(used + 1).text;
    used += 2;
  }
  if (c.is(used, ".") && c.joined(used) && c.joined(used + 1) &&
      c.token(used + 1).kind == Kind::kDigits) {
    value += "." + c.token(used + 1).text;
    used += 2;
  }
  const Token& suffix = c.token(used);
  if (c.joined(used) &&
      (suffix.text == "st" || suffix.text == "nd" || suffix.text == "rd" || suffix.text == "th")) {
    ++used;  // an ordinal, "3rd"
  }
  const std::size_t firstNonZero = value.find_first_not_of('0');
  if (firstNonZero == std::string::npos) {
    value = "0";
  } else if (value[firstNonZero] != '.') {
    value.erase(0, firstNonZero);
  }
  return Match{used, "number", value};
}

std::string twoDigits(unsigned value) {
  std::array<char, 8> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "%02u", value % 100);
  return buffer.data();
}

std::string isoDate(const year_month_day& date) {
  return std::to_string(static_cast<int>(date.year())) + "-" +
         twoDigits(static_cast<unsigned>(date.month())) + "-" +
         twoDigits(static_cast<unsigned>(date.day()));
}

std::optional<Match> matchTime(const Cursor& c) {
  const Token& t = c.token(0);
  if (t.text == "noon" || t.text == "midday") return Match{1, "time", "12:00"};
  if (t.text == "midnight") return Match{1, "time", "00:00"};

  int hour = -1;
  int minute = 0;
  bool hasMinutes = false;
  std::size_t used = 1;
  if (t.kind == Kind::kDigits && t.text.size() <= 2) {
    hour = std::stoi(t.text);
    if (c.is(1, ":") && c.joined(1) && c.joined(2) && c.token(2).kind == Kind::kDigits &&
        c.token(2).text.size() == 2) {
      minute = std::stoi(c.token(2).text);
      hasMinutes = true;
      used = 3;
    }
  } else if (auto word = smallNumberWord(t.text); word && *word >= 1 && *word <= 12) {
    hour = *word;
  } else {
    return std::nullopt;
  }
  if (minute > 59) return std::nullopt;

  // am / pm, also written "a.m." or "p.m.".
  std::optional<bool> afternoon;
  const Token& m = c.token(used);
  if ((m.text == "am" || m.text == "pm")) {
    afternoon = m.text == "pm";
    ++used;
    if (c.is(used, ".") && c.joined(used)) ++used;
  } else if ((m.text == "a" || m.text == "p") && c.is(used + 1, ".") && c.is(used + 2, "m") &&
             c.joined(used + 1) && c.joined(used + 2)) {
    afternoon = m.text == "p";
    used += 3;
    if (c.is(used, ".") && c.joined(used)) ++used;
  }
  if (afternoon) {
    if (hour < 1 || hour > 12) return std::nullopt;
    hour = hour % 12 + (*afternoon ? 12 : 0);
  } else if (c.is(used, "o") && (c.is(used + 1, "'") || c.is(used + 1, "\xE2\x80\x99")) &&
             c.is(used + 2, "clock")) {
    if (hour < 1 || hour > 12) return std::nullopt;
    used += 3;
  } else if (!hasMinutes || hour > 23) {
    return std::nullopt;  // a bare number is a number, not a time
  }
  return Match{
      used, "time",
      twoDigits(static_cast<unsigned>(hour)) + ":" + twoDigits(static_cast<unsigned>(minute))};
}

std::optional<unsigned> monthWord(std::string_view word) {
  static constexpr std::array<std::string_view, 12> kMonths = {
      "january", "february", "march",     "april",   "may",      "june",
      "july",    "august",   "september", "october", "november", "december"};
  for (std::size_t i = 0; i < kMonths.size(); ++i) {
    const std::string_view name = kMonths[i];
    if (word == name || (word.size() == 3 && name.starts_with(word)) ||
        (word == "sept" && i == 8)) {
      return static_cast<unsigned>(i + 1);
    }
  }
  return std::nullopt;
}

std::optional<int> weekdayWord(std::string_view word) {
  static constexpr std::array<std::string_view, 7> kDays = {
      "sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"};
  for (std::size_t i = 0; i < kDays.size(); ++i) {
    if (kDays[i] == word) return static_cast<int>(i);
  }
  return std::nullopt;
}

// A day of the month as digits with an optional ordinal suffix: "3", "3rd". Returns the day and
// the tokens used.
std::optional<std::pair<unsigned, std::size_t>> dayNumber(const Cursor& c, std::size_t at) {
  const Token& t = c.token(at);
  if (t.kind != Kind::kDigits || t.text.size() > 2) return std::nullopt;
  const auto value = static_cast<unsigned>(std::stoi(t.text));
  if (value < 1 || value > 31) return std::nullopt;
  const Token& suffix = c.token(at + 1);
  if (c.joined(at + 1) &&
      (suffix.text == "st" || suffix.text == "nd" || suffix.text == "rd" || suffix.text == "th")) {
    return std::pair{value, std::size_t{2}};
  }
  return std::pair{value, std::size_t{1}};
}

// A four-digit year after a month and day, with an optional comma: "March 3, 2025".
std::optional<std::pair<int, std::size_t>> yearAfter(const Cursor& c, std::size_t at) {
  const std::size_t digits = c.is(at, ",") ? at + 1 : at;
  const Token& t = c.token(digits);
  if (t.kind != Kind::kDigits || t.text.size() != 4) return std::nullopt;
  return std::pair{std::stoi(t.text), digits + 1 - at};
}

std::optional<Match> dateMatch(std::size_t used, unsigned m, unsigned d, std::optional<int> y,
                               const year_month_day& today) {
  if (y) {
    const year_month_day date{year{*y}, month{m}, day{d}};
    if (!date.ok()) return std::nullopt;
    return Match{used, "date", isoDate(date)};
  }
  // The next occurrence from today on; 29 February may be up to eight years ahead.
  for (int ahead = 0; ahead <= 8; ++ahead) {
    const year_month_day date{today.year() + std::chrono::years{ahead}, month{m}, day{d}};
    if (date.ok() && sys_days(date) >= sys_days(today)) return Match{used, "date", isoDate(date)};
  }
  return std::nullopt;
}

std::optional<Match> matchDate(const Cursor& c, const year_month_day& today) {
  const Token& t = c.token(0);
  const auto relative = [&](int offset, std::size_t used) {
    return Match{used, "date", isoDate(year_month_day{sys_days(today) + days{offset}})};
  };
  if (t.text == "today" || t.text == "tonight") return relative(0, 1);
  if (t.text == "tomorrow") return relative(1, 1);
  if (t.text == "yesterday") return relative(-1, 1);
  if (t.text == "day" && c.is(1, "after") && c.is(2, "tomorrow")) return relative(2, 3);

  const std::size_t dayAt = (t.text == "next" || t.text == "this") ? 1 : 0;
  if (auto target = weekdayWord(c.token(dayAt).text)) {
    const int current = static_cast<int>(weekday(sys_days(today)).c_encoding());
    return relative((*target - current + 6) % 7 + 1, dayAt + 1);
  }

  const auto shortDigits = [&](std::size_t ahead) {  // also keeps std::stoi in range
    return c.token(ahead).kind == Kind::kDigits && c.token(ahead).text.size() <= 2;
  };
  if (t.kind == Kind::kDigits && t.text.size() == 4 && c.is(1, "-") && c.joined(1) && c.joined(2) &&
      shortDigits(2) && c.is(3, "-") && c.joined(3) && c.joined(4) &&
      shortDigits(4)) {  // ISO 8601: 2024-03-05
    return dateMatch(5, static_cast<unsigned>(std::stoi(c.token(2).text)),
                     static_cast<unsigned>(std::stoi(c.token(4).text)), std::stoi(t.text), today);
  }

  if (auto m = monthWord(t.text)) {  // "March 3", "Mar. 3rd, 2025"
    std::size_t used = 1;
    if (c.is(used, ".") && c.joined(used)) ++used;
    const auto d = dayNumber(c, used);
    if (!d) return std::nullopt;
    used += d->second;
    const auto y = yearAfter(c, used);
    return dateMatch(used + (y ? y->second : 0), *m, d->first,
                     y ? std::optional<int>(y->first) : std::nullopt, today);
  }
  if (auto d = dayNumber(c, 0)) {  // "3 March", "3rd of March 2025"
    std::size_t used = d->second;
    if (c.is(used, "of")) ++used;
    const Token& monthToken = c.token(used);
    const auto m = monthWord(monthToken.text);
    if (!m) return std::nullopt;
    ++used;
    const auto y = yearAfter(c, used);
    return dateMatch(used + (y ? y->second : 0), *m, d->first,
                     y ? std::optional<int>(y->first) : std::nullopt, today);
  }
  return std::nullopt;
}

// E-mail addresses found on the raw text: local@domain.tld.
std::vector<Entity> findEmails(std::string_view text) {
  const auto localChar = [](char ch) {
    return isDigit(ch) || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '.' ||
           ch == '_' || ch == '%' || ch == '+' || ch == '-';
  };
  const auto domainChar = [](char ch) {
    return isDigit(ch) || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '.' ||
           ch == '-';
  };
  std::vector<Entity> emails;
  std::size_t searchFrom = 0;
  for (std::size_t at = text.find('@'); at != std::string_view::npos;
       at = text.find('@', searchFrom)) {
    searchFrom = at + 1;
    std::size_t start = at;
    while (start > 0 && localChar(text[start - 1])) --start;
    std::size_t end = at + 1;
    while (end < text.size() && domainChar(text[end])) ++end;
    while (end > at + 1 && (text[end - 1] == '.' || text[end - 1] == '-')) --end;  // "me@x.org."
    const std::string_view domain = text.substr(at + 1, end - at - 1);
    const std::size_t dot = domain.rfind('.');
    if (start == at || dot == std::string_view::npos || dot == 0 || domain.front() == '.' ||
        domain.front() == '-' || domain.find("..") != std::string_view::npos ||
        domain.size() - dot < 3) {
      continue;
    }
    emails.push_back({"email",
                      std::string(text.substr(start, at - start + 1)) + toLowerAscii(domain), start,
                      end});
    searchFrom = end;
  }
  return emails;
}

}  // namespace

bool isBuiltinEntityType(std::string_view type) {
  return std::find(std::begin(kBuiltinEntityTypes), std::end(kBuiltinEntityTypes), type) !=
         std::end(kBuiltinEntityTypes);
}

EntityExtractor::EntityExtractor(const std::vector<SlotType>& slotTypes) {
  for (const SlotType& slotType : slotTypes) {
    for (const SlotValue& slotValue : slotType.values) {
      std::vector<std::string> names = slotValue.synonyms;
      names.push_back(slotValue.value);
      for (const std::string& name : names) {
        Phrase phrase{tokenize(name), slotType.name, slotValue.value};
        if (phrase.words.empty()) continue;
        phrasesByFirstWord_[phrase.words.front()].push_back(std::move(phrase));
      }
    }
  }
  for (auto& [first, phrases] : phrasesByFirstWord_) {
    std::stable_sort(phrases.begin(), phrases.end(), [](const Phrase& a, const Phrase& b) {
      return a.words.size() > b.words.size();
    });
  }
}

std::vector<Entity> EntityExtractor::extract(std::string_view text,
                                             std::chrono::year_month_day today) const {
  const std::vector<Entity> emails = findEmails(text);
  const std::vector<Token> tokens = lex(text);
  // Words only (symbols skipped), for matching slot phrases: "st. louis" == "st louis".
  std::vector<std::size_t> wordTokens;
  std::vector<std::size_t> wordIndexOf(tokens.size(), 0);
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    wordIndexOf[i] = wordTokens.size();
    if (tokens[i].kind != Kind::kSymbol) wordTokens.push_back(i);
  }
  const auto matchPhrase = [&](std::size_t i) -> std::optional<Match> {
    if (tokens[i].kind == Kind::kSymbol) return std::nullopt;
    const auto found = phrasesByFirstWord_.find(tokens[i].text);
    if (found == phrasesByFirstWord_.end()) return std::nullopt;
    const std::size_t w = wordIndexOf[i];
    for (const Phrase& phrase : found->second) {
      if (w + phrase.words.size() > wordTokens.size()) continue;
      bool same = true;
      for (std::size_t k = 0; k < phrase.words.size() && same; ++k) {
        same = tokens[wordTokens[w + k]].text == phrase.words[k];
      }
      if (same) {
        return Match{wordTokens[w + phrase.words.size() - 1] + 1 - i, phrase.type, phrase.value};
      }
    }
    return std::nullopt;
  };

  std::vector<Entity> entities;
  std::size_t nextEmail = 0;
  for (std::size_t i = 0; i < tokens.size();) {
    if (nextEmail < emails.size() && tokens[i].end > emails[nextEmail].start) {
      const Entity& email = emails[nextEmail++];
      entities.push_back(email);
      while (i < tokens.size() && tokens[i].start < email.end) ++i;
      continue;
    }
    const Cursor cursor(tokens, i);
    std::optional<Match> match = matchDate(cursor, today);
    if (!match) match = matchTime(cursor);
    if (!match) match = matchPhrase(i);
    if (!match) match = matchNumber(cursor);
    if (!match) {
      ++i;
      continue;
    }
    const std::size_t last = std::min(tokens.size(), i + match->count) - 1;
    entities.push_back(
        {std::move(match->type), std::move(match->value), tokens[i].start, tokens[last].end});
    i = last + 1;
  }
  return entities;
}

}  // namespace va::nlu
