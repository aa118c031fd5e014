// Measures the intent classifier the way CLINC150 is reported: in-scope accuracy (an in-scope
// utterance counts only when it is accepted with the right intent), out-of-scope recall and
// precision; and picks the out-of-scope threshold on a tuning set.
//   std::vector<Outcome> outcomes = score(classifier, tune);
//   classifier.setThreshold(tuneThreshold(outcomes, 0.01));
//   Metrics metrics = metricsAt(score(classifier, eval), classifier.threshold());
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "workloads/nlu/classifier.h"

namespace va::nlu {

// One scored example, independent of the threshold.
struct Outcome {
  bool gold_out_of_scope = false;
  bool best_is_gold = false;    // the best in-scope intent is the gold intent
  bool class_rejected = false;  // the trained out-of-scope class beat every in-scope intent
  float confidence = 0;         // probability of the best in-scope intent
  double micros = 0;            // time to classify
};

struct Metrics {
  double in_scope_accuracy = 0;
  double oos_recall = 0;
  double oos_precision = 0;
  std::size_t in_scope_examples = 0;
  std::size_t oos_examples = 0;
};

// Classifies every example, timing each call.
std::vector<Outcome> score(const IntentClassifier& classifier,
                           std::span<const LabeledText> examples);

Metrics metricsAt(std::span<const Outcome> outcomes, float threshold);

// The out-of-scope threshold chosen on a tuning set: the highest threshold that costs at most
// `max_accuracy_loss` (0.01 = one point) of the set's in-scope accuracy. Out-of-scope examples
// play no part: the budget says plainly what is traded, needs no out-of-scope data (CLINC150's
// oos_train resembles neither oos_val nor real traffic, and a held-out 10% of it is ten
// utterances), and every rejection it buys comes from the model's own uncertainty.
float tuneThreshold(std::span<const Outcome> outcomes, double max_accuracy_loss);

// The p-th percentile (0..100) of the classification times, in microseconds.
double percentileMicros(std::span<const Outcome> outcomes, double p);

}  // namespace va::nlu
