// The va-nlu-eval protocol on a CLINC150-format file: train on some splits, choose the
// out-of-scope threshold on others (or on a held-out part of the training splits), evaluate on
// the rest, and report one JSON line.
//   EvalRequest request{.data_path = "clinc150.json", .train = "train,oos_train",
//                       .eval = "val,oos_val", .tune = "", .max_accuracy_loss = 0.005,
//                       .options = {}};
//   Result<EvalReport> report = runEvaluation(request);
//   std::puts(toJsonLine(*report).c_str());
#pragma once

#include <cstddef>
#include <string>

#include "workloads/nlu/classifier.h"
#include "workloads/nlu/evaluation.h"
#include "workloads/nlu/result.h"

namespace va::nlu {

struct EvalRequest {
  std::string data_path;
  std::string train;  // comma-separated split names
  std::string eval;
  // Empty, or without in-scope examples: tune on a held-out 10% of each training label.
  std::string tune;
  double max_accuracy_loss = 0.005;  // see tuneThreshold
  TrainingOptions options;
};

struct EvalReport {
  Metrics metrics;
  double train_seconds = 0;      // wall time of the final training
  double train_cpu_seconds = 0;  // its CPU time (this thread), steadier on a busy machine
  double p50_classify_us = 0;
  double p99_classify_us = 0;
  float threshold = 0;
  std::size_t train_examples = 0;
  std::size_t eval_examples = 0;
  std::size_t tune_examples = 0;
  std::string tuned_on;       // what the threshold was chosen on, in words
  bool tune_is_eval = false;  // tuning and evaluation share examples: an optimistic figure
  bool out_of_scope_class = false;
};

Result<EvalReport> runEvaluation(const EvalRequest& request);

std::string toJsonLine(const EvalReport& report);

}  // namespace va::nlu
