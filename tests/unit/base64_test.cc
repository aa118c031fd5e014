#include "operator/kube/base64.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace va::kube {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// RFC 4648 §10 test vectors.
const std::vector<std::pair<std::string, std::string>> kVectors = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

TEST(Base64Test, EncodesRfcVectors) {
  for (const auto& [plain, encoded] : kVectors) {
    EXPECT_EQ(encodeBase64(plain), encoded) << "plain: " << plain;
  }
}

TEST(Base64Test, DecodesRfcVectorsWithExactLengthDespitePadding) {
  for (const auto& [plain, encoded] : kVectors) {
    const auto decoded = decodeBase64(encoded);
    ASSERT_TRUE(decoded.ok()) << encoded << ": " << decoded.error().message();
    EXPECT_EQ(*decoded, plain);
    EXPECT_EQ(decoded->size(), plain.size());
  }
}

TEST(Base64Test, RoundTripsBinaryBytes) {
  const std::string binary("\0\x01\xfe\xff\x80 tail\0", 11);
  const auto decoded = decodeBase64(encodeBase64(binary));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, binary);
}

TEST(Base64Test, SkipsWhitespaceAndLineBreaks) {
  const auto decoded = decodeBase64("  Zm9v\nYmFy\r\n Zm9v\tYg==\n");
  ASSERT_TRUE(decoded.ok()) << decoded.error().message();
  EXPECT_EQ(*decoded, "foobarfoob");
}

TEST(Base64Test, RejectsMissingPadding) {
  const auto decoded = decodeBase64("Zm9vYg");
  ASSERT_FALSE(decoded.ok());
  EXPECT_THAT(decoded.error().message(), HasSubstr("not a multiple of 4"));
}

TEST(Base64Test, RejectsCharactersOutsideTheAlphabetWithoutEchoingInput) {
  const auto decoded = decodeBase64("c2VjcmV0!A==");
  ASSERT_FALSE(decoded.ok());
  EXPECT_THAT(decoded.error().message(), HasSubstr("unexpected character at offset 8"));
  EXPECT_THAT(decoded.error().message(), Not(HasSubstr("c2VjcmV0")));
}

TEST(Base64Test, RejectsMisplacedOrExcessPadding) {
  const auto inner = decodeBase64("Zg=a");
  ASSERT_FALSE(inner.ok());
  EXPECT_THAT(inner.error().message(), HasSubstr("offset 2"));

  const auto excess = decodeBase64("Z===");
  ASSERT_FALSE(excess.ok());
  EXPECT_THAT(excess.error().message(), HasSubstr("more than two"));

  const auto urlSafe = decodeBase64("-_-_");
  ASSERT_FALSE(urlSafe.ok());
  EXPECT_THAT(urlSafe.error().message(), HasSubstr("offset 0"));
}

}  // namespace
}  // namespace va::kube
