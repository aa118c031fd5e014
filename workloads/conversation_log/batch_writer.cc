#include "workloads/conversation_log/batch_writer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <map>
#include <utility>

namespace va::conversation_log {
namespace {

using va::service::DbErrorKind;
using va::service::DbResult;
using Clock = std::chrono::steady_clock;
using Key = std::pair<std::string, std::int64_t>;

// Every entry of a batch at once: seven arrays, one row per position (unnest zips them).
constexpr const char* kInsert =
    "INSERT INTO conversation_log"
    " (conversation_id, sequence, message_id, user_id, user_text, reply, intent)"
    " SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[],"
    " $6::text[], $7::text[])"
    " ON CONFLICT (conversation_id, sequence) DO NOTHING"
    " RETURNING id, conversation_id, sequence";

// The rows that were there already. A separate statement: under READ COMMITTED it sees a row
// that another transaction committed while the INSERT waited for it.
constexpr const char* kLookup =
    "SELECT l.id, l.conversation_id, l.sequence, l.message_id FROM conversation_log l"
    " JOIN unnest($1::text[], $2::bigint[]) AS k(conversation_id, sequence)"
    " ON l.conversation_id = k.conversation_id AND l.sequence = k.sequence";

// A PostgreSQL array literal of strings: each element quoted, '"' and '\' escaped.
std::string textArray(const std::vector<const Entry*>& entries, std::string Entry::*field) {
  std::string out = "{";
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (i > 0) out.push_back(',');
    out.push_back('"');
    for (const char c : entries[i]->*field) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

std::string sequenceArray(const std::vector<const Entry*>& entries) {
  std::string out = "{";
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (i > 0) out.push_back(',');
    out += std::to_string(entries[i]->sequence);
  }
  out.push_back('}');
  return out;
}

AppendOutcome outcome(AppendStatus status, std::int64_t id = 0, std::string message = {}) {
  return AppendOutcome{.status = status, .id = id, .message = std::move(message)};
}

}  // namespace

BatchWriter::BatchWriter(va::service::Postgres& db, BatchWriterOptions options,
                         prometheus::Registry& registry)
    : db_(db),
      options_(options),
      batchSize_(prometheus::BuildHistogram()
                     .Name("va_conversation_log_batch_size")
                     .Help("Entries written per transaction (one multi-row INSERT).")
                     .Register(registry)
                     .Add({}, prometheus::Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128,
                                                                      256, 512, 1024})),
      queueDepth_(prometheus::BuildGauge()
                      .Name("va_conversation_log_queue_depth")
                      .Help("Appends waiting for a writer.")
                      .Register(registry)
                      .Add({})) {
  options_.batchMax = std::max<std::size_t>(options_.batchMax, 1);
  options_.writers = std::max<std::size_t>(options_.writers, 1);
  threads_.reserve(options_.writers);
  for (std::size_t i = 0; i < options_.writers; ++i) threads_.emplace_back([this] { run(); });
}

BatchWriter::~BatchWriter() { stop(std::chrono::milliseconds(0)); }

std::future<AppendOutcome> BatchWriter::append(Entry entry) {
  std::promise<AppendOutcome> done;
  std::future<AppendOutcome> future = done.get_future();
  {
    const std::lock_guard lock(mutex_);
    if (stopping_) {
      done.set_value(outcome(AppendStatus::kUnavailable, 0, "the service is shutting down"));
      return future;
    }
    if (queue_.size() >= options_.queueCapacity) {
      done.set_value(outcome(
          AppendStatus::kQueueFull, 0,
          "the append queue is full (" + std::to_string(options_.queueCapacity) + " entries)"));
      return future;
    }
    queue_.push_back(Pending{std::move(entry), std::move(done), Clock::now()});
    queueDepth_.Set(static_cast<double>(queue_.size()));
    // A writer waits for the first entry, then for a full batch (or the batch wait).
    if (queue_.size() == 1 || queue_.size() >= options_.batchMax) wake_.notify_all();
  }
  return future;
}

void BatchWriter::stop(std::chrono::milliseconds drain) {
  {
    const std::lock_guard lock(mutex_);
    if (!stopping_) {
      stopping_ = true;
      drainDeadline_ = Clock::now() + drain;
    }
  }
  wake_.notify_all();
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

std::size_t BatchWriter::queueDepth() const {
  const std::lock_guard lock(mutex_);
  return queue_.size();
}

void BatchWriter::run() {
  for (;;) {
    std::vector<Pending> batch;
    bool expired = false;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing is left
      if (!stopping_ && queue_.size() < options_.batchMax) {
        const Clock::time_point deadline = queue_.front().queued + options_.batchWait;
        wake_.wait_until(lock, deadline,
                         [&] { return stopping_ || queue_.size() >= options_.batchMax; });
      }
      if (queue_.empty()) continue;  // another writer took them
      expired = stopping_ && Clock::now() > drainDeadline_;
      const std::size_t n = std::min(queue_.size(), options_.batchMax);
      batch.reserve(n);
      for (std::size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      queueDepth_.Set(static_cast<double>(queue_.size()));
      if (!queue_.empty()) wake_.notify_all();
    }
    if (expired) {
      for (Pending& pending : batch) {
        pending.done.set_value(
            outcome(AppendStatus::kUnavailable, 0, "the service stopped before writing it"));
      }
      continue;
    }
    flush(batch);
  }
}

void BatchWriter::flush(std::vector<Pending>& batch) {
  batchSize_.Observe(static_cast<double>(batch.size()));
  std::vector<AppendOutcome> outcomes(batch.size());
  try {
    // One row per key, in key order: concurrent batches then take row locks in the same order.
    std::map<Key, std::vector<std::size_t>> byKey;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      byKey[{batch[i].entry.conversationId, batch[i].entry.sequence}].push_back(i);
    }
    std::vector<const Entry*> unique;
    unique.reserve(byKey.size());
    for (const auto& [key, members] : byKey) unique.push_back(&batch[members.front()].entry);

    std::vector<Stored> stored = writeWithRetries(unique);
    std::size_t k = 0;
    for (const auto& [key, members] : byKey) {
      const Stored& row = stored[k++];
      for (const std::size_t i : members) {
        const bool first = i == members.front();
        if (first || (row.outcome.status != AppendStatus::kWritten &&
                      row.outcome.status != AppendStatus::kDuplicate &&
                      row.outcome.status != AppendStatus::kConflict)) {
          outcomes[i] = row.outcome;
        } else if (row.messageId == batch[i].entry.messageId) {
          outcomes[i] = outcome(AppendStatus::kDuplicate, row.outcome.id);
        } else {
          outcomes[i] = outcome(AppendStatus::kConflict, 0, row.messageId);
        }
      }
    }
  } catch (const std::exception& e) {
    spdlog::error("conversation log: a batch of {} failed: {}", batch.size(), e.what());
    for (AppendOutcome& o : outcomes) o = outcome(AppendStatus::kFailed, 0, e.what());
  }
  for (std::size_t i = 0; i < batch.size(); ++i) batch[i].done.set_value(std::move(outcomes[i]));
}

