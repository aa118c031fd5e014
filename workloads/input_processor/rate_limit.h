// Per-principal token buckets: each principal may send `burst` requests at once and then
// `ratePerSecond` on average. Thread-safe; the number of buckets kept is bounded.
//   RateLimiter limiter(5.0, 20.0);                // 5 requests/s, bursts of 20
//   RateLimiter::Decision d = limiter.take(principal.id);
//   if (!d.allowed) return reply429(retryAfterSeconds(d.retryAfter));
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

namespace va::input_processor {

class RateLimiter {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  // ratePerSecond <= 0 disables the limit (every take() is allowed). A burst below 1 counts as 1.
  // When more than maxPrincipals buckets exist the least recently used one is dropped: it is
  // normally idle and full again, so dropping it loses nothing.
  RateLimiter(
      double ratePerSecond, double burst,
      Clock now = [] { return std::chrono::steady_clock::now(); },
      std::size_t maxPrincipals = 100000);

  struct Decision {
    bool allowed = true;
    std::chrono::milliseconds retryAfter{0};  // when denied: until one token is back (rounded up)
    double remaining = 0;                     // tokens left after this request
  };

  // Takes one token from the principal's bucket, if there is one.
  Decision take(const std::string& principal);

  // Buckets currently kept (for tests and metrics).
  [[nodiscard]] std::size_t size() const;

 private:
  struct Bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point updated;
    std::list<std::string>::iterator recent;  // position in recent_
  };

  const double rate_;
  const double burst_;
  const Clock now_;
  const std::size_t maxPrincipals_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
  std::list<std::string> recent_;  // principals, most recently used first
};

}  // namespace va::input_processor
