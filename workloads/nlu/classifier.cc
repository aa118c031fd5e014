#include "workloads/nlu/classifier.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <random>
#include <string>
#include <unordered_map>

namespace va::nlu {
namespace {

// The training set with each feature bucket already mapped to its weight row.
struct CompiledExamples {
  std::vector<std::size_t> offsets{0};
  std::vector<std::int32_t> rows;
  std::vector<float> values;
  std::vector<std::size_t> labels;
};

Status validate(const TrainingOptions& options) {
  const FeatureOptions& f = options.features;
  if (f.hash_bits < 10 || f.hash_bits > 24) {
    return Error("features.hash_bits: must be between 10 and 24");
  }
  if (f.char_ngram_min < 0 || f.char_ngram_min > 8 ||
      (f.char_ngram_min > 0 && (f.char_ngram_max < f.char_ngram_min || f.char_ngram_max > 8))) {
    return Error("features.char_ngram_min/max: need 0 (off) or 1 <= min <= max <= 8");
  }
  if (!(f.word_weight >= 0) || !(f.char_weight >= 0)) {
    return Error("features.word_weight/char_weight: must not be negative");
  }
  if (options.min_feature_count < 1 || options.min_feature_count > 1000) {
    return Error("min_feature_count: must be in [1, 1000]");
  }
  if (options.epochs < 1 || options.epochs > 1000) return Error("epochs: must be in [1, 1000]");
  if (!(options.feature_dropout >= 0 && options.feature_dropout <= 0.9F)) {
    return Error("feature_dropout: must be in [0, 0.9]");
  }
  if (!(options.learning_rate > 0)) return Error("learning_rate: must be positive");
  if (!(options.l2 >= 0) || options.l2 * options.learning_rate >= 1) {
    return Error("l2: must be in [0, 1/learning_rate)");
  }
  return {};
}

constexpr float kNegligibleGradient = 1e-4F;
constexpr std::size_t kFloatsPerCacheLine = 16;

// to[0..count) += factor * from[0..count): the inner loop of training and classification.
// Compiled for AVX2 as well, picked at load time where the CPU has it.
__attribute__((target_clones("avx2", "default"))) void addScaled(float* to, const float* from,
                                                                 float factor, std::size_t count) {
  for (std::size_t c = 0; c < count; ++c) to[c] += factor * from[c];
}

// Decides which features sit out an update: xorshift64, cheap enough to draw once per feature.
class Dropout {
 public:
  Dropout(float probability, std::uint64_t seed)
      : limit_(static_cast<std::uint64_t>(static_cast<double>(probability) * 0x1p53)),
        state_(seed | 1U) {}
  bool drop() {
    state_ ^= state_ << 13U;
    state_ ^= state_ >> 7U;
    state_ ^= state_ << 17U;
    return (state_ >> 11U) < limit_;
  }

 private:
  std::uint64_t limit_;
  std::uint64_t state_;
};

// Fisher-Yates with the engine's raw output, so the order is the same on every standard library.
void shuffle(std::vector<std::size_t>& order, std::mt19937_64& engine) {
  for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[engine() % i]);
}

// e^(x[i] - shift) for every i, for x[i] <= shift: Cephes' expf polynomial (relative error
// about 1e-7) in a loop the compiler vectorises (given -fno-trapping-math), where calling
// std::exp took a sixth of the training time.
__attribute__((target_clones("avx2", "default"))) void shiftedExp(float* x, float shift,
                                                                  std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    const float v = std::max(x[i] - shift, -87.0F);  // keeps 2^k a normal float
    // k = round(v / ln 2) for v <= 0: truncation of a negative number rounds up.
    const int k = static_cast<int>(v * 1.44269504088896341F - 0.5F);
    const auto kf = static_cast<float>(k);
    const float r = (v - kf * 0.693359375F) + kf * 2.12194440e-4F;
    float p = 1.9875691500E-4F;
    p = p * r + 1.3981999507E-3F;
    p = p * r + 8.3334519073E-3F;
    p = p * r + 4.1665795894E-2F;
    p = p * r + 1.6666665459E-1F;
    p = p * r + 5.0000001201E-1F;
    p = p * r * r + r + 1.0F;
    x[i] = p * std::bit_cast<float>(static_cast<std::uint32_t>(k + 127) << 23U);
  }
}

void softmaxInPlace(float* scores, std::size_t count) {
  shiftedExp(scores, *std::max_element(scores, scores + count), count);
  float sum = 0;
  for (std::size_t c = 0; c < count; ++c) sum += scores[c];
  const float inverse = 1.0F / sum;
  for (std::size_t c = 0; c < count; ++c) scores[c] *= inverse;
}

