// Finds entities in an utterance: numbers (digits and number words), dates (today, tomorrow,
// weekdays, ISO dates, "March 3"), times ("5pm", "17:30", "noon"), e-mail addresses, and the
// values of an assistant's slot types (synonym lists). Values come out canonical: dates as
// YYYY-MM-DD, times as HH:MM (24 h), numbers without grouping, slot values as declared.
//   EntityExtractor extractor(assistant.slot_types);
//   for (const Entity& e : extractor.extract("table for two tomorrow at 7pm", today)) ...
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace va::nlu {

struct Entity {
  std::string type;  // "number", "date", "time", "email", or the name of a slot type
  std::string value;
  std::size_t start = 0;  // byte offsets [start, end) into the utterance
  std::size_t end = 0;
};

// One value of a slot type and the phrases that name it ("New York": "nyc", "big apple").
struct SlotValue {
  std::string value;
  std::vector<std::string> synonyms;
};

struct SlotType {
  std::string name;
  std::vector<SlotValue> values;
};

// The entity types every assistant has without declaring them.
inline constexpr std::string_view kBuiltinEntityTypes[] = {"number", "date", "time", "email"};
bool isBuiltinEntityType(std::string_view type);

class EntityExtractor {
 public:
  explicit EntityExtractor(const std::vector<SlotType>& slotTypes = {});

  // Non-overlapping entities in order of position. Relative dates count from `today`; a
  // weekday means its next occurrence after today, a day without a year its next occurrence
  // from today on.
  [[nodiscard]] std::vector<Entity> extract(std::string_view text,
                                            std::chrono::year_month_day today) const;

 private:
  struct Phrase {
    std::vector<std::string> words;
    std::string type;
    std::string value;
  };
  std::map<std::string, std::vector<Phrase>, std::less<>> phrasesByFirstWord_;  // longest first
};

}  // namespace va::nlu
