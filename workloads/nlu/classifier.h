// The built-in intent classifier: multinomial logistic regression over hashed word and character
// n-grams, trained by SGD at start-up (deterministic for a given seed), with an out-of-scope
// decision on top: an utterance is rejected when its best in-scope probability is below the
// threshold, or when the out-of-scope class (if it was trained) is the most probable.
//   Result<IntentClassifier> classifier = IntentClassifier::train(examples, TrainingOptions{});
//   Classification c = classifier->classify("what's the weather in Paris");
//   if (!c.out_of_scope) route(c.intent);
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "workloads/nlu/features.h"
#include "workloads/nlu/result.h"

namespace va::nlu {

struct LabeledText {
  std::string text;
  std::string label;
};

// The defaults were chosen on CLINC150's val[0::2] (train on train+oos_train): 93.3% in-scope
// accuracy before any threshold, about 0.5 s of training on 15,100 utterances.
struct TrainingOptions {
  FeatureOptions features;
  int epochs = 8;
  float learning_rate = 2.0F;  // decays linearly to zero over the epochs
  float l2 = 1e-6F;
  // Each feature of a training example is left out of an update with this probability (the
  // rest scaled up to match): the model cannot lean on any one n-gram, which is worth about
  // a point of accuracy on utterances phrased unlike the training set, and it trains faster.
  float feature_dropout = 0.6F;
  // Features seen in fewer training utterances get no weight: they generalise little and
  // leaving them out makes the model smaller and training faster.
  int min_feature_count = 2;
  std::uint64_t seed = 42;
  // Examples with this label are out of scope: trained as a class of their own when
  // out_of_scope_class is set, left out of training otherwise.
  std::string out_of_scope_label = "oos";
  bool out_of_scope_class = true;
  float threshold = 0.0F;  // initial out-of-scope threshold on the best in-scope probability
};

// Views into the classifier's labels: valid while the classifier lives.
struct Classification {
  std::string_view intent;             // the out-of-scope label when rejected
  std::string_view best_intent;        // the most probable in-scope intent, even when rejected
  float confidence = 0;                // the softmax probability of best_intent
  float out_of_scope_probability = 0;  // of the trained out-of-scope class; 0 without one
  bool out_of_scope = false;
};

class IntentClassifier {
 public:
  // Fails on an empty training set, an empty text or label, fewer than two in-scope intents, or
  // options out of range (naming the option).
  static Result<IntentClassifier> train(std::span<const LabeledText> examples,
                                        const TrainingOptions& options);

  [[nodiscard]] Classification classify(std::string_view text) const;

  [[nodiscard]] float threshold() const { return threshold_; }
  void setThreshold(float threshold) { threshold_ = threshold; }

  // The in-scope intents in order of first appearance in the training set.
  [[nodiscard]] std::span<const std::string> intents() const {
    return std::span<const std::string>(labels_).first(inScopeCount_);
  }
  [[nodiscard]] const std::string& outOfScopeLabel() const { return outOfScopeLabel_; }
  // Distinct feature buckets that carry weights (memory is this times the class count).
  [[nodiscard]] std::size_t featureCount() const { return bucketRows_.empty() ? 0 : rowCount_; }

 private:
  explicit IntentClassifier(const TrainingOptions& options) : extractor_(options.features) {}

  // Softmax probabilities of every class for one feature vector, into `probabilities`.
  void probabilities(const FeatureVector& features, std::vector<float>& probabilities) const;

  FeatureExtractor extractor_;
  std::vector<std::string> labels_;  // in-scope intents, then the out-of-scope class if trained
  std::size_t inScopeCount_ = 0;
  std::string outOfScopeLabel_;
  std::vector<std::int32_t> bucketRows_;  // feature bucket -> weight row, -1 if never seen
  std::size_t rowCount_ = 0;
  std::size_t stride_ = 0;  // the class count rounded up to a multiple of 8
  std::vector<float> weights_;
  std::vector<float> bias_;
  float threshold_ = 0;
};

}  // namespace va::nlu
