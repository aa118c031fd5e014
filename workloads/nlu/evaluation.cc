#include "workloads/nlu/evaluation.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace va::nlu {

std::vector<Outcome> score(const IntentClassifier& classifier,
                           std::span<const LabeledText> examples) {
  std::vector<Outcome> outcomes;
  outcomes.reserve(examples.size());
  for (const LabeledText& example : examples) {
    const auto start = std::chrono::steady_clock::now();
    const Classification c = classifier.classify(example.text);
    const auto stop = std::chrono::steady_clock::now();
    Outcome outcome;
    outcome.gold_out_of_scope = example.label == classifier.outOfScopeLabel();
    outcome.best_is_gold = c.best_intent == example.label;
    outcome.class_rejected = c.out_of_scope_probability > c.confidence;
    outcome.confidence = c.confidence;
    outcome.micros = std::chrono::duration<double, std::micro>(stop - start).count();
    outcomes.push_back(outcome);
  }
  return outcomes;
}

Metrics metricsAt(std::span<const Outcome> outcomes, float threshold) {
  Metrics m;
  std::size_t correct = 0;
  std::size_t caught = 0;
  std::size_t rejected = 0;
  for (const Outcome& o : outcomes) {
    const bool reject = o.class_rejected || o.confidence < threshold;
    rejected += reject ? 1 : 0;
    if (o.gold_out_of_scope) {
      ++m.oos_examples;
      caught += reject ? 1 : 0;
    } else {
      ++m.in_scope_examples;
      correct += !reject && o.best_is_gold ? 1 : 0;
    }
  }
  const auto ratio = [](std::size_t a, std::size_t b) {
    return b == 0 ? 0.0 : static_cast<double>(a) / static_cast<double>(b);
  };
  m.in_scope_accuracy = ratio(correct, m.in_scope_examples);
  m.oos_recall = ratio(caught, m.oos_examples);
  m.oos_precision = ratio(caught, rejected);
  return m;
}

float tuneThreshold(std::span<const Outcome> outcomes, double max_accuracy_loss) {
  // In-scope examples the model gets right without a threshold, by confidence: a threshold
  // costs exactly those below it.
  std::vector<float> correct;
  std::size_t inScope = 0;
  for (const Outcome& o : outcomes) {
    if (o.gold_out_of_scope) continue;
    ++inScope;
    if (o.best_is_gold && !o.class_rejected) correct.push_back(o.confidence);
  }
  if (correct.empty()) return 0;
  std::sort(correct.begin(), correct.end());
  const auto allowed =
      static_cast<std::size_t>(std::floor(max_accuracy_loss * static_cast<double>(inScope) + 1e-9));
  if (allowed == 0) return 0;
  if (allowed >= correct.size()) return correct.back() + 1e-6F;
  // Reject correct[0..allowed), keep correct[allowed]: the midpoint leaves some margin on both
  // sides for a model trained on more data. Ties at the boundary are kept.
  const float below = correct[allowed - 1];
  const float above = correct[allowed];
  return below == above ? below : 0.5F * (below + above);
}

double percentileMicros(std::span<const Outcome> outcomes, double p) {
  if (outcomes.empty()) return 0;
  std::vector<double> times;
  times.reserve(outcomes.size());
  for (const Outcome& o : outcomes) times.push_back(o.micros);
  std::sort(times.begin(), times.end());
  const auto rank =
      static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(times.size())));
  return times[std::min(times.size() - 1, rank == 0 ? 0 : rank - 1)];
}

}  // namespace va::nlu
