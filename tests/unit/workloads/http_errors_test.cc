#include "workloads/common/http_errors.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/unit/workloads/test_support.h"

namespace va::service {
namespace {

TEST(HttpErrorsTest, BodiesHaveOneShapeAndEscapeText) {
  const auto body = nlohmann::json::parse(jsonErrorBody("bad_input", "field \"text\" is empty"));
  EXPECT_EQ(body["error"]["code"], "bad_input");
  EXPECT_EQ(body["error"]["message"], "field \"text\" is empty");

  httplib::Response res;
  setJsonError(res, 409, "conflict", "already exists");
  EXPECT_EQ(res.status, 409);
  EXPECT_EQ(res.get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(nlohmann::json::parse(res.body)["error"]["code"], "conflict");
}

TEST(HttpErrorsTest, CodesAndReasonsForStatuses) {
  EXPECT_EQ(errorCodeForStatus(404), "not_found");
  EXPECT_EQ(errorCodeForStatus(431), "request_header_fields_too_large");
  EXPECT_EQ(errorCodeForStatus(599), "server_error");
  EXPECT_EQ(errorCodeForStatus(499), "client_error");
  EXPECT_EQ(reasonPhrase(413), "Payload Too Large");
}

TEST(HttpErrorsTest, RawResponsesAreCompleteHttpMessages) {
  const auto parsed = testing::parseRawResponse(
      rawErrorResponse(503, "service_unavailable", "busy", {{"Retry-After", "2"}}));
  EXPECT_EQ(parsed.status, 503);
  EXPECT_EQ(parsed.headers.at("retry-after"), "2");
  EXPECT_EQ(parsed.headers.at("connection"), "close");
  EXPECT_EQ(parsed.headers.at("content-length"), std::to_string(parsed.body.size()));
  EXPECT_EQ(nlohmann::json::parse(parsed.body)["error"]["message"], "busy");
}

}  // namespace
}  // namespace va::service
