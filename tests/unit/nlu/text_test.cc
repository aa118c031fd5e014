#include "workloads/nlu/text.h"

#include <gtest/gtest.h>

namespace va::nlu {
namespace {

using Words = std::vector<std::string>;

TEST(TokenizeTest, LowerCasesAndSplitsOnPunctuation) {
  EXPECT_EQ(tokenize("What's the Weather in PARIS?"),
            (Words{"whats", "the", "weather", "in", "paris"}));
  EXPECT_EQ(tokenize("hello,world...again"), (Words{"hello", "world", "again"}));
  EXPECT_EQ(tokenize("  \t\n "), Words{});
  EXPECT_EQ(tokenize(""), Words{});
}

TEST(TokenizeTest, ApostrophesJoinInsideWordsOnly) {
  EXPECT_EQ(tokenize("don't"), Words{"dont"});
  EXPECT_EQ(tokenize("don\xE2\x80\x99t"), Words{"dont"});  // U+2019
  EXPECT_EQ(tokenize("'quoted' words'"), (Words{"quoted", "words"}));
}

TEST(TokenizeTest, KeepsDigitsSymbolsAndUtf8) {
  EXPECT_EQ(tokenize("send $20 to bob@x, 50%"),
            (Words{"send", "$", "20", "to", "bob", "@", "x", "50", "%"}));
  EXPECT_EQ(tokenize("Zürich café"), (Words{"zürich", "café"}));
}

TEST(ToLowerAsciiTest, LeavesNonAsciiAlone) { EXPECT_EQ(toLowerAscii("ÄbC"), "Äbc"); }

}  // namespace
}  // namespace va::nlu
