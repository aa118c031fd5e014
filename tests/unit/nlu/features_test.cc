#include "workloads/nlu/features.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

namespace va::nlu {
namespace {

double norm(const FeatureVector& v) {
  double squares = 0;
  for (const float x : v.values) squares += static_cast<double>(x) * x;
  return std::sqrt(squares);
}

TEST(FeaturesTest, VectorIsSortedUniqueAndUnitLength) {
  const FeatureExtractor extractor{FeatureOptions{}};
  const FeatureVector v = extractor.extract("book a table for two, a table for two please");
  ASSERT_FALSE(v.buckets.empty());
  EXPECT_EQ(v.buckets.size(), v.values.size());
  EXPECT_TRUE(std::is_sorted(v.buckets.begin(), v.buckets.end()));
  EXPECT_EQ(std::adjacent_find(v.buckets.begin(), v.buckets.end()), v.buckets.end());
  EXPECT_NEAR(norm(v), 1.0, 1e-5);
  for (const std::uint32_t b : v.buckets) EXPECT_LT(b, extractor.bucketCount());
}

TEST(FeaturesTest, EmptyTextHasNoFeatures) {
  const FeatureExtractor extractor{FeatureOptions{}};
  EXPECT_TRUE(extractor.extract("").buckets.empty());
  EXPECT_TRUE(extractor.extract("?!").buckets.empty());
}

TEST(FeaturesTest, NormalisationMakesCaseAndPunctuationIrrelevant) {
  const FeatureExtractor extractor{FeatureOptions{}};
  const FeatureVector a = extractor.extract("What's the weather?");
  const FeatureVector b = extractor.extract("whats THE weather");
  EXPECT_EQ(a.buckets, b.buckets);
  EXPECT_EQ(a.values, b.values);
}

TEST(FeaturesTest, RepeatedFeaturesWeighSublinearly) {
  FeatureOptions options;
  options.word_bigrams = false;
  options.char_ngram_min = 0;
  const FeatureExtractor extractor{options};
  const FeatureVector v = extractor.extract("go go go stop");
  ASSERT_EQ(v.values.size(), 2U);
  const float high = std::max(v.values[0], v.values[1]);
  const float low = std::min(v.values[0], v.values[1]);
  EXPECT_NEAR(high / low, 1.0 + std::log(3.0), 1e-5);  // three times "go": 1 + ln 3, not 3
}

TEST(FeaturesTest, FeatureKindsCanBeTurnedOff) {
  FeatureOptions words;
  words.word_bigrams = false;
  words.char_ngram_min = 0;
  EXPECT_EQ(FeatureExtractor(words).extract("one two three").buckets.size(), 3U);
  words.word_bigrams = true;  // ^-one, one-two, two-three, three-$
  EXPECT_EQ(FeatureExtractor(words).extract("one two three").buckets.size(), 7U);
  FeatureOptions chars;
  chars.word_unigrams = false;
  chars.word_bigrams = false;
  chars.char_ngram_min = 3;
  chars.char_ngram_max = 3;
  EXPECT_EQ(FeatureExtractor(chars).extract("abc").buckets.size(), 3U);  // <ab abc bc>
}

TEST(FeaturesTest, DigitsFoldUnlessTurnedOff) {
  FeatureOptions options;
  EXPECT_EQ(FeatureExtractor(options).extract("at 5pm").buckets,
            FeatureExtractor(options).extract("at 7pm").buckets);
  options.fold_digits = false;
  EXPECT_NE(FeatureExtractor(options).extract("at 5pm").buckets,
            FeatureExtractor(options).extract("at 7pm").buckets);
}

TEST(FeaturesTest, WordOrderChangesOnlyTheBigrams) {
  FeatureOptions options;
  options.word_bigrams = false;
  EXPECT_EQ(FeatureExtractor(options).extract("play music").buckets,
            FeatureExtractor(options).extract("music play").buckets);
  options.word_bigrams = true;
  EXPECT_NE(FeatureExtractor(options).extract("play music").buckets,
            FeatureExtractor(options).extract("music play").buckets);
}

}  // namespace
}  // namespace va::nlu
