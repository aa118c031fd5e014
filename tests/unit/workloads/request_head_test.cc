#include "workloads/common/request_head.h"

#include <gtest/gtest.h>

namespace va::service {
namespace {

std::string headWith(int headers, std::size_t valueSize) {
  std::string head = "GET /v1/x?y=1 HTTP/1.1\r\n";
  for (int i = 0; i < headers; ++i) {
    head += "X-H" + std::to_string(i) + ": " + std::string(valueSize, 'v') + "\r\n";
  }
  return head + "\r\n";
}

TEST(RequestHeadTest, FindsACompleteHead) {
  const std::string data =
      "POST /v1/messages HTTP/1.1\r\nHost: x\r\ncontent-length: 5\r\nX-Request-Id:  r-1 "
      "\r\n\r\nhello";
  const HeadScan scan = scanRequestHead(data, HeadLimits{});
  ASSERT_EQ(scan.status, HeadStatus::kComplete);
  EXPECT_EQ(scan.head.length, data.size() - 5);
  EXPECT_EQ(scan.head.method, "POST");
  EXPECT_EQ(scan.head.target, "/v1/messages");
  EXPECT_EQ(scan.head.header("x-request-id"), "r-1");
  EXPECT_EQ(scan.head.contentLength(), 5U);
  EXPECT_FALSE(scan.head.chunked());
}

TEST(RequestHeadTest, WaitsForMoreBytes) {
  EXPECT_EQ(scanRequestHead("", HeadLimits{}).status, HeadStatus::kIncomplete);
  EXPECT_EQ(scanRequestHead("GET / HTTP/1.1\r\nHost: x\r\n", HeadLimits{}).status,
            HeadStatus::kIncomplete);
  EXPECT_EQ(scanRequestHead("GET / HTTP/1.1\r\nHo", HeadLimits{}).status, HeadStatus::kIncomplete);
}

TEST(RequestHeadTest, TooManyHeaderFieldsAre431) {
  HeadLimits limits;
  limits.maxHeaderCount = 10;
  EXPECT_EQ(scanRequestHead(headWith(10, 5), limits).status, HeadStatus::kComplete);
  const HeadScan scan = scanRequestHead(headWith(11, 5), limits);
  EXPECT_EQ(scan.status, HeadStatus::kHeadersTooLarge);
  EXPECT_EQ(scan.reason, "more than 10 header fields");
  EXPECT_EQ(scan.head.method, "GET");
}

TEST(RequestHeadTest, TooManyHeaderBytesAre431EvenBeforeTheHeadEnds) {
  HeadLimits limits;
  limits.maxHeaderBytes = 1000;
  EXPECT_EQ(scanRequestHead(headWith(9, 100), limits).status, HeadStatus::kComplete);
  EXPECT_EQ(scanRequestHead(headWith(10, 100), limits).status, HeadStatus::kHeadersTooLarge);
  // A header that never ends is rejected once it passes the limit.
  const std::string endless = "GET / HTTP/1.1\r\nX-Big: " + std::string(2000, 'a');
  EXPECT_EQ(scanRequestHead(endless, limits).status, HeadStatus::kHeadersTooLarge);
}

TEST(RequestHeadTest, LinesLongerThanHttplibAcceptsAre431NotA400) {
  HeadLimits limits;
  limits.maxHeaderBytes = 64 * 1024;
  limits.maxHeaderLineBytes = 1 << 20;  // asks for more than httplib can take: capped
  const HeadScan scan = scanRequestHead(headWith(1, 9000), limits);
  EXPECT_EQ(scan.status, HeadStatus::kHeadersTooLarge);
  EXPECT_EQ(scan.reason, "a header line longer than 8190 bytes");
}

TEST(RequestHeadTest, LongRequestLinesAre414) {
  const std::string data = "GET /" + std::string(9000, 'a') + " HTTP/1.1\r\n\r\n";
  EXPECT_EQ(scanRequestHead(data, HeadLimits{}).status, HeadStatus::kRequestLineTooLong);
  EXPECT_EQ(scanRequestHead(data.substr(0, 8500), HeadLimits{}).status,
            HeadStatus::kRequestLineTooLong);
}

TEST(RequestHeadTest, ReadsBodyFraming) {
  const auto head = [](const std::string& fields) {
    return scanRequestHead("POST / HTTP/1.1\r\n" + fields + "\r\n", HeadLimits{}).head;
  };
  EXPECT_TRUE(head("Transfer-Encoding: Chunked\r\n").chunked());
  EXPECT_FALSE(head("").contentLength().has_value());
  EXPECT_FALSE(head("").contentLengthInvalid());
  EXPECT_TRUE(head("Content-Length: 12x\r\n").contentLengthInvalid());
  EXPECT_EQ(head("Content-Length: 18446744073709551615\r\n").contentLength(),
            18446744073709551615ULL);
}

}  // namespace
}  // namespace va::service
