#include "workloads/common/postgres.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace va::service {

namespace {

// The DSN with the connect timeout added ("postgresql://..." URIs and key=value strings).
std::string withConnectTimeout(const std::string& dsn, std::chrono::seconds timeout) {
  const std::string setting = "connect_timeout=" + std::to_string(timeout.count());
  if (dsn.rfind("postgres://", 0) == 0 || dsn.rfind("postgresql://", 0) == 0) {
    return dsn + (dsn.find('?') == std::string::npos ? "?" : "&") + setting;
  }
  return dsn + " " + setting;
}

DbError classify(const std::exception& e) {
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) {
    return {DbErrorKind::kUnavailable, std::string("postgres unavailable: ") + e.what(), ""};
  }
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    const std::string state = sql->sqlstate();
    // 40001 serialization failure, 40P01 deadlock; class 08 connection exceptions; 57P01-03
    // the server is shutting down or not accepting connections.
    if (state == "40001" || state == "40P01") {
      return {DbErrorKind::kConflict, std::string("postgres: ") + e.what(), state};
    }
    if (state.rfind("08", 0) == 0 || state.rfind("57P", 0) == 0) {
      return {DbErrorKind::kUnavailable, std::string("postgres unavailable: ") + e.what(), state};
    }
    return {DbErrorKind::kStatement, std::string("postgres: ") + e.what(), state};
  }
  if (dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr) {
    return {DbErrorKind::kUnavailable, std::string("postgres: commit in doubt: ") + e.what(), ""};
  }
  return {DbErrorKind::kStatement, std::string("postgres: ") + e.what(), ""};
}

}  // namespace

Postgres::Postgres(const std::string& dsn, PostgresOptions options)
    : dsn_(withConnectTimeout(dsn, options.connectTimeout)), options_(options) {}

Postgres::~Postgres() = default;

DbResult<std::unique_ptr<pqxx::connection>> Postgres::acquire() {
  {
    std::unique_lock lock(mutex_);
    const bool ready = available_.wait_for(lock, options_.acquireTimeout, [&] {
      return !idle_.empty() || open_ < options_.maxConnections;
    });
    if (!ready) {
      return DbError{DbErrorKind::kUnavailable,
                     "postgres: no free connection within " +
                         std::to_string(options_.acquireTimeout.count()) + " ms",
                     ""};
    }
    if (!idle_.empty()) {
      std::unique_ptr<pqxx::connection> connection = std::move(idle_.back());
      idle_.pop_back();
      return connection;
    }
    ++open_;  // reserve a slot, connect outside the lock
  }
  try {
    auto connection = std::make_unique<pqxx::connection>(dsn_);
    pqxx::nontransaction setup(*connection);
    setup.exec("SET statement_timeout = " + std::to_string(options_.statementTimeout.count()));
    return connection;
  } catch (const std::exception& e) {
    {
      const std::lock_guard lock(mutex_);
      --open_;
    }
    available_.notify_one();
    DbError error = classify(e);
    if (error.kind == DbErrorKind::kStatement) error.kind = DbErrorKind::kUnavailable;
    return error;
  }
}

void Postgres::release(std::unique_ptr<pqxx::connection> connection) {
  {
    const std::lock_guard lock(mutex_);
    if (connection && connection->is_open()) {
      idle_.push_back(std::move(connection));
    } else {
      --open_;
    }
  }
  available_.notify_one();
}

DbResult<bool> Postgres::run(const std::function<void(pqxx::work&)>& body) {
  DbResult<std::unique_ptr<pqxx::connection>> acquired = acquire();
  if (!acquired.ok()) return acquired.error();
  std::unique_ptr<pqxx::connection> connection = std::move(acquired).value();
  try {
    pqxx::work tx(*connection);
    body(tx);
    tx.commit();
    release(std::move(connection));
    return true;
  } catch (const std::exception& e) {
    DbError error = classify(e);
    // A connection that saw a broken-connection error is not reused.
    if (error.kind == DbErrorKind::kUnavailable) connection.reset();
    release(std::move(connection));
    return error;
  }
}

Status Postgres::ping() {
  const DbResult<bool> ok = run([](pqxx::work& tx) { tx.exec("SELECT 1"); });
  if (!ok.ok()) return ok.error().toError();
  return {};
}

Status Postgres::migrate(std::string_view component, const std::vector<Migration>& migrations) {
  std::vector<Migration> ordered = migrations;
  std::sort(ordered.begin(), ordered.end(),
            [](const Migration& a, const Migration& b) { return a.version < b.version; });
  for (const Migration& migration : ordered) {
    bool applied = false;
    const DbResult<bool> done = run([&](pqxx::work& tx) {
      // One lock for every component's migrations: replicas starting together wait here.
      tx.exec("SELECT pg_advisory_xact_lock(7305418270000000001)");
      tx.exec(
          "CREATE TABLE IF NOT EXISTS schema_migrations ("
          " component text NOT NULL, version integer NOT NULL, description text NOT NULL,"
          " applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (component, version))");
      const pqxx::result seen =
          tx.exec_params("SELECT 1 FROM schema_migrations WHERE component = $1 AND version = $2",
                         std::string(component), migration.version);
      if (!seen.empty()) return;
      tx.exec(migration.sql);
      tx.exec_params(
          "INSERT INTO schema_migrations (component, version, description) VALUES ($1, $2, $3)",
          std::string(component), migration.version, migration.description);
      applied = true;
    });
    if (!done.ok()) {
      return Error(std::string(component) + " migration " + std::to_string(migration.version) +
                   " (" + migration.description + "): " + done.error().message);
    }
    if (applied) {
      spdlog::info("{}: applied migration {} ({})", component, migration.version,
                   migration.description);
    }
  }
  return {};
}

}  // namespace va::service
