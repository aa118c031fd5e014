// long-term-mem's data in PostgreSQL (the SQL lives here only):
//   long_term_facts            one row per (user, key): the current value, where it was said
//                              (conversation, turn), a confidence and created/updated times
//   long_term_fact_history     each replaced value of a fact, with when it was valid
//   long_term_summaries        one summary of a user's conversation per consolidation batch,
//                              with the conversation_log id range it was made from
//   consolidation_checkpoints  the last conversation_log id each consolidation job has done
// The migrations (component "long-term-mem") are applied at start-up with Postgres::migrate.
// Recall is PostgreSQL full-text search over key || ' ' || value with the 'simple'
// configuration (a GIN index on that expression), the keywords OR-ed, best ts_rank first and
// then the newest; no keywords return the user's newest facts.
// The free functions run inside a caller's transaction (the consolidation job shares its batch
// transaction); LongTermStore runs each call in a transaction of its own on the pool.
//   Postgres db(dsn.reveal());
//   db.migrate(kComponent, migrations());
//   LongTermStore store(db);
//   DbResult<UpsertResult> r = store.remember("u-1", {.key = "locker code",
//                                                     .value = "your locker code is 4512"});
//   auto facts = store.recall("u-1", nlu::keywords("what's my locker code?"), 5);
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <vector>

#include "workloads/common/postgres.h"

namespace va::long_term_mem {

inline constexpr std::string_view kComponent = "long-term-mem";

// Versioned and idempotent (CREATE ... IF NOT EXISTS), for Postgres::migrate.
const std::vector<va::service::Migration>& migrations();

struct FactInput {
  std::string key{};
  std::string value{};
  std::string sourceConversation{};
  std::int64_t sourceTurn = 0;
  double confidence = 1.0;
};

struct FactRecord {
  std::string key{};
  std::string value{};
  std::string sourceConversation{};
  std::int64_t sourceTurn = 0;
  double confidence = 1.0;
  std::string createdAt{};  // RFC 3339, UTC, milliseconds
  std::string updatedAt{};
  [[nodiscard]] nlohmann::json toJson() const;
};

// A value a fact had before an update: valid from validFrom until replacedAt.
struct HistoryRecord {
  std::string value{};
  std::string sourceConversation{};
  std::int64_t sourceTurn = 0;
  double confidence = 1.0;
  std::string validFrom{};
  std::string replacedAt{};
  [[nodiscard]] nlohmann::json toJson() const;
};

struct SummaryInput {
  std::string user{};
  std::string conversation{};
  std::string periodStart{};  // timestamps as PostgreSQL reads them (created_at::text)
  std::string periodEnd{};
  std::string text{};
  std::int64_t sourceFirstEntry = 0;  // conversation_log ids
  std::int64_t sourceLastEntry = 0;
};

struct SummaryRecord {
  std::string user{};
  std::string conversation{};
  std::string periodStart{};  // RFC 3339
  std::string periodEnd{};
  std::string text{};
  std::string createdAt{};
  std::int64_t sourceFirstEntry = 0;
  std::int64_t sourceLastEntry = 0;
  [[nodiscard]] nlohmann::json toJson() const;
};

enum class FactOutcome { kAdded, kUpdated, kUnchanged };
const char* toString(FactOutcome outcome);

struct UpsertResult {
  FactOutcome outcome = FactOutcome::kAdded;
  FactRecord fact{};
};

enum class SummaryFilter { kUser, kConversation };

// The to_tsquery text for keywords: each keyword's letters and digits (a keyword such as
// "what's" becomes "what & s"), the keywords OR-ed: "(locker) | (code)". Empty without words.
std::string tsQueryText(const std::vector<std::string>& keywords);

// Adds the user's fact, or updates it (the old value goes to the history), or leaves it when
// the value is the same (no history row). Concurrent calls for one key are serialised by the
// row lock.
UpsertResult upsertFact(pqxx::work& tx, const std::string& user, const FactInput& fact);
std::vector<FactRecord> recallFacts(pqxx::work& tx, const std::string& user,
                                    const std::vector<std::string>& keywords, std::size_t limit);
// The fact's current value and its older values (newest first); nullopt when there is no fact.
struct FactWithHistory {
  FactRecord fact{};
  std::vector<HistoryRecord> history{};
};
std::optional<FactWithHistory> factHistory(pqxx::work& tx, const std::string& user,
                                           const std::string& key);
void insertSummary(pqxx::work& tx, const SummaryInput& summary);
// Newest first.
std::vector<SummaryRecord> listSummaries(pqxx::work& tx, SummaryFilter by, const std::string& value,
                                         std::size_t limit);

// The calls above, each in its own transaction on the pool. A call that fails because the
// database is unreachable is tried again (up to 3 times in all, at once) so that stale pooled
// connections after a PostgreSQL restart do not reach the caller; errors are values.
class LongTermStore {
 public:
  explicit LongTermStore(va::service::Postgres& db) : db_(db) {}

  va::service::DbResult<UpsertResult> remember(const std::string& user, const FactInput& fact);
  va::service::DbResult<std::vector<FactRecord>> recall(const std::string& user,
                                                        const std::vector<std::string>& keywords,
                                                        std::size_t limit);
  va::service::DbResult<std::optional<FactWithHistory>> history(const std::string& user,
                                                                const std::string& key);
  va::service::DbResult<std::vector<SummaryRecord>> summaries(SummaryFilter by,
                                                              const std::string& value,
                                                              std::size_t limit);
  va::service::Status ping() { return db_.ping(); }

 private:
  template <typename T>
  va::service::DbResult<T> transact(const std::function<T(pqxx::work&)>& body);

  va::service::Postgres& db_;
};

}  // namespace va::long_term_mem
