#include "workloads/nlu/assistant.h"

#include <gtest/gtest.h>

#include <string>

namespace va::nlu {
namespace {

// A valid definition; each error case below changes one part of it.
const std::string kValid = R"(
name: test
out_of_scope:
  threshold: 0.4
  examples: [what is the capital of peru]
  responses: ["Sorry, I can't help with that."]
slot_types:
  - name: city
    values:
      - {value: New York, synonyms: [nyc]}
actions:
  - {name: weather, method: GET, url: "https://weather.example.com/v1?city={city}"}
intents:
  - name: greet
    examples: [hello, hi]
    responses: [Hello!]
  - name: weather
    examples: [weather in paris, will it rain]
    slots:
      - {name: city, type: city, required: true, prompt: "Which city?"}
      - {name: when, type: date}
    action: weather
    responses: ["Weather in {city} on {when}", "Weather in {city}"]
  - name: recall
    examples: [what do you remember]
    variables: [facts]
    responses: ["I remember: {facts}"]
)";

std::string errorOf(const std::string& yaml) {
  const Result<Assistant> a = parseAssistant(yaml);
  return a.ok() ? "ok" : a.error().message();
}

// kValid with `from` replaced by `to` (which must occur).
std::string edited(const std::string& from, const std::string& to) {
  std::string yaml = kValid;
  const std::size_t at = yaml.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) yaml.replace(at, from.size(), to);
  return yaml;
}

TEST(AssistantTest, ParsesAValidDefinition) {
  const Result<Assistant> a = parseAssistant(kValid);
  ASSERT_TRUE(a.ok()) << a.error().message();
  EXPECT_EQ(a->name, "test");
  ASSERT_EQ(a->intents.size(), 3U);
  const IntentSpec* weather = a->findIntent("weather");
  ASSERT_NE(weather, nullptr);
  ASSERT_EQ(weather->slots.size(), 2U);
  EXPECT_TRUE(weather->slots[0].required);
  EXPECT_EQ(weather->slots[0].prompt, "Which city?");
  EXPECT_FALSE(weather->slots[1].required);
  EXPECT_EQ(weather->action, "weather");
  EXPECT_EQ(a->findAction("weather")->method, "GET");
  EXPECT_FLOAT_EQ(a->out_of_scope.threshold, 0.4F);
  EXPECT_EQ(a->slot_types[0].values[0].synonyms[0], "nyc");
  EXPECT_EQ(a->findIntent("nope"), nullptr);
}

struct ErrorCase {
  std::string from;
  std::string to;
  std::string error;
};

// NOLINTNEXTLINE(readability-identifier-naming): the name gtest looks for
void PrintTo(const ErrorCase& c, std::ostream* out) { *out << c.error; }

class AssistantErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(AssistantErrorTest, NamesTheField) {
  EXPECT_EQ(errorOf(edited(GetParam().from, GetParam().to)), GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, AssistantErrorTest,
    ::testing::Values(
        ErrorCase{"name: test\n", "", "name: is required"},
        ErrorCase{"name: test\n", "name: test\ncolour: blue\n", "colour: unknown field"},
        ErrorCase{"examples: [weather in paris, will it rain]", "examples: []",
                  "intents[1].examples: must be a non-empty list"},
        ErrorCase{"examples: [hello, hi]", "examples: hello",
                  "intents[0].examples: must be a non-empty list"},
        ErrorCase{"examples: [hello, hi]", "examples: [hello, [hi]]",
                  "intents[0].examples[1]: must be a non-empty string"},
        ErrorCase{"  - name: recall", "  - name: greet",
                  "intents[2].name: duplicate name \"greet\" (also intents[0])"},
        ErrorCase{"  - name: recall", "  - name: Recall",
                  "intents[2].name: \"Recall\" must match [a-z][a-z0-9_]*"},
        ErrorCase{"  - name: recall", "  - name: out_of_scope",
                  "intents[2].name: \"out_of_scope\" is reserved; use the out_of_scope section"},
        ErrorCase{"type: city, required", "type: town, required",
                  "intents[1].slots[0].type: unknown type \"town\" (known: number, date, time, "
                  "email, city)"},
        ErrorCase{"required: true, prompt: \"Which city?\"", "required: true",
                  "intents[1].slots[0].prompt: a required slot needs a prompt"},
        ErrorCase{"required: true", "required: maybe",
                  "intents[1].slots[0].required: must be true or false"},
        ErrorCase{"{name: when, type: date}", "{name: city, type: date}",
                  "intents[1].slots[1].name: duplicate slot \"city\""},
        ErrorCase{
            "responses: [Hello!]", "responses: [\"Hello {name}!\"]",
            "intents[0].responses[0]: unknown placeholder {name} (slots and variables: none)"},
        ErrorCase{"\"Weather in {city}\"]", "\"Weather in {city\"]",
                  "intents[1].responses[1]: unclosed { at offset 11"},
        ErrorCase{"responses: [Hello!]", "", "intents[0].responses: must be a non-empty list"},
        ErrorCase{"action: weather", "action: forecast",
                  "intents[1].action: unknown action \"forecast\""},
        ErrorCase{"method: GET", "method: FETCH",
                  "actions[0].method: must be one of GET, POST, PUT, PATCH, DELETE"},
        ErrorCase{"url: \"https://weather", "url: \"ftp://weather",
                  "actions[0].url: must start with http:// or https://"},
        ErrorCase{"https://weather.example.com/v1", "https://{city}.example.com/v1",
                  "actions[0].url: placeholders and user info are not allowed in the host or port"},
        ErrorCase{"?city={city}", "?city={town}",
                  "intents[1].action: the url of \"weather\" uses {town}, which is not a slot of "
                  "this intent"},
        ErrorCase{"threshold: 0.4", "threshold: 1.5",
                  "out_of_scope.threshold: must be a number in [0, 1)"},
        ErrorCase{"threshold: 0.4", "threshold: high",
                  "out_of_scope.threshold: must be a number in [0, 1)"},
        ErrorCase{"  responses: [\"Sorry, I can't help with that.\"]\n", "",
                  "out_of_scope.responses: must be a non-empty list"},
        ErrorCase{"{value: New York, synonyms: [nyc]}", "{synonyms: [nyc]}",
                  "slot_types[0].values[0].value: is required"},
        ErrorCase{"  - name: city\n", "  - name: date\n",
                  "slot_types[0].name: \"date\" is built in"},
        ErrorCase{"variables: [facts]", "variables: [Facts]",
                  "intents[2].variables[0]: \"Facts\" must match [a-z][a-z0-9_]*"}));

TEST(AssistantTest, StructuralErrors) {
  EXPECT_EQ(errorOf("- just\n- a list\n"), "(document): must be a mapping");
  EXPECT_EQ(errorOf("name: x\nintents: [\n"), "line 3, column 1: end of sequence flow not found");
  EXPECT_EQ(errorOf("name: x\nout_of_scope: {responses: [no]}\nintents:\n"
                    "  - {name: a, examples: [a], responses: [a]}\n"),
            "intents: need at least two intents");
  EXPECT_EQ(errorOf("name: x\nintents:\n  - {name: a, examples: [a], responses: [a]}\n"
                    "  - {name: b, examples: [b], responses: [b]}\n"),
            "out_of_scope: is required (at least its responses)");
}

TEST(AssistantTest, MissingFileIsAnError) {
  const Result<Assistant> a = loadAssistant("/nonexistent/assistant.yaml");
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().message(), "/nonexistent/assistant.yaml: cannot open the file");
}

}  // namespace
}  // namespace va::nlu
