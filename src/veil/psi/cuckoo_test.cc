#include "veil/psi/cuckoo.h"

#include <random>
#include <set>

#include <gtest/gtest.h>

namespace veil::psi {
namespace {

using crypto::Block;

std::vector<Block> RandomItems(std::mt19937_64& rng, size_t n) {
  std::vector<Block> v(n);
  for (auto& b : v) b = Block{rng(), rng()};
  return v;
}

// Every item sits in exactly one bin, at one of its three hash positions, and the hash index
// recorded for the bin is the one that maps the item there.
void ExpectValid(const CuckooTable& t, const std::vector<Block>& items) {
  std::vector<int> seen(items.size(), 0);
  for (int64_t b = 0; b < t.bins(); ++b) {
    const int64_t it = t.item(b);
    if (it == CuckooTable::kEmpty) continue;
    ASSERT_LT(it, static_cast<int64_t>(items.size()));
    ++seen[it];
    EXPECT_EQ(CuckooBin(items[it], t.seed(), t.hash_index(b), t.bins()), b);
  }
  for (size_t i = 0; i < items.size(); ++i) EXPECT_EQ(seen[i], 1) << i;
}

TEST(CuckooTest, InsertsEveryItemOnceAtOneOfItsPositions) {
  std::mt19937_64 rng(1);
  for (size_t n : {size_t{0}, size_t{1}, size_t{5}, size_t{1000}, size_t{100000}}) {
    const auto items = RandomItems(rng, n);
    auto t = BuildCuckooTable(items);
    ASSERT_TRUE(t.ok()) << n << ": " << t.status().ToString();
    EXPECT_EQ(t->bins(), CuckooBins(static_cast<int64_t>(n)));
    ExpectValid(*t, items);
  }
  EXPECT_EQ(CuckooBins(0), 0);
  EXPECT_EQ(CuckooBins(1000), 1270 + kCuckooExtraBins);
}

TEST(CuckooTest, HashFunctionsAreSpreadAndSeeded) {
  std::mt19937_64 rng(2);
  const auto items = RandomItems(rng, 4000);
  const int64_t bins = 5000;
  std::vector<int> load(bins, 0);
  int same_other_seed = 0;
  for (const Block& x : items) {
    for (int i = 0; i < kCuckooHashes; ++i) {
      const int64_t b = CuckooBin(x, 7, i, bins);
      ASSERT_GE(b, 0);
      ASSERT_LT(b, bins);
      ++load[b];
      same_other_seed += b == CuckooBin(x, 8, i, bins);
    }
  }
  // 12000 balls into 5000 bins: the fullest bin has far fewer than 20.
  EXPECT_LT(*std::max_element(load.begin(), load.end()), 20);
  EXPECT_LT(same_other_seed, 30);  // ≈ 12000 / 5000 expected
}

TEST(CuckooTest, DuplicatesAndOverfullTablesFail) {
  std::mt19937_64 rng(3);
  // Four copies of one value have only three bins between them.
  std::vector<Block> dup = RandomItems(rng, 100);
  for (int k = 0; k < 3; ++k) dup.push_back(dup[10]);
  auto t = BuildCuckooTable(dup);
  EXPECT_EQ(t.status().code(), "cuckoo_failure");
  // Two copies still fit (the PSI deduplicates first; this only documents the limit).
  std::vector<Block> two = RandomItems(rng, 100);
  two.push_back(two[0]);
  EXPECT_TRUE(BuildCuckooTable(two).ok());
  // More items than bins can never be placed.
  const auto many = RandomItems(rng, 50);
  EXPECT_FALSE(CuckooTable::Build(many, 0, 40).has_value());
  // A table at the 1.27 expansion without the extra bins still works for a large n.
  const auto big = RandomItems(rng, 1 << 16);
  auto tight = CuckooTable::Build(big, 0, static_cast<int64_t>(1.27 * (1 << 16)));
  ASSERT_TRUE(tight.has_value());
  ExpectValid(*tight, big);
}

}  // namespace
}  // namespace veil::psi
