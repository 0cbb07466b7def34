#include "veil/ot/pprf.h"

#include <immintrin.h>

#include <array>
#include <cstring>
#include <vector>

#include "veil/base/parallel.h"
#include "veil/crypto/cr_hash.h"

namespace veil::ot {

namespace {

// Hex digits 33–64 and 65–96 of π's fractional part (cr_hash.h's fixed key is digits 1–32).
constexpr std::array<uint8_t, 16> kGgmKeyBytes[2] = {
    {0xa4, 0x09, 0x38, 0x22, 0x29, 0x9f, 0x31, 0xd0, 0x08, 0x2e, 0xfa, 0x98, 0xec, 0x4e, 0x6c,
     0x89},
    {0x45, 0x28, 0x21, 0xe6, 0x38, 0xd0, 0x13, 0x77, 0xbe, 0x54, 0x66, 0xcf, 0x34, 0xe9, 0x0c,
     0x6c}};

// Nodes per AES-NI batch (8 AES blocks in flight: 4 nodes × 2 keys).
constexpr size_t kLanes = 4;
// Nodes per VAES batch (16 AES blocks in flight: 4 registers of 2 nodes × 2 keys), and per
// AVX-512 VAES batch (32 blocks in flight: 4 registers of 4 nodes × 2 keys).
constexpr size_t kWideLanes = 8;
constexpr size_t kWidestLanes = 16;

bool HaveAesNi() {
  static const bool have = __builtin_cpu_supports("aes") && __builtin_cpu_supports("sse4.1");
  return have;
}

// VAES: two AES blocks per instruction on 256-bit registers (Intel Ice Lake, AMD Zen 3 and
// later), twice AES-NI's throughput where the core has 256-bit AES units.
bool HaveVaes() {
  static const bool have =
      HaveAesNi() && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("vaes");
  return have;
}

// VAES on 512-bit registers: four AES blocks per instruction, twice the 256-bit rate on cores with
// full-width AES units (AMD Zen 5, Intel Ice Lake and later servers).
bool HaveVaes512() {
  static const bool have = HaveVaes() && __builtin_cpu_supports("avx512f");
  return have;
}

struct RoundKeys {
  __m128i k[11];
};

__attribute__((target("aes,sse4.1"))) __m128i KeyStep(__m128i key, __m128i assist) {
  assist = _mm_shuffle_epi32(assist, 0xff);
  key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
  key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
  key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
  return _mm_xor_si128(key, assist);
}

__attribute__((target("aes,sse4.1"))) RoundKeys ExpandKey(const uint8_t* key) {
  RoundKeys r;
  r.k[0] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(key));
  // _mm_aeskeygenassist_si128 needs an immediate round constant.
  r.k[1] = KeyStep(r.k[0], _mm_aeskeygenassist_si128(r.k[0], 0x01));
  r.k[2] = KeyStep(r.k[1], _mm_aeskeygenassist_si128(r.k[1], 0x02));
  r.k[3] = KeyStep(r.k[2], _mm_aeskeygenassist_si128(r.k[2], 0x04));
  r.k[4] = KeyStep(r.k[3], _mm_aeskeygenassist_si128(r.k[3], 0x08));
  r.k[5] = KeyStep(r.k[4], _mm_aeskeygenassist_si128(r.k[4], 0x10));
  r.k[6] = KeyStep(r.k[5], _mm_aeskeygenassist_si128(r.k[5], 0x20));
  r.k[7] = KeyStep(r.k[6], _mm_aeskeygenassist_si128(r.k[6], 0x40));
  r.k[8] = KeyStep(r.k[7], _mm_aeskeygenassist_si128(r.k[7], 0x80));
  r.k[9] = KeyStep(r.k[8], _mm_aeskeygenassist_si128(r.k[8], 0x1b));
  r.k[10] = KeyStep(r.k[9], _mm_aeskeygenassist_si128(r.k[9], 0x36));
  return r;
}

const RoundKeys* GgmRoundKeys() {
  static const std::array<RoundKeys, 2> keys = {ExpandKey(kGgmKeyBytes[0].data()),
                                                ExpandKey(kGgmKeyBytes[1].data())};
  return keys.data();
}

__attribute__((target("aes,sse4.1"))) void ExpandLevelAesNi(const Block* in, size_t n, Block* out) {
  const RoundKeys* rk = GgmRoundKeys();
  const RoundKeys& k0 = rk[0];
  const RoundKeys& k1 = rk[1];
  size_t j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    __m128i x[kLanes], l[kLanes], r[kLanes];
    for (size_t q = 0; q < kLanes; ++q) {
      x[q] = _mm_load_si128(reinterpret_cast<const __m128i*>(in + j + q));
      l[q] = _mm_xor_si128(x[q], k0.k[0]);
      r[q] = _mm_xor_si128(x[q], k1.k[0]);
    }
    for (int round = 1; round < 10; ++round) {
      for (size_t q = 0; q < kLanes; ++q) {
        l[q] = _mm_aesenc_si128(l[q], k0.k[round]);
        r[q] = _mm_aesenc_si128(r[q], k1.k[round]);
      }
    }
    for (size_t q = 0; q < kLanes; ++q) {
      l[q] = _mm_xor_si128(_mm_aesenclast_si128(l[q], k0.k[10]), x[q]);
      r[q] = _mm_xor_si128(_mm_aesenclast_si128(r[q], k1.k[10]), x[q]);
      _mm_store_si128(reinterpret_cast<__m128i*>(out + 2 * (j + q)), l[q]);
      _mm_store_si128(reinterpret_cast<__m128i*>(out + 2 * (j + q) + 1), r[q]);
    }
  }
  for (; j < n; ++j) {
    const __m128i x = _mm_load_si128(reinterpret_cast<const __m128i*>(in + j));
    __m128i l = _mm_xor_si128(x, k0.k[0]), r = _mm_xor_si128(x, k1.k[0]);
    for (int round = 1; round < 10; ++round) {
      l = _mm_aesenc_si128(l, k0.k[round]);
      r = _mm_aesenc_si128(r, k1.k[round]);
    }
    _mm_store_si128(reinterpret_cast<__m128i*>(out + 2 * j),
                    _mm_xor_si128(_mm_aesenclast_si128(l, k0.k[10]), x));
    _mm_store_si128(reinterpret_cast<__m128i*>(out + 2 * j + 1),
                    _mm_xor_si128(_mm_aesenclast_si128(r, k1.k[10]), x));
  }
}

