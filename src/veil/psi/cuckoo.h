// Cuckoo hashing with three hash functions and no stash, the receiver's table of KKRT PSI
// (kkrt_psi.h): Pagh and Rodler, "Cuckoo Hashing" (J. Algorithms 2004) generalised to d = 3
// hash functions, with the stash-less parameters of Pinkas, Schneider and Zohner, "Scalable
// Private Set Intersection Based on OT Extension" (ACM TOPS 2018, eprint 2016/930; their
// experimental cuckoo-parameter analysis): ⌈1.27·n⌉ bins for insertion failure probability
// ≈ 2^-40 at large n — the choice SecretFlow's KKRT makes. For small n (where that bound is
// weaker) veil adds kCuckooExtraBins, and a failed insertion is retried with a fresh seed
// (BuildCuckooTable).
//
// Items are 128-bit pseudorandom values (hashes of keys); hash function i maps item x to bin
//   h_i(x) = ⌊Mix(x, seed, i) · bins / 2^64⌋,
// Mix a 64-bit finaliser over both halves of x. The items must be distinct: t + 1 copies of one
// value cannot be placed once all its three bins are taken, so insertion fails.
//
// Thread safety: a built table is immutable and may be read from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "veil/base/status.h"
#include "veil/crypto/block.h"

namespace veil::psi {

inline constexpr int kCuckooHashes = 3;
inline constexpr double kCuckooExpansion = 1.27;
inline constexpr int64_t kCuckooExtraBins = 64;
// Evictions per inserted item before the insertion is declared failed.
inline constexpr int kCuckooMaxKicks = 1000;
// Seeds BuildCuckooTable tries before giving up.
inline constexpr int kCuckooAttempts = 8;

// Number of bins for n items (0 for n = 0).
int64_t CuckooBins(int64_t n);

// h_i(x) for the table's seed and size.
int64_t CuckooBin(const crypto::Block& x, uint64_t seed, int i, int64_t bins);

class CuckooTable {
 public:
  static constexpr int64_t kEmpty = -1;

  // Inserts every item (indices into `items`) into `bins` bins with hash functions seeded by
  // `seed`. nullopt when an item cannot be placed within kCuckooMaxKicks evictions.
  static std::optional<CuckooTable> Build(const std::vector<crypto::Block>& items, uint64_t seed,
                                          int64_t bins);

  uint64_t seed() const { return seed_; }
  int64_t bins() const { return static_cast<int64_t>(slots_.size()); }
  // The index of the item in bin b (kEmpty if none) and which hash function placed it there.
  int64_t item(int64_t b) const { return slots_[b] == 0 ? kEmpty : (slots_[b] >> 2) - 1; }
  int hash_index(int64_t b) const { return static_cast<int>(slots_[b] & 3); }

 private:
  CuckooTable(uint64_t seed, int64_t bins) : seed_(seed), slots_(static_cast<size_t>(bins), 0) {}
  uint64_t seed_;
  std::vector<uint64_t> slots_;  // 0 = empty, else (item + 1) << 2 | hash index
};

// Builds a table of CuckooBins(items.size()) bins, trying seeds first_seed, first_seed + 1, …
// (kCuckooAttempts). AlgorithmError "cuckoo_failure" when every attempt fails (duplicate items,
// or probability ≤ 2^-40·kCuckooAttempts for distinct ones).
StatusOr<CuckooTable> BuildCuckooTable(const std::vector<crypto::Block>& items,
                                       uint64_t first_seed = 0);

}  // namespace veil::psi
