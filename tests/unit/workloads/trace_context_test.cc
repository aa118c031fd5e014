#include "workloads/common/trace_context.h"

#include <gtest/gtest.h>

#include <set>

namespace va::service {
namespace {

constexpr const char* kExample = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(TraceContextTest, ParsesAndFormatsTheW3cExample) {
  const auto context = parseTraceparent(kExample);
  ASSERT_TRUE(context.has_value());
  EXPECT_EQ(context->traceId, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(context->spanId, "00f067aa0ba902b7");
  EXPECT_EQ(context->flags, 0x01);
  EXPECT_TRUE(context->sampled());
  EXPECT_EQ(formatTraceparent(*context), kExample);
}

TEST(TraceContextTest, KeepsUnsampledFlags) {
  const auto context = parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  ASSERT_TRUE(context.has_value());
  EXPECT_FALSE(context->sampled());
  EXPECT_FALSE(childOf(*context).sampled());
}

TEST(TraceContextTest, AcceptsLaterVersionsWithExtraFields) {
  EXPECT_TRUE(parseTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"));
  EXPECT_FALSE(parseTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x"));
}

TEST(TraceContextTest, RejectsMalformedHeaders) {
  for (const char* bad : {
           "", "garbage",
           "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    // forbidden version
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",    // upper case
           "00-00000000000000000000000000000000-00f067aa0ba902b7-01",    // zero trace id
           "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",    // zero span id
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",  // v00 has no extras
           "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",     // short trace id
           "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",    // separators
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-zz",    // flags
       }) {
    EXPECT_FALSE(parseTraceparent(bad).has_value()) << bad;
  }
}

TEST(TraceContextTest, NewIdsAreValidAndDistinct) {
  std::set<std::string> traces;
  std::set<std::string> spans;
  for (int i = 0; i < 100; ++i) {
    const TraceContext root = newRootTrace();
    EXPECT_TRUE(root.valid());
    EXPECT_TRUE(root.sampled());
    traces.insert(root.traceId);
    spans.insert(root.spanId);
    const TraceContext child = childOf(root);
    EXPECT_EQ(child.traceId, root.traceId);
    EXPECT_NE(child.spanId, root.spanId);
    EXPECT_TRUE(parseTraceparent(formatTraceparent(child)).has_value());
  }
  EXPECT_EQ(traces.size(), 100U);
  EXPECT_EQ(spans.size(), 100U);
}

}  // namespace
}  // namespace va::service
