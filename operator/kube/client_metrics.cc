#include "operator/kube/client_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <utility>

namespace va::kube::detail {
namespace {

// client-go's buckets for rest_client_request_duration_seconds.
const prometheus::Histogram::BucketBoundaries& durationBuckets() {
  static const prometheus::Histogram::BucketBoundaries buckets = {
      0.005, 0.025, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0};
  return buckets;
}

}  // namespace

RequestMetrics::RequestMetrics(prometheus::Registry& registry, std::string host)
    : requests_(prometheus::BuildCounter()
                    .Name("rest_client_requests_total")
                    .Help("Number of HTTP requests, partitioned by status code, method, and host.")
                    .Register(registry)),
      duration_(prometheus::BuildHistogram()
                    .Name("rest_client_request_duration_seconds")
                    .Help("Request latency in seconds. Broken down by verb, and host.")
                    .Register(registry)),
      host_(std::move(host)) {}

void RequestMetrics::count(std::string_view method, int code) {
  requests_
      .Add({{"code", code == 0 ? "<error>" : std::to_string(code)},
            {"method", std::string(method)},
            {"host", host_}})
      .Increment();
}

void RequestMetrics::observe(std::string_view method, int code, std::chrono::nanoseconds duration) {
  count(method, code);
  const std::string verb(method);
  duration_.Add({{"verb", verb}, {"host", host_}}, durationBuckets())
      .Observe(std::chrono::duration<double>(duration).count());
}

std::string hostOf(std::string_view serverUrl) {
  if (const auto scheme = serverUrl.find("://"); scheme != std::string_view::npos) {
    serverUrl.remove_prefix(scheme + 3);
  }
  return std::string(serverUrl.substr(0, serverUrl.find('/')));
}

}  // namespace va::kube::detail