// The AES-NI loop with each register holding two nodes; the tail goes to ExpandLevelAesNi.
__attribute__((target("vaes,avx2,aes,sse4.1"))) void ExpandLevelVaes(const Block* in, size_t n,
                                                                     Block* out) {
  const RoundKeys* rk = GgmRoundKeys();
  __m256i k0[11], k1[11];
  for (int round = 0; round < 11; ++round) {
    k0[round] = _mm256_broadcastsi128_si256(rk[0].k[round]);
    k1[round] = _mm256_broadcastsi128_si256(rk[1].k[round]);
  }
  constexpr size_t kRegs = kWideLanes / 2;
  size_t j = 0;
  for (; j + kWideLanes <= n; j += kWideLanes) {
    __m256i x[kRegs], l[kRegs], r[kRegs];
    for (size_t q = 0; q < kRegs; ++q) {
      x[q] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + j + 2 * q));
      l[q] = _mm256_xor_si256(x[q], k0[0]);
      r[q] = _mm256_xor_si256(x[q], k1[0]);
    }
    for (int round = 1; round < 10; ++round) {
      for (size_t q = 0; q < kRegs; ++q) {
        l[q] = _mm256_aesenc_epi128(l[q], k0[round]);
        r[q] = _mm256_aesenc_epi128(r[q], k1[round]);
      }
    }
    for (size_t q = 0; q < kRegs; ++q) {
      l[q] = _mm256_xor_si256(_mm256_aesenclast_epi128(l[q], k0[10]), x[q]);
      r[q] = _mm256_xor_si256(_mm256_aesenclast_epi128(r[q], k1[10]), x[q]);
      // l = (left of node a, left of node b), r likewise: store a's pair, then b's.
      auto* dst = reinterpret_cast<__m256i*>(out + 2 * (j + 2 * q));
      _mm256_storeu_si256(dst, _mm256_permute2x128_si256(l[q], r[q], 0x20));
      _mm256_storeu_si256(dst + 1, _mm256_permute2x128_si256(l[q], r[q], 0x31));
    }
  }
  if (j < n) ExpandLevelAesNi(in + j, n - j, out + 2 * j);
}

