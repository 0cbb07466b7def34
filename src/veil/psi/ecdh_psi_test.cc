#include "veil/psi/ecdh_psi.h"

#include <future>
#include <random>

#include <gtest/gtest.h>

#include "veil/psi/join.h"
#include "veil/psi/psi_test_util.h"

namespace veil::psi {
namespace {

using testutil::Keys;

EcdhPsiOptions Opts(size_t receiver, size_t batch) {
  EcdhPsiOptions o;
  o.receiver_rank = receiver;
  o.batch_size = batch;
  return o;
}

// Runs ECDH PSI for every party over the in-memory link and returns the receiver's output.
StatusOr<EcdhPsiOutput> RunAll(const std::vector<Keys>& keys, size_t receiver, size_t batch) {
  const size_t n = keys.size();
  auto world = link::test::MakeWorld(n);
  std::vector<int64_t> counts;
  for (const auto& k : keys) counts.push_back(static_cast<int64_t>(k.size()));
  std::vector<std::future<StatusOr<EcdhPsiOutput>>> fut;
  for (size_t r = 0; r < n; ++r) {
    fut.push_back(std::async(std::launch::async, [&, r] {
      VectorKeySource src(keys[r]);
      EcdhPsiOptions opt;
      opt.receiver_rank = receiver;
      opt.batch_size = batch;
      auto res = RunEcdhPsi(*world[r], opt, src, counts);
      if (!res.ok()) world[r]->Close();
      return res;
    }));
  }
  std::vector<StatusOr<EcdhPsiOutput>> results;
  for (size_t r = 0; r < n; ++r) results.push_back(fut[r].get());
  for (auto& res : results) {
    if (!res.ok()) return res.status();
  }
  return std::move(results[receiver]);
}

struct Case {
  size_t parties;
  size_t receiver;
  size_t batch;
};

class EcdhPsiTest : public ::testing::TestWithParam<Case> {};

TEST_P(EcdhPsiTest, FingerprintsEqualIffKeysEqual) {
  const Case c = GetParam();
  std::mt19937_64 rng(c.parties * 100 + c.receiver * 10 + c.batch);
  std::vector<Keys> keys;
  for (size_t p = 0; p < c.parties; ++p)
    keys.push_back(testutil::RandomKeys(rng, 50 + rng() % 150, 300, 2));
  auto out = RunAll(keys, c.receiver, c.batch);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out->fingerprints.size(), c.parties);
  for (size_t p = 0; p < c.parties; ++p) ASSERT_EQ(out->fingerprints[p].size(), keys[p].size());
  for (size_t p = 0; p < c.parties; ++p) {
    for (size_t q = 0; q < c.parties; ++q) {
      for (size_t i = 0; i < keys[p].size(); i += 3) {
        for (size_t j = 0; j < keys[q].size(); j += 5) {
          EXPECT_EQ(out->fingerprints[p][i] == out->fingerprints[q][j], keys[p][i] == keys[q][j]);
        }
      }
    }
  }
  // And the inner join over them equals the plaintext join.
  auto plan = PlanJoin(JoinType::kInner, c.receiver, c.receiver, out->fingerprints);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(testutil::PlanRows(JoinType::kInner, *plan),
            testutil::PlainJoinRows(JoinType::kInner, c.receiver, c.receiver, keys));
}

INSTANTIATE_TEST_SUITE_P(Parties, EcdhPsiTest,
                         ::testing::Values(Case{2, 0, 64}, Case{2, 1, 7}, Case{3, 0, 32},
                                           Case{3, 2, 1000}, Case{4, 1, 16}));

TEST(EcdhPsiTest, EmptySetsAndUnevenSizes) {
  std::vector<Keys> keys = {{}, {{"a"}, {"b"}}};
  auto out = RunAll(keys, 0, 4);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_TRUE(out->fingerprints[0].empty());
  EXPECT_EQ(out->fingerprints[1].size(), 2u);
  std::vector<Keys> none = {{}, {}, {}};
  ASSERT_TRUE(RunAll(none, 2, 4).ok());
}

TEST(EcdhPsiTest, NonReceiverLearnsNoFingerprints) {
  std::vector<Keys> keys = {{{"a"}}, {{"a"}}};
  auto world = link::test::MakeWorld(2);
  std::vector<int64_t> counts = {1, 1};
  auto f = std::async(std::launch::async, [&] {
    VectorKeySource s(keys[0]);
    return RunEcdhPsi(*world[0], Opts(0, 4), s, counts);
  });
  VectorKeySource s1(keys[1]);
  auto r1 = RunEcdhPsi(*world[1], Opts(0, 4), s1, counts);
  ASSERT_TRUE(r1.ok());
  EXPECT_TRUE(r1->fingerprints.empty());
  ASSERT_TRUE(f.get().ok());
}

TEST(EcdhPsiTest, KeyCountMismatchIsAnError) {
  auto world = link::test::MakeWorld(2);
  std::vector<int64_t> counts = {3, 1};
  Keys two = {{"a"}, {"b"}};
  auto f = std::async(std::launch::async, [&] {
    VectorKeySource s(Keys{{"a"}});
    auto r = RunEcdhPsi(*world[1], Opts(0, 4), s, counts);
    return r.status();
  });
  VectorKeySource s0(two);
  auto r0 = RunEcdhPsi(*world[0], Opts(0, 4), s0, counts);
  EXPECT_EQ(r0.status().code(), "key_count_mismatch");
  world[0]->Close();
  EXPECT_FALSE(f.get().ok());
}

TEST(EcdhPsiTest, GarbagePointFromPeerIsRejected) {
  // A malicious/buggy peer sending a non-point must produce an AlgorithmError, not a crash.
  auto world = link::test::MakeWorld(2);
  std::vector<int64_t> counts = {1, 1};
  ASSERT_TRUE(world[1]->Send(0, "ecdh/1/1/0", Buffer(32, 0xff)).ok());
  VectorKeySource s0(Keys{{"a"}});
  auto r0 = RunEcdhPsi(*world[0], Opts(0, 4), s0, counts);
  EXPECT_EQ(r0.status().code(), "invalid_point");
}

}  // namespace
}  // namespace veil::psi
