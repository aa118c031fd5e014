// The consolidation job (`va-long-term-mem consolidate`, run by the operator's CronJob): turns
// the conversation_log entries (written by the conversation-log component) that are new since
// the job's checkpoint into long-term memory, in id order and in batches. For each batch, in ONE
// transaction:
//   - each entry whose intent is "remember_fact" has its fact extracted (nlu::extractFact on
//     the user's text) and added, updated (old value to the history) or left unchanged for its
//     user, as POST /v1/users/{user}/facts would;
//   - one summary per (user, conversation) of the batch: the number of turns, the intents in
//     order, the first and last user texts (at most 1000 bytes), the period of its entries and
//     the first and last conversation_log ids it covers;
//   - the checkpoint (consolidation_checkpoints, row `name`, locked FOR UPDATE) moves to the
//     batch's last id.
// Because the checkpoint moves in the transaction that writes, each entry is processed exactly
// once even when the job is killed and run again. Only entries older than `lag` are read, and a
// batch stops before the first younger one, so an entry whose transaction is still committing
// with a lower id is not skipped. A session advisory lock (per name) keeps two jobs from running
// at once: the second one returns at once with `skipped` set.
//   Postgres db(dsn.reveal(), {.maxConnections = 1});   // the lock lives on the one session
//   Result<ConsolidationReport> report = consolidate(db, {.name = "default", .batchSize = 500});
//   if (report) spdlog::info("{}", report->toJson().dump());
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "workloads/common/postgres.h"
#include "workloads/common/result.h"

namespace va::long_term_mem {

struct ConsolidationOptions {
  std::string name = "default";  // the checkpoint's (and the lock's) name
  std::size_t batchSize = 500;
  std::chrono::milliseconds lag{30000};     // only entries at least this old
  std::chrono::milliseconds batchDelay{0};  // a pause between batches (tests kill meanwhile)
};

struct ConsolidationReport {
  bool skipped = false;  // another job of the same name holds the lock: nothing was done
  std::int64_t entries = 0;
  std::int64_t batches = 0;
  std::int64_t factsAdded = 0;
  std::int64_t factsUpdated = 0;
  std::int64_t factsUnchanged = 0;
  std::int64_t summaries = 0;
  std::int64_t checkpoint = 0;  // the last conversation_log id done
  [[nodiscard]] nlohmann::json toJson() const;
};

// One conversation_log row.
struct LogEntry {
  std::int64_t id = 0;
  std::string conversationId{};
  std::int64_t sequence = 0;
  std::string userId{};
  std::string userText{};
  std::string intent{};
  std::string createdAt{};         // created_at::text, read back by the same session
  std::int64_t createdMicros = 0;  // created_at in microseconds since the epoch
};

inline constexpr std::size_t kMaxSummaryBytes = 1000;

// The summary of one (user, conversation)'s entries of a batch, in id order:
//   3 turns; intents: greet, remember_fact, goodbye; first: "hello"; last: "bye"
// at most kMaxSummaryBytes bytes (cut on a UTF-8 boundary).
std::string summaryText(const std::vector<LogEntry>& entries);

// Runs batches until caught up. `db` must be a pool of one connection (the lock is held by that
// session). Fails on any database error; what was committed before stays done.
va::service::Result<ConsolidationReport> consolidate(va::service::Postgres& db,
                                                     const ConsolidationOptions& options);

}  // namespace va::long_term_mem
