// client-go's REST client metrics, so that existing dashboards work: rest_client_requests_total
// {code, method, host} and rest_client_request_duration_seconds{verb, host}, one observation
// per attempt (a retried call counts each try). Internal to va::kube.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace prometheus {
class Counter;
class Histogram;
template <typename T>
class Family;
class Registry;
}  // namespace prometheus

namespace va::kube::detail {

class RequestMetrics {
 public:
  // Registers the families in `registry` (or finds them when another client did already).
  // `host` is the API server's host:port.
  RequestMetrics(prometheus::Registry& registry, std::string host);

  // `code` is the HTTP status, or 0 for an attempt that got no answer (label "<error>", as in
  // client-go).
  void observe(std::string_view method, int code, std::chrono::nanoseconds duration);
  // rest_client_requests_total only (for streams, whose duration is not a latency).
  void count(std::string_view method, int code);

 private:
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& duration_;
  const std::string host_;
};

// "host:port" of a server URL such as "https://10.0.0.1:6443/prefix".
std::string hostOf(std::string_view serverUrl);

}  // namespace va::kube::detail
