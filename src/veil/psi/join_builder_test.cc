#include "veil/psi/join_builder.h"

#include <map>
#include <random>

#include <gtest/gtest.h>

namespace veil::psi {
namespace {

struct Case {
  JoinType type;
  size_t parties;
  size_t receiver;
  size_t left;
  bool sort;
};

// Streams the builder's output into PartyRows, the way a consumer would.
std::vector<PartyRows> Collect(JoinBuilder& b, size_t n, JoinType type, int64_t* complete) {
  std::vector<PartyRows> out(n);
  bool in_tail = false;
  auto r = b.Finish([&](const std::vector<int64_t>& rows, bool tail) -> Status {
    if (tail && !in_tail) {
      in_tail = true;
      for (auto& pr : out) pr.local_sort_from = static_cast<int64_t>(pr.rows.size());
    }
    for (size_t p = 0; p < n; ++p) {
      if (type == JoinType::kDifference && rows[p] < 0) continue;
      out[p].rows.push_back(rows[p]);
    }
    return Status();
  });
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  *complete = r.ok() ? *r : -1;
  if (!in_tail) {
    for (auto& pr : out) pr.local_sort_from = static_cast<int64_t>(pr.rows.size());
  }
  return out;
}

class JoinBuilderTest : public ::testing::TestWithParam<Case> {};

TEST_P(JoinBuilderTest, EqualsTheInMemoryPlan) {
  const Case c = GetParam();
  std::mt19937_64 rng(static_cast<int>(c.type) * 101 + c.parties * 7 + c.receiver + c.sort);
  for (int trial = 0; trial < 10; ++trial) {
    std::vector<std::vector<Fingerprint>> fps(c.parties);
    std::vector<std::string> keys;  // receiver's sort keys
    for (size_t p = 0; p < c.parties; ++p) {
      const size_t rows = rng() % 300;
      for (size_t i = 0; i < rows; ++i) {
        uint64_t v = rng() % 200;
        fps[p].push_back(Fingerprint{v * 0x9e3779b97f4a7c15ull, v});
        if (p == c.receiver) keys.push_back("k" + std::to_string(v * 7 % 200));
      }
    }
    std::vector<int64_t> order;
    if (c.sort) {
      order.resize(keys.size());
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(),
                       [&](int64_t a, int64_t b) { return keys[a] < keys[b]; });
    }
    auto plan = PlanJoin(c.type, c.receiver, c.left, fps, order);
    ASSERT_TRUE(plan.ok());

    JoinBuilderOptions o;
    o.type = c.type;
    o.parties = c.parties;
    o.receiver = c.receiver;
    o.left = c.left;
    o.sort = c.sort;
    o.sort_options.memory_budget_bytes = 4096;  // force spills and multi-pass merges
    auto b = JoinBuilder::Create(o);
    ASSERT_TRUE(b.ok());
    for (size_t p = 0; p < c.parties; ++p) {
      for (size_t i = 0; i < fps[p].size(); ++i) {
        ASSERT_TRUE((*b)->Add(p, i, fps[p][i], p == c.receiver ? keys[i] : "").ok());
      }
    }
    int64_t complete;
    auto got = Collect(**b, c.parties, c.type, &complete);
    for (size_t p = 0; p < c.parties; ++p) {
      EXPECT_EQ(got[p].rows, (*plan)[p].rows) << "party " << p << " trial " << trial;
      if (c.type != JoinType::kDifference && p != c.receiver) {
        EXPECT_EQ(got[p].local_sort_from, (*plan)[p].local_sort_from);
      }
    }
    if (IsAligned(c.type)) {
      int64_t expect = 0;
      for (size_t k = 0; k < (*plan)[0].rows.size(); ++k) {
        bool all = true;
        for (const auto& pr : *plan) all = all && pr.rows[k] >= 0;
        expect += all;
      }
      EXPECT_EQ(complete, expect);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Joins, JoinBuilderTest,
    ::testing::Values(Case{JoinType::kInner, 2, 0, 0, false}, Case{JoinType::kInner, 2, 1, 1, true},
                      Case{JoinType::kInner, 3, 1, 1, false}, Case{JoinType::kInner, 3, 2, 2, true},
                      Case{JoinType::kLeft, 2, 0, 0, false}, Case{JoinType::kLeft, 2, 0, 1, true},
                      Case{JoinType::kRight, 2, 1, 1, false}, Case{JoinType::kFull, 2, 0, 0, true},
                      Case{JoinType::kFull, 2, 1, 1, false},
                      Case{JoinType::kDifference, 2, 0, 0, false},
                      Case{JoinType::kDifference, 2, 1, 1, true}));

TEST(JoinBuilderTest, OuterJoinNeedsTwoParties) {
  JoinBuilderOptions o;
  o.type = JoinType::kFull;
  o.parties = 3;
  EXPECT_EQ(JoinBuilder::Create(o).status().code(), "join_needs_two_parties");
}

}  // namespace
}  // namespace veil::psi
