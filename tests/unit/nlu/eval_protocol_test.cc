#include "workloads/nlu/eval_protocol.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

namespace va::nlu {
namespace {

// A CLINC150-shaped file with three intents and a few out-of-scope utterances.
class EvalProtocolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "nlu_eval_" + std::to_string(getpid()) + ".json";
    nlohmann::json data;
    const auto add = [&](const std::string& split, const std::string& label,
                         std::initializer_list<const char*> texts) {
      for (const char* text : texts) data[split].push_back({text, label});
    };
    add("train", "weather",
        {"what is the weather", "will it rain", "is it sunny", "forecast please",
         "how hot is it today", "is it cold outside", "weather tomorrow", "will it snow",
         "temperature outside", "do i need an umbrella"});
    add("train", "music",
        {"play music", "play a song", "put on jazz", "play my playlist", "i want rock music",
         "start the radio", "next song", "turn on tunes", "play something", "music please"});
    add("train", "alarm",
        {"set an alarm", "wake me up at six", "alarm tomorrow", "cancel my alarm", "alarm at 5",
         "alarm for 8", "change my alarm", "wake me early", "new alarm", "alarm please"});
    add("oos_train", "oos", {"capital of peru", "bake bread", "who wrote hamlet"});
    add("val", "weather", {"is it raining", "weather today"});
    add("val", "music", {"play a tune", "some music please"});
    add("val", "alarm", {"set my alarm", "wake me at seven"});
    add("oos_val", "oos", {"how tall is everest", "price of gold"});
    std::ofstream(path_) << data.dump();
  }
  void TearDown() override { std::remove(path_.c_str()); }

  [[nodiscard]] EvalRequest request(std::string train, std::string eval,
                                    std::string tune = "") const {
    EvalRequest r;
    r.data_path = path_;
    r.train = std::move(train);
    r.eval = std::move(eval);
    r.tune = std::move(tune);
    r.options.min_feature_count = 1;
    r.options.epochs = 40;
    return r;
  }

  std::string path_;
};

TEST_F(EvalProtocolTest, ReportsOneJsonLineWithEveryFigure) {
  const Result<EvalReport> report = runEvaluation(request("train,oos_train", "val,oos_val"));
  ASSERT_TRUE(report.ok()) << report.error().message();
  EXPECT_EQ(report->train_examples, 33U);
  EXPECT_EQ(report->eval_examples, 8U);
  EXPECT_EQ(report->tune_examples, 4U);  // one in ten of each label (at least one), from the first
  EXPECT_FALSE(report->tune_is_eval);
  EXPECT_TRUE(report->out_of_scope_class);
  EXPECT_NE(report->tuned_on.find("held-out 10%"), std::string::npos);
  EXPECT_GT(report->train_seconds, 0.0);

  const std::string line = toJsonLine(*report);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  const nlohmann::json parsed = nlohmann::json::parse(line);
  for (const char* key :
       {"in_scope_accuracy", "oos_recall", "oos_precision", "train_seconds", "p50_classify_us",
        "p99_classify_us", "threshold", "train_examples", "eval_examples"}) {
    EXPECT_TRUE(parsed.contains(key)) << key;
  }
  EXPECT_GE(parsed["in_scope_accuracy"].get<double>(), 0.5);
}

TEST_F(EvalProtocolTest, NamedTuneSplitsAndOverlapWithEval) {
  const Result<EvalReport> honest =
      runEvaluation(request("train", "val[1::2],oos_val", "val[0::2]"));
  ASSERT_TRUE(honest.ok()) << honest.error().message();
  EXPECT_FALSE(honest->tune_is_eval);
  EXPECT_EQ(honest->tuned_on, "val[0::2]");
  EXPECT_EQ(honest->tune_examples, 3U);
  EXPECT_FALSE(honest->out_of_scope_class);

  const Result<EvalReport> leaky = runEvaluation(request("train", "val,oos_val", "val"));
  ASSERT_TRUE(leaky.ok());
  EXPECT_TRUE(leaky->tune_is_eval);

  // Only out-of-scope examples to tune on: the in-scope part comes from the held-out 10%.
  const Result<EvalReport> borrowed = runEvaluation(request("train", "val", "oos_train"));
  ASSERT_TRUE(borrowed.ok());
  EXPECT_EQ(borrowed->tune_examples, 3U + 3U);
  EXPECT_NE(borrowed->tuned_on.find("oos_train + a held-out 10%"), std::string::npos);
}

TEST_F(EvalProtocolTest, BadInputNamesTheProblem) {
  EvalRequest missing = request("train", "val");
  missing.data_path = "/nonexistent.json";
  EXPECT_EQ(runEvaluation(missing).error().message(), "/nonexistent.json: cannot open the file");
  EXPECT_EQ(runEvaluation(request("train,test", "val")).error().message(),
            "--train: unknown split \"test\" (the file has: oos_train, oos_val, train, val)");
  EXPECT_EQ(runEvaluation(request("train", "val", "nope")).error().message(),
            "--tune: unknown split \"nope\" (the file has: oos_train, oos_val, train, val)");

  std::ofstream(path_) << R"({"train": [["hi", "greet"], ["bye"]]})";
  EXPECT_EQ(runEvaluation(request("train", "train")).error().message(),
            path_ + ": train[1]: must be an [utterance, intent] pair of strings");
}

}  // namespace
}  // namespace va::nlu
