#include "workloads/long_term_mem/consolidation.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string_view>
#include <thread>
#include <utility>

#include "workloads/long_term_mem/store.h"
#include "workloads/nlu/facts.h"

namespace va::long_term_mem {
namespace {

using va::service::DbResult;
using va::service::Error;
using va::service::Result;

// The advisory lock's keys: a constant for this job and a hash of the name (31 bits).
constexpr std::int64_t kLockClass = 0x4C544D31;  // "LTM1"
constexpr std::size_t kMaxQuotedBytes = 200;

std::int64_t lockKey(std::string_view name) {
  std::uint32_t hash = 2166136261U;  // FNV-1a
  for (const char c : name) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 16777619U;
  }
  return static_cast<std::int64_t>(hash & 0x7FFFFFFFU);
}

// `text` cut to at most `maxBytes` bytes on a UTF-8 boundary, with "..." when cut.
std::string truncateUtf8(std::string_view text, std::size_t maxBytes) {
  if (text.size() <= maxBytes) return std::string(text);
  constexpr std::string_view kEllipsis = "...";
  std::size_t end = maxBytes > kEllipsis.size() ? maxBytes - kEllipsis.size() : 0;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0U) == 0x80U) --end;
  std::string out(text.substr(0, end));
  out.append(kEllipsis);
  return out;
}

std::string quoteText(std::string_view text) {
  std::string out = "\"";
  out.append(truncateUtf8(text, kMaxQuotedBytes));
  out.push_back('"');
  return out;
}

struct BatchOutcome {
  std::int64_t entries = 0;
  std::int64_t added = 0;
  std::int64_t updated = 0;
  std::int64_t unchanged = 0;
  std::int64_t summaries = 0;
  std::int64_t checkpoint = 0;
};

BatchOutcome runBatch(pqxx::work& tx, const ConsolidationOptions& options,
                      std::int64_t lockObject) {
  BatchOutcome out;
  const bool locked =
      tx.exec_params(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND pid = pg_backend_pid() AND classid::bigint = $1 AND objid::bigint = $2"
            " AND objsubid = 2)",
            kLockClass, lockObject)
          .at(0)
          .at(0)
          .as<bool>();
  if (!locked) throw std::runtime_error("the consolidation lock was lost (the session changed)");
  tx.exec_params(
      "INSERT INTO consolidation_checkpoints (name, last_entry_id) VALUES ($1, 0)"
      " ON CONFLICT (name) DO NOTHING",
      options.name);
  const auto checkpoint =
      tx.exec_params(
            "SELECT last_entry_id FROM consolidation_checkpoints WHERE name = $1"
            " FOR UPDATE",
            options.name)
          .at(0)
          .at(0)
          .as<std::int64_t>();
  out.checkpoint = checkpoint;
  // The next batchSize entries, cut before the first one younger than the lag: an entry with a
  // lower id may still be committing, and the checkpoint must not pass it.
  const pqxx::result rows = tx.exec_params(
      "WITH w AS (SELECT id, conversation_id, sequence, user_id, user_text, intent, created_at"
      " FROM conversation_log WHERE id > $1 ORDER BY id LIMIT $2)"
      " SELECT id, conversation_id, sequence, user_id, user_text, intent, created_at::text,"
      " (extract(epoch FROM created_at) * 1000000)::bigint FROM w"
      " WHERE id < COALESCE((SELECT min(id) FROM w"
      " WHERE created_at > now() - interval '1 millisecond' * $3::double precision),"
      " 9223372036854775807) ORDER BY id",
      checkpoint, static_cast<std::int64_t>(options.batchSize),
      static_cast<std::int64_t>(options.lag.count()));
  if (rows.empty()) return out;

  std::vector<LogEntry> entries;
  entries.reserve(rows.size());
  for (const pqxx::row& row : rows) {
    LogEntry entry;
    entry.id = row[0].as<std::int64_t>();
    entry.conversationId = row[1].as<std::string>();
    entry.sequence = row[2].as<std::int64_t>();
    entry.userId = row[3].as<std::string>();
    entry.userText = row[4].as<std::string>();
    entry.intent = row[5].as<std::string>();
    entry.createdAt = row[6].as<std::string>();
    entry.createdMicros = row[7].as<std::int64_t>();
    entries.push_back(std::move(entry));
  }

  std::map<std::pair<std::string, std::string>, std::vector<LogEntry>> byConversation;
  for (const LogEntry& entry : entries) {
    if (entry.intent == "remember_fact") {
      if (std::optional<nlu::FactText> stated = nlu::extractFact(entry.userText)) {
        const FactInput fact{.key = stated->key,
                             .value = stated->value,
                             .sourceConversation = entry.conversationId,
                             .sourceTurn = entry.sequence,
                             .confidence = 1.0};
        switch (upsertFact(tx, entry.userId, fact).outcome) {
          case FactOutcome::kAdded:
            ++out.added;
            break;
          case FactOutcome::kUpdated:
            ++out.updated;
            break;
          case FactOutcome::kUnchanged:
            ++out.unchanged;
            break;
        }
      }
    }
    byConversation[{entry.userId, entry.conversationId}].push_back(entry);
  }
  for (const auto& [owner, group] : byConversation) {
    const auto [earliest, latest] = std::minmax_element(
        group.begin(), group.end(),
        [](const LogEntry& a, const LogEntry& b) { return a.createdMicros < b.createdMicros; });
    insertSummary(tx, {.user = owner.first,
                       .conversation = owner.second,
                       .periodStart = earliest->createdAt,
                       .periodEnd = latest->createdAt,
                       .text = summaryText(group),
                       .sourceFirstEntry = group.front().id,
                       .sourceLastEntry = group.back().id});
    ++out.summaries;
  }
  out.entries = static_cast<std::int64_t>(entries.size());
  out.checkpoint = entries.back().id;
  tx.exec_params(
      "UPDATE consolidation_checkpoints SET last_entry_id = $2, updated_at = now()"
      " WHERE name = $1",
      options.name, out.checkpoint);
  return out;
}

