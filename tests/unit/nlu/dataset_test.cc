#include "workloads/nlu/dataset.h"

#include <gtest/gtest.h>

namespace va::nlu {
namespace {

std::string errorOf(std::string_view json) {
  const Result<Dataset> d = parseDataset(json);
  return d.ok() ? "ok" : d.error().message();
}

TEST(DatasetTest, ParsesSplitsOfPairs) {
  const Result<Dataset> d = parseDataset(
      R"({"train": [["hi", "greet"], ["bye", "goodbye"]], "oos_train": [["what", "oos"]]})");
  ASSERT_TRUE(d.ok()) << d.error().message();
  ASSERT_EQ(d->splits.size(), 2U);
  EXPECT_EQ(d->splits.at("train")[1].text, "bye");
  EXPECT_EQ(d->splits.at("train")[1].label, "goodbye");
  EXPECT_EQ(d->splits.at("oos_train")[0].label, "oos");
}

TEST(DatasetTest, ErrorsNameTheSplitAndIndex) {
  EXPECT_EQ(errorOf(R"({"train": [["a", "b"], ["c"]]})"),
            "train[1]: must be an [utterance, intent] pair of strings");
  EXPECT_EQ(errorOf(R"({"val": [["a", 3]]})"),
            "val[0]: must be an [utterance, intent] pair of strings");
  EXPECT_EQ(errorOf(R"({"val": [["", "x"]]})"), "val[0]: utterance and intent must not be empty");
  EXPECT_EQ(errorOf(R"({"train": {"a": 1}})"),
            "train: must be a list of [utterance, intent] pairs");
  EXPECT_EQ(errorOf(R"([1, 2])"), "the document must be an object of splits");
  EXPECT_TRUE(errorOf(R"({"train": [["a", "b"])").starts_with("malformed JSON: "));
}

TEST(DatasetTest, MissingFileIsAnError) {
  const Result<Dataset> d = loadDataset("/nonexistent/clinc.json");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().message(), "/nonexistent/clinc.json: cannot open the file");
}

Dataset numbers() {
  Dataset d;
  for (int i = 0; i < 10; ++i) d.splits["a"].push_back({std::to_string(i), "n"});
  d.splits["b"].push_back({"b0", "m"});
  return d;
}

std::string texts(const Result<std::vector<LabeledText>>& selected) {
  if (!selected.ok()) return selected.error().message();
  std::string out;
  for (const LabeledText& e : *selected) out += e.text + " ";
  return out;
}

TEST(SelectSplitsTest, ConcatenatesAndSlices) {
  const Dataset d = numbers();
  EXPECT_EQ(texts(selectSplits(d, "b,a")), "b0 0 1 2 3 4 5 6 7 8 9 ");
  EXPECT_EQ(texts(selectSplits(d, "a[0::2]")), "0 2 4 6 8 ");
  EXPECT_EQ(texts(selectSplits(d, "a[1::2]")), "1 3 5 7 9 ");
  EXPECT_EQ(texts(selectSplits(d, "a[7:]")), "7 8 9 ");
  EXPECT_EQ(texts(selectSplits(d, "a[:2],b")), "0 1 b0 ");
  EXPECT_EQ(texts(selectSplits(d, "a[8:100]")), "8 9 ");
}

TEST(SelectSplitsTest, BadNamesAreErrors) {
  const Dataset d = numbers();
  EXPECT_EQ(texts(selectSplits(d, "a,c")), "unknown split \"c\" (the file has: a, b)");
  EXPECT_EQ(texts(selectSplits(d, "")), "no split named");
  EXPECT_EQ(texts(selectSplits(d, "a[x:]")),
            "\"a[x:]\": slice bounds must be non-negative integers");
  EXPECT_EQ(texts(selectSplits(d, "a[::0]")), "\"a[::0]\": the step must be at least 1");
  EXPECT_EQ(texts(selectSplits(d, "a[1]")),
            "\"a[1]\": write a slice as [start:stop] or [start:stop:step]");
  EXPECT_EQ(texts(selectSplits(d, "a[1:")), "\"a[1:\": a slice ends with ]");
}

TEST(SelectIdsTest, IdentifiesExamplesBySplitAndIndex) {
  const Result<std::vector<ExampleId>> ids = selectIds(numbers(), "a[8:],b");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (std::vector<ExampleId>{{"a", 8}, {"a", 9}, {"b", 0}}));
}

TEST(HoldOutTest, HoldsOutEveryNthOfEachLabel) {
  std::vector<LabeledText> examples;
  for (int i = 0; i < 20; ++i) {
    std::string text = "x";
    text += std::to_string(i);
    examples.push_back({text, i % 2 == 0 ? "even" : "odd"});
  }
  const HeldOut split = holdOut(examples, 5);
  ASSERT_EQ(split.held_out.size(), 4U);  // two of each label
  EXPECT_EQ(split.kept.size(), 16U);
  EXPECT_EQ(split.held_out[0].text, "x0");
  EXPECT_EQ(split.held_out[1].text, "x1");
  EXPECT_EQ(split.held_out[2].text, "x10");
  EXPECT_EQ(split.held_out[3].text, "x11");
}

}  // namespace
}  // namespace va::nlu
