#include "workloads/nlu/classifier.h"

#include <gtest/gtest.h>

namespace va::nlu {
namespace {

std::vector<LabeledText> tinySet() {
  std::vector<LabeledText> examples;
  const auto add = [&](const std::string& label, std::initializer_list<const char*> texts) {
    for (const char* text : texts) examples.push_back({text, label});
  };
  add("weather", {"what is the weather today", "will it rain tomorrow", "is it sunny outside",
                  "weather forecast please", "how hot is it", "do i need an umbrella",
                  "is it going to snow", "what's the temperature"});
  add("music",
      {"play some music", "play a song by queen", "put on some jazz", "play my playlist",
       "i want to hear rock music", "start the radio", "play the next song", "turn on some tunes"});
  add("alarm", {"set an alarm for 7am", "wake me up at six", "set alarm tomorrow morning",
                "cancel my alarm", "i need an alarm at 5", "alarm for 8 o'clock",
                "change my wake up alarm", "remind me to wake up early"});
  add("greet", {"hello", "hi there", "good morning", "hey", "hello friend", "hi how are you",
                "greetings", "hey there"});
  add("oos", {"what is the capital of peru", "how do i bake bread", "who wrote hamlet",
              "translate cat into german"});
  return examples;
}

TrainingOptions smallOptions() {
  TrainingOptions options;
  options.epochs = 60;  // few examples: more passes
  options.min_feature_count = 1;
  return options;
}

TEST(ClassifierTest, ClassifiesHeldOutPhrases) {
  const Result<IntentClassifier> classifier = IntentClassifier::train(tinySet(), smallOptions());
  ASSERT_TRUE(classifier.ok()) << classifier.error().message();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"is it raining today", "weather"},
      {"what's the forecast", "weather"},
      {"play something by queen", "music"},
      {"put some rock on", "music"},
      {"wake me at 7 tomorrow", "alarm"},
      {"set an alarm", "alarm"},
      {"hi!", "greet"},
      {"hello there", "greet"},
  };
  for (const auto& [text, intent] : cases) {
    const Classification c = classifier->classify(text);
    EXPECT_EQ(c.best_intent, intent) << text;
    EXPECT_GT(c.confidence, 0.0F);
    EXPECT_LE(c.confidence, 1.0F);
  }
  EXPECT_EQ(classifier->intents().size(), 4U);
  EXPECT_EQ(classifier->intents()[0], "weather");
}

TEST(ClassifierTest, ThresholdRejectsUncertainUtterances) {
  Result<IntentClassifier> classifier = IntentClassifier::train(tinySet(), smallOptions());
  ASSERT_TRUE(classifier.ok());
  const Classification sure = classifier->classify("play some music");
  const Classification unsure = classifier->classify("zebra quantum lasagna");
  ASSERT_GT(sure.confidence, unsure.confidence);
  classifier->setThreshold(0.5F * (sure.confidence + unsure.confidence));
  EXPECT_FALSE(classifier->classify("play some music").out_of_scope);
  const Classification rejected = classifier->classify("zebra quantum lasagna");
  EXPECT_TRUE(rejected.out_of_scope);
  EXPECT_EQ(rejected.intent, "oos");
  EXPECT_FALSE(rejected.best_intent.empty());  // still reported
  classifier->setThreshold(1.01F);
  EXPECT_TRUE(classifier->classify("play some music").out_of_scope);
}

TEST(ClassifierTest, OutOfScopeClassRejectsWithoutThreshold) {
  const Result<IntentClassifier> classifier = IntentClassifier::train(tinySet(), smallOptions());
  ASSERT_TRUE(classifier.ok());
  const Classification c = classifier->classify("who wrote hamlet");
  EXPECT_TRUE(c.out_of_scope);
  EXPECT_GT(c.out_of_scope_probability, c.confidence);

  TrainingOptions noClass = smallOptions();
  noClass.out_of_scope_class = false;
  const Result<IntentClassifier> plain = IntentClassifier::train(tinySet(), noClass);
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->classify("who wrote hamlet").out_of_scope);
  EXPECT_EQ(plain->classify("who wrote hamlet").out_of_scope_probability, 0.0F);
}

TEST(ClassifierTest, SameSeedSamePredictions) {
  const std::vector<LabeledText> examples = tinySet();
  const Result<IntentClassifier> a = IntentClassifier::train(examples, smallOptions());
  const Result<IntentClassifier> b = IntentClassifier::train(examples, smallOptions());
  ASSERT_TRUE(a.ok() && b.ok());
  for (const char* text : {"play music now", "is it cold", "wake me up", "random words here"}) {
    const Classification x = a->classify(text);
    const Classification y = b->classify(text);
    EXPECT_EQ(x.best_intent, y.best_intent) << text;
    EXPECT_EQ(x.confidence, y.confidence) << text;  // bit for bit
  }
  TrainingOptions other = smallOptions();
  other.seed = 7;
  const Result<IntentClassifier> c = IntentClassifier::train(examples, other);
  ASSERT_TRUE(c.ok());
  EXPECT_NE(a->classify("random words here").confidence,
            c->classify("random words here").confidence);
}

TEST(ClassifierTest, BadInputIsAnErrorNamingTheProblem) {
  const auto errorOf = [](const std::vector<LabeledText>& examples,
                          const TrainingOptions& options) {
    const Result<IntentClassifier> c = IntentClassifier::train(examples, options);
    return c.ok() ? std::string("ok") : c.error().message();
  };
  const TrainingOptions defaults;
  EXPECT_EQ(errorOf({}, defaults), "examples: must not be empty");
  EXPECT_EQ(errorOf({{"hi", "greet"}, {"", "greet"}}, defaults),
            "examples[1].text: must not be empty");
  EXPECT_EQ(errorOf({{"hi", "greet"}, {"yo", ""}}, defaults),
            "examples[1].label: must not be empty");
  EXPECT_EQ(errorOf({{"hi", "greet"}, {"hello", "greet"}, {"what", "oos"}}, defaults),
            "examples: need at least two in-scope intents");
  const std::vector<LabeledText> two = {{"hi", "greet"}, {"bye", "goodbye"}};
  TrainingOptions bad;
  bad.epochs = 0;
  EXPECT_EQ(errorOf(two, bad), "epochs: must be in [1, 1000]");
  bad = TrainingOptions{};
  bad.features.hash_bits = 30;
  EXPECT_EQ(errorOf(two, bad), "features.hash_bits: must be between 10 and 24");
  bad = TrainingOptions{};
  bad.feature_dropout = 0.95F;
  EXPECT_EQ(errorOf(two, bad), "feature_dropout: must be in [0, 0.9]");
  bad = TrainingOptions{};
  bad.learning_rate = -1;
  EXPECT_EQ(errorOf(two, bad), "learning_rate: must be positive");
}

TEST(ClassifierTest, UnseenFeaturesAreIgnored) {
  const Result<IntentClassifier> classifier = IntentClassifier::train(tinySet(), smallOptions());
  ASSERT_TRUE(classifier.ok());
  const Classification c = classifier->classify("");
  EXPECT_FALSE(c.best_intent.empty());
  EXPECT_GT(c.confidence, 0.0F);
}

}  // namespace
}  // namespace va::nlu