struct LabelSet {
  std::vector<std::string> labels;  // in-scope intents, then the out-of-scope class if trained
  std::size_t in_scope = 0;
  bool out_of_scope_class = false;
  std::unordered_map<std::string, std::size_t> index;  // in-scope intent -> position
};

Result<LabelSet> collectLabels(std::span<const LabeledText> examples,
                               const TrainingOptions& options) {
  LabelSet set;
  bool anyOutOfScope = false;
  for (std::size_t i = 0; i < examples.size(); ++i) {
    const LabeledText& example = examples[i];
    const std::string where = "examples[" + std::to_string(i) + "]";
    if (example.text.empty()) return Error(where + ".text: must not be empty");
    if (example.label.empty()) return Error(where + ".label: must not be empty");
    if (example.label == options.out_of_scope_label) {
      anyOutOfScope = true;
    } else if (set.index.emplace(example.label, set.labels.size()).second) {
      set.labels.push_back(example.label);
    }
  }
  set.in_scope = set.labels.size();
  if (set.in_scope < 2) return Error("examples: need at least two in-scope intents");
  set.out_of_scope_class = options.out_of_scope_class && anyOutOfScope;
  if (set.out_of_scope_class) set.labels.push_back(options.out_of_scope_label);
  return set;
}

// Extracts every training utterance's features and gives a weight row to each bucket seen in at
// least `minCount` utterances, in order of first appearance (into bucketRows; returns the
// compiled examples, rowCount is the number of rows).
CompiledExamples compile(std::span<const LabeledText> examples, const LabelSet& labels,
                         const TrainingOptions& options, const FeatureExtractor& extractor,
                         std::vector<std::int32_t>& bucketRows, std::size_t& rowCount) {
  CompiledExamples compiled;
  std::vector<FeatureVector> extracted;
  extracted.reserve(examples.size());
  std::vector<std::uint16_t> counts(extractor.bucketCount(), 0);
  for (const LabeledText& example : examples) {
    const bool outOfScope = example.label == options.out_of_scope_label;
    if (outOfScope && !labels.out_of_scope_class) continue;
    compiled.labels.push_back(outOfScope ? labels.labels.size() - 1
                                         : labels.index.at(example.label));
    extracted.push_back(extractor.extract(example.text));
    for (const std::uint32_t bucket : extracted.back().buckets) {
      if (counts[bucket] < UINT16_MAX) ++counts[bucket];
    }
  }
  bucketRows.assign(extractor.bucketCount(), -1);
  rowCount = 0;
  const auto minCount = static_cast<std::uint16_t>(options.min_feature_count);
  for (const FeatureVector& features : extracted) {
    for (std::size_t k = 0; k < features.buckets.size(); ++k) {
      if (counts[features.buckets[k]] < minCount) continue;
      std::int32_t& row = bucketRows[features.buckets[k]];
      if (row < 0) row = static_cast<std::int32_t>(rowCount++);
      compiled.rows.push_back(row);
      compiled.values.push_back(features.values[k]);
    }
    compiled.offsets.push_back(compiled.rows.size());
  }
  return compiled;
}

