// GGM tree PRG and the regular PPRF: the receiver's leaves equal the sender's except the
// punctured one, for every punctured index of small trees.
#include "veil/ot/pprf.h"

#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "veil/crypto/cr_hash.h"

namespace veil::ot {
namespace {

TEST(PprfTest, GgmLevelIsDaviesMeyerUnderTwoFixedKeys) {
  std::mt19937_64 rng(21);
  // 31 nodes: a 16-node 512-bit VAES batch, an 8-node VAES batch, a 4-node AES-NI batch and a
  // scalar tail (each CPU runs the widest batches it has, then the narrower ones on the rest).
  std::vector<Block> in(31), out(62), e0(31), e1(31);
  for (auto& v : in) v = Block{rng(), rng()};
  GgmExpandLevel(in.data(), in.size(), out.data());
  crypto::AesEcb(GgmKey(0), in.data(), e0.data(), in.size());
  crypto::AesEcb(GgmKey(1), in.data(), e1.data(), in.size());
  for (size_t j = 0; j < in.size(); ++j) {
    EXPECT_EQ(out[2 * j], e0[j] ^ in[j]) << j;
    EXPECT_EQ(out[2 * j + 1], e1[j] ^ in[j]) << j;
    EXPECT_NE(out[2 * j], out[2 * j + 1]);
  }
  EXPECT_NE(GgmKey(0), GgmKey(1));
}

// Sender expansion, then the receiver with the sibling sums an OT would deliver.
void CheckPuncturing(int depth, int64_t trees, const std::vector<uint32_t>& alpha, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const size_t width = size_t{1} << depth;
  std::vector<Block> seeds(trees), sender(trees * width), receiver(trees * width, Block{1, 1});
  std::vector<Block> level_sums(2 * trees * depth), tree_sums(trees), siblings(trees * depth);
  for (auto& s : seeds) s = Block{rng(), rng()};
  PprfSenderExpand(seeds.data(), trees, depth, sender.data(), level_sums.data(), tree_sums.data());
  for (int64_t i = 0; i < trees; ++i) {
    for (int l = 0; l < depth; ++l) {
      const int side = 1 - ((alpha[i] >> (depth - 1 - l)) & 1);
      siblings[i * depth + l] = level_sums[(i * depth + l) * 2 + side];
    }
  }
  PprfReceiverExpand(alpha.data(), siblings.data(), trees, depth, receiver.data());
  for (int64_t i = 0; i < trees; ++i) {
    Block sum;
    for (size_t j = 0; j < width; ++j) {
      const Block s = sender[i * width + j], r = receiver[i * width + j];
      sum ^= s;
      if (j == alpha[i]) {
        ASSERT_EQ(r, Block{}) << "tree " << i << " leaf " << j;
        ASSERT_NE(s, Block{});
      } else {
        ASSERT_EQ(r, s) << "tree " << i << " leaf " << j;
      }
    }
    ASSERT_EQ(sum, tree_sums[i]);
  }
  // Distinct trees with distinct seeds have distinct leaves.
  if (trees > 1) {
    EXPECT_NE(sender[0], sender[width]);
  }
}

TEST(PprfTest, ReceiverLearnsEveryLeafButThePuncturedOne) {
  // Every punctured index of depth-1..5 trees.
  for (int depth = 1; depth <= 5; ++depth) {
    const int64_t trees = int64_t{1} << depth;
    std::vector<uint32_t> alpha(trees);
    for (int64_t i = 0; i < trees; ++i) alpha[i] = static_cast<uint32_t>(i);
    CheckPuncturing(depth, trees, alpha, 100 + depth);
  }
  // Many larger trees (parallel chunks), random indices.
  std::mt19937_64 rng(22);
  std::vector<uint32_t> alpha(37);
  for (auto& a : alpha) a = static_cast<uint32_t>(rng() % 1024);
  CheckPuncturing(10, 37, alpha, 23);
}

TEST(PprfTest, WrongSiblingSumCorruptsTheSubtree) {
  // The receiver's leaves depend on the OT outputs: a flipped sum corrupts the sibling subtree.
  const int depth = 4;
  std::vector<Block> seeds = {Block{5, 6}}, sender(16), receiver(16), level_sums(8), tree_sums(1),
                     siblings(4);
  const std::vector<uint32_t> alpha = {9};  // path 1001
  PprfSenderExpand(seeds.data(), 1, depth, sender.data(), level_sums.data(), tree_sums.data());
  for (int l = 0; l < depth; ++l) {
    siblings[l] = level_sums[l * 2 + 1 - ((alpha[0] >> (depth - 1 - l)) & 1)];
  }
  siblings[0] ^= Block{1, 0};  // level 0: the left half (leaves 0..7) is the sibling subtree
  PprfReceiverExpand(alpha.data(), siblings.data(), 1, depth, receiver.data());
  // The whole sibling subtree is wrong, and the error propagates into the sums of later levels.
  for (int j = 0; j < 8; ++j) EXPECT_NE(receiver[j], sender[j]) << j;
  int wrong = 0;
  for (int j = 8; j < 16; ++j) wrong += j != 9 && receiver[j] != sender[j];
  EXPECT_GT(wrong, 0);
}

}  // namespace
}  // namespace veil::ot
