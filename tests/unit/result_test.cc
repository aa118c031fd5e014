#include "operator/kube/result.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace va::kube {
namespace {

Result<int> half(int n) {
  if (n % 2 != 0) return Error(std::to_string(n) + " is odd");
  return n / 2;
}

Status check(bool good) {
  if (!good) return Error("not good");
  return {};
}

TEST(ResultTest, HoldsAValue) {
  const auto result = half(8);
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(static_cast<bool>(result));
  EXPECT_EQ(result.value(), 4);
  EXPECT_EQ(*result, 4);
}

TEST(ResultTest, HoldsAnError) {
  const auto result = half(7);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message(), "7 is odd");
}

TEST(ResultTest, ConvertsStringLiteralsAndMovesOutMoveOnlyValues) {
  const Result<std::string> text = "hello";
  EXPECT_EQ(*text, "hello");
  EXPECT_EQ(text->size(), 5U);

  Result<std::unique_ptr<int>> owned = std::make_unique<int>(3);
  std::unique_ptr<int> taken = std::move(owned).value();
  ASSERT_NE(taken, nullptr);
  EXPECT_EQ(*taken, 3);
}

TEST(ResultTest, ErrorPropagatesIntoAnotherResultType) {
  const auto outer = [](int n) -> Result<std::string> {
    auto inner = half(n);
    if (!inner) return inner.error().withContext("halving");
    return std::to_string(*inner);
  };
  EXPECT_EQ(*outer(6), "3");
  EXPECT_EQ(outer(5).error().message(), "halving: 5 is odd");
}

TEST(ResultTest, StatusIsOkByDefault) {
  EXPECT_TRUE(check(true).ok());
  const Status bad = check(false);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message(), "not good");
}

TEST(ResultDeathTest, ReadingTheWrongSideAborts) {
  EXPECT_DEATH(static_cast<void>(half(3).value()), "holds an error");
  EXPECT_DEATH(static_cast<void>(half(2).error()), "holds a value");
  EXPECT_DEATH(static_cast<void>(check(true).error()), "successful status");
}

}  // namespace
}  // namespace va::kube
