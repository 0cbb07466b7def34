#include "veil/psi/kkrt_psi.h"

#include <atomic>
#include <filesystem>
#include <future>
#include <random>
#include <set>

#include <gtest/gtest.h>

#include "veil/link/test_util.h"
#include "veil/psi/join.h"
#include "veil/psi/psi_test_util.h"

namespace veil::psi {
namespace {

namespace fs = std::filesystem;
using testutil::Keys;
using World = std::vector<std::unique_ptr<link::Context>>;

struct PsiRun {
  std::vector<StatusOr<KkrtPsiOutput>> results;
  uint64_t bytes = 0;  // sent by both parties
};

PsiRun RunBoth(World& world, const std::vector<Keys>& keys, const KkrtPsiOptions& opt,
               std::vector<int64_t> counts = {}) {
  if (counts.empty()) {
    for (const auto& k : keys) counts.push_back(static_cast<int64_t>(k.size()));
  }
  std::vector<std::future<StatusOr<KkrtPsiOutput>>> fut;
  for (size_t r = 0; r < 2; ++r) {
    fut.push_back(std::async(std::launch::async, [&, r] {
      VectorKeySource src(keys[r]);
      auto res = RunKkrtPsi(*world[r], opt, src, counts);
      if (!res.ok()) world[r]->Close();
      return res;
    }));
  }
  PsiRun run;
  for (auto& f : fut) run.results.push_back(f.get());
  for (auto& w : world) run.bytes += w->stats().bytes_sent;
  return run;
}

void ExpectPlaintextJoins(const std::vector<Keys>& keys, size_t receiver,
                          const KkrtPsiOutput& out) {
  ASSERT_EQ(out.fingerprints.size(), 2u);
  for (size_t p = 0; p < 2; ++p) ASSERT_EQ(out.fingerprints[p].size(), keys[p].size());
  const size_t sender = 1 - receiver;
  // Across the parties, and within the receiver: equal fingerprints iff equal keys.
  for (size_t p = 0; p < 2; ++p) {
    for (size_t q = 0; q < 2; ++q) {
      if (p == sender && q == sender) continue;  // unmatched sender rows are all distinct
      for (size_t i = 0; i < keys[p].size(); i += 2) {
        for (size_t j = 0; j < keys[q].size(); j += 3) {
          ASSERT_EQ(out.fingerprints[p][i] == out.fingerprints[q][j], keys[p][i] == keys[q][j])
              << p << ":" << i << " vs " << q << ":" << j;
        }
      }
    }
  }
  for (JoinType type : {JoinType::kInner, JoinType::kLeft, JoinType::kRight, JoinType::kFull,
                        JoinType::kDifference}) {
    for (size_t left : {size_t{0}, size_t{1}}) {
      auto plan = PlanJoin(type, receiver, left, out.fingerprints);
      ASSERT_TRUE(plan.ok()) << plan.status().ToString();
      EXPECT_EQ(testutil::PlanRows(type, *plan),
                testutil::PlainJoinRows(type, receiver, left, keys))
          << JoinTypeName(type) << " left " << left;
    }
  }
}

struct Case {
  size_t receiver;
  size_t batch;
  int64_t bucket;
  bool spill;
};

class KkrtPsiTest : public ::testing::TestWithParam<Case> {};

TEST_P(KkrtPsiTest, FingerprintsGiveThePlaintextJoinForEveryJoinType) {
  const Case c = GetParam();
  std::mt19937_64 rng(c.receiver * 100 + c.batch + static_cast<size_t>(c.bucket));
  // Multi-column keys from a small universe: duplicates on both sides, partial overlap.
  std::vector<Keys> keys = {testutil::RandomKeys(rng, 300 + rng() % 200, 500, 2),
                            testutil::RandomKeys(rng, 300 + rng() % 200, 500, 2)};
  const fs::path dir = fs::temp_directory_path() / ("veil_kkrt_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  KkrtPsiOptions opt;
  opt.receiver_rank = c.receiver;
  opt.batch_size = c.batch;
  opt.bucket_size = c.bucket;
  if (c.spill) opt.temp_dir = dir.string();
  std::atomic<int> progress_calls{0};
  opt.progress = [&](double f) {
    EXPECT_GT(f, 0);
    EXPECT_LE(f, 1);
    ++progress_calls;
  };
  auto world = link::test::MakeWorld(2);
  PsiRun run = RunBoth(world, keys, opt);
  for (auto& r : run.results) ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(run.results[1 - c.receiver]->fingerprints.empty());  // the sender learns nothing
  ExpectPlaintextJoins(keys, c.receiver, *run.results[c.receiver]);
  EXPECT_GE(progress_calls, 2);  // at least one bucket at each party
  if (c.spill) {
    EXPECT_TRUE(fs::is_empty(dir)) << "spill files left behind";
  }
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Kkrt, KkrtPsiTest,
                         ::testing::Values(Case{0, 4096, kDefaultKkrtBucketSize, false},
                                           Case{1, 7, kDefaultKkrtBucketSize, false},
                                           Case{0, 64, 60, false}, Case{1, 100, 64, true}));

TEST(KkrtPsiTest, SinkGetsEveryRowOnceReceiverRowsInOrder) {
  std::mt19937_64 rng(11);
  std::vector<Keys> keys = {testutil::RandomKeys(rng, 700, 900),
                            testutil::RandomKeys(rng, 500, 900)};
  KkrtPsiOptions opt;
  opt.receiver_rank = 1;
  opt.batch_size = 50;
  opt.bucket_size = 128;
  std::vector<std::vector<Fingerprint>> got(2);
  std::vector<std::vector<int>> seen = {std::vector<int>(700), std::vector<int>(500)};
  int64_t next_own = 0;
  opt.on_fingerprints = [&](size_t party, const std::vector<int64_t>& rows,
                            const std::vector<Fingerprint>& fps) -> Status {
    EXPECT_EQ(rows.size(), fps.size());
    for (size_t k = 0; k < rows.size(); ++k) {
      if (party == 1) {
        EXPECT_EQ(rows[k], next_own++);
      }
      ++seen[party][rows[k]];
      got[party].resize(seen[party].size());
      got[party][rows[k]] = fps[k];
    }
    return Status();
  };
  auto world = link::test::MakeWorld(2);
  PsiRun run = RunBoth(world, keys, opt);
  for (auto& r : run.results) ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(run.results[1]->fingerprints.empty());
  for (const auto& s : seen) {
    for (int v : s) ASSERT_EQ(v, 1);
  }
  KkrtPsiOutput out;
  out.fingerprints = got;
  ExpectPlaintextJoins(keys, 1, out);
}

TEST(KkrtPsiTest, OverTcpWithBytesPerItemAsDesigned) {
  auto world = link::test::MakeTcpWorld(2);
  ASSERT_TRUE(world.ok()) << world.status().ToString();
  std::mt19937_64 rng(12);
  const size_t n = 20000;
  std::vector<Keys> keys(2);
  for (size_t i = 0; i < n; ++i) {
    keys[0].push_back({"id" + std::to_string(i)});
    keys[1].push_back({"id" + std::to_string(i + n / 2)});
  }
  KkrtPsiOptions opt;
  PsiRun run = RunBoth(*world, keys, opt);
  for (auto& r : run.results) ASSERT_TRUE(r.ok()) << r.status().ToString();
  // Party 0 (receiver) row i and party 1 row i − n/2 share the key id<i>.
  const auto& fps = run.results[0]->fingerprints;
  std::set<std::pair<uint64_t, uint64_t>> own;
  for (const auto& f : fps[0]) own.insert({f.lo, f.hi});
  size_t matched = 0;
  for (size_t j = 0; j < n; ++j) {
    matched += own.count({fps[1][j].lo, fps[1][j].hi});
    if (j < n / 2) {
      ASSERT_EQ(fps[1][j], fps[0][j + n / 2]) << j;
    }
  }
  EXPECT_EQ(matched, n / 2);
  // ≈ 64·1.27 bytes per receiver key (OPRF matrix) + 3·(ℓ + 5) per sender row (ℓ = 9 here) +
  // 512 base OTs: between 120 and 135 bytes per item.
  const double per_item = static_cast<double>(run.bytes) / n;
  EXPECT_GT(per_item, 120);
  EXPECT_LT(per_item, 135);
}

TEST(KkrtPsiTest, EmptyAndDisjointSets) {
  for (const std::vector<Keys>& keys :
       {std::vector<Keys>{{}, {{"a"}, {"b"}}}, std::vector<Keys>{{{"a"}, {"a"}}, {}},
        std::vector<Keys>{{}, {}}, std::vector<Keys>{{{"a"}}, {{"b"}, {"c"}}}}) {
    for (size_t receiver : {size_t{0}, size_t{1}}) {
      auto world = link::test::MakeWorld(2);
      KkrtPsiOptions opt;
      opt.receiver_rank = receiver;
      PsiRun run = RunBoth(world, keys, opt);
      for (auto& r : run.results) ASSERT_TRUE(r.ok()) << r.status().ToString();
      ExpectPlaintextJoins(keys, receiver, *run.results[receiver]);
    }
  }
}

TEST(KkrtPsiTest, KeyCountMismatchAndPartyCountAreErrors) {
  auto world = link::test::MakeWorld(2);
  std::vector<Keys> keys = {{{"a"}, {"b"}}, {{"a"}}};
  PsiRun run = RunBoth(world, keys, KkrtPsiOptions{}, {3, 1});
  EXPECT_EQ(run.results[0].status().code(), "key_count_mismatch");
  EXPECT_FALSE(run.results[1].ok());

  auto three = link::test::MakeWorld(3);
  VectorKeySource src(Keys{});
  auto r = RunKkrtPsi(*three[0], KkrtPsiOptions{}, src, {0, 0, 0});
  EXPECT_EQ(r.status().code(), "bad_psi_args");
}

}  // namespace
}  // namespace veil::psi