// Multinomial logistic regression by SGD: shuffled epochs, a learning rate decaying linearly to
// zero, L2 decay, feature dropout. weights holds one row of `stride` floats per feature row.
void runSgd(const CompiledExamples& compiled, const TrainingOptions& options, std::size_t classes,
            std::size_t stride, std::vector<float>& weights, std::vector<float>& bias) {
  std::vector<float> gradient(stride, 0.0F);
  std::vector<std::size_t> active;
  std::vector<std::size_t> order(compiled.labels.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::mt19937_64 engine(options.seed);
  Dropout dropout(options.feature_dropout, engine());
  const float keptScale = 1.0F / (1.0F - options.feature_dropout);
  std::vector<std::pair<std::int32_t, float>> kept;
  const double totalSteps = static_cast<double>(options.epochs) * static_cast<double>(order.size());
  double step = 0;
  float scale = 1;  // weights times this are the weights: L2 decay without touching them all
  const auto rowOf = [&](std::int32_t row) {
    return &weights[static_cast<std::size_t>(row) * stride];
  };

  for (int epoch = 0; epoch < options.epochs; ++epoch) {
    shuffle(order, engine);
    for (const std::size_t i : order) {
      const auto rate = static_cast<float>(options.learning_rate * (1.0 - step / totalSteps));
      step += 1;
      kept.clear();
      for (std::size_t k = compiled.offsets[i]; k < compiled.offsets[i + 1]; ++k) {
        if (!dropout.drop()) kept.emplace_back(compiled.rows[k], compiled.values[k] * keptScale);
      }
      // The rows are scattered over megabytes: asking for all of them up front lets their
      // cache misses overlap instead of queueing one row at a time.
      for (const auto& [row, value] : kept) {
        for (std::size_t c = 0; c < stride; c += kFloatsPerCacheLine)
          __builtin_prefetch(rowOf(row) + c);
      }
      std::copy(bias.begin(), bias.end(), gradient.begin());
      for (const auto& [row, value] : kept)
        addScaled(gradient.data(), rowOf(row), value * scale, stride);
      softmaxInPlace(gradient.data(), classes);
      gradient[compiled.labels[i]] -= 1.0F;

      scale *= 1.0F - rate * options.l2;
      if (scale < 1e-4F) {  // renormalise before the scale loses precision
        for (float& w : weights) w *= scale;
        scale = 1;
      }
      // Once training is under way most classes get a vanishing gradient; skipping them saves
      // time without a measurable change in accuracy.
      active.clear();
      for (std::size_t c = 0; c < classes; ++c) {
        if (std::abs(gradient[c]) > kNegligibleGradient) active.push_back(c);
      }
      for (const auto& [row, value] : kept) {
        float* w = rowOf(row);
        const float factor = rate * value / scale;
        if (active.size() * 4 > classes) {
          addScaled(w, gradient.data(), -factor, stride);
        } else {
          for (const std::size_t c : active) w[c] -= factor * gradient[c];
        }
      }
      for (std::size_t c = 0; c < classes; ++c) bias[c] -= rate * gradient[c];
    }
  }
  for (float& w : weights) w *= scale;
}

}  // namespace

Result<IntentClassifier> IntentClassifier::train(std::span<const LabeledText> examples,
                                                 const TrainingOptions& options) {
  if (Status valid = validate(options); !valid) return valid.error();
  if (examples.empty()) return Error("examples: must not be empty");
  Result<LabelSet> labels = collectLabels(examples, options);
  if (!labels) return labels.error();

  IntentClassifier model(options);
  model.outOfScopeLabel_ = options.out_of_scope_label;
  model.threshold_ = options.threshold;
  model.inScopeCount_ = labels->in_scope;
  const CompiledExamples compiled =
      compile(examples, *labels, options, model.extractor_, model.bucketRows_, model.rowCount_);
  model.labels_ = std::move(labels->labels);
  model.stride_ = (model.labels_.size() + 7) / 8 * 8;
  model.weights_.assign(model.rowCount_ * model.stride_, 0.0F);
  model.bias_.assign(model.stride_, 0.0F);
  runSgd(compiled, options, model.labels_.size(), model.stride_, model.weights_, model.bias_);
  return model;
}

void IntentClassifier::probabilities(const FeatureVector& features,
                                     std::vector<float>& probabilities) const {
  probabilities.assign(bias_.begin(), bias_.end());
  for (std::size_t k = 0; k < features.buckets.size(); ++k) {
    const std::int32_t row = bucketRows_[features.buckets[k]];
    if (row < 0) continue;  // never seen in training: no weight
    const float* weights = &weights_[static_cast<std::size_t>(row) * stride_];
    addScaled(probabilities.data(), weights, features.values[k], stride_);
  }
  softmaxInPlace(probabilities.data(), labels_.size());
}

Classification IntentClassifier::classify(std::string_view text) const {
  thread_local FeatureVector features;
  thread_local std::vector<float> scores;
  extractor_.extract(text, features);
  probabilities(features, scores);
  const auto best = static_cast<std::size_t>(
      std::max_element(scores.begin(),
                       scores.begin() + static_cast<std::ptrdiff_t>(inScopeCount_)) -
      scores.begin());
  Classification result;
  result.best_intent = labels_[best];
  result.confidence = scores[best];
  if (labels_.size() > inScopeCount_) result.out_of_scope_probability = scores[inScopeCount_];
  const bool outOfScopeWins = result.out_of_scope_probability > result.confidence;
  result.out_of_scope = outOfScopeWins || result.confidence < threshold_;
  result.intent = result.out_of_scope ? std::string_view(outOfScopeLabel_) : result.best_intent;
  return result;
}

}  // namespace va::nlu
