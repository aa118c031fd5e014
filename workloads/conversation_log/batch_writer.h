// The conversation log's write path: appends go into a bounded queue; writer threads take them
// in batches (up to batchMax entries, or whatever arrived within batchWait of the oldest one) and
// write each batch with ONE multi-row statement in ONE transaction:
//   INSERT INTO conversation_log (...) SELECT * FROM unnest($1::text[], $2::bigint[], ...)
//   ON CONFLICT (conversation_id, sequence) DO NOTHING RETURNING id, conversation_id, sequence
// then look up the entries that were already there (idempotent retries) and wake every waiting
// request with its own outcome. An outcome of kWritten or kDuplicate is given only after the
// transaction committed; when PostgreSQL is unreachable the whole batch gets kUnavailable and
// nothing is acknowledged (the client retries; the pool reconnects by itself).
//   BatchWriter writer(db, {.batchMax = 256, .batchWait = 5ms, .queueCapacity = 10000}, registry);
//   std::future<AppendOutcome> done = writer.append(entry);   // kQueueFull at once when full
//   AppendOutcome outcome = done.get();   // outcome.status == kWritten, outcome.id == 42
//   writer.stop(std::chrono::seconds(20));   // writes what is queued, then joins
#pragma once

#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "workloads/common/postgres.h"

namespace va::conversation_log {

// One turn: a row of conversation_log. (conversation_id, sequence) is its idempotency identity.
struct Entry {
  std::string conversationId;
  std::int64_t sequence = 0;
  std::string messageId;
  std::string userId;
  std::string userText;
  std::string reply;
  std::string intent;
};

enum class AppendStatus {
  kWritten,      // committed now
  kDuplicate,    // (conversation_id, sequence) was already logged with the same message_id
  kConflict,     // ... with another message_id (in `message`): nothing written
  kQueueFull,    // refused at once: the queue is full
  kUnavailable,  // PostgreSQL unreachable (or the commit is in doubt): not acknowledged
  kFailed,       // the statement failed for this entry (a bug or a schema problem)
};

struct AppendOutcome {
  AppendStatus status = AppendStatus::kFailed;
  std::int64_t id = 0;  // the row's id for kWritten and kDuplicate
  std::string message;  // what went wrong, for the other statuses
};

struct BatchWriterOptions {
  std::size_t batchMax = 256;
  std::chrono::milliseconds batchWait{5};
  std::size_t queueCapacity = 10000;
  std::size_t writers = 2;  // batches in flight at once (each holds one pooled connection)
  int retries = 2;          // more tries of a batch after a deadlock or a dropped connection
};

class BatchWriter {
 public:
  BatchWriter(va::service::Postgres& db, BatchWriterOptions options,
              prometheus::Registry& registry);
  // stop() with no wait for a drain.
  ~BatchWriter();
  BatchWriter(const BatchWriter&) = delete;
  BatchWriter& operator=(const BatchWriter&) = delete;

  // Queues the entry; the future is ready once its batch committed or failed. Ready at once with
  // kQueueFull when the queue holds queueCapacity entries, or kUnavailable after stop().
  std::future<AppendOutcome> append(Entry entry);

  // Stops taking entries, writes what is queued (for up to `drain`; later ones get kUnavailable)
  // and joins the writers. Idempotent.
  void stop(std::chrono::milliseconds drain);

  [[nodiscard]] std::size_t queueDepth() const;

 private:
  struct Pending {
    Entry entry;
    std::promise<AppendOutcome> done;
    std::chrono::steady_clock::time_point queued;
  };

  // An entry's outcome and the message_id its row has (to answer the batch's repeats of it).
  struct Stored {
    AppendOutcome outcome;
    std::string messageId;
  };

  void run();
  void flush(std::vector<Pending>& batch);
  std::vector<Stored> writeWithRetries(const std::vector<const Entry*>& entries);
  // One transaction for `entries` (distinct keys): an outcome per entry, or the error.
  va::service::DbResult<std::vector<Stored>> write(const std::vector<const Entry*>& entries);

  va::service::Postgres& db_;
  BatchWriterOptions options_;
  prometheus::Histogram& batchSize_;
  prometheus::Gauge& queueDepth_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point drainDeadline_{};
  std::vector<std::thread> threads_;
};

}  // namespace va::conversation_log
