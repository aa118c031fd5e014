#include "operator/kube/api_error.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace va::kube {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;

std::string status(int code, const std::string& reason, const std::string& message,
                   const std::string& details = "{}") {
  return R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":")" +
         message + R"(","reason":")" + reason + R"(","details":)" + details + R"(,"code":)" +
         std::to_string(code) + "}";
}

TEST(ApiErrorTest, ParsesNotFoundStatus) {
  const auto error =
      ApiError::fromResponse(404, status(404, "NotFound", R"(configmaps \"settings\" not found)",
                                         R"({"name":"settings","kind":"configmaps"})"));
  EXPECT_EQ(error.kind(), ApiError::Kind::kStatus);
  EXPECT_EQ(error.code(), 404);
  EXPECT_EQ(error.reason(), "NotFound");
  EXPECT_EQ(error.message(), R"(configmaps "settings" not found)");
  EXPECT_EQ(error.details().name, "settings");
  EXPECT_EQ(error.details().kind, "configmaps");
  EXPECT_TRUE(error.isNotFound());
  EXPECT_FALSE(error.isAlreadyExists());
  EXPECT_FALSE(error.isConflict());
  EXPECT_FALSE(error.isTransport());
  EXPECT_FALSE(error.retryAfterSeconds().has_value());
}

TEST(ApiErrorTest, TellsAlreadyExistsFromConflictAlthoughBothAre409) {
  const auto exists = ApiError::fromResponse(
      409, status(409, "AlreadyExists", R"(configmaps \"a\" already exists)"));
  EXPECT_TRUE(exists.isAlreadyExists());
  EXPECT_FALSE(exists.isConflict());

  const auto conflict = ApiError::fromResponse(
      409, status(409, "Conflict",
                  "Operation cannot be fulfilled on configmaps \\\"a\\\": the object has been "
                  "modified; please apply your changes to the latest version and try again"));
  EXPECT_TRUE(conflict.isConflict());
  EXPECT_FALSE(conflict.isAlreadyExists());
  EXPECT_THAT(conflict.message(), HasSubstr("the object has been modified"));
}

TEST(ApiErrorTest, FallsBackToTheCodeWhenTheReasonIsMissingOrUnknown) {
  EXPECT_TRUE(ApiError::fromResponse(404, "404 page not found").isNotFound());
  EXPECT_TRUE(ApiError::fromResponse(404, status(404, "SomethingNew", "x")).isNotFound());
  EXPECT_TRUE(ApiError::fromResponse(409, "").isConflict());
  EXPECT_FALSE(ApiError::fromResponse(409, "").isAlreadyExists());
  EXPECT_TRUE(ApiError::fromResponse(410, "").isGone());
  EXPECT_TRUE(ApiError::fromResponse(422, "").isInvalid());
  EXPECT_TRUE(ApiError::fromResponse(401, "").isUnauthorized());
  EXPECT_TRUE(ApiError::fromResponse(403, "").isForbidden());
  // A known reason wins over the code.
  EXPECT_FALSE(ApiError::fromResponse(404, status(404, "Forbidden", "x")).isNotFound());
  EXPECT_TRUE(ApiError::fromResponse(404, status(404, "Forbidden", "x")).isForbidden());
}

TEST(ApiErrorTest, ParsesInvalidCauses) {
  const auto error = ApiError::fromResponse(
      422,
      status(
          422, "Invalid", R"(ConfigMap \"Bad_Name\" is invalid)",
          R"({"name":"Bad_Name","kind":"ConfigMap","causes":[)"
          R"({"reason":"FieldValueInvalid","message":"Invalid value: \"Bad_Name\"","field":"metadata.name"},)"
          R"({"reason":"FieldValueRequired","message":"Required value","field":"data"}]})"));
  EXPECT_TRUE(error.isInvalid());
  ASSERT_EQ(error.causes().size(), 2U);
  EXPECT_EQ(error.causes()[0].type, "FieldValueInvalid");
  EXPECT_EQ(error.causes()[0].field, "metadata.name");
  EXPECT_EQ(error.causes()[0].message, R"(Invalid value: "Bad_Name")");
  EXPECT_EQ(error.causes()[1].field, "data");
}

TEST(ApiErrorTest, GoneCoversGoneAndExpired) {
  EXPECT_TRUE(ApiError::fromResponse(410, status(410, "Gone", "too old")).isGone());
  EXPECT_TRUE(
      ApiError::fromResponse(410, status(410, "Expired", "too old resource version")).isGone());
  EXPECT_FALSE(ApiError::fromResponse(404, status(404, "NotFound", "x")).isGone());
}

