#include "workloads/common/readiness.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace va::service {
namespace {

TEST(ReadinessTest, ReadyWithoutChecksOrWhenAllPass) {
  ReadinessChecks checks;
  EXPECT_TRUE(checks.run().ready);
  checks.add("redis", [] { return Status(); });
  const ReadinessReport report = checks.run();
  EXPECT_TRUE(report.ready);
  EXPECT_EQ(report.toJson()["status"], "ready");
  EXPECT_EQ(report.toJson()["checks"]["redis"], "ok");
}

TEST(ReadinessTest, NamesEachFailingCheck) {
  ReadinessChecks checks;
  checks.add("redis", [] { return Status(); });
  checks.add("postgres", [] { return Status(Error("connection refused")); });
  checks.add("language-center", []() -> Status { throw std::runtime_error("boom"); });
  const ReadinessReport report = checks.run();
  EXPECT_FALSE(report.ready);
  EXPECT_EQ(report.failing, "postgres: connection refused; language-center: check threw: boom");
  const auto json = report.toJson();
  EXPECT_EQ(json["status"], "not_ready");
  EXPECT_EQ(json["checks"]["redis"], "ok");
  EXPECT_EQ(json["checks"]["postgres"], "connection refused");
}

}  // namespace
}  // namespace va::service
