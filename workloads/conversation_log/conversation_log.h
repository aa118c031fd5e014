// conversation-log's HTTP API: an append-only log of every turn in PostgreSQL (table
// conversation_log, which the consolidation job reads), written in batches (batch_writer.h).
//   POST /v1/entries {"conversation_id","sequence","message_id","user","text","reply","intent"?}
//     -> 201 {"id","duplicate":false}   once the row is committed (never before)
//        200 {"id","duplicate":true}    (conversation_id, sequence) is logged with this message_id
//        409 message_id_conflict        ... with another message_id (nothing written)
//        503 store_unavailable + Retry-After: 1   PostgreSQL unreachable: not written, retry
//        503 queue_full + Retry-After: 1          the append queue is full
//   GET /v1/conversations/{id}/entries?since=&until=&after_sequence=&limit=
//     since (inclusive) and until (exclusive) are RFC 3339 times of created_at; after_sequence N
//     lists sequences > N; limit 1 to 1000 (default 100).
//     -> 200 {"entries":[{"id","conversation_id","sequence","message_id","user","text","reply",
//             "intent","created_at"}], "next_after_sequence": N | null}   ordered by sequence;
//        next_after_sequence is the after_sequence of the next page, null on the last one.
// created_at is the batch transaction's start; transactions are short (the pool's statement
// timeout), so a reader that follows ids (the consolidation job) reads only rows older than a lag
// and never passes an id that is still committing. Bad input gets 400 naming the field or
// parameter. Ids are 1 to 128 characters of letters, digits, '.', '_', ':', '-'; texts are at most
// 16384 bytes.
//   ConversationLog log(db, writer, {}, *registry);
//   log.addRoutes(server);
//   Reply r = log.append(R"({"conversation_id":"c-1","sequence":1,"message_id":"m-1",...})");
// Retention deletes rows older than a duration in bounded batches, on its own thread:
//   Retention retention(db, {.maxAge = std::chrono::hours(720), .interval = 1h});
//   retention.stop();
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "workloads/common/http_errors.h"
#include "workloads/common/http_server.h"
#include "workloads/common/postgres.h"
#include "workloads/conversation_log/batch_writer.h"

namespace va::conversation_log {

using Reply = va::service::JsonReply;

// The schema, applied by Postgres::migrate("conversation-log", migrations()).
const std::vector<va::service::Migration>& migrations();

// "2026-01-02T03:04:05Z", "2026-01-02T03:04:05.678+02:00" (RFC 3339, 'T'/'t' and 'Z'/'z');
// microseconds since the epoch, or nothing when the text is not a valid time.
std::optional<std::int64_t> parseRfc3339(std::string_view text);

struct ConversationLogOptions {
  // How long a request waits for its batch; then 503 (the entry may still be written: the
  // client's retry gets 200 duplicate).
  std::chrono::milliseconds appendTimeout{10000};
};

class ConversationLog {
 public:
  ConversationLog(va::service::Postgres& db, BatchWriter& writer, ConversationLogOptions options,
                  prometheus::Registry& registry);

  // POST /v1/entries: waits until the entry's batch committed (or failed).
  [[nodiscard]] Reply append(std::string_view body);
  // GET /v1/conversations/{id}/entries with the query parameters.
  [[nodiscard]] Reply entries(std::string_view conversationId, const httplib::Params& params) const;

  void addRoutes(va::service::HttpServer& server);

 private:
  Reply count(std::string_view outcome, Reply reply);

  va::service::Postgres& db_;
  BatchWriter& writer_;
  ConversationLogOptions options_;
  prometheus::Family<prometheus::Counter>& appends_;
  prometheus::Histogram& appendDuration_;
};

struct RetentionOptions {
  std::chrono::milliseconds maxAge{std::chrono::hours(720)};  // 0: keep forever (no thread)
  std::chrono::milliseconds interval{std::chrono::hours(1)};
  std::int64_t batchRows = 5000;  // rows per DELETE (each its own short transaction)
};

class Retention {
 public:
  // Starts the thread (a first pass at once) unless maxAge is 0.
  Retention(va::service::Postgres& db, RetentionOptions options);
  ~Retention();
  Retention(const Retention&) = delete;
  Retention& operator=(const Retention&) = delete;

  // One pass: deletes every row older than maxAge, batchRows at a time; how many.
  va::service::DbResult<std::int64_t> runOnce();
  void stop();

 private:
  void loop();

  va::service::Postgres& db_;
  RetentionOptions options_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace va::conversation_log
