#include "workloads/common/tracing.h"

#include <mutex>

namespace va::service {
namespace {

struct GlobalSink {
  std::mutex mutex;
  std::shared_ptr<SpanSink> sink;
};

GlobalSink& globalSink() {
  static auto* global = new GlobalSink();  // never destroyed: spans may end at exit
  return *global;
}

}  // namespace

std::uint64_t unixNanos(std::chrono::system_clock::time_point time) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch()).count());
}

void setSpanSink(std::shared_ptr<SpanSink> sink) {
  GlobalSink& global = globalSink();
  const std::lock_guard lock(global.mutex);
  global.sink = std::move(sink);
}

std::shared_ptr<SpanSink> spanSink() {
  GlobalSink& global = globalSink();
  const std::lock_guard lock(global.mutex);
  return global.sink;
}

void recordSpan(SpanData span) {
  if (auto sink = spanSink()) sink->record(std::move(span));
}

ScopedSpan::ScopedSpan(std::string name, SpanKind kind) {
  const TraceContext& parent = currentLogContext().trace;
  context_ = parent.valid() ? childOf(parent) : newRootTrace();
  data_.traceId = context_.traceId;
  data_.spanId = context_.spanId;
  if (parent.valid()) data_.parentSpanId = parent.spanId;
  data_.name = std::move(name);
  data_.kind = kind;
  data_.startUnixNano = unixNanos(std::chrono::system_clock::now());
  scope_.emplace(currentLogContext().withTrace(context_));
}

ScopedSpan::~ScopedSpan() {
  scope_.reset();
  data_.endUnixNano = unixNanos(std::chrono::system_clock::now());
  if (context_.sampled()) recordSpan(std::move(data_));
}

void ScopedSpan::setAttribute(std::string key, std::string value) {
  data_.attributes.emplace_back(std::move(key), std::move(value));
}

}  // namespace va::service
