#include "veil/psi/cuckoo.h"

#include <cmath>
#include <utility>

#include <fmt/format.h>

namespace veil::psi {

namespace {

// splitmix64's finaliser: a bijection with full avalanche.
uint64_t Mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

int64_t CuckooBins(int64_t n) {
  if (n <= 0) return 0;
  return static_cast<int64_t>(std::ceil(kCuckooExpansion * static_cast<double>(n))) +
         kCuckooExtraBins;
}

int64_t CuckooBin(const crypto::Block& x, uint64_t seed, int i, int64_t bins) {
  const uint64_t key = Mix64(seed * 0x9e3779b97f4a7c15ULL + static_cast<uint64_t>(i) + 1);
  const uint64_t v = Mix64(x.lo ^ key) ^ Mix64(x.hi + key);
  return static_cast<int64_t>((static_cast<unsigned __int128>(v) * static_cast<uint64_t>(bins)) >>
                              64);
}

std::optional<CuckooTable> CuckooTable::Build(const std::vector<crypto::Block>& items,
                                              uint64_t seed, int64_t bins) {
  CuckooTable t(seed, bins);
  if (items.empty()) return t;
  if (bins <= 0) return std::nullopt;
  uint64_t walk = Mix64(seed ^ 0x5851f42d4c957f2dULL);  // eviction choices (not secret)
  for (size_t idx = 0; idx < items.size(); ++idx) {
    uint64_t cur = static_cast<uint64_t>(idx);
    int from = -1;  // the hash function that placed `cur` where it was evicted from
    bool placed = false;
    for (int kick = 0; kick <= kCuckooMaxKicks && !placed; ++kick) {
      const crypto::Block& x = items[cur];
      int64_t b[kCuckooHashes];
      for (int i = 0; i < kCuckooHashes; ++i) {
        b[i] = CuckooBin(x, seed, i, bins);
        if (t.slots_[b[i]] == 0) {
          t.slots_[b[i]] = (cur + 1) << 2 | static_cast<uint64_t>(i);
          placed = true;
          break;
        }
      }
      if (placed) break;
      walk = Mix64(walk + kick);
      int i = static_cast<int>(walk % kCuckooHashes);
      if (i == from) i = (i + 1) % kCuckooHashes;
      const uint64_t evicted = t.slots_[b[i]];
      t.slots_[b[i]] = (cur + 1) << 2 | static_cast<uint64_t>(i);
      cur = (evicted >> 2) - 1;
      from = static_cast<int>(evicted & 3);
    }
    if (!placed) return std::nullopt;
  }
  return t;
}

StatusOr<CuckooTable> BuildCuckooTable(const std::vector<crypto::Block>& items,
                                       uint64_t first_seed) {
  const int64_t bins = CuckooBins(static_cast<int64_t>(items.size()));
  for (int a = 0; a < kCuckooAttempts; ++a) {
    auto t = CuckooTable::Build(items, first_seed + static_cast<uint64_t>(a), bins);
    if (t) return std::move(*t);
  }
  return AlgorithmError("cuckoo_failure",
                        fmt::format("cuckoo hashing of {} items into {} bins failed {} times "
                                    "(are the items distinct?)",
                                    items.size(), bins, kCuckooAttempts));
}

}  // namespace veil::psi
