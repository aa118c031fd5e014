// LongTermMemory (memory.h) over HTTP: the long-term-mem service (workloads/long_term_mem/,
// PostgreSQL behind it) keeps users' facts, so that every prefrontal-cortex replica shares them
// and an update keeps the old value as history.
//   remember(user, fact)        POST {base}/v1/users/{user}/facts
//                               {"key","value","source_conversation","source_turn"}
//                               (retried: writing the same value again changes nothing)
//   recall(user, query, limit)  GET {base}/v1/users/{user}/facts?q={query}&limit={limit}
//                               (limit capped at the service's 100)
// Errors name the service: "long-term-mem unavailable: ..." (it answered 503, or could not be
// reached) or "long-term-mem: HTTP 400: key: must not be empty".
//   RemoteLongTermMemory ltm({.baseUrl = "http://long-term-mem:8080"});
//   ltm.remember("u-1", {.key = "locker code", .value = "your locker code is 4512"});
//   auto facts = ltm.recall("u-1", "what's my locker code?", 5);
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "workloads/common/http_client.h"
#include "workloads/common/result.h"
#include "workloads/prefrontal_cortex/memory.h"

namespace va::prefrontal_cortex {

struct RemoteLongTermMemoryOptions {
  std::string baseUrl;                             // http://host:port, no trailing slash needed
  std::chrono::milliseconds requestTimeout{5000};  // each attempt
  std::chrono::milliseconds connectTimeout{1000};
  int maxAttempts = 2;
  std::string userAgent = "va-prefrontal-cortex";
};

class RemoteLongTermMemory final : public LongTermMemory {
 public:
  explicit RemoteLongTermMemory(RemoteLongTermMemoryOptions options);

  va::service::Status remember(const std::string& user, Fact fact) override;
  va::service::Result<std::vector<Fact>> recall(const std::string& user, std::string_view query,
                                                std::size_t limit) override;

 private:
  [[nodiscard]] std::string factsUrl(const std::string& user) const;

  RemoteLongTermMemoryOptions options_;
  va::service::HttpClient client_;
};

}  // namespace va::prefrontal_cortex
