#include "workloads/output_manager/delivery.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <utility>

#include "workloads/common/logging.h"
#include "workloads/output_manager/webhook.h"

namespace va::output_manager {
namespace {

using nlohmann::json;
using Steady = std::chrono::steady_clock;

constexpr std::size_t kMaxLocationBytes = 200;  // of a redirect's Location, in a dead letter

// 3xx is not among them: a redirect is never followed, nor retried.
bool retryableStatus(int status) { return status == 408 || status == 429 || status >= 500; }

// Retry-After in seconds, when the receiver sent one.
std::optional<std::chrono::milliseconds> retryAfter(const va::service::HttpResponse& response) {
  const std::optional<std::string> value = response.header("Retry-After");
  if (!value || value->empty() || value->size() > 6) return std::nullopt;
  for (const char c : *value) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  return std::chrono::seconds(std::stoi(*value));
}

}  // namespace

json DeadLetter::toJson() const {
  json body = json::parse(delivery.body, nullptr, /*allow_exceptions=*/false);
  return {{"delivery_id", delivery.id},
          {"conversation_id", delivery.conversationId},
          {"url", delivery.url},
          {"body", body.is_discarded() ? json(delivery.body) : body},
          {"attempts", attempts},
          {"reason", reason},
          {"at", va::service::formatTimestamp(at)}};
}

va::service::Status FileDeadLetterStore::add(const DeadLetter& letter) {
  const std::string line = letter.toJson().dump() + "\n";
  const std::lock_guard lock(mutex_);
  const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    return va::service::Error("dead letters: cannot open " + path_ + ": " + std::strerror(errno));
  }
  std::size_t written = 0;
  while (written < line.size()) {
    const ssize_t n = ::write(fd, line.data() + written, line.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string error = std::strerror(errno);
      ::close(fd);
      return va::service::Error("dead letters: cannot write " + path_ + ": " + error);
    }
    written += static_cast<std::size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced) return va::service::Error("dead letters: fsync of " + path_ + " failed");
  return {};
}

std::vector<json> FileDeadLetterStore::recent(std::size_t limit) const {
  const std::lock_guard lock(mutex_);
  std::ifstream in(path_);
  std::deque<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    lines.push_back(std::move(line));
    if (lines.size() > limit) lines.pop_front();
  }
  std::vector<json> out;
  for (const std::string& line : lines) {
    json record = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!record.is_discarded()) out.push_back(std::move(record));
  }
  return out;
}

WebhookDeliverer::WebhookDeliverer(DeliveryOptions options, DeadLetterStore& deadLetters,
                                   prometheus::Registry& registry)
    : options_(std::move(options)),
      deadLetters_(deadLetters),
      guard_(options_.allowedAddresses, options_.resolver),
      client_([&] {
        va::service::HttpClientOptions http;
        http.totalTimeout = options_.timeout;
        http.connectTimeout = std::min(options_.timeout, std::chrono::milliseconds(2000));
        http.maxAttempts = 1;  // the retries, with their longer backoff, are ours
        http.userAgent = "va-output-manager";
        return http;
      }()),
      attempts_(prometheus::BuildCounter()
                    .Name("va_output_manager_webhook_attempts_total")
                    .Help("Webhook attempts, by outcome: delivered (2xx), failed (to be "
                          "retried or given up), rejected (a status that is not retried, 3xx "
                          "included), blocked (the SSRF guard refused the destination; nothing "
                          "sent, dead-lettered at once).")
                    .Register(registry)),
      results_(prometheus::BuildCounter()
                   .Name("va_output_manager_webhook_deliveries_total")
                   .Help("Webhook deliveries finished, by result: delivered or dead_lettered.")
                   .Register(registry)),
      depth_(prometheus::BuildGauge()
                 .Name("va_output_manager_webhook_queue_depth")
                 .Help("Webhook deliveries waiting for a worker.")
                 .Register(registry)
                 .Add({})) {
  for (const char* outcome : {"delivered", "failed", "rejected", "blocked"})
    attempts_.Add({{"outcome", outcome}});
  for (const char* result : {"delivered", "dead_lettered"}) results_.Add({{"result", result}});
  for (std::size_t i = 0; i < options_.workers; ++i) workers_.emplace_back([this] { work(); });
}

WebhookDeliverer::~WebhookDeliverer() { stop(std::chrono::milliseconds(0)); }

bool WebhookDeliverer::enqueue(Delivery delivery) {
  {
    const std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= options_.queueCapacity) return false;
    queue_.push_back(std::move(delivery));
    depth_.Set(static_cast<double>(queue_.size()));
  }
  wake_.notify_one();
  return true;
}

std::size_t WebhookDeliverer::queued() const {
  const std::lock_guard lock(mutex_);
  return queue_.size();
}

