#include "workloads/nlu/entities.h"

#include <gtest/gtest.h>

namespace va::nlu {
namespace {

using std::chrono::day;
using std::chrono::month;
using std::chrono::year;

// Friday 1 March 2024 (a leap year).
const std::chrono::year_month_day kToday{year{2024}, month{3}, day{1}};

std::vector<SlotType> cities() {
  return {
      {"city", {{"New York", {"new york", "nyc"}}, {"St. Louis", {"st louis"}}, {"Paris", {}}}}};
}

// Entities as "type=value" joined by "; ".
std::string extract(std::string_view text) {
  const EntityExtractor extractor(cities());
  std::string out;
  for (const Entity& e : extractor.extract(text, kToday)) {
    out += (out.empty() ? "" : "; ") + e.type + "=" + e.value;
  }
  return out;
}

struct Case {
  const char* text;
  const char* expected;
};

class EntityTableTest : public ::testing::TestWithParam<Case> {};

TEST_P(EntityTableTest, Extracts) { EXPECT_EQ(extract(GetParam().text), GetParam().expected); }

INSTANTIATE_TEST_SUITE_P(
    Numbers, EntityTableTest,
    ::testing::Values(Case{"a table for 4 people", "number=4"},
                      Case{"twenty-one guests", "number=21"},
                      Case{"twenty one guests", "number=21"},
                      Case{"two hundred and five", "number=205"}, Case{"a hundred", "number=100"},
                      Case{"three thousand", "number=3000"},
                      Case{"it costs 1,000 dollars", "number=1000"},
                      Case{"3.5 miles", "number=3.5"}, Case{"agent 007", "number=7"},
                      Case{"the 3rd floor", "number=3"}, Case{"no numbers here", ""}));

INSTANTIATE_TEST_SUITE_P(
    Dates, EntityTableTest,
    ::testing::Values(
        Case{"today", "date=2024-03-01"}, Case{"tomorrow", "date=2024-03-02"},
        Case{"yesterday", "date=2024-02-29"}, Case{"the day after tomorrow", "date=2024-03-03"},
        Case{"on monday", "date=2024-03-04"},
        Case{"this friday", "date=2024-03-08"},  // the next one, not today
        Case{"next Thursday", "date=2024-03-07"}, Case{"on 2024-12-25", "date=2024-12-25"},
        Case{"March 3", "date=2024-03-03"}, Case{"march 3rd, 2025", "date=2025-03-03"},
        Case{"the 3rd of March", "date=2024-03-03"}, Case{"5 Sept", "date=2024-09-05"},
        Case{"january 5", "date=2025-01-05"},  // already past this year
        Case{"feb 29", "date=2028-02-29"},     // the next leap day
        Case{"Dec. 24", "date=2024-12-24"}, Case{"february 30", "number=30"},  // no such day
        Case{"2024-13-01", "number=2024; number=13; number=1"},
        Case{"2024-123456789012-01", "number=2024; number=123456789012; number=1"}));

INSTANTIATE_TEST_SUITE_P(
    Times, EntityTableTest,
    ::testing::Values(Case{"at 5pm", "time=17:00"}, Case{"at 17:30", "time=17:30"},
                      Case{"5:30 pm", "time=17:30"}, Case{"12am", "time=00:00"},
                      Case{"12 pm", "time=12:00"}, Case{"7 a.m.", "time=07:00"},
                      Case{"seven pm", "time=19:00"}, Case{"noon", "time=12:00"},
                      Case{"midnight", "time=00:00"}, Case{"7 o'clock", "time=07:00"},
                      Case{"13pm", "number=13"}, Case{"25:00", "number=25; number=0"}));

INSTANTIATE_TEST_SUITE_P(
    EmailsAndSlots, EntityTableTest,
    ::testing::Values(Case{"mail Jane.Doe+x@Example.COM.", "email=Jane.Doe+x@example.com"},
                      Case{"write to a@b", ""}, Case{"@home", ""},
                      Case{"weather in new york", "city=New York"},
                      Case{"flights to NYC and paris", "city=New York; city=Paris"},
                      Case{"st. louis tomorrow", "city=St. Louis; date=2024-03-02"},
                      Case{"parisian food", ""}));

INSTANTIATE_TEST_SUITE_P(
    Mixed, EntityTableTest,
    ::testing::Values(Case{"table for two on march 3 at 7:30pm, confirm to a@b.io",
                           "number=2; date=2024-03-03; time=19:30; email=a@b.io"},
                      Case{"book 4 seats tomorrow at noon",
                           "number=4; date=2024-03-02; time=12:00"}));

TEST(EntitiesTest, SpansPointIntoTheUtterance) {
  const std::string text = "see you Tomorrow at 5 pm";
  const std::vector<Entity> entities = EntityExtractor().extract(text, kToday);
  ASSERT_EQ(entities.size(), 2U);
  EXPECT_EQ(text.substr(entities[0].start, entities[0].end - entities[0].start), "Tomorrow");
  EXPECT_EQ(text.substr(entities[1].start, entities[1].end - entities[1].start), "5 pm");
}

TEST(EntitiesTest, BuiltinTypes) {
  EXPECT_TRUE(isBuiltinEntityType("date"));
  EXPECT_FALSE(isBuiltinEntityType("city"));
}

}  // namespace
}  // namespace va::nlu