// GCC 12's _mm512_broadcast_i32x4 starts from _mm512_undefined_epi32(), which -Wuninitialized
// reports (GCC bug 105593, fixed in GCC 13).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// The VAES loop on 512-bit registers of four nodes; the tail goes to ExpandLevelVaes.
__attribute__((target("vaes,avx512f,avx2,aes,sse4.1"))) void ExpandLevelVaes512(const Block* in,
                                                                                size_t n,
                                                                                Block* out) {
  const RoundKeys* rk = GgmRoundKeys();
  __m512i k0[11], k1[11];
  for (int round = 0; round < 11; ++round) {
    k0[round] = _mm512_broadcast_i32x4(rk[0].k[round]);
    k1[round] = _mm512_broadcast_i32x4(rk[1].k[round]);
  }
  // 64-bit lane indices interleaving (l0 l1 l2 l3) and (r0 r1 r2 r3) into l0 r0 l1 r1 | l2 r2 l3
  // r3.
  const __m512i first = _mm512_set_epi64(11, 10, 3, 2, 9, 8, 1, 0);
  const __m512i second = _mm512_set_epi64(15, 14, 7, 6, 13, 12, 5, 4);
  constexpr size_t kRegs = kWidestLanes / 4;
  size_t j = 0;
  for (; j + kWidestLanes <= n; j += kWidestLanes) {
    __m512i x[kRegs], l[kRegs], r[kRegs];
    for (size_t q = 0; q < kRegs; ++q) {
      x[q] = _mm512_loadu_si512(in + j + 4 * q);
      l[q] = _mm512_xor_si512(x[q], k0[0]);
      r[q] = _mm512_xor_si512(x[q], k1[0]);
    }
    for (int round = 1; round < 10; ++round) {
      for (size_t q = 0; q < kRegs; ++q) {
        l[q] = _mm512_aesenc_epi128(l[q], k0[round]);
        r[q] = _mm512_aesenc_epi128(r[q], k1[round]);
      }
    }
    for (size_t q = 0; q < kRegs; ++q) {
      l[q] = _mm512_xor_si512(_mm512_aesenclast_epi128(l[q], k0[10]), x[q]);
      r[q] = _mm512_xor_si512(_mm512_aesenclast_epi128(r[q], k1[10]), x[q]);
      Block* dst = out + 2 * (j + 4 * q);
      _mm512_storeu_si512(dst, _mm512_permutex2var_epi64(l[q], first, r[q]));
      _mm512_storeu_si512(dst + 4, _mm512_permutex2var_epi64(l[q], second, r[q]));
    }
  }
  if (j < n) ExpandLevelVaes(in + j, n - j, out + 2 * j);
}
#pragma GCC diagnostic pop

void ExpandLevelPortable(const Block* in, size_t n, Block* out) {
  std::vector<Block> enc(n);
  for (int b = 0; b < 2; ++b) {
    crypto::AesEcb(GgmKey(b), in, enc.data(), n);
    for (size_t j = 0; j < n; ++j) out[2 * j + b] = enc[j] ^ in[j];
  }
}

