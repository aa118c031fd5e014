#include "workloads/nlu/eval_protocol.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <nlohmann/json.hpp>
#include <set>

#include "workloads/nlu/dataset.h"

namespace va::nlu {
namespace {

// One in ten examples of every label is held out when no tuning split is named.
constexpr std::size_t kHoldOutEvery = 10;

double threadCpuSeconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

double rounded(double value, double scale) { return std::round(value * scale) / scale; }

}  // namespace

Result<EvalReport> runEvaluation(const EvalRequest& request) {
  Result<Dataset> data = loadDataset(request.data_path);
  if (!data) return data.error();
  Result<std::vector<LabeledText>> train = selectSplits(*data, request.train);
  if (!train) return train.error().withContext("--train");
  Result<std::vector<LabeledText>> eval = selectSplits(*data, request.eval);
  if (!eval) return eval.error().withContext("--eval");
  std::vector<LabeledText> tune;
  if (!request.tune.empty()) {
    Result<std::vector<LabeledText>> named = selectSplits(*data, request.tune);
    if (!named) return named.error().withContext("--tune");
    tune = std::move(*named);
  }

  const std::string& outOfScope = request.options.out_of_scope_label;
  const bool anyInScope = std::any_of(tune.begin(), tune.end(),
                                      [&](const LabeledText& e) { return e.label != outOfScope; });
  EvalReport report;
  report.out_of_scope_class = request.options.out_of_scope_class &&
                              std::any_of(train->begin(), train->end(), [&](const LabeledText& e) {
                                return e.label == outOfScope;
                              });
  std::vector<Outcome> tuneOutcomes;
  if (!anyInScope) {
    // Tune with a model that has not seen the held-out part, then train the final model on all.
    HeldOut split = holdOut(*train, kHoldOutEvery);
    Result<IntentClassifier> tuneModel = IntentClassifier::train(split.kept, request.options);
    if (!tuneModel) return tuneModel.error().withContext("training on 90% of --train");
    tune.insert(tune.end(), split.held_out.begin(), split.held_out.end());
    report.tuned_on = (request.tune.empty() ? "" : request.tune + " + ") +
                      "a held-out 10% of each label of " + request.train +
                      " (threshold from a model trained on the other 90%)";
    tuneOutcomes = score(*tuneModel, tune);
  } else {
    report.tuned_on = request.tune;
  }
  if (!request.tune.empty()) {
    const std::vector<ExampleId> tuneIds = *selectIds(*data, request.tune);
    const std::vector<ExampleId> evalList = *selectIds(*data, request.eval);
    const std::set<ExampleId> evalIds(evalList.begin(), evalList.end());
    report.tune_is_eval = std::any_of(tuneIds.begin(), tuneIds.end(),
                                      [&](const ExampleId& id) { return evalIds.count(id) != 0; });
  }

  const auto wallStart = std::chrono::steady_clock::now();
  const double cpuStart = threadCpuSeconds();
  Result<IntentClassifier> model = IntentClassifier::train(*train, request.options);
  report.train_cpu_seconds = threadCpuSeconds() - cpuStart;
  report.train_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wallStart).count();
  if (!model) return model.error().withContext("training on --train");
  if (tuneOutcomes.empty()) tuneOutcomes = score(*model, tune);
  model->setThreshold(tuneThreshold(tuneOutcomes, request.max_accuracy_loss));

  const std::vector<Outcome> outcomes = score(*model, *eval);
  report.metrics = metricsAt(outcomes, model->threshold());
  report.p50_classify_us = percentileMicros(outcomes, 50);
  report.p99_classify_us = percentileMicros(outcomes, 99);
  report.threshold = model->threshold();
  report.train_examples = train->size();
  report.eval_examples = eval->size();
  report.tune_examples = tune.size();
  return report;
}

std::string toJsonLine(const EvalReport& report) {
  const nlohmann::ordered_json line = {
      {"in_scope_accuracy", rounded(report.metrics.in_scope_accuracy, 1e4)},
      {"oos_recall", rounded(report.metrics.oos_recall, 1e4)},
      {"oos_precision", rounded(report.metrics.oos_precision, 1e4)},
      {"train_seconds", rounded(report.train_seconds, 1e3)},
      {"train_cpu_seconds", rounded(report.train_cpu_seconds, 1e3)},
      {"p50_classify_us", rounded(report.p50_classify_us, 10)},
      {"p99_classify_us", rounded(report.p99_classify_us, 10)},
      {"threshold", rounded(report.threshold, 1e4)},
      {"train_examples", report.train_examples},
      {"eval_examples", report.eval_examples},
      {"tune_examples", report.tune_examples},
      {"tuned_on", report.tuned_on},
      {"tune_is_eval", report.tune_is_eval},
      {"oos_class", report.out_of_scope_class},
  };
  return line.dump();
}

}  // namespace va::nlu
