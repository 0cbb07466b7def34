#include "veil/ot/bit_matrix.h"

#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace veil::ot {

using crypto::Block;

void Transpose128Portable(const Block* in, size_t stride, Block* out) {
  for (int c = 0; c < 128; ++c) out[c] = Block{};
  for (int r = 0; r < 128; ++r) {
    const Block& row = in[r * stride];
    for (int c = 0; c < 128; ++c) {
      if (!row.bit(c)) continue;
      if (r < 64) {
        out[c].lo |= uint64_t{1} << r;
      } else {
        out[c].hi |= uint64_t{1} << (r - 64);
      }
    }
  }
}

#if defined(__SSE2__)

namespace {

// Transposes the 16 × 16 byte matrix v (row r = v[r], byte c): interleaving rows i and i + 8
// byte-wise rotates the 8-bit (row, column) index left by one, so four rounds swap row and
// column.
inline void Transpose16x16Bytes(__m128i v[16]) {
  __m128i t[16];
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < 8; ++i) {
      t[2 * i] = _mm_unpacklo_epi8(v[i], v[i + 8]);
      t[2 * i + 1] = _mm_unpackhi_epi8(v[i], v[i + 8]);
    }
    for (int i = 0; i < 16; ++i) v[i] = t[i];
  }
}

}  // namespace

void Transpose128(const Block* in, size_t stride, Block* out) {
  // out[c] is eight 16-bit pieces, one per band of 16 rows. They are gathered in an L1-resident
  // buffer and copied out whole: scattered 2-byte stores straight into a large, cold output
  // array stall on every cache line they touch first.
  alignas(16) unsigned char buf[128 * sizeof(Block)];
  for (int band = 0; band < 8; ++band) {
    __m128i v[16];
    for (int r = 0; r < 16; ++r) {
      v[r] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + (16 * band + r) * stride));
    }
    Transpose16x16Bytes(v);  // v[b] byte r = byte b of row 16·band + r
    for (int b = 0; b < 16; ++b) {
      __m128i x = v[b];
      // After s doublings the top bit of every byte is bit 7 − s of the original byte.
      for (int s = 0; s < 8; ++s) {
        const int c = 8 * b + 7 - s;
        const auto piece = static_cast<uint16_t>(_mm_movemask_epi8(x));
        std::memcpy(buf + 16 * c + 2 * band, &piece, sizeof piece);
        x = _mm_add_epi8(x, x);
      }
    }
  }
  std::memcpy(static_cast<void*>(out), buf, sizeof buf);
}

#else

void Transpose128(const Block* in, size_t stride, Block* out) {
  Transpose128Portable(in, stride, out);
}

#endif

}  // namespace veil::ot
