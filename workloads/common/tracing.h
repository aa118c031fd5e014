// Spans: what was done, by whom, when, in which trace. They go to a process-wide SpanSink
// (the OTLP exporter when OTEL_EXPORTER_OTLP_ENDPOINT is set), or nowhere when none is set.
//   {
//     ScopedSpan span("load context", SpanKind::kInternal);   // child of the current context
//     span.setAttribute("conversation.id", id);
//     ...                                                     // logs carry the new span id
//   }                                                         // recorded here
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "workloads/common/logging.h"
#include "workloads/common/trace_context.h"

namespace va::service {

// The numbers are OTLP's SpanKind values.
enum class SpanKind { kInternal = 1, kServer = 2, kClient = 3, kProducer = 4, kConsumer = 5 };

struct SpanData {
  std::string traceId;
  std::string spanId;
  std::string parentSpanId;  // empty for a root span
  std::string name;
  SpanKind kind = SpanKind::kInternal;
  std::uint64_t startUnixNano = 0;
  std::uint64_t endUnixNano = 0;
  std::vector<std::pair<std::string, std::string>> attributes;
  bool error = false;
};

std::uint64_t unixNanos(std::chrono::system_clock::time_point time);

// Where finished spans go. record() must not block for long: it runs on request threads.
class SpanSink {
 public:
  virtual ~SpanSink() = default;
  virtual void record(SpanData span) = 0;
};

// The process-wide sink; nullptr (the default) drops spans.
void setSpanSink(std::shared_ptr<SpanSink> sink);
std::shared_ptr<SpanSink> spanSink();
// Hands the span to the sink, if there is one (callers drop unsampled spans).
void recordSpan(SpanData span);

// A span for the current scope: a child of the thread's log context (or a new root), made the
// current context until it ends, and recorded when it is destroyed.
class ScopedSpan {
 public:
  ScopedSpan(std::string name, SpanKind kind);
  ~ScopedSpan();
  ScopedSpan(const ScopedSpan&) = delete;
  ScopedSpan& operator=(const ScopedSpan&) = delete;

  void setAttribute(std::string key, std::string value);
  void setError() { data_.error = true; }
  [[nodiscard]] const TraceContext& context() const { return context_; }

 private:
  TraceContext context_;
  SpanData data_;
  std::optional<ScopedLogContext> scope_;
};

}  // namespace va::service
