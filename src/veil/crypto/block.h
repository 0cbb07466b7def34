// A 128-bit value as the OT layer uses it: an OT message, a row of an IKNP bit matrix, a
// correlation Δ. Bit j (0 ≤ j < 128) is bit j % 64 of `lo` (j < 64) or `hi`, which on the
// little-endian machines veil targets is bit j % 8 of byte j / 8 of the 16 bytes in memory, the
// layout of packed bit strings everywhere else in veil.
#pragma once

#include <cstdint>

namespace veil::crypto {

struct alignas(16) Block {
  uint64_t lo = 0;
  uint64_t hi = 0;

  Block& operator^=(const Block& o) {
    lo ^= o.lo;
    hi ^= o.hi;
    return *this;
  }
  friend Block operator^(Block a, const Block& b) { return a ^= b; }
  friend Block operator&(const Block& a, const Block& b) { return {a.lo & b.lo, a.hi & b.hi}; }
  friend bool operator==(const Block& a, const Block& b) = default;
  // A total order (high word first), for sorting and deduplication.
  friend bool operator<(const Block& a, const Block& b) {
    return a.hi != b.hi ? a.hi < b.hi : a.lo < b.lo;
  }
  bool bit(int j) const { return ((j < 64 ? lo >> j : hi >> (j - 64)) & 1) != 0; }
};
static_assert(sizeof(Block) == 16);

}  // namespace veil::crypto
