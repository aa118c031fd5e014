#include "workloads/common/otlp_exporter.h"

#include <gtest/gtest.h>

#include <mutex>
#include <vector>

#include "tests/unit/workloads/test_support.h"

namespace va::service {
namespace {

SpanData sampleSpan(const std::string& name, const std::string& parent = "") {
  SpanData span;
  span.traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
  span.spanId = newSpanId();
  span.parentSpanId = parent;
  span.name = name;
  span.kind = SpanKind::kServer;
  span.startUnixNano = 1700000000000000000ULL;
  span.endUnixNano = 1700000000250000000ULL;
  span.attributes = {{"http.method", "GET"}, {"http.status_code", "200"}};
  return span;
}

TEST(OtlpExporterTest, EncodesTheOtlpJsonShape) {
  const auto encoded = encodeOtlpTraces({sampleSpan("GET /v1/x", "00f067aa0ba902b7")}, "va-test");
  const auto& resource = encoded["resourceSpans"][0];
  EXPECT_EQ(resource["resource"]["attributes"][0]["key"], "service.name");
  EXPECT_EQ(resource["resource"]["attributes"][0]["value"]["stringValue"], "va-test");
  const auto& span = resource["scopeSpans"][0]["spans"][0];
  EXPECT_EQ(span["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(span["parentSpanId"], "00f067aa0ba902b7");
  EXPECT_EQ(span["name"], "GET /v1/x");
  EXPECT_EQ(span["kind"], 2);
  EXPECT_EQ(span["startTimeUnixNano"], "1700000000000000000");
  EXPECT_EQ(span["endTimeUnixNano"], "1700000000250000000");
  EXPECT_EQ(span["attributes"][1]["key"], "http.status_code");
  EXPECT_EQ(span["attributes"][1]["value"]["stringValue"], "200");
  EXPECT_FALSE(
      encodeOtlpTraces({sampleSpan("root")}, "x")["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
          .contains("parentSpanId"));
}

TEST(OtlpExporterTest, PostsBatchesToACollector) {
  std::mutex mutex;
  std::vector<nlohmann::json> received;
  testing::LocalServer collector;
  collector.server().Post("/v1/traces", [&](const httplib::Request& req, httplib::Response& res) {
    const std::lock_guard lock(mutex);
    received.push_back(nlohmann::json::parse(req.body, nullptr, false));
    EXPECT_EQ(req.get_header_value("Content-Type"), "application/json");
    res.set_content("{}", "application/json");
  });
  collector.start();

  OtlpExporterOptions options;
  options.tracesUrl = collector.url("/v1/traces");
  options.serviceName = "va-test";
  options.maxBatch = 2;
  options.flushInterval = std::chrono::hours(1);  // only full batches and flush() send
  OtlpHttpExporter exporter(options);
  exporter.record(sampleSpan("one"));
  exporter.record(sampleSpan("two"));  // a full batch: sent without waiting for the interval
  ASSERT_TRUE(testing::eventually([&] {
    const std::lock_guard lock(mutex);
    return received.size() == 1;
  }));
  exporter.record(sampleSpan("three"));
  ASSERT_TRUE(exporter.flush(std::chrono::seconds(10)));
  EXPECT_EQ(exporter.exportedSpans(), 3U);
  EXPECT_EQ(exporter.droppedSpans(), 0U);

  const std::lock_guard lock(mutex);
  ASSERT_EQ(received.size(), 2U);
  std::vector<std::string> names;
  for (const auto& body : received) {
    ASSERT_FALSE(body.is_discarded());
    EXPECT_EQ(body["resourceSpans"][0]["resource"]["attributes"][0]["value"]["stringValue"],
              "va-test");
    for (const auto& span : body["resourceSpans"][0]["scopeSpans"][0]["spans"]) {
      names.push_back(span["name"]);
      EXPECT_EQ(span["traceId"].get<std::string>().size(), 32U);
      EXPECT_EQ(span["spanId"].get<std::string>().size(), 16U);
    }
  }
  EXPECT_EQ(names, (std::vector<std::string>{"one", "two", "three"}));
}

TEST(OtlpExporterTest, CountsSpansItCouldNotSend) {
  OtlpExporterOptions options;
  options.tracesUrl = "http://127.0.0.1:" + std::to_string(testing::closedPort()) + "/v1/traces";
  options.http.maxAttempts = 1;
  OtlpHttpExporter exporter(options);
  exporter.record(sampleSpan("lost"));
  ASSERT_TRUE(exporter.flush(std::chrono::seconds(10)));
  EXPECT_EQ(exporter.exportedSpans(), 0U);
  EXPECT_EQ(exporter.droppedSpans(), 1U);
}

TEST(OtlpExporterTest, IsEnabledOnlyByTheEnvironment) {
  EXPECT_EQ(otlpExporterFromEnv(mapEnvironment({}), "svc"), nullptr);
  EXPECT_NE(otlpExporterFromEnv(
                mapEnvironment({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1/"}}), "svc"),
            nullptr);
}

TEST(OtlpExporterTest, ServerSpansReachTheCollectorThroughTheGlobalSink) {
  std::mutex mutex;
  std::vector<nlohmann::json> received;
  testing::LocalServer collector;
  collector.server().Post("/v1/traces", [&](const httplib::Request& req, httplib::Response&) {
    const std::lock_guard lock(mutex);
    received.push_back(nlohmann::json::parse(req.body, nullptr, false));
  });
  collector.start();
  auto exporter =
      otlpExporterFromEnv(mapEnvironment({{"OTEL_EXPORTER_OTLP_ENDPOINT", collector.url("")},
                                          {"OTEL_SERVICE_NAME", "language-center"}}),
                          "fallback");
  ASSERT_NE(exporter, nullptr);
  setSpanSink(exporter);
  { ScopedSpan span("classify", SpanKind::kInternal); }
  setSpanSink(nullptr);
  ASSERT_TRUE(exporter->flush(std::chrono::seconds(10)));
  const std::lock_guard lock(mutex);
  ASSERT_EQ(received.size(), 1U);
  EXPECT_EQ(received[0]["resourceSpans"][0]["resource"]["attributes"][0]["value"]["stringValue"],
            "language-center");
  EXPECT_EQ(received[0]["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["name"], "classify");
  EXPECT_EQ(received[0]["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["kind"], 1);
}

}  // namespace
}  // namespace va::service
