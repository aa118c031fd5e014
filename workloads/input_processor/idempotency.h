// Idempotent retries, as Stripe's Idempotency-Key: the first request with a key is processed and
// its response kept (default 24 h); a retry with the same key and body gets that response again,
// one with a different body is refused, and one arriving while the first still runs waits for it.
// In-process, thread-safe and bounded.
//   IdempotencyStore store;
//   if (Status s = validateIdempotencyKey(header); !s) return reply(400, s.error().message());
//   const std::string key = idempotencyKey(principal.id, conversationId, header);
//   IdempotencyStore::Claim claim = store.begin(key, requestFingerprint(body));
//   if (claim.outcome == IdempotencyStore::Outcome::kInProgress) {
//     if (auto done = store.waitFor(key, 10s)) return replay(*done);
//     claim = store.begin(key, requestFingerprint(body));    // abandoned meanwhile: try again
//     if (claim.outcome == IdempotencyStore::Outcome::kInProgress) return reply(409, ...);
//   }
//   switch (claim.outcome) {
//     case kDone: return replay(*claim.response);
//     case kMismatch: return reply(422, "Idempotency-Key reused with a different body");
//     case kNew: ... process; store.complete(key, {status, body}) or store.abandon(key) ...
//   }
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "workloads/common/result.h"

namespace va::input_processor {

inline constexpr std::string_view kIdempotencyKeyHeader = "Idempotency-Key";

// 1 to 255 visible ASCII characters (0x21-0x7E); the error names the Idempotency-Key header.
service::Status validateIdempotencyKey(std::string_view key);

// The store key for (principal, conversation, Idempotency-Key), unambiguous whatever the parts.
std::string idempotencyKey(std::string_view principal, std::string_view conversation,
                           std::string_view headerValue);

// The lowercase hex SHA-256 of a request body.
std::string requestFingerprint(std::string_view body);

struct StoredResponse {
  int status = 0;
  std::string body;
};

class IdempotencyStore {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  // Keeps at most `capacity` keys (the oldest completed ones go first), each for `ttl` after its
  // first request.
  explicit IdempotencyStore(
      std::size_t capacity = 10000, std::chrono::seconds ttl = std::chrono::hours(24),
      Clock now = [] { return std::chrono::steady_clock::now(); });

  enum class Outcome {
    kNew,         // process the request, then complete() or abandon()
    kDone,        // replay `response`
    kMismatch,    // same key, different body: answer 422
    kInProgress,  // a request with this key is running: waitFor() it
  };
  struct Claim {
    Outcome outcome = Outcome::kNew;
    std::optional<StoredResponse> response;  // set for kDone
  };

  Claim begin(const std::string& key, const std::string& fingerprint);
  // Stores the response of the running request and wakes its waiters.
  void complete(const std::string& key, StoredResponse response);
  // Forgets the running request (it failed) so that a retry can start over; wakes waiters.
  void abandon(const std::string& key);
  // Blocks until the request running with `key` completes (its response) or is abandoned
  // (nothing: call begin() again), or `timeout` passes (nothing; begin() then says kInProgress).
  std::optional<StoredResponse> waitFor(const std::string& key, std::chrono::milliseconds timeout);

  [[nodiscard]] std::size_t size() const;

 private:
  struct Entry {
    std::string fingerprint;
    bool done = false;
    StoredResponse response;
    std::chrono::steady_clock::time_point expires;
    std::uint64_t generation = 0;            // tells a retry's entry from the one waited for
    std::list<std::string>::iterator order;  // position in order_
  };
  void erase(std::unordered_map<std::string, Entry>::iterator it);
  void purgeExpired(std::chrono::steady_clock::time_point now);
  void evictOne();

  const std::size_t capacity_;
  const std::chrono::seconds ttl_;
  const Clock now_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> order_;  // keys, oldest first (which is also expiry order)
  std::uint64_t nextGeneration_ = 1;
};

}  // namespace va::input_processor
