#include "workloads/nlu/features.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "workloads/nlu/text.h"

namespace va::nlu {
namespace {

constexpr std::uint64_t kFnvOffset = 14695981039346656037ULL;
constexpr std::uint64_t kFnvPrime = 1099511628211ULL;

// Each kind of feature hashes from its own seed so "ab" the word and "ab" the n-gram differ.
constexpr std::uint64_t kWordSeed = kFnvOffset;
constexpr std::uint64_t kBigramSeed = kFnvOffset ^ 0x9E3779B97F4A7C15ULL;
constexpr std::uint64_t kCharSeed = kFnvOffset ^ 0xC2B2AE3D27D4EB4FULL;

std::uint64_t fnvStep(std::uint64_t hash, unsigned char byte) { return (hash ^ byte) * kFnvPrime; }

std::uint64_t fnv(std::uint64_t seed, std::string_view bytes) {
  for (const char c : bytes) seed = fnvStep(seed, static_cast<unsigned char>(c));
  return seed;
}

// splitmix64's finaliser: spreads FNV's weak high bits before taking the top hash_bits.
std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 30U;
  x *= 0xBF58476D1CE4E5B9ULL;
  x ^= x >> 27U;
  x *= 0x94D049BB133111EBULL;
  x ^= x >> 31U;
  return x;
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }

struct Hit {
  std::uint32_t bucket;
  float weight;
};

}  // namespace

FeatureVector FeatureExtractor::extract(std::string_view text) const {
  FeatureVector out;
  extract(text, out);
  return out;
}

void FeatureExtractor::extract(std::string_view text, FeatureVector& out) const {
  out.buckets.clear();
  out.values.clear();
  std::vector<std::string> words = tokenize(text);
  if (options_.fold_digits) {
    for (std::string& word : words) std::replace_if(word.begin(), word.end(), isDigit, '0');
  }
  const auto shift = static_cast<unsigned>(64 - options_.hash_bits);
  const auto bucketOf = [shift](std::uint64_t hash) {
    return static_cast<std::uint32_t>(mix(hash) >> shift);
  };

  std::vector<Hit> hits;
  hits.reserve(words.size() * 24 + 8);
  const float wordWeight = options_.word_weight;
  if (options_.word_unigrams) {
    for (const std::string& word : words)
      hits.push_back({bucketOf(fnv(kWordSeed, word)), wordWeight});
  }
  if (options_.word_bigrams && !words.empty()) {
    // "^" and "$" stand for the utterance's boundaries: first and last words are telling.
    std::uint64_t previous = fnv(kBigramSeed, "^");
    for (std::size_t i = 0; i <= words.size(); ++i) {
      const std::uint64_t current =
          i < words.size() ? fnv(kBigramSeed, words[i]) : fnv(kBigramSeed, "$");
      hits.push_back({bucketOf(previous * 31 + current), wordWeight});
      previous = current;
    }
  }
  if (options_.char_ngram_min > 0) {
    const auto minN = static_cast<std::size_t>(options_.char_ngram_min);
    const auto maxN = static_cast<std::size_t>(options_.char_ngram_max);
    std::string padded;
    for (const std::string& word : words) {
      padded.clear();
      padded.push_back('<');
      padded += word;
      padded.push_back('>');
      for (std::size_t start = 0; start + minN <= padded.size(); ++start) {
        std::uint64_t hash = kCharSeed;
        const std::size_t longest = std::min(maxN, padded.size() - start);
        for (std::size_t n = 1; n <= longest; ++n) {
          hash = fnvStep(hash, static_cast<unsigned char>(padded[start + n - 1]));
          if (n >= minN) hits.push_back({bucketOf(hash), options_.char_weight});
        }
      }
    }
  }

  std::sort(hits.begin(), hits.end(),
            [](const Hit& a, const Hit& b) { return a.bucket < b.bucket; });
  double squares = 0;
  for (std::size_t i = 0; i < hits.size();) {
    std::size_t j = i;
    while (j < hits.size() && hits[j].bucket == hits[i].bucket) ++j;
    const float value =
        hits[i].weight * (1.0F + std::log(static_cast<float>(j - i)));  // sublinear TF
    out.buckets.push_back(hits[i].bucket);
    out.values.push_back(value);
    squares += static_cast<double>(value) * value;
    i = j;
  }
  if (squares > 0) {
    const auto inverseNorm = static_cast<float>(1.0 / std::sqrt(squares));
    for (float& value : out.values) value *= inverseNorm;
  }
}

}  // namespace va::nlu