// Trees per ParallelFor chunk.
constexpr int64_t kTreeGrain = 4;

// Scratch for the inner levels of one tree: two buffers of 2^(depth − 1) nodes.
struct TreeScratch {
  explicit TreeScratch(int depth) : a(size_t{1} << (depth - 1)), b(size_t{1} << (depth - 1)) {}
  std::vector<Block> a, b;
  Block* For(int level, int depth, Block* leaves) {
    if (level == depth - 1) return leaves;
    // The level before the last writes to a buffer other than the leaves; alternate backwards.
    return ((depth - 1 - level) % 2 == 1) ? a.data() : b.data();
  }
};

}  // namespace

Block GgmKey(int b) {
  Block k;
  std::memcpy(&k, kGgmKeyBytes[b].data(), sizeof k);
  return k;
}

void GgmExpandLevel(const Block* in, size_t n, Block* out) {
  if (n >= kWidestLanes && HaveVaes512()) {
    ExpandLevelVaes512(in, n, out);
  } else if (n >= kWideLanes && HaveVaes()) {
    ExpandLevelVaes(in, n, out);
  } else if (HaveAesNi()) {
    ExpandLevelAesNi(in, n, out);
  } else {
    ExpandLevelPortable(in, n, out);
  }
}

void PprfSenderExpand(const Block* seeds, int64_t trees, int depth, Block* leaves,
                      Block* level_sums, Block* tree_sums) {
  const size_t width = size_t{1} << depth;
  ParallelFor(trees, kTreeGrain, [&](int64_t lo, int64_t hi) {
    TreeScratch scratch(depth);
    for (int64_t i = lo; i < hi; ++i) {
      Block* tree_leaves = leaves + static_cast<size_t>(i) * width;
      const Block* cur = seeds + i;
      for (int level = 0; level < depth; ++level) {
        const size_t n = size_t{1} << level;
        Block* next = scratch.For(level, depth, tree_leaves);
        GgmExpandLevel(cur, n, next);
        Block sum[2];
        for (size_t j = 0; j < 2 * n; j += 2) {
          sum[0] ^= next[j];
          sum[1] ^= next[j + 1];
        }
        level_sums[(i * depth + level) * 2] = sum[0];
        level_sums[(i * depth + level) * 2 + 1] = sum[1];
        // The last level's two sums cover every leaf (depth ≥ 1).
        tree_sums[i] = sum[0] ^ sum[1];
        cur = next;
      }
    }
  });
}

void PprfReceiverExpand(const uint32_t* punctured, const Block* sibling_sums, int64_t trees,
                        int depth, Block* leaves) {
  const size_t width = size_t{1} << depth;
  ParallelFor(trees, kTreeGrain, [&](int64_t lo, int64_t hi) {
    TreeScratch scratch(depth);
    const Block zero;
    for (int64_t i = lo; i < hi; ++i) {
      Block* tree_leaves = leaves + static_cast<size_t>(i) * width;
      const uint32_t alpha = punctured[i];
      // The root is unknown: start from a zero node on the path.
      const Block* cur = &zero;
      size_t path = 0;
      for (int level = 0; level < depth; ++level) {
        const size_t n = size_t{1} << level;
        Block* next = scratch.For(level, depth, tree_leaves);
        GgmExpandLevel(cur, n, next);
        // The path node was unknown: its children are too, except the sibling recovered below.
        next[2 * path] = next[2 * path + 1] = Block{};
        const size_t bit = (alpha >> (depth - 1 - level)) & 1;
        const size_t side = 1 - bit;
        Block known;
        for (size_t j = side; j < 2 * n; j += 2) known ^= next[j];
        next[2 * path + side] = sibling_sums[i * depth + level] ^ known;
        path = 2 * path + bit;
        cur = next;
      }
    }
  });
}

}  // namespace veil::ot
