#include "workloads/common/otlp_exporter.h"

#include <spdlog/spdlog.h>

namespace va::service {
namespace {

nlohmann::json stringAttribute(const std::string& key, const std::string& value) {
  return {{"key", key}, {"value", {{"stringValue", value}}}};
}

}  // namespace

HttpClientOptions otlpHttpDefaults() {
  HttpClientOptions options;
  options.connectTimeout = std::chrono::milliseconds(1000);
  options.totalTimeout = std::chrono::milliseconds(5000);
  options.maxAttempts = 2;
  options.propagateContext = false;
  return options;
}

nlohmann::json encodeOtlpTraces(const std::vector<SpanData>& spans, std::string_view serviceName) {
  nlohmann::json encoded = nlohmann::json::array();
  for (const SpanData& span : spans) {
    nlohmann::json attributes = nlohmann::json::array();
    for (const auto& [key, value] : span.attributes)
      attributes.push_back(stringAttribute(key, value));
    nlohmann::json item = {
        {"traceId", span.traceId},
        {"spanId", span.spanId},
        {"name", span.name},
        {"kind", static_cast<int>(span.kind)},
        // 64-bit integers are strings in OTLP's JSON mapping.
        {"startTimeUnixNano", std::to_string(span.startUnixNano)},
        {"endTimeUnixNano", std::to_string(span.endUnixNano)},
        {"attributes", std::move(attributes)},
        {"status", {{"code", span.error ? 2 : 0}}},
    };
    if (!span.parentSpanId.empty()) item["parentSpanId"] = span.parentSpanId;
    encoded.push_back(std::move(item));
  }
  return {
      {"resourceSpans",
       {{{"resource",
          {{"attributes", {stringAttribute("service.name", std::string(serviceName))}}}},
         {"scopeSpans", {{{"scope", {{"name", "va.service"}}}, {"spans", std::move(encoded)}}}}}}}};
}

OtlpHttpExporter::OtlpHttpExporter(OtlpExporterOptions options)
    : options_(std::move(options)), client_(options_.http) {
  options_.maxBatch = std::max<std::size_t>(1, options_.maxBatch);
  thread_ = std::thread([this] { run(); });
}

OtlpHttpExporter::~OtlpHttpExporter() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void OtlpHttpExporter::record(SpanData span) {
  bool full = false;
  {
    const std::lock_guard lock(mutex_);
    if (queue_.size() >= options_.maxQueue) {
      ++dropped_;
      return;
    }
    queue_.push_back(std::move(span));
    full = queue_.size() >= options_.maxBatch;
  }
  if (full) wake_.notify_one();
}

bool OtlpHttpExporter::flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  flushRequested_ = true;
  wake_.notify_one();
  return idle_.wait_for(lock, timeout, [&] { return queue_.empty() && !exporting_; });
}

std::uint64_t OtlpHttpExporter::exportedSpans() const {
  const std::lock_guard lock(mutex_);
  return exported_;
}

std::uint64_t OtlpHttpExporter::droppedSpans() const {
  const std::lock_guard lock(mutex_);
  return dropped_;
}

void OtlpHttpExporter::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait_for(lock, options_.flushInterval, [&] {
      return stopping_ || flushRequested_ || queue_.size() >= options_.maxBatch;
    });
    // After a wake-up (or the interval), send everything queued, batch by batch.
    while (!queue_.empty()) {
      const std::size_t count = std::min(options_.maxBatch, queue_.size());
      std::vector<SpanData> batch(
          std::make_move_iterator(queue_.begin()),
          std::make_move_iterator(queue_.begin() + static_cast<long>(count)));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<long>(count));
      exporting_ = true;
      lock.unlock();
      exportBatch(batch);
      lock.lock();
      exporting_ = false;
    }
    flushRequested_ = false;
    idle_.notify_all();
    if (stopping_) return;
  }
}

void OtlpHttpExporter::exportBatch(const std::vector<SpanData>& batch) {
  const std::string body = encodeOtlpTraces(batch, options_.serviceName)
                               .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  auto result = requireSuccess(client_.postJson(options_.tracesUrl, body));
  const std::lock_guard lock(mutex_);
  if (result.ok()) {
    exported_ += batch.size();
  } else {
    dropped_ += batch.size();
    spdlog::warn("dropped {} spans: OTLP export failed: {}", batch.size(),
                 result.error().toError().message());
  }
}

std::shared_ptr<OtlpHttpExporter> otlpExporterFromEnv(const EnvLookup& env,
                                                      std::string defaultServiceName) {
  std::string url;
  if (auto traces = env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")) {
    url = *traces;
  } else if (auto base = env("OTEL_EXPORTER_OTLP_ENDPOINT")) {
    url = *base;
    while (!url.empty() && url.back() == '/') url.pop_back();
    url += "/v1/traces";
  } else {
    return nullptr;
  }
  OtlpExporterOptions options;
  options.tracesUrl = std::move(url);
  options.serviceName = env("OTEL_SERVICE_NAME").value_or(std::move(defaultServiceName));
  return std::make_shared<OtlpHttpExporter>(std::move(options));
}

}  // namespace va::service
