#include "workloads/input_processor/idempotency.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <utility>

namespace va::input_processor {

service::Status validateIdempotencyKey(std::string_view key) {
  if (key.empty()) return service::Error("Idempotency-Key header is empty");
  if (key.size() > 255)
    return service::Error("Idempotency-Key header is longer than 255 characters");
  if (!std::all_of(key.begin(), key.end(), [](char c) { return c >= 0x21 && c <= 0x7E; })) {
    return service::Error("Idempotency-Key header must be visible ASCII characters only");
  }
  return {};
}

std::string idempotencyKey(std::string_view principal, std::string_view conversation,
                           std::string_view headerValue) {
  // Length prefixes keep ("a:b", "c") and ("a", "b:c") apart.
  std::string key;
  key.reserve(principal.size() + conversation.size() + headerValue.size() + 16);
  key.append(std::to_string(principal.size())).append(":").append(principal);
  key.append(std::to_string(conversation.size())).append(":").append(conversation);
  key.append(headerValue);
  return key;
}

std::string requestFingerprint(std::string_view body) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_Digest(body.data(), body.size(), digest.data(), &length, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(std::size_t{2} * length);
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4U]);
    out.push_back(kHex[digest[i] & 0x0FU]);
  }
  return out;
}

IdempotencyStore::IdempotencyStore(std::size_t capacity, std::chrono::seconds ttl, Clock now)
    : capacity_(std::max<std::size_t>(capacity, 1)),
      ttl_(ttl),
      now_(now ? std::move(now) : [] { return std::chrono::steady_clock::now(); }) {}

IdempotencyStore::Claim IdempotencyStore::begin(const std::string& key,
                                                const std::string& fingerprint) {
  const auto now = now_();
  std::lock_guard lock(mutex_);
  purgeExpired(now);
  if (const auto it = entries_.find(key); it != entries_.end()) {
    if (it->second.fingerprint != fingerprint) return Claim{Outcome::kMismatch, std::nullopt};
    if (it->second.done) return Claim{Outcome::kDone, it->second.response};
    return Claim{Outcome::kInProgress, std::nullopt};
  }
  if (entries_.size() >= capacity_) evictOne();
  order_.push_back(key);
  Entry entry;
  entry.fingerprint = fingerprint;
  entry.expires = now + ttl_;
  entry.generation = nextGeneration_++;
  entry.order = std::prev(order_.end());
  entries_.emplace(key, std::move(entry));
  return Claim{Outcome::kNew, std::nullopt};
}

void IdempotencyStore::complete(const std::string& key, StoredResponse response) {
  {
    std::lock_guard lock(mutex_);
    const auto it = entries_.find(key);
    if (it == entries_.end() || it->second.done) return;
    it->second.done = true;
    it->second.response = std::move(response);
  }
  changed_.notify_all();
}

void IdempotencyStore::abandon(const std::string& key) {
  {
    std::lock_guard lock(mutex_);
    const auto it = entries_.find(key);
    if (it == entries_.end() || it->second.done) return;
    erase(it);
  }
  changed_.notify_all();
}

std::optional<StoredResponse> IdempotencyStore::waitFor(const std::string& key,
                                                        std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  const std::uint64_t generation = it->second.generation;
  changed_.wait_for(lock, timeout, [&] {
    it = entries_.find(key);
    return it == entries_.end() || it->second.generation != generation || it->second.done;
  });
  it = entries_.find(key);
  if (it == entries_.end() || it->second.generation != generation || !it->second.done) {
    return std::nullopt;
  }
  return it->second.response;
}

std::size_t IdempotencyStore::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

void IdempotencyStore::erase(std::unordered_map<std::string, Entry>::iterator it) {
  order_.erase(it->second.order);
  entries_.erase(it);
}

void IdempotencyStore::purgeExpired(std::chrono::steady_clock::time_point now) {
  bool wake = false;
  while (!order_.empty()) {
    const auto it = entries_.find(order_.front());
    if (it->second.expires > now) break;
    wake = wake || !it->second.done;
    erase(it);
  }
  if (wake) changed_.notify_all();
}

void IdempotencyStore::evictOne() {
  // The oldest completed entry; a running one only when every entry is running.
  auto victim = order_.begin();
  for (auto pos = order_.begin(); pos != order_.end(); ++pos) {
    if (entries_.find(*pos)->second.done) {
      victim = pos;
      break;
    }
  }
  const auto it = entries_.find(*victim);
  const bool wake = !it->second.done;
  erase(it);
  if (wake) changed_.notify_all();
}

}  // namespace va::input_processor
