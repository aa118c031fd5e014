#include "workloads/common/http_metrics.h"

#include <gtest/gtest.h>

namespace va::service {
namespace {

TEST(HttpMetricsTest, RendersCountersHistogramsAndTheInFlightGauge) {
  prometheus::Registry registry;
  HttpMetrics metrics(registry);
  metrics.observe("/v1/items/([^/]+)", "GET", 200, 0.02);
  metrics.observe("/v1/items/([^/]+)", "GET", 200, 0.03);
  metrics.observe("none", "BREW", 404, 0.001);
  metrics.requestStarted();

  const std::string text = renderMetricsText(registry);
  EXPECT_NE(text.find("# TYPE http_requests_total counter"), std::string::npos) << text;
  EXPECT_NE(
      text.find(R"m(http_requests_total{code="200",handler="/v1/items/([^/]+)",method="GET"} 2)m"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(http_requests_total{code="404",handler="none",method="OTHER"} 1)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE http_request_duration_seconds histogram"), std::string::npos);
  EXPECT_NE(
      text.find(
          R"m(http_request_duration_seconds_count{handler="/v1/items/([^/]+)",method="GET"} 2)m"),
      std::string::npos)
      << text;
  EXPECT_NE(
      text.find(
          R"m(http_request_duration_seconds_bucket{handler="/v1/items/([^/]+)",method="GET",le="0.025"} 1)m"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("http_requests_in_flight 1"), std::string::npos) << text;
  metrics.requestFinished();
  EXPECT_NE(renderMetricsText(registry).find("http_requests_in_flight 0"), std::string::npos);
}

}  // namespace
}  // namespace va::service
