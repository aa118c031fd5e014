// The request metrics every HTTP server exports, and the Prometheus text rendering of a
// registry for /metrics (served by our own server, not prometheus-cpp's civetweb Exposer):
//   http_requests_total{handler,method,code}, http_request_duration_seconds{handler,method},
//   http_requests_in_flight.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <string>
#include <string_view>

namespace va::service {

class HttpMetrics {
 public:
  explicit HttpMetrics(prometheus::Registry& registry);

  // `handler` is the route pattern ("/v1/conversations/([^/]+)/messages"), never the raw
  // path, so that the number of series stays bounded; unknown methods count as "OTHER".
  void observe(std::string_view handler, std::string_view method, int code, double seconds);
  void requestStarted() { inFlight_.Increment(); }
  void requestFinished() { inFlight_.Decrement(); }

 private:
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& durations_;
  prometheus::Gauge& inFlight_;
};

// The registry in the Prometheus text exposition format (version 0.0.4).
std::string renderMetricsText(const prometheus::Registry& registry);

}  // namespace va::service
