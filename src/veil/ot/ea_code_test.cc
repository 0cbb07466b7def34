// Expand-Accumulate code: a known example independent of the PRG, agreement with the dense
// matrix built from the rows, GF(2)-linearity, and the sparse regular-noise shortcut.
#include "veil/ot/ea_code.h"

#include <algorithm>
#include <random>
#include <set>
#include <vector>

#include <gtest/gtest.h>

namespace veil::ot {
namespace {

constexpr crypto::Seed kSeed = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

std::vector<Block> RandomBlocks(std::mt19937_64& rng, size_t n) {
  std::vector<Block> v(n);
  for (auto& b : v) b = Block{rng(), rng()};
  return v;
}

TEST(EaCodeTest, FullWeightRowsGiveTheOddPositions) {
  // w = N = 8: every row holds all 8 positions, so y_j = ⊕_i acc_i = ⊕_k (8 − k)·x_k
  // = x_1 ⊕ x_3 ⊕ x_5 ⊕ x_7.
  auto code = EaCode::Create(8, 3, 8, kSeed);
  ASSERT_TRUE(code.ok()) << code.status().ToString();
  std::mt19937_64 rng(31);
  auto x = RandomBlocks(rng, 8);
  const Block want = x[1] ^ x[3] ^ x[5] ^ x[7];
  std::vector<Block> y(3);
  code->DualEncode(x.data(), y.data());
  for (const Block& v : y) EXPECT_EQ(v, want);
}

TEST(EaCodeTest, RowsAreDistinctInRangeAndDeterministic) {
  auto code = EaCode::Create(1000, 500, 11, kSeed);
  auto again = EaCode::Create(1000, 500, 11, kSeed);
  ASSERT_TRUE(code.ok() && again.ok());
  crypto::Seed other = kSeed;
  other[0] ^= 1;
  auto different = EaCode::Create(1000, 500, 11, other);
  ASSERT_TRUE(different.ok());
  int64_t differing_rows = 0;
  for (int64_t j = 0; j < 500; ++j) {
    int64_t p[11], q[11], r[11];
    code->Row(j, p);
    again->Row(j, q);
    different->Row(j, r);
    ASSERT_TRUE(std::equal(p, p + 11, q));
    ASSERT_EQ(std::set<int64_t>(p, p + 11).size(), 11u) << j;
    for (int64_t v : p) ASSERT_TRUE(v >= 0 && v < 1000);
    differing_rows += !std::equal(p, p + 11, r);
  }
  EXPECT_GT(differing_rows, 490);
}

TEST(EaCodeTest, MatchesDenseMatrixFromRows) {
  // Column k of row j of G^T is the parity of #{r : pos(j, r) ≥ k} (accumulate, then expand).
  const int64_t n = 64, m = 40;
  auto code = EaCode::Create(n, m, 7, kSeed);
  ASSERT_TRUE(code.ok());
  std::mt19937_64 rng(32);
  const auto x = RandomBlocks(rng, n);
  std::vector<Block> want(m);
  for (int64_t j = 0; j < m; ++j) {
    int64_t p[7];
    code->Row(j, p);
    for (int64_t k = 0; k < n; ++k) {
      const auto ge = std::count_if(p, p + 7, [k](int64_t v) { return v >= k; });
      if (ge % 2 == 1) want[j] ^= x[k];
    }
  }
  auto work = x;
  std::vector<Block> y(m);
  code->DualEncode(work.data(), y.data());
  EXPECT_EQ(y, want);
}

TEST(EaCodeTest, LargeCodeExpandsTheRowsOfRow) {
  // Rows generated in batches (and with SIMD where the CPU has it) agree with Row(j).
  const int64_t n = 3000, m = 20000;  // small N: many rows need the linear probing
  auto code = EaCode::Create(n, m, 11, kSeed);
  ASSERT_TRUE(code.ok());
  std::mt19937_64 rng(36);
  auto x = RandomBlocks(rng, n);
  std::vector<Block> acc(n), y(m);
  acc[0] = x[0];
  for (int64_t i = 1; i < n; ++i) acc[i] = acc[i - 1] ^ x[i];
  code->DualEncode(x.data(), y.data());
  for (int64_t j = 0; j < m; ++j) {
    int64_t p[11];
    code->Row(j, p);
    Block want;
    for (int64_t v : p) want ^= acc[v];
    ASSERT_EQ(y[j], want) << j;
  }
}

TEST(EaCodeTest, EncodingIsLinear) {
  const int64_t n = 50000, m = 10000;  // several parallel chunks
  auto code = EaCode::Create(n, m, 11, kSeed);
  ASSERT_TRUE(code.ok());
  std::mt19937_64 rng(33);
  auto x = RandomBlocks(rng, n), z = RandomBlocks(rng, n);
  std::vector<Block> xz(n);
  for (int64_t i = 0; i < n; ++i) xz[i] = x[i] ^ z[i];
  std::vector<Block> yx(m), yz(m), yxz(m);
  code->DualEncode(x.data(), yx.data());
  code->DualEncode(z.data(), yz.data());
  code->DualEncode(xz.data(), yxz.data());
  for (int64_t j = 0; j < m; ++j) ASSERT_EQ(yxz[j], yx[j] ^ yz[j]) << j;
  EXPECT_NE(yx[0], yz[0]);
}

TEST(EaCodeTest, RegularNoiseShortcutMatchesDenseEncoding) {
  const int log2 = 6, blocks = 40;
  const int64_t n = blocks << log2, m = 500;
  auto code = EaCode::Create(n, m, 11, kSeed);
  ASSERT_TRUE(code.ok());
  std::mt19937_64 rng(34);
  const auto values = RandomBlocks(rng, blocks);
  std::vector<uint32_t> punctured(blocks);
  std::vector<Block> dense(n);
  for (int b = 0; b < blocks; ++b) {
    punctured[b] = b == 0 ? 0 : (b == 1 ? 63 : static_cast<uint32_t>(rng() % 64));
    dense[(int64_t{b} << log2) + punctured[b]] = values[b];
  }
  std::vector<Block> want(m), got(m);
  code->DualEncode(dense.data(), want.data());
  code->DualEncodeRegular(punctured.data(), values.data(), blocks, log2, got.data());
  EXPECT_EQ(got, want);
}

TEST(EaCodeTest, OnePassEncodingMatchesTheTwoEncodings) {
  // Several parallel chunks and row batches, blocks of 2^8.
  const int log2 = 8, blocks = 300;
  const int64_t n = int64_t{blocks} << log2, m = 40000;
  auto code = EaCode::Create(n, m, 11, kSeed);
  ASSERT_TRUE(code.ok());
  std::mt19937_64 rng(35);
  const auto x = RandomBlocks(rng, n);
  const auto values = RandomBlocks(rng, blocks);
  std::vector<uint32_t> punctured(blocks);
  for (auto& p : punctured) p = static_cast<uint32_t>(rng() % 256);
  auto x1 = x, x2 = x;
  std::vector<Block> want_y(m), want_a(m), y(m), a(m);
  code->DualEncode(x1.data(), want_y.data());
  code->DualEncodeRegular(punctured.data(), values.data(), blocks, log2, want_a.data());
  code->DualEncodeWithRegular(x2.data(), y.data(), punctured.data(), values.data(), blocks, log2,
                              a.data());
  EXPECT_EQ(y, want_y);
  EXPECT_EQ(a, want_a);
  EXPECT_EQ(x2, x1);  // x accumulated in place by both
}

TEST(EaCodeTest, RejectsInvalidParameters) {
  EXPECT_FALSE(EaCode::Create(0, 10, 3, kSeed).ok());
  EXPECT_FALSE(EaCode::Create(10, 0, 3, kSeed).ok());
  EXPECT_FALSE(EaCode::Create(10, 10, 11, kSeed).ok());  // weight > inputs
  EXPECT_FALSE(EaCode::Create(1000, 10, kEaMaxWeight + 1, kSeed).ok());
  EXPECT_FALSE(EaCode::Create(int64_t{1} << 32, 10, 3, kSeed).ok());  // positions are 32-bit
  EXPECT_EQ(EaCode::Create(10, 10, 0, kSeed).status().code(), "invalid_code_parameters");
}

}  // namespace
}  // namespace veil::ot
