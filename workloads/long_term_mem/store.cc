#include "workloads/long_term_mem/store.h"

#include <stdexcept>
#include <utility>

namespace va::long_term_mem {

using va::service::DbErrorKind;
using va::service::DbResult;
using va::service::Migration;

namespace {

// A timestamptz column as RFC 3339 in UTC with milliseconds.
std::string rfc3339(std::string_view column) {
  return "to_char(" + std::string(column) +
         R"( AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))";
}

// The fact columns read by factFrom(), in order.
std::string factColumns() {
  return "key, value, source_conversation, source_turn, confidence, " + rfc3339("created_at") +
         ", " + rfc3339("updated_at");
}

// The search expression; the GIN index is on exactly this expression.
constexpr const char* kDocument = "to_tsvector('simple', key || ' ' || value)";

FactRecord factFrom(const pqxx::row& row, pqxx::row::size_type first = 0) {
  FactRecord fact;
  fact.key = row[first].as<std::string>();
  fact.value = row[first + 1].as<std::string>();
  fact.sourceConversation = row[first + 2].as<std::string>();
  fact.sourceTurn = row[first + 3].as<std::int64_t>();
  fact.confidence = row[first + 4].as<double>();
  fact.createdAt = row[first + 5].as<std::string>();
  fact.updatedAt = row[first + 6].as<std::string>();
  return fact;
}

bool isWordByte(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

}  // namespace

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> kMigrations = {
      {1, "facts and their history",
       "CREATE TABLE IF NOT EXISTS long_term_facts ("
       " id bigserial PRIMARY KEY,"
       " user_id text NOT NULL,"
       " key text NOT NULL,"
       " value text NOT NULL,"
       " source_conversation text NOT NULL DEFAULT '',"
       " source_turn bigint NOT NULL DEFAULT 0,"
       " confidence real NOT NULL DEFAULT 1,"
       " created_at timestamptz NOT NULL DEFAULT now(),"
       " updated_at timestamptz NOT NULL DEFAULT now(),"
       " UNIQUE (user_id, key));"
       "CREATE INDEX IF NOT EXISTS long_term_facts_search ON long_term_facts"
       " USING gin (to_tsvector('simple', key || ' ' || value));"
       "CREATE INDEX IF NOT EXISTS long_term_facts_user_updated"
       " ON long_term_facts (user_id, updated_at DESC);"
       "CREATE TABLE IF NOT EXISTS long_term_fact_history ("
       " id bigserial PRIMARY KEY,"
       " fact_id bigint NOT NULL REFERENCES long_term_facts (id) ON DELETE CASCADE,"
       " value text NOT NULL,"
       " source_conversation text NOT NULL DEFAULT '',"
       " source_turn bigint NOT NULL DEFAULT 0,"
       " confidence real NOT NULL DEFAULT 1,"
       " valid_from timestamptz NOT NULL,"
       " replaced_at timestamptz NOT NULL DEFAULT now());"
       "CREATE INDEX IF NOT EXISTS long_term_fact_history_fact"
       " ON long_term_fact_history (fact_id, replaced_at DESC);"},
      {2, "conversation summaries",
       "CREATE TABLE IF NOT EXISTS long_term_summaries ("
       " id bigserial PRIMARY KEY,"
       " user_id text NOT NULL,"
       " conversation_id text NOT NULL,"
       " period_start timestamptz NOT NULL,"
       " period_end timestamptz NOT NULL,"
       " text text NOT NULL,"
       " created_at timestamptz NOT NULL DEFAULT now(),"
       " source_first_entry bigint NOT NULL,"
       " source_last_entry bigint NOT NULL);"
       "CREATE INDEX IF NOT EXISTS long_term_summaries_user"
       " ON long_term_summaries (user_id, period_end DESC);"
       "CREATE INDEX IF NOT EXISTS long_term_summaries_conversation"
       " ON long_term_summaries (conversation_id, period_end DESC);"},
      {3, "consolidation checkpoints",
       "CREATE TABLE IF NOT EXISTS consolidation_checkpoints ("
       " name text PRIMARY KEY,"
       " last_entry_id bigint NOT NULL,"
       " updated_at timestamptz NOT NULL DEFAULT now());"},
  };
  return kMigrations;
}

nlohmann::json FactRecord::toJson() const {
  return {{"key", key},
          {"value", value},
          {"source_conversation", sourceConversation},
          {"source_turn", sourceTurn},
          {"confidence", confidence},
          {"created_at", createdAt},
          {"updated_at", updatedAt}};
}

nlohmann::json HistoryRecord::toJson() const {
  return {{"value", value},
          {"source_conversation", sourceConversation},
          {"source_turn", sourceTurn},
          {"confidence", confidence},
          {"valid_from", validFrom},
          {"replaced_at", replacedAt}};
}

nlohmann::json SummaryRecord::toJson() const {
  return {{"user", user},
          {"conversation_id", conversation},
          {"period_start", periodStart},
          {"period_end", periodEnd},
          {"text", text},
          {"created_at", createdAt},
          {"source_first_entry", sourceFirstEntry},
          {"source_last_entry", sourceLastEntry}};
}

const char* toString(FactOutcome outcome) {
  switch (outcome) {
    case FactOutcome::kAdded:
      return "added";
    case FactOutcome::kUpdated:
      return "updated";
    case FactOutcome::kUnchanged:
      return "unchanged";
  }
  return "unknown";
}

std::string tsQueryText(const std::vector<std::string>& keywords) {
  std::string query;
  for (const std::string& keyword : keywords) {
    // Only [a-z0-9] reaches to_tsquery: no operator, quote or space can change its meaning.
    std::string terms;
    std::string word;
    auto flush = [&] {
      if (word.empty()) return;
      if (!terms.empty()) terms += " & ";
      terms += word;
      word.clear();
    };
    for (const char raw : keyword) {
      const char c = (raw >= 'A' && raw <= 'Z') ? static_cast<char>(raw - 'A' + 'a') : raw;
      if (isWordByte(c)) {
        word += c;
      } else {
        flush();
      }
    }
    flush();
    if (terms.empty()) continue;
    if (!query.empty()) query += " | ";
    query += "(" + terms + ")";
  }
  return query;
}

UpsertResult upsertFact(pqxx::work& tx, const std::string& user, const FactInput& fact) {
  const pqxx::result added = tx.exec_params(
      "INSERT INTO long_term_facts (user_id, key, value, source_conversation, source_turn,"
      " confidence) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (user_id, key) DO NOTHING"
      " RETURNING " +
          factColumns(),
      user, fact.key, fact.value, fact.sourceConversation, fact.sourceTurn, fact.confidence);
  if (!added.empty()) return {FactOutcome::kAdded, factFrom(added[0])};

  // The fact exists (ON CONFLICT waited for a concurrent insert to commit): lock it.
  const pqxx::result current =
      tx.exec_params("SELECT id, " + factColumns() +
                         " FROM long_term_facts WHERE user_id = $1 AND key = $2 FOR UPDATE",
                     user, fact.key);
  if (current.empty()) throw std::runtime_error("fact vanished during its update");
  const auto id = current[0][0].as<std::int64_t>();
  FactRecord existing = factFrom(current[0], 1);
  if (existing.value == fact.value) return {FactOutcome::kUnchanged, std::move(existing)};

  tx.exec_params(
      "INSERT INTO long_term_fact_history (fact_id, value, source_conversation, source_turn,"
      " confidence, valid_from, replaced_at)"
      " SELECT id, value, source_conversation, source_turn, confidence, updated_at, now()"
      " FROM long_term_facts WHERE id = $1",
      id);
  const pqxx::result updated = tx.exec_params(
      "UPDATE long_term_facts SET value = $2, source_conversation = $3, source_turn = $4,"
      " confidence = $5, updated_at = now() WHERE id = $1 RETURNING " +
          factColumns(),
      id, fact.value, fact.sourceConversation, fact.sourceTurn, fact.confidence);
  return {FactOutcome::kUpdated, factFrom(updated.at(0))};
}

std::vector<FactRecord> recallFacts(pqxx::work& tx, const std::string& user,
                                    const std::vector<std::string>& keywords, std::size_t limit) {
  const std::string query = tsQueryText(keywords);
  const auto rows = static_cast<std::int64_t>(limit);
  pqxx::result found;
  if (query.empty()) {
    found = tx.exec_params("SELECT " + factColumns() +
                               " FROM long_term_facts WHERE user_id = $1"
                               " ORDER BY updated_at DESC, id DESC LIMIT $2",
                           user, rows);
  } else {
    found = tx.exec_params("SELECT " + factColumns() +
                               " FROM long_term_facts, to_tsquery('simple', $2) AS query"
                               " WHERE user_id = $1 AND " +
                               kDocument + " @@ query ORDER BY ts_rank(" + kDocument +
                               ", query) DESC, updated_at DESC, id DESC LIMIT $3",
                           user, query, rows);
  }
  std::vector<FactRecord> facts;
  facts.reserve(found.size());
  for (const pqxx::row& row : found) facts.push_back(factFrom(row));
  return facts;
}

std::optional<FactWithHistory> factHistory(pqxx::work& tx, const std::string& user,
                                           const std::string& key) {
  const pqxx::result current = tx.exec_params(
      "SELECT id, " + factColumns() + " FROM long_term_facts WHERE user_id = $1 AND key = $2", user,
      key);
  if (current.empty()) return std::nullopt;
  FactWithHistory out;
  out.fact = factFrom(current[0], 1);
  const pqxx::result rows = tx.exec_params(
      "SELECT value, source_conversation, source_turn, confidence, " + rfc3339("valid_from") +
          ", " + rfc3339("replaced_at") +
          " FROM long_term_fact_history WHERE fact_id = $1 ORDER BY replaced_at DESC, id DESC",
      current[0][0].as<std::int64_t>());
  for (const pqxx::row& row : rows) {
    HistoryRecord entry;
    entry.value = row[0].as<std::string>();
    entry.sourceConversation = row[1].as<std::string>();
    entry.sourceTurn = row[2].as<std::int64_t>();
    entry.confidence = row[3].as<double>();
    entry.validFrom = row[4].as<std::string>();
    entry.replacedAt = row[5].as<std::string>();
    out.history.push_back(std::move(entry));
  }
  return out;
}

void insertSummary(pqxx::work& tx, const SummaryInput& summary) {
  tx.exec_params(
      "INSERT INTO long_term_summaries (user_id, conversation_id, period_start, period_end, text,"
      " source_first_entry, source_last_entry)"
      " VALUES ($1, $2, $3::timestamptz, $4::timestamptz, $5, $6, $7)",
      summary.user, summary.conversation, summary.periodStart, summary.periodEnd, summary.text,
      summary.sourceFirstEntry, summary.sourceLastEntry);
}

std::vector<SummaryRecord> listSummaries(pqxx::work& tx, SummaryFilter by, const std::string& value,
                                         std::size_t limit) {
  const std::string column = by == SummaryFilter::kUser ? "user_id" : "conversation_id";
  const pqxx::result rows =
      tx.exec_params("SELECT user_id, conversation_id, " + rfc3339("period_start") + ", " +
                         rfc3339("period_end") + ", text, " + rfc3339("created_at") +
                         ", source_first_entry, source_last_entry FROM long_term_summaries WHERE " +
                         column + " = $1 ORDER BY period_end DESC, id DESC LIMIT $2",
                     value, static_cast<std::int64_t>(limit));
  std::vector<SummaryRecord> out;
  out.reserve(rows.size());
  for (const pqxx::row& row : rows) {
    SummaryRecord summary;
    summary.user = row[0].as<std::string>();
    summary.conversation = row[1].as<std::string>();
    summary.periodStart = row[2].as<std::string>();
    summary.periodEnd = row[3].as<std::string>();
    summary.text = row[4].as<std::string>();
    summary.createdAt = row[5].as<std::string>();
    summary.sourceFirstEntry = row[6].as<std::int64_t>();
    summary.sourceLastEntry = row[7].as<std::int64_t>();
    out.push_back(std::move(summary));
  }
  return out;
}

template <typename T>
DbResult<T> LongTermStore::transact(const std::function<T(pqxx::work&)>& body) {
  constexpr int kAttempts = 3;
  for (int attempt = 1;; ++attempt) {
    DbResult<T> result = db_.transact<T>(body);
    if (result.ok() || result.error().kind != DbErrorKind::kUnavailable || attempt == kAttempts) {
      return result;
    }
  }
}

DbResult<UpsertResult> LongTermStore::remember(const std::string& user, const FactInput& fact) {
  return transact<UpsertResult>([&](pqxx::work& tx) { return upsertFact(tx, user, fact); });
}

DbResult<std::vector<FactRecord>> LongTermStore::recall(const std::string& user,
                                                        const std::vector<std::string>& keywords,
                                                        std::size_t limit) {
  return transact<std::vector<FactRecord>>(
      [&](pqxx::work& tx) { return recallFacts(tx, user, keywords, limit); });
}

DbResult<std::optional<FactWithHistory>> LongTermStore::history(const std::string& user,
                                                                const std::string& key) {
  return transact<std::optional<FactWithHistory>>(
      [&](pqxx::work& tx) { return factHistory(tx, user, key); });
}

DbResult<std::vector<SummaryRecord>> LongTermStore::summaries(SummaryFilter by,
                                                              const std::string& value,
                                                              std::size_t limit) {
  return transact<std::vector<SummaryRecord>>(
      [&](pqxx::work& tx) { return listSummaries(tx, by, value, limit); });
}

}  // namespace va::long_term_mem
