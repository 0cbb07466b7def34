// Packed bit strings: the layout of boolean shares.
//
// A bit string of `nbits` bits lives in ceil(nbits / 64) little-endian 64-bit words: bit i is
// bit (i % 64) of word i / 64. Bits past nbits in the last word are padding with unspecified
// contents; every helper here keeps them from leaking into valid positions. A vector of n ring
// elements of k bits each (k = 64 or 128) is the bit string of n·k bits whose element e occupies
// bits [e·k, (e+1)·k), least significant first; for FM128 that is the natural little-endian
// memory layout of unsigned __int128.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <vector>

#include "veil/mpc/ring.h"

namespace veil::mpc {

using Words = std::vector<uint64_t>;

inline int64_t WordsForBits(int64_t nbits) { return (nbits + 63) / 64; }

// Words per parallel task in bit-string loops.
inline constexpr int64_t kWordGrain = int64_t{1} << 14;

// The 32 bits at even positions of x, compacted into the low half (bit 2j -> bit j).
inline uint64_t EvenBits(uint64_t x) {
  x &= 0x5555555555555555ULL;
  x = (x | (x >> 1)) & 0x3333333333333333ULL;
  x = (x | (x >> 2)) & 0x0F0F0F0F0F0F0F0FULL;
  x = (x | (x >> 4)) & 0x00FF00FF00FF00FFULL;
  x = (x | (x >> 8)) & 0x0000FFFF0000FFFFULL;
  x = (x | (x >> 16)) & 0x00000000FFFFFFFFULL;
  return x;
}

// Splits a bit string of nbits (even) bits into its even-position and odd-position halves, each
// of nbits / 2 bits: even[j] = in[2j], odd[j] = in[2j + 1]. When every element of the string has
// an even number m of bits, element e of each half occupies [e·m/2, (e+1)·m/2).
void Deinterleave(const Words& in, int64_t nbits, Words* even, Words* odd);

// Shifts every k-bit element of the string left by one bit (the top bit drops out, bit 0 becomes
// 0). k is 64 or 128.
void ShiftElementsLeft1(Words* bits, int ring_bits);

// Bit (k-1) of every k-bit element, packed: n elements in, n bits out.
Words TopBits(const Words& elements, int64_t n, int ring_bits);

// Ring elements <-> their bit strings (a copy of the bytes).
template <RingElement T>
Words ElementsToWords(const Tensor<T>& t) {
  Words w(static_cast<size_t>(t.numel()) * sizeof(T) / 8);
  if (!w.empty()) std::memcpy(w.data(), t.data(), w.size() * 8);
  return w;
}

// Bit e of `bits` as the ring element 0 or 1, for e in [0, n).
template <RingElement T>
Tensor<T> UnpackBits(const Words& bits, const Shape& shape) {
  Tensor<T> out = Tensor<T>::Uninitialized(shape);
  T* o = out.data();
  ParallelFor(out.numel(), kElementwiseGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) o[i] = static_cast<T>((bits[i >> 6] >> (i & 63)) & 1);
  });
  return out;
}

// a ^= b over the first min(a.size(), b.size()) words.
void XorInPlace(Words* a, const Words& b);
// Concatenates whole-word strings.
Words Concat(const Words& a, const Words& b);
// Words [begin, begin + count) of w.
Words Slice(const Words& w, int64_t begin, int64_t count);

}  // namespace veil::mpc