void WebhookDeliverer::stop(std::chrono::milliseconds drain) {
  {
    const std::lock_guard lock(mutex_);
    if (!stopping_) {
      stopping_ = true;
      deadline_ = Steady::now() + drain;
    }
  }
  wake_.notify_all();
  for (std::thread& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
  std::deque<Delivery> left;
  {
    const std::lock_guard lock(mutex_);
    left.swap(queue_);
    depth_.Set(0);
  }
  for (const Delivery& delivery : left)
    deadLetter(delivery, 0, "shutdown before the first attempt");
}

bool WebhookDeliverer::pastDeadline() const { return stopping_ && Steady::now() >= deadline_; }

void WebhookDeliverer::work() {
  for (;;) {
    Delivery delivery;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() || pastDeadline()) return;
      delivery = std::move(queue_.front());
      queue_.pop_front();
      depth_.Set(static_cast<double>(queue_.size()));
    }
    deliver(delivery);
  }
}

va::service::HttpResult WebhookDeliverer::post(const Delivery& delivery,
                                               const va::service::Destination& destination) const {
  const std::string timestamp =
      std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count());
  va::service::HttpRequest request;
  request.method = "POST";
  request.url = delivery.url;
  request.body = delivery.body;
  request.headers = {
      {"Content-Type", "application/json"},
      {std::string(kTimestampHeader), timestamp},
      {std::string(kSignatureHeader), signWebhook(options_.secret, timestamp, delivery.body)},
      {std::string(kDeliveryIdHeader), delivery.id}};
  // A host name connects to the address the guard checked, with no lookup of curl's own.
  if (std::string entry = destination.resolveEntry(); !entry.empty()) {
    va::service::HttpClientOptions pinned = client_.options();
    pinned.resolve = {std::move(entry)};
    return va::service::HttpClient(std::move(pinned)).send(request);
  }
  return client_.send(request);
}

void WebhookDeliverer::deliver(const Delivery& delivery) {
  std::string reason;
  for (int attempt = 1; attempt <= options_.maxAttempts; ++attempt) {
    std::optional<std::chrono::milliseconds> wait;
    // Checked on every attempt, with no host allowlist: any public address, resolved now.
    const va::service::Result<va::service::Destination, va::service::Refusal> destination =
        guard_.check(delivery.url, {});
    if (!destination && destination.error().kind == va::service::Refusal::Kind::kBlocked) {
      attempts_.Add({{"outcome", "blocked"}}).Increment();
      deadLetter(delivery, attempt - 1, "blocked: " + destination.error().reason);
      return;
    }
    if (!destination) {
      reason = destination.error().reason;  // no DNS answer: retried like a connection error
    } else {
      const va::service::HttpResult result = post(delivery, *destination);
      if (result.ok() && result->ok()) {
        attempts_.Add({{"outcome", "delivered"}}).Increment();
        results_.Add({{"result", "delivered"}}).Increment();
        spdlog::info("webhook {} delivered to {} (attempt {}, status {})", delivery.id,
                     delivery.url, attempt, result->status);
        return;
      }
      if (result.ok()) {
        reason = "HTTP " + std::to_string(result->status);
        if (result->status >= 300 && result->status < 400) {
          const std::string location = result->header("Location").value_or("");
          reason += location.empty() ? " (a redirect, not followed)"
                                     : " (a redirect to " + location.substr(0, kMaxLocationBytes) +
                                           (location.size() > kMaxLocationBytes ? "..." : "") +
                                           ", not followed)";
        }
        if (!retryableStatus(result->status)) {
          attempts_.Add({{"outcome", "rejected"}}).Increment();
          deadLetter(delivery, attempt, reason + " (not retried)");
          return;
        }
        wait = retryAfter(*result);
      } else {
        reason = result.error().toError().message();
      }
    }
    attempts_.Add({{"outcome", "failed"}}).Increment();
    if (attempt == options_.maxAttempts) break;
    std::chrono::milliseconds delay =
        va::service::backoffDelay(attempt, options_.backoffBase, options_.backoffCap);
    if (wait) delay = std::min(std::max(delay, *wait), options_.backoffCap);
    spdlog::warn("webhook {} to {}: attempt {} failed ({}); next in {} ms", delivery.id,
                 delivery.url, attempt, reason, delay.count());
    // Wait for the retry, but no longer than a stop's drain time allows.
    std::unique_lock lock(mutex_);
    const auto wakeAt = Steady::now() + delay;
    while (Steady::now() < wakeAt) {
      if (pastDeadline()) {
        lock.unlock();
        deadLetter(delivery, attempt, "shutdown while waiting to retry after: " + reason);
        return;
      }
      wake_.wait_until(lock, stopping_ ? std::min(wakeAt, deadline_) : wakeAt);
    }
  }
  deadLetter(delivery, options_.maxAttempts, reason);
}

void WebhookDeliverer::deadLetter(const Delivery& delivery, int attempts, std::string reason) {
  results_.Add({{"result", "dead_lettered"}}).Increment();
  DeadLetter letter{delivery, attempts, std::move(reason), std::chrono::system_clock::now()};
  const va::service::Status stored = deadLetters_.add(letter);
  if (stored.ok()) {
    spdlog::error("webhook {} to {} dead-lettered after {} attempts: {}", delivery.id, delivery.url,
                  attempts, letter.reason);
  } else {
    // The record goes to the log then, so that it is not lost silently.
    spdlog::critical("webhook {} dead letter not stored ({}): {}", delivery.id,
                     stored.error().message(), letter.toJson().dump());
  }
}

}  // namespace va::output_manager
