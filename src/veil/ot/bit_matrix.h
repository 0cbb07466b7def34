// 128 × 128 bit-matrix transposition, the hot loop of IKNP OT extension (iknp.h).
//
// With SSE2 (every x86-64 CPU) a 16-row band is first byte-transposed with four rounds of
// byte unpacks, then each byte column yields eight output rows' 16-bit pieces through
// _mm_movemask_epi8 (the top bit of every byte) and a byte-wise shift; elsewhere a portable bit
// loop is used. Both give identical results.
//
// Thread safety: pure function.
#pragma once

#include <cstddef>

#include "veil/crypto/block.h"

namespace veil::ot {

// out[c] bit r = row r bit c, for the 128 rows in[r · stride] (stride in blocks; 1 for a dense
// 128-block matrix). `in` and `out` must not overlap.
void Transpose128(const crypto::Block* in, size_t stride, crypto::Block* out);

// Reference implementation (one bit at a time), for tests.
void Transpose128Portable(const crypto::Block* in, size_t stride, crypto::Block* out);

}  // namespace veil::ot
