#include "workloads/common/readiness.h"

#include <exception>

namespace va::service {

nlohmann::json ReadinessReport::toJson() const {
  nlohmann::json checks = nlohmann::json::object();
  for (const auto& outcome : outcomes) checks[outcome.name] = outcome.ok ? "ok" : outcome.message;
  return {{"status", ready ? "ready" : "not_ready"}, {"checks", std::move(checks)}};
}

void ReadinessChecks::add(std::string name, Check check) {
  const std::lock_guard lock(mutex_);
  checks_.emplace_back(std::move(name), std::move(check));
}

ReadinessReport ReadinessChecks::run() const {
  std::vector<std::pair<std::string, Check>> checks;
  {
    const std::lock_guard lock(mutex_);
    checks = checks_;
  }
  ReadinessReport report;
  for (const auto& [name, check] : checks) {
    ReadinessReport::Outcome outcome{name, true, {}};
    try {
      const Status status = check();
      if (!status.ok()) {
        outcome.ok = false;
        outcome.message = status.error().message();
      }
    } catch (const std::exception& e) {
      outcome.ok = false;
      outcome.message = std::string("check threw: ") + e.what();
    } catch (...) {
      outcome.ok = false;
      outcome.message = "check threw";
    }
    if (!outcome.ok) {
      report.ready = false;
      if (!report.failing.empty()) report.failing += "; ";
      report.failing += outcome.name + ": " + outcome.message;
    }
    report.outcomes.push_back(std::move(outcome));
  }
  return report;
}

}  // namespace va::service
