#include "workloads/common/http_metrics.h"

#include <prometheus/text_serializer.h>

#include <array>

namespace va::service {
namespace {

std::string normalizedMethod(std::string_view method) {
  static constexpr std::array<std::string_view, 9> kKnown = {
      "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"};
  for (const auto known : kKnown) {
    if (method == known) return std::string(known);
  }
  return "OTHER";
}

}  // namespace

HttpMetrics::HttpMetrics(prometheus::Registry& registry)
    : requests_(prometheus::BuildCounter()
                    .Name("http_requests_total")
                    .Help("HTTP requests answered, by route, method and status code.")
                    .Register(registry)),
      durations_(prometheus::BuildHistogram()
                     .Name("http_request_duration_seconds")
                     .Help("Time from a complete request head to the response written.")
                     .Register(registry)),
      inFlight_(prometheus::BuildGauge()
                    .Name("http_requests_in_flight")
                    .Help("HTTP requests being processed.")
                    .Register(registry)
                    .Add({})) {}

void HttpMetrics::observe(std::string_view handler, std::string_view method, int code,
                          double seconds) {
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
  const std::string methodLabel = normalizedMethod(method);
  requests_
      .Add({{"handler", std::string(handler)},
            {"method", methodLabel},
            {"code", std::to_string(code)}})
      .Increment();
  durations_.Add({{"handler", std::string(handler)}, {"method", methodLabel}}, kBuckets)
      .Observe(seconds);
}

std::string renderMetricsText(const prometheus::Registry& registry) {
  return prometheus::TextSerializer().Serialize(registry.Collect());
}

}  // namespace va::service
