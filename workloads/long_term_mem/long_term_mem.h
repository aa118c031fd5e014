// long-term-mem's HTTP API: what users asked the assistant to remember, per user, with each
// fact's history, and the conversation summaries the consolidation job writes (store.h has the
// tables; consolidation.h the job).
//   POST /v1/users/{user}/facts {"key","value","source_conversation"?,"source_turn"?,
//                                "confidence"?}
//     -> 200 {"outcome":"added"|"updated"|"unchanged","fact":{...}}; an update keeps the old
//        value in the history, the same value again changes nothing ("unchanged").
//   GET /v1/users/{user}/facts?q=TEXT&limit=N
//     -> 200 {"facts":[{"key","value","source_conversation","source_turn","confidence",
//                       "created_at","updated_at"}]}
//        the facts sharing a keyword (nlu::keywords) with q, best first; without keywords the
//        newest. limit: 1 to 100, default 5.
//   GET /v1/users/{user}/facts/{key}/history
//     -> 200 {"fact":{...},"history":[{"value","source_conversation","source_turn",
//                                      "confidence","valid_from","replaced_at"}]}  newest first;
//        404 fact_not_found.
//   GET /v1/summaries?user=U | ?conversation=C [&limit=N (1 to 1000, default 50)]
//     -> 200 {"summaries":[{"user","conversation_id","period_start","period_end","text",
//                           "created_at","source_first_entry","source_last_entry"}]}
// {user} and {key} are percent-encoded path segments ("%2F" for a '/' inside one): the handlers
// split the raw path before decoding it.
// Bad input gets 400 naming the field ({"error":{"code":"invalid_field","message":"key: ..."}});
// PostgreSQL unreachable gets 503 store_unavailable with Retry-After: 1 (the pool reconnects by
// itself; /readyz fails meanwhile); another database error gets 500 store_error.
// Metrics: va_long_term_mem_facts_total{outcome}, va_long_term_mem_recalls_total,
// va_long_term_mem_operation_duration_seconds{operation} (remember, recall, history, summaries).
//   LongTermStore store(db);
//   LongTermMem api(store, *runtime.registry);
//   api.addRoutes(server);
//   Reply r = api.addFact("u-1", R"({"key":"locker code","value":"your locker code is 4512"})");
#pragma once

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <optional>
#include <string>
#include <string_view>

#include "workloads/common/http_errors.h"
#include "workloads/common/http_server.h"
#include "workloads/long_term_mem/store.h"

namespace va::long_term_mem {

using Reply = va::service::JsonReply;

class LongTermMem {
 public:
  LongTermMem(LongTermStore& store, prometheus::Registry& registry);

  [[nodiscard]] Reply addFact(std::string_view user, std::string_view body);
  [[nodiscard]] Reply recall(std::string_view user, const std::optional<std::string>& query,
                             const std::optional<std::string>& limit);
  [[nodiscard]] Reply history(std::string_view user, std::string_view key);
  [[nodiscard]] Reply summaries(const std::optional<std::string>& user,
                                const std::optional<std::string>& conversation,
                                const std::optional<std::string>& limit);

  void addRoutes(va::service::HttpServer& server);

 private:
  LongTermStore& store_;
  prometheus::Family<prometheus::Counter>& facts_;
  prometheus::Counter& recalls_;
  prometheus::Family<prometheus::Histogram>& durations_;
};

// The reply for a failed database call: 503 store_unavailable + Retry-After when PostgreSQL is
// unreachable (or the transaction conflicted), 500 store_error otherwise.
Reply storeErrorReply(const va::service::DbError& error);

}  // namespace va::long_term_mem
