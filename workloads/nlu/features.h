// Turns an utterance into a sparse, L2-normalised feature vector for the intent classifier: word
// unigrams and bigrams plus character n-grams inside word boundaries, hashed into 2^hash_bits
// buckets, each count damped to 1 + ln(count). The defaults were chosen on half of CLINC150's
// validation split (see hack/bench/nlu.sh).
//   FeatureExtractor extractor(FeatureOptions{});
//   FeatureVector features = extractor.extract("book a table for two");
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace va::nlu {

struct FeatureOptions {
  int hash_bits = 20;
  bool word_unigrams = true;
  bool word_bigrams = true;  // including the utterance's first and last word with a boundary
  int char_ngram_min = 3;    // character n-grams of "<word>"; 0 turns them off
  int char_ngram_max = 4;
  bool fold_digits = true;   // every digit reads as 0: "5pm" and "7pm" share their features
  float word_weight = 1.0F;  // scales the word features against the character n-grams
  float char_weight = 1.0F;
};

// Buckets in increasing order, each with its weight; the weights have an L2 norm of 1 (or the
// vector is empty).
struct FeatureVector {
  std::vector<std::uint32_t> buckets;
  std::vector<float> values;
};

class FeatureExtractor {
 public:
  explicit FeatureExtractor(FeatureOptions options) : options_(options) {}

  [[nodiscard]] FeatureVector extract(std::string_view text) const;
  // The same into `out`, reusing its memory (the classifier's hot path).
  void extract(std::string_view text, FeatureVector& out) const;

  [[nodiscard]] const FeatureOptions& options() const { return options_; }
  [[nodiscard]] std::uint32_t bucketCount() const { return 1U << options_.hash_bits; }

 private:
  FeatureOptions options_;
};

}  // namespace va::nlu
