// Exports finished spans as OTLP/HTTP JSON (POST <endpoint>/v1/traces), batched by a
// background thread. Enabled only when OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT)
// is set:
//   if (auto exporter = otlpExporterFromEnv(processEnvironment(), "language-center")) {
//     setSpanSink(exporter);
//   }
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "workloads/common/config.h"
#include "workloads/common/http_client.h"
#include "workloads/common/tracing.h"

namespace va::service {

// The OTLP JSON encoding of one batch: resourceSpans / scopeSpans / spans.
nlohmann::json encodeOtlpTraces(const std::vector<SpanData>& spans, std::string_view serviceName);

// Short timeouts, two attempts, and no context propagation (the export must not trace itself).
HttpClientOptions otlpHttpDefaults();

struct OtlpExporterOptions {
  std::string tracesUrl;  // the full URL, e.g. http://collector:4318/v1/traces
  std::string serviceName;
  std::size_t maxBatch = 256;
  std::size_t maxQueue = 4096;  // spans beyond this are dropped and counted
  std::chrono::milliseconds flushInterval{2000};
  HttpClientOptions http = otlpHttpDefaults();
};

class OtlpHttpExporter : public SpanSink {
 public:
  explicit OtlpHttpExporter(OtlpExporterOptions options);
  // Sends what is still queued (bounded by the HTTP timeouts), then stops the thread.
  ~OtlpHttpExporter() override;
  OtlpHttpExporter(const OtlpHttpExporter&) = delete;
  OtlpHttpExporter& operator=(const OtlpHttpExporter&) = delete;

  void record(SpanData span) override;
  // Exports everything queued now; false if that did not finish within the timeout.
  bool flush(std::chrono::milliseconds timeout);

  std::uint64_t exportedSpans() const;
  std::uint64_t droppedSpans() const;

 private:
  void run();
  void exportBatch(const std::vector<SpanData>& batch);

  OtlpExporterOptions options_;
  HttpClient client_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<SpanData> queue_;
  bool exporting_ = false;
  bool flushRequested_ = false;
  bool stopping_ = false;
  std::uint64_t exported_ = 0;
  std::uint64_t dropped_ = 0;
  std::thread thread_;
};

// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as is, or OTEL_EXPORTER_OTLP_ENDPOINT + "/v1/traces";
// the service name from OTEL_SERVICE_NAME or the default. nullptr when no endpoint is set.
std::shared_ptr<OtlpHttpExporter> otlpExporterFromEnv(const EnvLookup& env,
                                                      std::string defaultServiceName);

}  // namespace va::service
