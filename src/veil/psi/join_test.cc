#include "veil/psi/join.h"

#include <functional>
#include <random>

#include <gtest/gtest.h>

#include "veil/psi/psi_test_util.h"

namespace veil::psi {
namespace {

using testutil::Keys;

// Plaintext fingerprints: distinct keys → distinct fingerprints (test-only stand-in for the
// masked values).
std::vector<std::vector<Fingerprint>> FakeFingerprints(const std::vector<Keys>& keys) {
  std::map<std::vector<std::string>, uint64_t> ids;
  std::vector<std::vector<Fingerprint>> out(keys.size());
  for (size_t p = 0; p < keys.size(); ++p) {
    for (const auto& k : keys[p]) {
      auto it = ids.emplace(k, ids.size() + 1).first;
      out[p].push_back(Fingerprint{it->second * 0x9e3779b97f4a7c15ull, it->second});
    }
  }
  return out;
}

struct Case {
  JoinType type;
  size_t parties;
  size_t receiver;
  size_t left;
};

class JoinPlanTest : public ::testing::TestWithParam<Case> {};

TEST_P(JoinPlanTest, MatchesPlaintextJoin) {
  const Case c = GetParam();
  std::mt19937_64 rng(42 + static_cast<int>(c.type) * 7 + c.receiver);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<Keys> keys;
    for (size_t p = 0; p < c.parties; ++p) {
      keys.push_back(testutil::RandomKeys(rng, rng() % 40, 30 + trial));
    }
    auto plan = PlanJoin(c.type, c.receiver, c.left, FakeFingerprints(keys));
    ASSERT_TRUE(plan.ok()) << plan.status().ToString();
    EXPECT_EQ(testutil::PlanRows(c.type, *plan),
              testutil::PlainJoinRows(c.type, c.receiver, c.left, keys));
    if (IsAligned(c.type)) {
      for (const auto& pr : *plan) EXPECT_EQ(pr.rows.size(), (*plan)[0].rows.size());
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllJoins, JoinPlanTest,
    ::testing::Values(Case{JoinType::kInner, 2, 0, 0}, Case{JoinType::kInner, 2, 1, 1},
                      Case{JoinType::kInner, 3, 1, 1}, Case{JoinType::kInner, 4, 3, 3},
                      Case{JoinType::kLeft, 2, 0, 0}, Case{JoinType::kLeft, 2, 0, 1},
                      Case{JoinType::kLeft, 2, 1, 1}, Case{JoinType::kRight, 2, 0, 0},
                      Case{JoinType::kRight, 2, 1, 0}, Case{JoinType::kFull, 2, 0, 0},
                      Case{JoinType::kFull, 2, 1, 1}, Case{JoinType::kDifference, 2, 0, 0},
                      Case{JoinType::kDifference, 2, 1, 1}));

TEST(JoinPlanTest, ReceiverOrderAndTrailingBlock) {
  std::vector<Keys> keys = {{{"b"}, {"a"}, {"c"}}, {{"c"}, {"x"}, {"a"}}};
  auto plan = PlanJoin(JoinType::kFull, 0, 0, FakeFingerprints(keys), {1, 2, 0});
  ASSERT_TRUE(plan.ok());
  // receiver rows in the given order: a (row 1), c (row 2), b (row 0, unmatched); then x.
  EXPECT_EQ((*plan)[0].rows, (std::vector<int64_t>{1, 2, 0, -1}));
  EXPECT_EQ((*plan)[1].rows, (std::vector<int64_t>{2, 0, -1, 1}));
  EXPECT_EQ((*plan)[1].local_sort_from, 3);
}

TEST(JoinTypeTest, NamesRoundTrip) {
  for (auto t : {JoinType::kInner, JoinType::kLeft, JoinType::kRight, JoinType::kFull,
                 JoinType::kDifference}) {
    EXPECT_EQ(ParseJoinType(JoinTypeName(t)), t);
  }
  EXPECT_EQ(JoinTypeName(JoinType::kInner), "inner_join");
  EXPECT_EQ(JoinTypeName(JoinType::kDifference), "difference");
  EXPECT_EQ(JoinTypeNames().size(), 5u);
  EXPECT_EQ(ParseJoinType("cross_join"), std::nullopt);
}

TEST(JoinPlanTest, OuterJoinNeedsTwoParties) {
  std::vector<Keys> keys = {{{"a"}}, {{"a"}}, {{"a"}}};
  auto plan = PlanJoin(JoinType::kLeft, 0, 0, FakeFingerprints(keys));
  EXPECT_EQ(plan.status().code(), "join_needs_two_parties");
}

TEST(JoinPlanTest, EmptyInputs) {
  std::vector<Keys> keys = {{}, {{"a"}}};
  for (auto t : {JoinType::kInner, JoinType::kLeft, JoinType::kFull, JoinType::kDifference}) {
    auto plan = PlanJoin(t, 0, 0, FakeFingerprints(keys));
    ASSERT_TRUE(plan.ok());
    EXPECT_EQ(testutil::PlanRows(t, *plan), testutil::PlainJoinRows(t, 0, 0, keys));
  }
}

}  // namespace
}  // namespace veil::psi
