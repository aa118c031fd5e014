#include "workloads/nlu/evaluation.h"

#include <gtest/gtest.h>

namespace va::nlu {
namespace {

Outcome inScope(bool right, float confidence) {
  Outcome o;
  o.best_is_gold = right;
  o.confidence = confidence;
  return o;
}

Outcome outOfScope(float confidence, bool classRejected = false) {
  Outcome o;
  o.gold_out_of_scope = true;
  o.confidence = confidence;
  o.class_rejected = classRejected;
  return o;
}

TEST(MetricsTest, CountsAcceptedRightIntentsAndRejectedOutOfScope) {
  const std::vector<Outcome> outcomes = {
      inScope(true, 0.9F), inScope(true, 0.3F), inScope(false, 0.8F),  inScope(true, 0.6F),
      outOfScope(0.2F),    outOfScope(0.7F),    outOfScope(0.9F, true)};
  const Metrics none = metricsAt(outcomes, 0.0F);
  EXPECT_EQ(none.in_scope_examples, 4U);
  EXPECT_EQ(none.oos_examples, 3U);
  EXPECT_DOUBLE_EQ(none.in_scope_accuracy, 0.75);
  EXPECT_DOUBLE_EQ(none.oos_recall, 1.0 / 3);  // only the class rejection
  EXPECT_DOUBLE_EQ(none.oos_precision, 1.0);

  const Metrics half = metricsAt(outcomes, 0.5F);  // rejects 0.3 (in scope) and 0.2 (oos)
  EXPECT_DOUBLE_EQ(half.in_scope_accuracy, 0.5);
  EXPECT_DOUBLE_EQ(half.oos_recall, 2.0 / 3);
  EXPECT_DOUBLE_EQ(half.oos_precision, 2.0 / 3);
}

TEST(TuneThresholdTest, SpendsExactlyTheAccuracyBudget) {
  std::vector<Outcome> outcomes;
  for (int i = 1; i <= 100; ++i) outcomes.push_back(inScope(true, static_cast<float>(i) / 100.0F));
  outcomes.push_back(inScope(false, 0.001F));  // wrong anyway: free to reject
  // 101 in-scope examples; one point of accuracy is one example.
  const float threshold = tuneThreshold(outcomes, 0.01);
  EXPECT_NEAR(threshold, 0.015F, 1e-6F);  // rejects 0.01, keeps 0.02
  EXPECT_NEAR(metricsAt(outcomes, threshold).in_scope_accuracy, 99.0 / 101, 1e-12);
  EXPECT_NEAR(tuneThreshold(outcomes, 0.03), 0.035F, 1e-6F);
  EXPECT_EQ(tuneThreshold(outcomes, 0.0), 0.0F);
}

TEST(TuneThresholdTest, IgnoresOutOfScopeAndEmptySets) {
  EXPECT_EQ(tuneThreshold({}, 0.01), 0.0F);
  const std::vector<Outcome> onlyOut = {outOfScope(0.4F), outOfScope(0.6F)};
  EXPECT_EQ(tuneThreshold(onlyOut, 0.5), 0.0F);
  std::vector<Outcome> mixed = {inScope(true, 0.2F), inScope(true, 0.8F), outOfScope(0.1F)};
  EXPECT_NEAR(tuneThreshold(mixed, 0.5), 0.5F, 1e-6F);
}

TEST(PercentileTest, NearestRank) {
  std::vector<Outcome> outcomes(100);
  for (std::size_t i = 0; i < outcomes.size(); ++i)
    outcomes[i].micros = static_cast<double>(100 - i);
  EXPECT_DOUBLE_EQ(percentileMicros(outcomes, 50), 50.0);
  EXPECT_DOUBLE_EQ(percentileMicros(outcomes, 99), 99.0);
  EXPECT_DOUBLE_EQ(percentileMicros(outcomes, 100), 100.0);
  EXPECT_DOUBLE_EQ(percentileMicros({}, 99), 0.0);
}

}  // namespace
}  // namespace va::nlu
