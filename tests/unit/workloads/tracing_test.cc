#include "workloads/common/tracing.h"

#include <gtest/gtest.h>

#include <mutex>
#include <vector>

namespace va::service {
namespace {

class RecordingSink : public SpanSink {
 public:
  void record(SpanData span) override {
    const std::lock_guard lock(mutex_);
    spans_.push_back(std::move(span));
  }
  std::vector<SpanData> spans() {
    const std::lock_guard lock(mutex_);
    return spans_;
  }

 private:
  std::mutex mutex_;
  std::vector<SpanData> spans_;
};

class TracingTest : public ::testing::Test {
 protected:
  void SetUp() override { setSpanSink(sink_); }
  void TearDown() override { setSpanSink(nullptr); }
  std::shared_ptr<RecordingSink> sink_ = std::make_shared<RecordingSink>();
};

TEST_F(TracingTest, NestedSpansFormOneTraceAndSetTheLogContext) {
  std::string outerSpan;
  {
    ScopedSpan outer("handle message", SpanKind::kServer);
    outerSpan = outer.context().spanId;
    EXPECT_EQ(currentLogContext().trace.spanId, outerSpan);
    {
      ScopedSpan inner("load context", SpanKind::kInternal);
      inner.setAttribute("conversation.id", "c-1");
      EXPECT_EQ(currentLogContext().trace.spanId, inner.context().spanId);
    }
    EXPECT_EQ(currentLogContext().trace.spanId, outerSpan);
  }
  EXPECT_FALSE(currentLogContext().trace.valid());

  const auto spans = sink_->spans();
  ASSERT_EQ(spans.size(), 2U);
  const SpanData& inner = spans[0];  // ends first
  const SpanData& outer = spans[1];
  EXPECT_EQ(outer.name, "handle message");
  EXPECT_EQ(outer.kind, SpanKind::kServer);
  EXPECT_TRUE(outer.parentSpanId.empty());
  EXPECT_EQ(inner.traceId, outer.traceId);
  EXPECT_EQ(inner.parentSpanId, outer.spanId);
  ASSERT_EQ(inner.attributes.size(), 1U);
  EXPECT_EQ(inner.attributes[0].second, "c-1");
  EXPECT_LE(outer.startUnixNano, inner.startUnixNano);
  EXPECT_GE(outer.endUnixNano, inner.endUnixNano);
}

TEST_F(TracingTest, SpansContinueTheIncomingTrace) {
  const TraceContext incoming{"4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", 1};
  {
    const ScopedLogContext scope(LogContext{"r-1", "", incoming});
    ScopedSpan span("call", SpanKind::kClient);
  }
  const auto spans = sink_->spans();
  ASSERT_EQ(spans.size(), 1U);
  EXPECT_EQ(spans[0].traceId, incoming.traceId);
  EXPECT_EQ(spans[0].parentSpanId, incoming.spanId);
}

TEST_F(TracingTest, UnsampledTracesAndMissingSinksRecordNothing) {
  {
    const ScopedLogContext scope(LogContext{
        "", "", TraceContext{"4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", 0}});
    ScopedSpan span("unsampled", SpanKind::kInternal);
  }
  EXPECT_TRUE(sink_->spans().empty());
  setSpanSink(nullptr);
  { ScopedSpan span("dropped", SpanKind::kInternal); }
  EXPECT_TRUE(sink_->spans().empty());
}

}  // namespace
}  // namespace va::service
