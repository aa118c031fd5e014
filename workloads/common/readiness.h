// Readiness: named checks of the dependencies a component needs (Redis, PostgreSQL, the next
// service), run on each /readyz. Each check must bound its own time (a short timeout).
//   checks.add("redis", [&] { return redis.ping(); });
//   ReadinessReport report = checks.run();   // report.failing == "redis: connection refused"
#pragma once

#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "workloads/common/result.h"

namespace va::service {

struct ReadinessReport {
  struct Outcome {
    std::string name;
    bool ok = true;
    std::string message;
  };
  bool ready = true;
  std::vector<Outcome> outcomes;
  std::string failing;  // "name: message" of each failing check, "; "-separated

  // {"status":"ready"|"not_ready","checks":{"redis":"ok","postgres":"connection refused"}}
  [[nodiscard]] nlohmann::json toJson() const;
};

class ReadinessChecks {
 public:
  using Check = std::function<Status()>;

  void add(std::string name, Check check);
  // Runs every check in the order added; a check that throws counts as failed.
  ReadinessReport run() const;

 private:
  mutable std::mutex mutex_;
  std::vector<std::pair<std::string, Check>> checks_;
};

}  // namespace va::service
