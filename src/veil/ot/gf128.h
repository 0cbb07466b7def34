// Arithmetic in GF(2^128) = GF(2)[x] / (x^128 + x^7 + x^2 + x + 1), the field of the silent VOLE
// (silent_vole.h) and of RR22's OKVS values.
//
// Representation: a crypto::Block holds the polynomial Σ_j b_j·x^j with b_j = Block::bit(j), i.e.
// bit j % 64 of `lo` (j < 64) or `hi`. Addition is XOR. This is the plain (non bit-reflected)
// polynomial basis; GCM/GHASH uses the same modulus with the bits of every byte reflected, so a
// GHASH value converts to this basis by reversing the bits of each byte (the known-answer tests
// do exactly that).
//
// Multiplication uses PCLMULQDQ (carry-less 64 × 64 → 128-bit products) when the CPU has it,
// selected once at run time, and otherwise a portable shift-and-add; both give identical results.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>

#include "veil/crypto/block.h"

namespace veil::ot {

using crypto::Block;

// a·b.
Block Gf128Mul(const Block& a, const Block& b);
// a·b without PCLMULQDQ (exposed for tests; slower).
Block Gf128MulPortable(const Block& a, const Block& b);
// a·x (shift by one and reduce).
inline Block Gf128MulX(const Block& a) {
  const uint64_t carry = a.hi >> 63;
  return Block{(a.lo << 1) ^ (carry * 0x87), (a.hi << 1) | (a.lo >> 63)};
}
// out[i] = a[i]·b for i < n (out may alias a).
void Gf128MulConst(const Block* a, const Block& b, Block* out, size_t n);
// out[i] ^= a[i]·b for i < n.
void Gf128MulConstAdd(const Block* a, const Block& b, Block* out, size_t n);
// Σ_{k<128} x^k·v[k]: packs 128 GF(2)-correlations into one GF(2^128) element (Horner's rule).
Block Gf128PackPowers(const Block* v);

}  // namespace veil::ot
