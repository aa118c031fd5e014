// va-nlu-eval: trains the built-in intent classifier on splits of a CLINC150-format file, tunes
// its out-of-scope threshold, evaluates it and prints one JSON line. Exit 2 on bad input.
//   va-nlu-eval --data clinc150_train_val.json --train train,oos_train --eval val,oos_val
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "workloads/nlu/eval_protocol.h"

namespace {

constexpr const char* kUsage =
    "usage: va-nlu-eval --data FILE --train SPLITS --eval SPLITS [--tune SPLITS]\n"
    "                   [--max-accuracy-loss POINTS] [--no-oos-class] [--seed N]\n"
    "  SPLITS: comma-separated split names of the file, each optionally sliced like a Python\n"
    "  list: train,oos_train or val[0::2]. The out-of-scope threshold is the highest that costs\n"
    "  at most POINTS (default 0.5) of in-scope accuracy on the --tune splits, or, without\n"
    "  --tune, on a held-out 10% of each training label.\n";

int usageError(const std::string& message) {
  std::fprintf(stderr, "va-nlu-eval: %s\n%s", message.c_str(), kUsage);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  va::nlu::EvalRequest request;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (flag == "--no-oos-class") {
      request.options.out_of_scope_class = false;
      continue;
    }
    if (i + 1 >= argc) return usageError(std::string(flag) + " needs a value");
    // NOLINTNEXTLINE(cppcoreguidelines-pro-bounds-pointer-arithmetic): argv is argc long
    const std::string value = argv[++i];
    if (flag == "--data") {
      request.data_path = value;
    } else if (flag == "--train") {
      request.train = value;
    } else if (flag == "--eval") {
      request.eval = value;
    } else if (flag == "--tune") {
      request.tune = value;
    } else if (flag == "--max-accuracy-loss" || flag == "--seed") {
      char* end = nullptr;
      const double number = std::strtod(value.c_str(), &end);
      if (end == value.c_str() || *end != '\0' || !(number >= 0) || number > 1e12) {
        return usageError(std::string(flag) + ": not a non-negative number: " + value);
      }
      if (flag == "--seed") {
        request.options.seed = static_cast<std::uint64_t>(number);
      } else {
        request.max_accuracy_loss = number / 100.0;
      }
    } else {
      return usageError("unknown argument " + std::string(flag));
    }
  }
  if (request.data_path.empty() || request.train.empty() || request.eval.empty()) {
    return usageError("--data, --train and --eval are required");
  }
  const va::nlu::Result<va::nlu::EvalReport> report = va::nlu::runEvaluation(request);
  if (!report) {
    std::fprintf(stderr, "va-nlu-eval: %s\n", report.error().message().c_str());
    return 2;
  }
  std::puts(va::nlu::toJsonLine(*report).c_str());
  return 0;
}
