// Backoff with jitter for retried API calls, and retryOnConflict: client-go's
// retry.RetryOnConflict, which re-runs a whole read-modify-write when a write loses a race.
//   auto written = retryOnConflict([&]() -> ApiResult<nlohmann::json> {
//     auto current = client.get(path);              // fresh state on every attempt
//     if (!current) return current.error();
//     (*current)["status"] = desiredStatus;
//     return client.replaceStatus(path, *current);  // 409 Conflict: run again
//   });
#pragma once

#include <algorithm>
#include <chrono>
#include <type_traits>

#include "operator/kube/time_source.h"

namespace va::kube {

struct Backoff {
  std::chrono::milliseconds initial{10};
  double factor = 1.0;  // each retry waits `factor` times longer than the one before
  double jitter = 0.1;  // a delay grows by a random fraction in [0, jitter)
  int steps = 5;        // attempts in all
  std::chrono::milliseconds cap = std::chrono::seconds(10);

  // The wait before retry number `retry` (0 for the first retry); `random` is in [0, 1).
  [[nodiscard]] std::chrono::milliseconds delay(int retry, double random) const;
};

// client-go's retry.DefaultRetry: five attempts 10 ms apart, 10% jitter. Conflicts clear fast;
// a write that keeps conflicting means another writer fights over the same field.
inline constexpr Backoff kDefaultRetry{};

// A uniformly random number in [0, 1) from a per-thread generator.
double jitterFraction();

// Runs `fn` (returning ApiResult<T> or Result<void, ApiError>) until it does not fail with 409
// Conflict, at most `maxAttempts` times, waiting kDefaultRetry's delay in between; returns the
// last result. `fn` must read the object afresh each time: the conflict said its copy is stale.
template <typename Fn>
auto retryOnConflict(Fn&& fn, int maxAttempts = kDefaultRetry.steps,
                     const TimeSource& time = TimeSource::steady()) -> std::invoke_result_t<Fn&> {
  auto result = fn();
  for (int attempt = 1; attempt < maxAttempts && !result.ok() && result.error().isConflict();
       ++attempt) {
    time.sleepFor(kDefaultRetry.delay(attempt - 1, jitterFraction()));
    result = fn();
  }
  return result;
}

}  // namespace va::kube
