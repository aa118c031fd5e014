#include "workloads/nlu/dataset.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_map>

namespace va::nlu {

Result<Dataset> parseDataset(std::string_view json) {
  nlohmann::json document;
  try {
    document = nlohmann::json::parse(json);
  } catch (const nlohmann::json::exception& error) {
    return Error(std::string("malformed JSON: ") + error.what());
  }
  if (!document.is_object()) return Error("the document must be an object of splits");
  Dataset dataset;
  for (const auto& [name, split] : document.items()) {
    if (!split.is_array()) return Error(name + ": must be a list of [utterance, intent] pairs");
    std::vector<LabeledText>& examples = dataset.splits[name];
    examples.reserve(split.size());
    for (std::size_t i = 0; i < split.size(); ++i) {
      const nlohmann::json& pair = split[i];
      if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string() || !pair[1].is_string()) {
        return Error(name + "[" + std::to_string(i) +
                     "]: must be an [utterance, intent] pair of strings");
      }
      LabeledText example{pair[0].get<std::string>(), pair[1].get<std::string>()};
      if (example.text.empty() || example.label.empty()) {
        return Error(name + "[" + std::to_string(i) + "]: utterance and intent must not be empty");
      }
      examples.push_back(std::move(example));
    }
  }
  return dataset;
}

Result<Dataset> loadDataset(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(path + ": cannot open the file");
  std::ostringstream content;
  content << in.rdbuf();
  Result<Dataset> dataset = parseDataset(content.str());
  if (!dataset) return dataset.error().withContext(path);
  return dataset;
}

namespace {

// GCC 12 warns falsely (-Wrestrict) about "literal" + std::string; this builds the same text.
std::string quoted(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out.push_back('"');
  out.append(text);
  out.push_back('"');
  return out;
}

// "12" -> 12, "" -> fallback; anything else is an error.
Result<std::size_t> sliceBound(std::string_view text, std::size_t fallback, std::string_view name) {
  if (text.empty()) return fallback;
  std::size_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9' || value > 100000000) {
      return Error(quoted(name) + ": slice bounds must be non-negative integers");
    }
    value = value * 10 + static_cast<std::size_t>(c - '0');
  }
  return value;
}

// One entry of a selection: "train" or "val[start:stop:step]".
Status selectOne(const Dataset& dataset, std::string_view entry, std::vector<ExampleId>& out) {
  std::string_view name = entry;
  std::string_view slice;
  if (const std::size_t open = entry.find('['); open != std::string_view::npos) {
    if (entry.back() != ']') return Error(quoted(entry) + ": a slice ends with ]");
    name = entry.substr(0, open);
    slice = entry.substr(open + 1, entry.size() - open - 2);
  }
  const auto split = dataset.splits.find(std::string(name));
  if (split == dataset.splits.end()) {
    std::string known;
    for (const auto& [knownName, unused] : dataset.splits) {
      known += (known.empty() ? "" : ", ") + knownName;
    }
    return Error("unknown split " + quoted(name) + " (the file has: " + known + ")");
  }
  const std::size_t size = split->second.size();
  std::size_t start = 0;
  std::size_t stop = size;
  std::size_t step = 1;
  if (!slice.empty() || entry.find('[') != std::string_view::npos) {
    std::vector<std::string_view> parts;
    for (std::size_t colon = slice.find(':'); colon != std::string_view::npos;
         colon = slice.find(':')) {
      parts.push_back(slice.substr(0, colon));
      slice = slice.substr(colon + 1);
    }
    parts.push_back(slice);
    if (parts.size() < 2 || parts.size() > 3) {
      return Error(quoted(entry) + ": write a slice as [start:stop] or [start:stop:step]");
    }
    Result<std::size_t> a = sliceBound(parts[0], 0, entry);
    Result<std::size_t> b = sliceBound(parts[1], size, entry);
    Result<std::size_t> c = sliceBound(parts.size() == 3 ? parts[2] : "", 1, entry);
    if (!a) return a.error();
    if (!b) return b.error();
    if (!c) return c.error();
    if (*c == 0) return Error(quoted(entry) + ": the step must be at least 1");
    start = *a;
    stop = std::min(*b, size);
    step = *c;
  }
  for (std::size_t i = start; i < stop; i += step) out.emplace_back(split->first, i);
  return {};
}

}  // namespace

Result<std::vector<ExampleId>> selectIds(const Dataset& dataset, std::string_view names) {
  std::vector<ExampleId> ids;
  bool any = false;
  while (!names.empty()) {
    const std::size_t comma = names.find(',');
    const std::string_view entry = names.substr(0, comma);
    names = comma == std::string_view::npos ? std::string_view() : names.substr(comma + 1);
    if (entry.empty()) continue;
    if (Status selected = selectOne(dataset, entry, ids); !selected) return selected.error();
    any = true;
  }
  if (!any) return Error("no split named");
  return ids;
}

Result<std::vector<LabeledText>> selectSplits(const Dataset& dataset, std::string_view names) {
  Result<std::vector<ExampleId>> ids = selectIds(dataset, names);
  if (!ids) return ids.error();
  std::vector<LabeledText> selected;
  selected.reserve(ids->size());
  for (const auto& [split, index] : *ids) selected.push_back(dataset.splits.at(split)[index]);
  return selected;
}

HeldOut holdOut(const std::vector<LabeledText>& examples, std::size_t every) {
  HeldOut result;
  std::unordered_map<std::string, std::size_t> seen;
  for (const LabeledText& example : examples) {
    const std::size_t index = seen[example.label]++;
    (every > 0 && index % every == 0 ? result.held_out : result.kept).push_back(example);
  }
  return result;
}

std::string clincDatasetPath() {
  const char* source = std::getenv("VA_SOURCE_DIR");  // NOLINT(concurrency-mt-unsafe)
  const std::string root = source != nullptr && *source != '\0' ? std::string(source) : ".";
  return root + "/../shared/datasets/clinc150/clinc150_train_val.json";
}

}  // namespace va::nlu
