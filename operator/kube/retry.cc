#include "operator/kube/retry.h"

#include <cmath>
#include <random>

namespace va::kube {

std::chrono::milliseconds Backoff::delay(int retry, double random) const {
  const double grown = static_cast<double>(initial.count()) * std::pow(factor, retry);
  const double capped = std::min(grown, static_cast<double>(cap.count()));
  const double jittered = capped * (1.0 + jitter * std::clamp(random, 0.0, 1.0));
  return std::chrono::milliseconds(static_cast<long long>(std::llround(jittered)));
}

double jitterFraction() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(generator);
}

}  // namespace va::kube
