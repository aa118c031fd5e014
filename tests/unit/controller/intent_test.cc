#include "operator/controller/intent.h"

#include <gtest/gtest.h>

#include "operator/specs/meta.h"

namespace va::controller {
namespace {

using nlohmann::json;

TEST(ParseQuantity, ReadsDecimalAndBinarySuffixes) {
  EXPECT_DOUBLE_EQ(static_cast<double>(*parseQuantity("500m")), 0.5);
  EXPECT_DOUBLE_EQ(static_cast<double>(*parseQuantity("0.5")), 0.5);
  EXPECT_DOUBLE_EQ(static_cast<double>(*parseQuantity("1Gi")), 1073741824.0);
  EXPECT_DOUBLE_EQ(static_cast<double>(*parseQuantity("1024Mi")), 1073741824.0);
  EXPECT_DOUBLE_EQ(static_cast<double>(*parseQuantity("2k")), 2000.0);
  EXPECT_DOUBLE_EQ(static_cast<double>(*parseQuantity("1e3")), 1000.0);
}

TEST(ParseQuantity, RejectsWhatIsNotAQuantity) {
  EXPECT_FALSE(parseQuantity(""));
  EXPECT_FALSE(parseQuantity("abc"));
  EXPECT_FALSE(parseQuantity("1Xi"));
  EXPECT_FALSE(parseQuantity("inf"));
  EXPECT_FALSE(parseQuantity("0x10"));
  EXPECT_FALSE(parseQuantity("1 Gi"));
}

TEST(CoversIntent, AllowsServerDefaultsAndOtherFields) {
  const json intent = {{"spec", {{"type", "ClusterIP"}, {"ports", {{{"port", 80}}}}}}};
  const json observed = {{"spec",
                          {{"type", "ClusterIP"},
                           {"clusterIP", "10.0.0.1"},
                           {"ports", {{{"port", 80}, {"protocol", "TCP"}, {"targetPort", 80}}}}}},
                         {"status", json::object()}};
  EXPECT_TRUE(coversIntent(observed, intent));
}

TEST(CoversIntent, SeesChangedMissingAndExtraListItems) {
  const json intent = {{"spec", {{"replicas", 2}, {"args", {"a", "b"}}}}};
  EXPECT_FALSE(coversIntent(json{{"spec", {{"replicas", 3}, {"args", {"a", "b"}}}}}, intent));
  EXPECT_FALSE(coversIntent(json{{"spec", {{"args", {"a", "b"}}}}}, intent));
  EXPECT_FALSE(coversIntent(json{{"spec", {{"replicas", 2}, {"args", {"a"}}}}}, intent));
  EXPECT_FALSE(coversIntent(json{{"spec", {{"replicas", 2}, {"args", {"a", "b", "c"}}}}}, intent));
  EXPECT_FALSE(coversIntent(json{{"spec", {{"replicas", "2"}, {"args", {"a", "b"}}}}}, intent));
}

TEST(CoversIntent, ComparesResourceQuantitiesByAmount) {
  const json intent = {{"limits", {{"cpu", "0.5"}, {"memory", "1Gi"}}}};
  EXPECT_TRUE(coversIntent(json{{"limits", {{"cpu", "500m"}, {"memory", "1024Mi"}}}}, intent));
  EXPECT_FALSE(coversIntent(json{{"limits", {{"cpu", "600m"}, {"memory", "1Gi"}}}}, intent));
  // Only quantity keys: other strings compare exactly.
  EXPECT_FALSE(coversIntent(json{{"image", "x:1.0"}}, json{{"image", "x:1"}}));
  EXPECT_FALSE(coversIntent(json{{"tag", "1.0"}}, json{{"tag", "1"}}));
}

TEST(UpToDate, NeedsTheSameIntentHash) {
  json desired = {{"metadata", {{"name", "a"}, {"labels", {{"x", "1"}}}}}};
  specs::stampIntentHash(desired);
  json observed = desired;
  observed["metadata"]["resourceVersion"] = "7";
  EXPECT_TRUE(upToDate(observed, desired));

  // The operator stopped setting a label: the observed object still covers the new intent,
  // but the hash tells it apart.
  json fewer = {{"metadata", {{"name", "a"}}}};
  specs::stampIntentHash(fewer);
  EXPECT_FALSE(upToDate(observed, fewer));

  // Someone removed the annotation.
  observed["metadata"]["annotations"].erase(std::string(specs::kIntentHashAnnotation));
  EXPECT_FALSE(upToDate(observed, desired));
}

TEST(IntentHash, IgnoresItsOwnAnnotationAndKeyOrder) {
  json a = {{"metadata", {{"name", "a"}}}, {"spec", {{"x", 1}, {"y", 2}}}};
  json b = {{"spec", {{"y", 2}, {"x", 1}}}, {"metadata", {{"name", "a"}}}};
  EXPECT_EQ(specs::intentHash(a), specs::intentHash(b));
  specs::stampIntentHash(a);
  EXPECT_EQ(specs::intentHash(a), specs::intentHash(b));
  EXPECT_EQ(specs::intentHash(a).size(), 16U);
  b["spec"]["x"] = 3;
  EXPECT_NE(specs::intentHash(a), specs::intentHash(b));
}

}  // namespace
}  // namespace va::controller