std::vector<BatchWriter::Stored> BatchWriter::writeWithRetries(
    const std::vector<const Entry*>& entries) {
  for (int attempt = 0;; ++attempt) {
    const Clock::time_point started = Clock::now();
    DbResult<std::vector<Stored>> written = write(entries);
    if (written.ok()) return std::move(written).value();
    const va::service::DbError& error = written.error();
    // A deadlock, or a pooled connection that broke (PostgreSQL restarted): try again at once.
    // A slow failure (a connect timeout) is not repeated: the clients are waiting.
    const bool retry =
        error.kind == DbErrorKind::kConflict || (error.kind == DbErrorKind::kUnavailable &&
                                                 Clock::now() - started < std::chrono::seconds(1));
    if (retry && attempt < options_.retries) continue;
    if (error.kind == DbErrorKind::kStatement && entries.size() > 1) {
      // Isolate the entry that fails: the others are written one by one.
      spdlog::warn("conversation log: a batch of {} failed ({}); writing its entries one by one",
                   entries.size(), error.message);
      std::vector<Stored> stored;
      stored.reserve(entries.size());
      for (const Entry* entry : entries) stored.push_back(writeWithRetries({entry}).front());
      return stored;
    }
    const AppendStatus status =
        error.kind == DbErrorKind::kStatement ? AppendStatus::kFailed : AppendStatus::kUnavailable;
    if (status == AppendStatus::kFailed) {
      spdlog::error("conversation log: writing an entry failed: {}", error.message);
    } else {
      spdlog::warn("conversation log: a batch of {} was not written: {}", entries.size(),
                   error.message);
    }
    return std::vector<Stored>(entries.size(), Stored{outcome(status, 0, error.message), {}});
  }
}

DbResult<std::vector<BatchWriter::Stored>> BatchWriter::write(
    const std::vector<const Entry*>& entries) {
  return db_.transact<std::vector<Stored>>([&](pqxx::work& tx) {
    std::map<Key, std::size_t> position;
    for (std::size_t i = 0; i < entries.size(); ++i) {
      position.emplace(Key{entries[i]->conversationId, entries[i]->sequence}, i);
    }
    std::vector<Stored> stored(entries.size());
    std::vector<bool> found(entries.size(), false);
    const std::string conversations = textArray(entries, &Entry::conversationId);
    const std::string sequences = sequenceArray(entries);
    const pqxx::result inserted =
        tx.exec_params(kInsert, conversations, sequences, textArray(entries, &Entry::messageId),
                       textArray(entries, &Entry::userId), textArray(entries, &Entry::userText),
                       textArray(entries, &Entry::reply), textArray(entries, &Entry::intent));
    for (const pqxx::row& row : inserted) {
      const auto it = position.find(Key{row[1].as<std::string>(), row[2].as<std::int64_t>()});
      if (it == position.end()) continue;
      stored[it->second] = {outcome(AppendStatus::kWritten, row[0].as<std::int64_t>()),
                            entries[it->second]->messageId};
      found[it->second] = true;
    }
    if (inserted.size() < entries.size()) {
      std::vector<const Entry*> missing;
      for (std::size_t i = 0; i < entries.size(); ++i) {
        if (!found[i]) missing.push_back(entries[i]);
      }
      const pqxx::result existing = tx.exec_params(
          kLookup, textArray(missing, &Entry::conversationId), sequenceArray(missing));
      for (const pqxx::row& row : existing) {
        const auto it = position.find(Key{row[1].as<std::string>(), row[2].as<std::int64_t>()});
        if (it == position.end() || found[it->second]) continue;
        const auto id = row[0].as<std::int64_t>();
        auto messageId = row[3].as<std::string>();
        stored[it->second] =
            messageId == entries[it->second]->messageId
                ? Stored{outcome(AppendStatus::kDuplicate, id), std::move(messageId)}
                : Stored{outcome(AppendStatus::kConflict, 0, messageId), messageId};
        found[it->second] = true;
      }
      for (std::size_t i = 0; i < entries.size(); ++i) {
        // Neither written nor there (deleted by retention in between): not acknowledged.
        if (!found[i]) {
          stored[i] = {outcome(AppendStatus::kUnavailable, 0, "the entry could not be written"),
                       {}};
        }
      }
    }
    return stored;
  });
}

}  // namespace va::conversation_log
