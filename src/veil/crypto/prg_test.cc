#include "veil/crypto/prg.h"

#include <algorithm>
#include <bit>
#include <vector>

#include <gtest/gtest.h>

#include "veil/base/bytes.h"

namespace veil::crypto {
namespace {

Seed SeedFromHex(const char* hex) {
  Seed s{};
  for (size_t i = 0; i < kSeedBytes; ++i) {
    s[i] = static_cast<uint8_t>(std::stoi(std::string(hex + 2 * i, 2), nullptr, 16));
  }
  return s;
}

std::vector<uint8_t> Draw(Prg& prg, size_t n) {
  std::vector<uint8_t> out(n);
  prg.Fill(out.data(), n);
  return out;
}

TEST(PrgTest, KnownAnswerAes128Ctr) {
  // FIPS-197 AES-128 with the all-zero key on the all-zero block (stream 0, block 0).
  Prg zero(Seed{});
  EXPECT_EQ(ToHex(Draw(zero, 16)), "66e94bd4ef8a2c3b884cfa59ca342b2e");
  // Stream 2 (kBeaver) of key 000102..0f, blocks 0-2: cross-checked with
  // `openssl enc -aes-128-ctr -K 000102030405060708090a0b0c0d0e0f -iv 0000000000000002` + 0*16.
  Prg beaver(SeedFromHex("000102030405060708090a0b0c0d0e0f"), PrgStream::kBeaver);
  EXPECT_EQ(ToHex(Draw(beaver, 48)),
            "c76e8fcf7ad0fe9b39e083739cbe26c283f40b19b56e25b05dcb59a0035d"
            "043405b9745597dcac50b89f67961406b82e");
}

TEST(PrgTest, SameSeedSameCallsSameOutput) {
  const Seed seed = RandomSeed();
  Prg a(seed, PrgStream::kInput), b(seed, PrgStream::kInput);
  // Large fills take the parallel path; they must equal the sequential keystream.
  EXPECT_EQ(Draw(a, 5 << 20), Draw(b, 5 << 20));
  // 16-byte aligned pieces concatenate; an unaligned piece skips the rest of its block.
  auto whole = Draw(a, 64);
  auto p1 = Draw(b, 32);
  auto p2 = Draw(b, 32);
  p1.insert(p1.end(), p2.begin(), p2.end());
  EXPECT_EQ(whole, p1);
  (void)Draw(a, 3);
  (void)Draw(b, 16);
  EXPECT_EQ(Draw(a, 16), Draw(b, 16));
  EXPECT_EQ(a.position(), b.position());
}

TEST(PrgTest, FillAtReadsAnyPartOfTheStream) {
  const Seed seed = RandomSeed();
  Prg a(seed, PrgStream::kBeaver), b(seed, PrgStream::kBeaver);
  const auto whole = Draw(a, 3 << 20);  // parallel path
  std::vector<uint8_t> part(4096 + 5);
  b.FillAt(1000, part.data(), part.size());
  EXPECT_TRUE(std::equal(part.begin(), part.end(), whole.begin() + int64_t{1000} * 16));
  EXPECT_EQ(b.position(), 0u);
  b.Skip(PrgBlocks(3 << 20));
  EXPECT_EQ(Draw(a, 32), Draw(b, 32));
}

TEST(PrgTest, StreamsAndSeedsAreIndependent) {
  const Seed seed = RandomSeed();
  Prg a(seed, PrgStream::kInput), b(seed, PrgStream::kBeaver), c(RandomSeed(), PrgStream::kInput);
  const auto x = Draw(a, 64), y = Draw(b, 64), z = Draw(c, 64);
  EXPECT_NE(x, y);
  EXPECT_NE(x, z);
  EXPECT_NE(RandomSeed(), RandomSeed());
}

TEST(PrgTest, OutputIsBalanced) {
  Prg prg(RandomSeed());
  std::vector<uint64_t> w(1 << 16);
  prg.FillRing(w.data(), static_cast<int64_t>(w.size()));
  int64_t ones = 0;
  for (uint64_t v : w) ones += std::popcount(v);
  const double frac = static_cast<double>(ones) / (64.0 * w.size());
  EXPECT_NEAR(frac, 0.5, 0.002);  // ~10 standard deviations
}

}  // namespace
}  // namespace veil::crypto
