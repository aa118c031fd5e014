// Trains on 30 of CLINC150's intents (the first 30 in the train split, 3000 utterances) and checks
// the accuracy on the same intents' validation utterances. The full data set is measured by
// va-nlu-eval in hack/bench/nlu.sh; this keeps the unit test fast, also under sanitizers.
#include <gtest/gtest.h>

#include <set>

#include "workloads/nlu/dataset.h"
#include "workloads/nlu/evaluation.h"

namespace va::nlu {
namespace {

// Measured 97.8% (Release, default options); the floor is 1.5 points lower.
constexpr double kAccuracyFloor = 0.963;

TEST(ClincSubsetTest, ThirtyIntentsReachTheFloor) {
  const std::string path = clincDatasetPath();
  Result<Dataset> data = loadDataset(path);
  ASSERT_TRUE(data.ok()) << data.error().message()
                         << " (CLINC150 is expected at ../shared/datasets next to the repository)";
  Result<std::vector<LabeledText>> train = selectSplits(*data, "train");
  Result<std::vector<LabeledText>> val = selectSplits(*data, "val");
  ASSERT_TRUE(train.ok() && val.ok());

  std::set<std::string> intents;
  for (const LabeledText& e : *train) {
    if (intents.size() == 30) break;
    intents.insert(e.label);
  }
  const auto keep = [&](const std::vector<LabeledText>& examples) {
    std::vector<LabeledText> kept;
    for (const LabeledText& e : examples) {
      if (intents.count(e.label) != 0) kept.push_back(e);
    }
    return kept;
  };
  const std::vector<LabeledText> subsetTrain = keep(*train);
  const std::vector<LabeledText> subsetVal = keep(*val);
  ASSERT_EQ(subsetTrain.size(), 3000U);
  ASSERT_EQ(subsetVal.size(), 600U);

  const Result<IntentClassifier> classifier =
      IntentClassifier::train(subsetTrain, TrainingOptions{});
  ASSERT_TRUE(classifier.ok()) << classifier.error().message();
  const Metrics metrics = metricsAt(score(*classifier, subsetVal), 0.0F);
  EXPECT_GE(metrics.in_scope_accuracy, kAccuracyFloor);
  std::printf("30-intent CLINC150 subset: in-scope accuracy %.4f\n", metrics.in_scope_accuracy);
}

}  // namespace
}  // namespace va::nlu
