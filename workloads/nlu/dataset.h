// Labelled utterances in CLINC150's format: a JSON object of named splits, each a list of
// [utterance, intent] pairs, out-of-scope examples labelled "oos".
//   Result<Dataset> data = loadDataset("clinc150_train_val.json");
//   Result<std::vector<LabeledText>> train = selectSplits(*data, "train,oos_train");
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "workloads/nlu/classifier.h"
#include "workloads/nlu/result.h"

namespace va::nlu {

struct Dataset {
  std::map<std::string, std::vector<LabeledText>> splits;
};

// Errors name the split and index of a bad entry ("train[12]: ...").
Result<Dataset> parseDataset(std::string_view json);
Result<Dataset> loadDataset(const std::string& path);

// The named splits ("train,oos_train") concatenated in order. A name may carry a Python-style
// slice of non-negative indices, "val[0::2]" (every other example from the first), so one split
// can be cut into disjoint tuning and evaluation halves. An unknown name is an error that lists
// the known ones.
Result<std::vector<LabeledText>> selectSplits(const Dataset& dataset, std::string_view names);

// The same selection as (split, index) pairs, to tell whether two selections overlap.
using ExampleId = std::pair<std::string, std::size_t>;
Result<std::vector<ExampleId>> selectIds(const Dataset& dataset, std::string_view names);

// A deterministic, stratified split: every label's examples in order, each `every`-th one (from
// the first) held out. every = 10 holds out 10% of each label.
struct HeldOut {
  std::vector<LabeledText> kept;
  std::vector<LabeledText> held_out;
};
HeldOut holdOut(const std::vector<LabeledText>& examples, std::size_t every);

// Path of the CLINC150 file: $VA_SOURCE_DIR/../shared/datasets/clinc150/clinc150_train_val.json,
// or the same relative to the working directory when VA_SOURCE_DIR is unset.
std::string clincDatasetPath();

}  // namespace va::nlu
