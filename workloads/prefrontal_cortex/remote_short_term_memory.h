// ShortTermMemory (memory.h) over HTTP: the short-term-mem service (workloads/short_term_mem/,
// Redis behind it) keeps each conversation's context and turn order, so that every
// prefrontal-cortex replica shares them. begin() is POST /v1/conversations/{id}/turns (the
// service waits server-side up to `wait` for the conversation's previous turn), commit() is
// PUT .../context with the lease begin() got, abort() is DELETE .../turns/{lease}. The lease is
// kept here, per conversation id, between begin() and commit()/abort().
//   RemoteShortTermMemory stm({.baseUrl = "http://short-term-mem:8080"});
//   auto context = stm.begin("c-1", std::chrono::seconds(10));
//   if (!context) ...   // "short-term-mem: conversation busy: ..." or "short-term-mem
//                       // unavailable: ..." (the caller answers 503)
//   context->turns.push_back(...);
//   stm.commit("c-1", *context);
// The service's summary field is not part of ConversationContext: it is computed by the service.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "workloads/common/http_client.h"
#include "workloads/common/result.h"
#include "workloads/prefrontal_cortex/memory.h"

namespace va::prefrontal_cortex {

struct RemoteShortTermMemoryOptions {
  std::string baseUrl;                             // http://host:port, no trailing slash needed
  std::chrono::milliseconds requestTimeout{5000};  // commit, abort, read (each attempt)
  std::chrono::milliseconds maxWait{30000};        // begin() waits at most this long
  std::chrono::milliseconds connectTimeout{1000};
  std::string userAgent = "va-prefrontal-cortex";
};

class RemoteShortTermMemory final : public ShortTermMemory {
 public:
  explicit RemoteShortTermMemory(RemoteShortTermMemoryOptions options);

  va::service::Result<ConversationContext> begin(const std::string& conversationId,
                                                 std::chrono::milliseconds wait) override;
  va::service::Status commit(const std::string& conversationId,
                             const ConversationContext& context) override;
  void abort(const std::string& conversationId) override;

  // The stored context without starting a turn; empty when the conversation has none.
  va::service::Result<std::optional<ConversationContext>> read(const std::string& conversationId);

 private:
  std::optional<std::string> takeLease(const std::string& conversationId);
  [[nodiscard]] std::string url(const std::string& conversationId, const std::string& tail) const;

  RemoteShortTermMemoryOptions options_;
  va::service::HttpClient waiting_;  // begin(): one attempt, long enough for the wait
  va::service::HttpClient quick_;    // the rest: short, retried (idempotent)
  std::mutex mutex_;
  std::map<std::string, std::string, std::less<>> leases_;  // conversation id -> lease
};

// The service's context JSON and back (memory.h's ConversationContext).
nlohmann::json contextToJson(const ConversationContext& context);
va::service::Result<ConversationContext> contextFromJson(const nlohmann::json& value);

}  // namespace va::prefrontal_cortex