TEST(ApiErrorTest, TooManyRequestsTakesRetryAfterFromTheHeaderFirst) {
  const auto fromHeader = ApiError::fromResponse(
      429, status(429, "TooManyRequests", "slow down", R"({"retryAfterSeconds":3})"), " 7 ");
  EXPECT_TRUE(fromHeader.isTooManyRequests());
  EXPECT_EQ(fromHeader.retryAfterSeconds(), 7);

  const auto fromDetails = ApiError::fromResponse(
      429, status(429, "TooManyRequests", "slow down", R"({"retryAfterSeconds":3})"));
  EXPECT_EQ(fromDetails.retryAfterSeconds(), 3);

  const auto httpDate = ApiError::fromResponse(429, "", "Wed, 21 Oct 2015 07:28:00 GMT");
  EXPECT_TRUE(httpDate.isTooManyRequests());
  EXPECT_FALSE(httpDate.retryAfterSeconds().has_value());
}

TEST(ApiErrorTest, ParsesRetryAfterDeltaSeconds) {
  EXPECT_EQ(parseRetryAfter("12"), 12);
  EXPECT_EQ(parseRetryAfter(" 0\r\n"), 0);
  EXPECT_EQ(parseRetryAfter("99999999999999999999"), INT32_MAX);
  EXPECT_FALSE(parseRetryAfter("").has_value());
  EXPECT_FALSE(parseRetryAfter("-1").has_value());
  EXPECT_FALSE(parseRetryAfter("1.5").has_value());
  EXPECT_FALSE(parseRetryAfter("soon").has_value());
}

TEST(ApiErrorTest, NonStatusBodyBecomesTheMessage) {
  const auto plain = ApiError::fromResponse(503, "  upstream connect error\n");
  EXPECT_EQ(plain.message(), "upstream connect error");
  EXPECT_TRUE(plain.isServerError());
  EXPECT_TRUE(plain.reason().empty());

  const auto otherJson = ApiError::fromResponse(500, R"({"error":"boom"})");
  EXPECT_EQ(otherJson.message(), R"({"error":"boom"})");

  const auto empty = ApiError::fromResponse(502, "");
  EXPECT_EQ(empty.message(), "the server gave no message");
}

TEST(ApiErrorTest, TruncatesLongBodiesWithoutSplittingUtf8) {
  // 511 ASCII bytes, then two-byte characters: the cut at 512 falls inside one.
  std::string body(511, 'x');
  for (int i = 0; i < 100; ++i) body += "\xC3\xA9";
  const auto error = ApiError::fromResponse(500, body);
  EXPECT_THAT(error.message(), EndsWith("... (truncated)"));
  const std::string kept = error.message().substr(0, error.message().size() - 15);
  EXPECT_EQ(kept, std::string(511, 'x'));
}

TEST(ApiErrorTest, SurvivesStatusFieldsOfTheWrongType) {
  const auto error = ApiError::fromResponse(
      400, R"({"kind":"Status","message":5,"reason":["x"],"details":{"causes":"nope","name":1}})");
  EXPECT_EQ(error.code(), 400);
  EXPECT_TRUE(error.reason().empty());
  EXPECT_EQ(error.message(), "the server gave no message");
  EXPECT_TRUE(error.causes().empty());
  EXPECT_TRUE(error.details().name.empty());
}

TEST(ApiErrorTest, TransportErrorsAreTheirOwnCategory) {
  const auto refused = ApiError::transport("Couldn't connect to server");
  EXPECT_EQ(refused.kind(), ApiError::Kind::kTransport);
  EXPECT_EQ(refused.code(), 0);
  EXPECT_TRUE(refused.isTransport());
  EXPECT_FALSE(refused.isTimeout());
  EXPECT_FALSE(refused.isNotFound());
  EXPECT_FALSE(refused.isServerError());

  const auto timeout = ApiError::timeout("Operation timed out after 30000 milliseconds");
  EXPECT_TRUE(timeout.isTimeout());
  EXPECT_TRUE(timeout.isTransport());
  EXPECT_FALSE(timeout.isConflict());
}

TEST(ApiErrorTest, ToStringNamesTheRequestCodeReasonAndMessage) {
  const auto error =
      ApiError::fromResponse(404, status(404, "NotFound", R"(configmaps \"b\" not found)"))
          .withRequest("GET", "/api/v1/namespaces/a/configmaps/b");
  EXPECT_EQ(error.request(), "GET /api/v1/namespaces/a/configmaps/b");
  EXPECT_EQ(
      error.toString(),
      R"(GET /api/v1/namespaces/a/configmaps/b: HTTP 404 NotFound: configmaps "b" not found)");
  EXPECT_EQ(error.toError().message(), error.toString());

  EXPECT_EQ(ApiError::timeout("deadline").toString(), "timed out: deadline");
  EXPECT_EQ(ApiError::fromResponse(429, "", "2").toString(),
            "HTTP 429: the server gave no message (retry after 2s)");
  EXPECT_EQ(ApiError::decode(200, "not JSON").toString(), "bad response (HTTP 200): not JSON");
}

}  // namespace
}  // namespace va::kube
