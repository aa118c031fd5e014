// PostgreSQL for the workloads (libpqxx): a small connection pool built from a DSN (a mounted
// Secret's content, never logged), transactions that tell "the database is unreachable" (the
// caller answers 503 and the pool reconnects by itself) from "this statement failed", and
// versioned, idempotent migrations applied at start-up under an advisory lock, so that several
// replicas starting at once apply each migration exactly once.
//   Postgres db(dsn.reveal(), {.maxConnections = 8});
//   if (auto s = db.migrate("conversation-log", kMigrations); !s.ok()) ...   // at start-up
//   auto count = db.transact<long>([&](pqxx::work& tx) {
//     return tx.exec1("SELECT count(*) FROM conversation_log")[0].as<long>();
//   });
//   if (!count.ok() && count.error().kind == DbErrorKind::kUnavailable) -> 503 + Retry-After
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "workloads/common/result.h"

namespace va::service {

enum class DbErrorKind {
  kUnavailable,  // cannot connect, or the connection broke: try again later
  kConflict,     // a serialization failure or deadlock: the transaction may be retried
  kStatement,    // the statement itself failed (constraint, syntax, ...)
};

struct DbError {
  DbErrorKind kind = DbErrorKind::kStatement;
  std::string message;
  std::string sqlState;  // "23505" for a unique violation, empty when not from the server
  [[nodiscard]] Error toError() const { return Error(message); }
};

template <typename T>
using DbResult = Result<T, DbError>;

struct Migration {
  int version = 0;
  std::string description;
  std::string sql;  // run in the migration's transaction
};

struct PostgresOptions {
  std::size_t maxConnections = 8;
  std::chrono::seconds connectTimeout{2};
  std::chrono::milliseconds statementTimeout{5000};
  std::chrono::milliseconds acquireTimeout{5000};  // waiting for a free connection
};

class Postgres {
 public:
  explicit Postgres(const std::string& dsn, PostgresOptions options = {});
  ~Postgres();
  Postgres(const Postgres&) = delete;
  Postgres& operator=(const Postgres&) = delete;

  // Runs `body` in a transaction (committed when it returns; rolled back when it throws) on a
  // pooled connection. Errors are values; a broken connection is dropped from the pool.
  template <typename T>
  DbResult<T> transact(const std::function<T(pqxx::work&)>& body) {
    T value{};
    const DbResult<bool> done = run([&](pqxx::work& tx) { value = body(tx); });
    if (!done.ok()) return done.error();
    return value;
  }
  DbResult<bool> run(const std::function<void(pqxx::work&)>& body);

  // SELECT 1, for /readyz.
  [[nodiscard]] Status ping();

  // Applies the migrations of `component` not yet recorded in schema_migrations, in version
  // order, each in its own transaction holding a database-wide advisory lock.
  [[nodiscard]] Status migrate(std::string_view component,
                               const std::vector<Migration>& migrations);

 private:
  DbResult<std::unique_ptr<pqxx::connection>> acquire();
  void release(std::unique_ptr<pqxx::connection> connection);

  std::string dsn_;
  PostgresOptions options_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;
  std::size_t open_ = 0;
};

}  // namespace va::service
