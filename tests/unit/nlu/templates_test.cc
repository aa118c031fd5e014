#include "workloads/nlu/templates.h"

#include <gtest/gtest.h>

namespace va::nlu {
namespace {

std::string fill(std::string_view text,
                 const std::map<std::string, std::string, std::less<>>& values) {
  const Result<std::string> out = fillTemplate(text, values);
  return out.ok() ? *out : "error: " + out.error().message();
}

TEST(TemplatesTest, FillsPlaceholders) {
  EXPECT_EQ(
      fill("Booked a table for {party_size} at {time}.", {{"party_size", "4"}, {"time", "19:30"}}),
      "Booked a table for 4 at 19:30.");
  EXPECT_EQ(fill("{a}{a}{b}", {{"a", "x"}, {"b", "y"}}), "xxy");
  EXPECT_EQ(fill("no placeholders", {}), "no placeholders");
  EXPECT_EQ(fill("", {}), "");
  EXPECT_EQ(fill("{{literal}} and {x}", {{"x", "{y}"}}), "{literal} and {y}");  // values verbatim
}

TEST(TemplatesTest, ErrorsNameTheProblem) {
  EXPECT_EQ(fill("for {party_size}", {}), "error: no value for {party_size}");
  EXPECT_EQ(fill("oops {", {}), "error: unclosed { at offset 5");
  EXPECT_EQ(fill("oops }", {}), "error: unmatched } at offset 5 (write }} for a brace)");
  EXPECT_EQ(fill("{}", {}), "error: empty placeholder {} at offset 0");
  EXPECT_EQ(fill("{a b}", {}),
            "error: placeholder {a b} at offset 0: names use letters, digits and _");
}

TEST(TemplatesTest, ListsPlaceholders) {
  const Result<std::vector<std::string>> names = templatePlaceholders("{a} {{b}} {c_2}");
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (std::vector<std::string>{"a", "c_2"}));
  EXPECT_FALSE(templatePlaceholders("{").ok());
}

}  // namespace
}  // namespace va::nlu
