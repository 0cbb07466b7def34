#include "veil/base/config_reader.h"

#include <gtest/gtest.h>

namespace veil {
namespace {

using nlohmann::json;

TEST(ConfigReaderTest, CollectsEveryProblemWithPath) {
  json cfg = {{"a", 5},
              {"b", ""},
              {"c", "x"},
              {"extra", 1},
              {"keys", {{"alice", json::array()}, {"bob", {"id", 3}}}}};
  Problems p;
  ConfigReader r(cfg, "task_config", &p);
  EXPECT_FALSE(r.String("a", Required::kYes));
  EXPECT_FALSE(r.String("b", Required::kYes));
  EXPECT_FALSE(r.String("missing", Required::kYes));
  EXPECT_FALSE(r.Enum("c", Required::kYes, {"y", "z"}));
  EXPECT_FALSE(r.PartyStringLists("keys", Required::kYes));
  r.RejectUnknown();
  EXPECT_TRUE(p.Has("task_config.a", "wrong_type"));
  EXPECT_TRUE(p.Has("task_config.b", "empty_value"));
  EXPECT_TRUE(p.Has("task_config.missing", "missing_field"));
  EXPECT_TRUE(p.Has("task_config.c", "invalid_value"));
  EXPECT_TRUE(p.Has("task_config.keys.alice", "empty_value"));
  EXPECT_TRUE(p.Has("task_config.keys.bob[1]", "wrong_type"));
  EXPECT_TRUE(p.Has("task_config.extra", "unknown_field"));
  EXPECT_EQ(p.size(), 7u);
  Status s = p.ToStatus();
  EXPECT_EQ(s.type(), ErrorType::kParameterValidation);
  EXPECT_EQ(s.problems().size(), 7u);
}

TEST(ConfigReaderTest, ReadsValidValues) {
  json cfg = {{"n", 3}, {"f", true}, {"paths", {{"alice", "/a"}}}, {"l", {"x", "y"}}};
  Problems p;
  ConfigReader r(cfg, "", &p);
  EXPECT_EQ(r.Int("n", 0, 0, 10), 3);
  EXPECT_EQ(r.Int("absent", 9, 0, 10), 9);
  EXPECT_TRUE(r.Bool("f", false));
  EXPECT_EQ(r.PartyStrings("paths", Required::kYes)->at("alice"), "/a");
  EXPECT_EQ(r.StringList("l", Required::kYes)->size(), 2u);
  r.RejectUnknown();
  EXPECT_TRUE(p.empty());
  EXPECT_FALSE(r.Int("n", Required::kNo, 5, 10));
  EXPECT_TRUE(p.Has("n", "out_of_range"));
}

TEST(ConfigReaderTest, NonObject) {
  Problems p;
  ConfigReader r(json::array(), "x", &p);
  EXPECT_FALSE(r.valid());
  EXPECT_TRUE(p.Has("x", "wrong_type"));
  EXPECT_FALSE(r.String("k", Required::kYes));
  EXPECT_EQ(p.size(), 1u);
}

}  // namespace
}  // namespace veil
