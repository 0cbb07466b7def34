#include "veil/crypto/okvs.h"

#include <bit>
#include <cmath>
#include <iostream>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace veil::crypto {
namespace {

std::vector<Block> RandomBlocks(size_t n, std::mt19937_64& rng) {
  std::vector<Block> v(n);
  for (auto& b : v) b = {rng(), rng()};
  return v;
}

Okvs Make(const OkvsParams& p) {
  auto okvs = Okvs::Create(p);
  EXPECT_TRUE(okvs.ok()) << okvs.status().ToString();
  return std::move(okvs).value();
}

class OkvsRoundTrip : public ::testing::TestWithParam<size_t> {};

TEST_P(OkvsRoundTrip, DecodeReturnsEncodedValues) {
  const size_t n = GetParam();
  std::mt19937_64 rng(n);
  const auto keys = RandomBlocks(n, rng);
  const auto values = RandomBlocks(n, rng);
  const Okvs okvs = Make(OkvsParams::ForItems(n));
  std::vector<Block> P(okvs.params().m);
  ASSERT_TRUE(okvs.Encode(keys.data(), values.data(), n, /*seed=*/7, P.data()).ok());
  std::vector<Block> got(n);
  okvs.Decode(P.data(), keys.data(), n, 7, got.data());
  for (size_t i = 0; i < n; ++i) ASSERT_EQ(got[i], values[i]) << "key " << i;
  // Another seed is another row hash: decoding with it does not give the values back.
  okvs.Decode(P.data(), keys.data(), n, 8, got.data());
  size_t equal = 0;
  for (size_t i = 0; i < n; ++i) equal += got[i] == values[i];
  EXPECT_EQ(equal, 0u);
}

INSTANTIATE_TEST_SUITE_P(Sizes, OkvsRoundTrip, ::testing::Values(1, 10, 1000, 1 << 16));

TEST(Okvs, DecodesMoreKeysThanOneSortBatch) {
  // Decode sorts at most 2^22 keys at a time; keys may repeat.
  const size_t n = 1 << 12, count = (size_t{1} << 22) + 777;
  std::mt19937_64 rng(9);
  const auto keys = RandomBlocks(n, rng);
  const auto values = RandomBlocks(n, rng);
  const Okvs okvs = Make(OkvsParams::ForItems(n));
  std::vector<Block> P(okvs.params().m);
  ASSERT_TRUE(okvs.Encode(keys.data(), values.data(), n, 4, P.data()).ok());
  std::vector<Block> probes(count), got(count);
  for (size_t i = 0; i < count; ++i) probes[i] = keys[(i * 7) % n];
  okvs.Decode(P.data(), probes.data(), count, 4, got.data());
  for (size_t i = 0; i < count; ++i) ASSERT_EQ(got[i], values[(i * 7) % n]) << i;
}

TEST(Okvs, NonKeysDecodeToRandomLookingValues) {
  const size_t n = 1000, probes = 20000;
  std::mt19937_64 rng(1);
  const auto keys = RandomBlocks(n, rng);
  const auto values = RandomBlocks(n, rng);
  const auto others = RandomBlocks(probes, rng);
  const Okvs okvs = Make(OkvsParams::ForItems(n));
  std::vector<Block> P(okvs.params().m);
  ASSERT_TRUE(okvs.Encode(keys.data(), values.data(), n, 3, P.data()).ok());
  std::vector<Block> got(probes);
  okvs.Decode(P.data(), others.data(), probes, 3, got.data());
  std::set<Block> encoded(values.begin(), values.end());
  std::set<Block> seen;
  uint64_t ones = 0;
  for (const Block& b : got) {
    EXPECT_EQ(encoded.count(b), 0u);
    EXPECT_TRUE(seen.insert(b).second) << "two non-keys decoded to the same value";
    ones += std::popcount(b.lo) + std::popcount(b.hi);
  }
  // 2.56M fair bits: mean 1.28M, σ = 800; allow 6σ.
  const double bits = 128.0 * probes;
  EXPECT_NEAR(static_cast<double>(ones), bits / 2, 6 * std::sqrt(bits / 4));
}

TEST(Okvs, EncodingOfRandomValuesLooksUniform) {
  const size_t n = 1 << 12;
  std::mt19937_64 rng(2);
  const auto keys = RandomBlocks(n, rng);
  const auto values = RandomBlocks(n, rng);
  const Okvs okvs = Make(OkvsParams::ForItems(n));
  const size_t m = okvs.params().m;
  std::vector<Block> P(m);
  ASSERT_TRUE(okvs.Encode(keys.data(), values.data(), n, 5, P.data()).ok());
  uint64_t ones = 0;
  std::set<Block> distinct(P.begin(), P.end());
  for (const Block& b : P) ones += std::popcount(b.lo) + std::popcount(b.hi);
  EXPECT_EQ(distinct.size(), m);
  const double bits = 128.0 * m;
  EXPECT_NEAR(static_cast<double>(ones), bits / 2, 6 * std::sqrt(bits / 4));
}

TEST(Okvs, DecodeIsLinear) {
  const size_t n = 500;
  std::mt19937_64 rng(3);
  const auto keys = RandomBlocks(n, rng);
  const auto a = RandomBlocks(n, rng);
  const auto b = RandomBlocks(n, rng);
  const auto probes = RandomBlocks(64, rng);
  const Okvs okvs = Make(OkvsParams::ForItems(n));
  const size_t m = okvs.params().m;
  std::vector<Block> Pa(m), Pb(m), Psum(m);
  ASSERT_TRUE(okvs.Encode(keys.data(), a.data(), n, 9, Pa.data()).ok());
  ASSERT_TRUE(okvs.Encode(keys.data(), b.data(), n, 9, Pb.data()).ok());
  for (size_t i = 0; i < m; ++i) Psum[i] = Pa[i] ^ Pb[i];
  std::vector<Block> da(64), db(64), dsum(64);
  okvs.Decode(Pa.data(), probes.data(), 64, 9, da.data());
  okvs.Decode(Pb.data(), probes.data(), 64, 9, db.data());
  okvs.Decode(Psum.data(), probes.data(), 64, 9, dsum.data());
  for (size_t i = 0; i < 64; ++i) EXPECT_EQ(dsum[i], da[i] ^ db[i]);
}

TEST(Okvs, DuplicateKeyRejected) {
  const size_t n = 300;
  std::mt19937_64 rng(4);
  auto keys = RandomBlocks(n, rng);
  auto values = RandomBlocks(n, rng);
  const Okvs okvs = Make(OkvsParams::ForItems(n));
  std::vector<Block> P(okvs.params().m);
  keys[200] = keys[17];
  Status st = okvs.Encode(keys.data(), values.data(), n, 1, P.data());
  EXPECT_EQ(st.type(), ErrorType::kAlgorithm);
  EXPECT_EQ(st.code(), "duplicate_key");
  values[200] = values[17];  // a consistent duplicate is still a duplicate
  st = okvs.Encode(keys.data(), values.data(), n, 1, P.data());
  EXPECT_EQ(st.code(), "duplicate_key");
}

TEST(Okvs, TooSmallEncodingReportsFailure) {
  const size_t n = 1000;
  std::mt19937_64 rng(5);
  const auto keys = RandomBlocks(n, rng);
  const auto values = RandomBlocks(n, rng);
  // m = n with a narrow band: the band system is singular with overwhelming probability.
  const Okvs okvs = Make(OkvsParams{.n = n, .m = n, .band_width = 16});
  std::vector<Block> P(n);
  const Status st = okvs.Encode(keys.data(), values.data(), n, 1, P.data());
  EXPECT_EQ(st.type(), ErrorType::kAlgorithm);
  EXPECT_EQ(st.code(), "okvs_encode_failed") << st.ToString();
  // More items than the parameters were made for.
  const Okvs small = Make(OkvsParams::ForItems(10));
  std::vector<Block> Q(small.params().m);
  EXPECT_EQ(small.Encode(keys.data(), values.data(), 11, 1, Q.data()).code(),
            "okvs_too_many_items");
}

TEST(Okvs, CreateRejectsBadParams) {
  EXPECT_FALSE(Okvs::Create(OkvsParams{.n = 10, .m = 100, .band_width = 0}).ok());
  EXPECT_FALSE(Okvs::Create(OkvsParams{.n = 10, .m = 100, .band_width = 101}).ok());
  EXPECT_FALSE(Okvs::Create(OkvsParams{.n = 10, .m = 1000, .band_width = 257}).ok());
  EXPECT_FALSE(Okvs::Create(OkvsParams{.n = 200, .m = 100, .band_width = 64}).ok());
  EXPECT_TRUE(Okvs::Create(OkvsParams{.n = 10, .m = 100, .band_width = 100}).ok());
}

TEST(Okvs, DeterministicGivenSeeds) {
  const size_t n = 2000;
  std::mt19937_64 rng(6);
  const auto keys = RandomBlocks(n, rng);
  const auto values = RandomBlocks(n, rng);
  const Okvs okvs = Make(OkvsParams::ForItems(n));
  const size_t m = okvs.params().m;
  std::vector<Block> P1(m), P2(m), P3(m);
  Seed free_seed{};
  free_seed[0] = 42;
  Prg r1(free_seed), r2(free_seed);
  ASSERT_TRUE(okvs.Encode(keys.data(), values.data(), n, 11, P1.data(), &r1).ok());
  ASSERT_TRUE(okvs.Encode(keys.data(), values.data(), n, 11, P2.data(), &r2).ok());
  EXPECT_EQ(P1, P2);
  // Fresh free columns: another encoding of the same map, decoding to the same values.
  ASSERT_TRUE(okvs.Encode(keys.data(), values.data(), n, 11, P3.data()).ok());
  EXPECT_NE(P1, P3);
  std::vector<Block> got(n);
  okvs.Decode(P3.data(), keys.data(), n, 11, got.data());
  EXPECT_EQ(got, values);
}

// The failure model of okvs.h at deliberately weak band widths, where failures are frequent
// enough to count: the measured rate must not exceed the model's bound (with sampling slack),
// and the model must not be vacuous (failures do happen where it says they are likely).
TEST(Okvs, FailureRateWithinModelAtWeakParameters) {
  std::mt19937_64 rng(7);
  Seed free_seed{};
  Prg prg(free_seed);
  const size_t n = 1024;
  const int trials = 400;
  for (size_t w : {24, 32, 40}) {
    const OkvsParams p{
        .n = n, .m = static_cast<size_t>(std::ceil((1 + kOkvsEpsilon) * n)), .band_width = w};
    const Okvs okvs = Make(p);
    std::vector<Block> P(p.m);
    int fails = 0;
    for (int t = 0; t < trials; ++t) {
      const auto keys = RandomBlocks(n, rng);
      const auto values = RandomBlocks(n, rng);
      const Status st = okvs.Encode(keys.data(), values.data(), n, rng(), P.data(), &prg);
      if (!st.ok()) {
        ASSERT_EQ(st.code(), "okvs_encode_failed");
        ++fails;
      }
    }
    const double rate = static_cast<double>(fails) / trials;
    const double bound = std::min(1.0, std::exp2(-p.FailureBoundBits()));
    std::cout << "n=" << n << " w=" << w << " failures " << fails << "/" << trials
              << " (model bound " << bound << ")\n";
    EXPECT_LE(rate, bound + 4 * std::sqrt(bound * (1 - bound) / trials) + 0.01) << "w=" << w;
    if (w == 24) {
      EXPECT_GT(fails, trials / 4);  // w = 24 is far too narrow at ε = 0.1 (≈ 56 % fail)
    }
  }
}

TEST(Okvs, ChosenParametersDoNotFail) {
  std::mt19937_64 rng(8);
  Seed free_seed{};
  Prg prg(free_seed);
  for (const auto& [n, trials] : {std::pair<size_t, int>{100, 300}, {1000, 300}, {1 << 14, 30}}) {
    const Okvs okvs = Make(OkvsParams::ForItems(n));
    std::vector<Block> P(okvs.params().m);
    for (int t = 0; t < trials; ++t) {
      const auto keys = RandomBlocks(n, rng);
      const auto values = RandomBlocks(n, rng);
      ASSERT_TRUE(okvs.Encode(keys.data(), values.data(), n, rng(), P.data(), &prg).ok())
          << okvs.params().ToString();
    }
  }
}

TEST(Okvs, ParametersForLargeSets) {
  for (int log_n : {16, 20, 24}) {
    const OkvsParams p = OkvsParams::ForItems(size_t{1} << log_n);
    const double ratio = static_cast<double>(p.m) / p.n;
    std::cout << "2^" << log_n << ": " << p.ToString()
              << " -log2(failure) >= " << p.FailureBoundBits() << "\n";
    EXPECT_NEAR(ratio, 1 + kOkvsEpsilon, 1e-3);
    EXPECT_LE(p.band_width, kOkvsMaxBandWidth);
    EXPECT_GE(p.FailureBoundBits(), 40.0);
    EXPECT_TRUE(Okvs::Create(p).ok());
  }
  // Stronger λ needs a wider band.
  EXPECT_GT(OkvsParams::ForItems(1 << 20, 60).band_width,
            OkvsParams::ForItems(1 << 20, 40).band_width);
}

}  // namespace
}  // namespace veil::crypto