Error dbError(std::string_view what, const va::service::DbError& error) {
  return Error(std::string(what) + ": " + error.message);
}

}  // namespace

nlohmann::json ConsolidationReport::toJson() const {
  return {
      {"skipped", skipped},
      {"entries", entries},
      {"batches", batches},
      {"facts", {{"added", factsAdded}, {"updated", factsUpdated}, {"unchanged", factsUnchanged}}},
      {"summaries", summaries},
      {"checkpoint", checkpoint}};
}

std::string summaryText(const std::vector<LogEntry>& entries) {
  if (entries.empty()) return "0 turns";
  std::string text = std::to_string(entries.size()) + (entries.size() == 1 ? " turn" : " turns");
  text += "; intents: ";
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (i > 0) text += ", ";
    text += entries[i].intent.empty() ? "unknown" : entries[i].intent;
    if (text.size() > kMaxSummaryBytes) break;
  }
  if (entries.size() == 1) {
    text += "; said: ";
    text += quoteText(entries.front().userText);
  } else {
    text += "; first: ";
    text += quoteText(entries.front().userText);
    text += "; last: ";
    text += quoteText(entries.back().userText);
  }
  return truncateUtf8(text, kMaxSummaryBytes);
}

Result<ConsolidationReport> consolidate(va::service::Postgres& db,
                                        const ConsolidationOptions& options) {
  ConsolidationReport report;
  const std::int64_t lockObject = lockKey(options.name);
  const DbResult<bool> locked = db.transact<bool>([&](pqxx::work& tx) {
    return tx.exec_params("SELECT pg_try_advisory_lock($1::int, $2::int)", kLockClass, lockObject)
        .at(0)
        .at(0)
        .as<bool>();
  });
  if (!locked.ok()) return dbError("taking the consolidation lock", locked.error());
  if (!*locked) {
    report.skipped = true;
    return report;
  }
  const DbResult<bool> hasLog = db.transact<bool>([](pqxx::work& tx) {
    return tx.exec("SELECT to_regclass('conversation_log') IS NOT NULL").at(0).at(0).as<bool>();
  });
  if (!hasLog.ok()) return dbError("looking for conversation_log", hasLog.error());
  if (!*hasLog) {
    spdlog::warn("there is no conversation_log table yet: nothing to consolidate");
  }
  while (*hasLog) {
    const DbResult<BatchOutcome> batch = db.transact<BatchOutcome>(
        [&](pqxx::work& tx) { return runBatch(tx, options, lockObject); });
    if (!batch.ok()) {
      return dbError("consolidation batch after entry " + std::to_string(report.checkpoint),
                     batch.error());
    }
    report.checkpoint = batch->checkpoint;
    if (batch->entries == 0) break;
    ++report.batches;
    report.entries += batch->entries;
    report.factsAdded += batch->added;
    report.factsUpdated += batch->updated;
    report.factsUnchanged += batch->unchanged;
    report.summaries += batch->summaries;
    spdlog::debug("consolidated {} entries up to {}", batch->entries, batch->checkpoint);
    if (static_cast<std::size_t>(batch->entries) < options.batchSize) break;  // caught up
    if (options.batchDelay.count() > 0) std::this_thread::sleep_for(options.batchDelay);
  }
  const DbResult<bool> unlocked = db.transact<bool>([&](pqxx::work& tx) {
    return tx.exec_params("SELECT pg_advisory_unlock($1::int, $2::int)", kLockClass, lockObject)
        .at(0)
        .at(0)
        .as<bool>();
  });
  if (!unlocked.ok())
    spdlog::warn("releasing the consolidation lock: {}", unlocked.error().message);
  return report;
}

}  // namespace va::long_term_mem
