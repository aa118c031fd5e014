// Webhook delivery for output-manager: a bounded queue, worker threads, signed POSTs with
// retries and exponential backoff with full jitter, and a dead-letter record after the last
// failure (or for what is still queued when the process stops), so that nothing accepted is
// lost silently.
//   Retried: connection errors, timeouts, a host that does not resolve, 408, 429 and 5xx. Not
//   retried: other statuses (the receiver rejected the payload), 3xx included (redirects are
//   never followed); they go to the dead letters at once.
// Callback URLs are the client's, so every attempt goes through the SSRF guard
// (common/ssrf_guard.h) with no host allowlist: the URL is parsed strictly, its host resolved
// once, every address checked (no loopback, private, link-local, metadata... address), and the
// POST connects to exactly the checked address. A blocked destination is not retried: it goes
// to the dead letters with the reason "blocked: ...".
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "workloads/common/config.h"
#include "workloads/common/http_client.h"
#include "workloads/common/result.h"
#include "workloads/common/ssrf_guard.h"

namespace va::output_manager {

struct Delivery {
  std::string id;
  std::string conversationId;
  std::string url;
  std::string body;  // sent as is, and signed
};

// A delivery that failed for good.
struct DeadLetter {
  Delivery delivery;
  int attempts = 0;
  std::string reason;
  std::chrono::system_clock::time_point at;

  [[nodiscard]] nlohmann::json toJson() const;
};

class DeadLetterStore {
 public:
  virtual ~DeadLetterStore() = default;
  virtual va::service::Status add(const DeadLetter& letter) = 0;
  // The newest `limit` records, oldest first.
  [[nodiscard]] virtual std::vector<nlohmann::json> recent(std::size_t limit) const = 0;
};

// JSON lines appended to a file (on an emptyDir or a volume), each flushed and fsynced before
// add() returns.
class FileDeadLetterStore : public DeadLetterStore {
 public:
  explicit FileDeadLetterStore(std::string path) : path_(std::move(path)) {}
  va::service::Status add(const DeadLetter& letter) override;
  [[nodiscard]] std::vector<nlohmann::json> recent(std::size_t limit) const override;

 private:
  std::string path_;
  mutable std::mutex mutex_;
};

struct DeliveryOptions {
  va::service::Secret secret{""};
  int maxAttempts = 5;
  std::chrono::milliseconds timeout{5000};  // per attempt
  std::chrono::milliseconds backoffBase{500};
  std::chrono::milliseconds backoffCap{30000};
  std::size_t queueCapacity = 1000;
  std::size_t workers = 4;
  // IP literals the SSRF guard lets through although they are internal
  // (WEBHOOK_ALLOW_ADDRESSES; tests: 127.0.0.1).
  std::vector<std::string> allowedAddresses{};
  std::shared_ptr<const va::service::Resolver> resolver{};  // the system's when null
};

class WebhookDeliverer {
 public:
  WebhookDeliverer(DeliveryOptions options, DeadLetterStore& deadLetters,
                   prometheus::Registry& registry);
  ~WebhookDeliverer();
  WebhookDeliverer(const WebhookDeliverer&) = delete;
  WebhookDeliverer& operator=(const WebhookDeliverer&) = delete;

  // False when the queue is full (the caller answers 503 and the client retries).
  bool enqueue(Delivery delivery);

  // Stops taking deliveries, lets the workers finish theirs for up to `drain` (a retry wait is
  // cut short), then records whatever is left as dead letters with reason "shutdown".
  void stop(std::chrono::milliseconds drain);

  [[nodiscard]] std::size_t queued() const;

  // The guard every attempt goes through (also for checking a callback_url when it is given).
  [[nodiscard]] const va::service::SsrfGuard& guard() const { return guard_; }

 private:
  void work();
  void deliver(const Delivery& delivery);
  // One signed POST to the checked destination.
  [[nodiscard]] va::service::HttpResult post(const Delivery& delivery,
                                             const va::service::Destination& destination) const;
  // Stopping and the drain time is over (call with mutex_ held).
  [[nodiscard]] bool pastDeadline() const;
  void deadLetter(const Delivery& delivery, int attempts, std::string reason);

  DeliveryOptions options_;
  DeadLetterStore& deadLetters_;
  va::service::SsrfGuard guard_;
  va::service::HttpClient client_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Delivery> queue_;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point deadline_;
  std::vector<std::thread> workers_;
  prometheus::Family<prometheus::Counter>& attempts_;
  prometheus::Family<prometheus::Counter>& results_;
  prometheus::Gauge& depth_;
};

}  // namespace va::output_manager
