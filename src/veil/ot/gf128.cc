#include "veil/ot/gf128.h"

#include <immintrin.h>

namespace veil::ot {

namespace {

// Carry-less 64 × 64 → 128-bit product, 4 bits of b at a time.
void ClMul64(uint64_t a, uint64_t b, uint64_t* lo, uint64_t* hi) {
  uint64_t table_lo[16], table_hi[16];
  table_lo[0] = table_hi[0] = 0;
  for (int i = 1; i < 16; ++i) {
    // table[i] = i·a as a polynomial product (i < 16, so at most 67 bits).
    table_lo[i] = table_hi[i] = 0;
    for (int k = 0; k < 4; ++k) {
      if ((i >> k) & 1) {
        table_lo[i] ^= a << k;
        table_hi[i] ^= k == 0 ? 0 : a >> (64 - k);
      }
    }
  }
  uint64_t rl = 0, rh = 0;
  for (int s = 60; s >= 0; s -= 4) {
    // r = r·x^4 + table[nibble].
    rh = (rh << 4) | (rl >> 60);
    rl <<= 4;
    const unsigned nib = (b >> s) & 15;
    rl ^= table_lo[nib];
    rh ^= table_hi[nib];
  }
  *lo = rl;
  *hi = rh;
}

// Reduces the 256-bit product (p0 lowest … p3 highest 64-bit words) modulo x^128 + x^7 + x^2 +
// x + 1, using x^128 ≡ 0x87.
Block ReducePortable(uint64_t p0, uint64_t p1, uint64_t p2, uint64_t p3) {
  uint64_t lo, hi;
  // p3·x^192 ≡ p3·0x87·x^64: a 71-bit value shifted by 64.
  ClMul64(p3, 0x87, &lo, &hi);
  p1 ^= lo;
  p2 ^= hi;
  // p2·x^128 ≡ p2·0x87 (71 bits).
  ClMul64(p2, 0x87, &lo, &hi);
  return Block{p0 ^ lo, p1 ^ hi};
}

__attribute__((target("pclmul,sse4.1"))) Block MulClmul(const Block& a, const Block& b) {
  const __m128i x = _mm_set_epi64x(static_cast<int64_t>(a.hi), static_cast<int64_t>(a.lo));
  const __m128i y = _mm_set_epi64x(static_cast<int64_t>(b.hi), static_cast<int64_t>(b.lo));
  const __m128i lo = _mm_clmulepi64_si128(x, y, 0x00);
  const __m128i hi = _mm_clmulepi64_si128(x, y, 0x11);
  const __m128i mid =
      _mm_xor_si128(_mm_clmulepi64_si128(x, y, 0x01), _mm_clmulepi64_si128(x, y, 0x10));
  // 256-bit product p = hi·x^128 + mid·x^64 + lo.
  __m128i p01 = _mm_xor_si128(lo, _mm_slli_si128(mid, 8));
  __m128i p23 = _mm_xor_si128(hi, _mm_srli_si128(mid, 8));
  const __m128i poly = _mm_set_epi64x(0, 0x87);
  // p3·x^192 ≡ (p3·0x87)·x^64.
  const __m128i t3 = _mm_clmulepi64_si128(p23, poly, 0x01);
  p01 = _mm_xor_si128(p01, _mm_slli_si128(t3, 8));
  p23 = _mm_xor_si128(p23, _mm_srli_si128(t3, 8));
  // p2·x^128 ≡ p2·0x87.
  const __m128i t2 = _mm_clmulepi64_si128(p23, poly, 0x00);
  p01 = _mm_xor_si128(p01, t2);
  return Block{static_cast<uint64_t>(_mm_extract_epi64(p01, 0)),
               static_cast<uint64_t>(_mm_extract_epi64(p01, 1))};
}

bool HaveClmul() {
  static const bool have = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
  return have;
}

}  // namespace

Block Gf128MulPortable(const Block& a, const Block& b) {
  uint64_t ll_lo, ll_hi, hh_lo, hh_hi, lh_lo, lh_hi, hl_lo, hl_hi;
  ClMul64(a.lo, b.lo, &ll_lo, &ll_hi);
  ClMul64(a.hi, b.hi, &hh_lo, &hh_hi);
  ClMul64(a.lo, b.hi, &lh_lo, &lh_hi);
  ClMul64(a.hi, b.lo, &hl_lo, &hl_hi);
  const uint64_t mid_lo = lh_lo ^ hl_lo, mid_hi = lh_hi ^ hl_hi;
  return ReducePortable(ll_lo, ll_hi ^ mid_lo, hh_lo ^ mid_hi, hh_hi);
}

Block Gf128Mul(const Block& a, const Block& b) {
  return HaveClmul() ? MulClmul(a, b) : Gf128MulPortable(a, b);
}

void Gf128MulConst(const Block* a, const Block& b, Block* out, size_t n) {
  if (HaveClmul()) {
    for (size_t i = 0; i < n; ++i) out[i] = MulClmul(a[i], b);
  } else {
    for (size_t i = 0; i < n; ++i) out[i] = Gf128MulPortable(a[i], b);
  }
}

void Gf128MulConstAdd(const Block* a, const Block& b, Block* out, size_t n) {
  if (HaveClmul()) {
    for (size_t i = 0; i < n; ++i) out[i] ^= MulClmul(a[i], b);
  } else {
    for (size_t i = 0; i < n; ++i) out[i] ^= Gf128MulPortable(a[i], b);
  }
}

Block Gf128PackPowers(const Block* v) {
  Block acc = v[127];
  for (int k = 126; k >= 0; --k) acc = Gf128MulX(acc) ^ v[k];
  return acc;
}

}  // namespace veil::ot
