#include "veil/ot/ea_code.h"

#include <immintrin.h>

#include <algorithm>
#include <string>
#include <vector>

#include "veil/base/parallel.h"

namespace veil::ot {

namespace {

// Rows per ParallelFor chunk, and rows whose randomness and positions are generated together
// (one AES-CTR call each; 96 KiB of randomness at w = 11 stays in L2).
constexpr int64_t kRowGrain = 16384;
constexpr int64_t kRowBatch = 1024;
// How many rows ahead the expansion prefetches x: enough reads in flight to hide DRAM latency,
// few enough that the lines are still cached when their row is reached.
constexpr int64_t kPrefetchRows = 12;

// The definition of a row: position r is ⌊words[r]·n / 2^64⌋, moved to the next index (mod n)
// not yet in the row.
void ScalarRow(const uint64_t* words, uint64_t n, int w, uint32_t* pos) {
  const auto last = static_cast<uint32_t>(n - 1);
  for (int r = 0; r < w; ++r) {
    auto p = static_cast<uint32_t>((static_cast<unsigned __int128>(words[r]) * n) >> 64);
    // Linear probing keeps the row weight exactly w (w ≤ N, so a free index exists).
    while (std::find(pos, pos + r, p) != pos + r) p = (p == last) ? 0 : p + 1;
    pos[r] = p;
  }
}

bool HaveAvx512() {
  static const bool have = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
  return have;
}

// The AVX-512 row path holds a row in one 16-lane register, padded with lanes 2^32 − 16 … 2^32 − 1
// that no position can equal.
constexpr int kWideRowMaxWeight = 16;
constexpr int64_t kWideRowMaxInputs = (int64_t{1} << 32) - 16;

// GCC 12's AVX-512 intrinsics start from _mm512_undefined_epi32(), which -Wmaybe-uninitialized
// reports as uninitialised (GCC bug 105593, fixed in GCC 13).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// ScalarRow for `rows` rows: a row's first-choice positions are computed in one register and stored
// when they are distinct (almost always: a repeat has probability about w²/2N); a row with a
// repeat goes to ScalarRow. ⌊r·n / 2^64⌋ for n < 2^32 from 32-bit products: r_hi·n +
// ⌊r_lo·n / 2^32⌋ < 2^64, shifted right by 32.
__attribute__((target("avx512f,avx512dq"))) void RowsAvx512(const uint64_t* words, int64_t rows,
                                                            int64_t row_words, uint32_t n, int w,
                                                            uint32_t* pos) {
  const __m512i nv = _mm512_set1_epi64(n);
  const __m512i pad =
      _mm512_set_epi32(-1, -2, -3, -4, -5, -6, -7, -8, -9, -10, -11, -12, -13, -14, -15, -16);
  const auto lanes = static_cast<__mmask16>((1u << w) - 1);
  const auto lo_words = static_cast<__mmask8>(w >= 8 ? 0xff : (1u << w) - 1);
  const auto hi_words = static_cast<__mmask8>(w <= 8 ? 0 : (1u << (w - 8)) - 1);
  for (int64_t r = 0; r < rows; ++r) {
    const uint64_t* wr = words + r * row_words;
    __m512i v[2] = {_mm512_maskz_loadu_epi64(lo_words, wr),
                    _mm512_maskz_loadu_epi64(hi_words, wr + 8)};
    for (__m512i& x : v) {
      const __m512i lo = _mm512_srli_epi64(_mm512_mul_epu32(x, nv), 32);
      x = _mm512_srli_epi64(_mm512_add_epi64(_mm512_mul_epu32(_mm512_srli_epi64(x, 32), nv), lo),
                            32);
    }
    __m512i p = _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtepi64_epi32(v[0])),
                                   _mm512_cvtepi64_epi32(v[1]), 1);
    p = _mm512_mask_mov_epi32(pad, lanes, p);
    // Every pair of the 16 lanes meets in one of the rotations by 1 … 8.
    __mmask16 repeat = _mm512_cmpeq_epi32_mask(p, _mm512_alignr_epi32(p, p, 1));
    repeat |= _mm512_cmpeq_epi32_mask(p, _mm512_alignr_epi32(p, p, 2));
    repeat |= _mm512_cmpeq_epi32_mask(p, _mm512_alignr_epi32(p, p, 3));
    repeat |= _mm512_cmpeq_epi32_mask(p, _mm512_alignr_epi32(p, p, 4));
    repeat |= _mm512_cmpeq_epi32_mask(p, _mm512_alignr_epi32(p, p, 5));
    repeat |= _mm512_cmpeq_epi32_mask(p, _mm512_alignr_epi32(p, p, 6));
    repeat |= _mm512_cmpeq_epi32_mask(p, _mm512_alignr_epi32(p, p, 7));
    repeat |= _mm512_cmpeq_epi32_mask(p, _mm512_alignr_epi32(p, p, 8));
    if (repeat != 0) {
      ScalarRow(wr, n, w, pos + r * w);
    } else {
      _mm512_mask_storeu_epi32(pos + r * w, lanes, p);
    }
  }
}
#pragma GCC diagnostic pop

inline void PrefetchRow(const Block* x, const uint32_t* pos, int w) {
  for (int k = 0; k < w; ++k) __builtin_prefetch(x + pos[k]);
}

// The regular noise vector after accumulation, piecewise constant: prefix[b] = values[0] ⊕ … ⊕
// values[b − 1] before the noise entry of block b, prefix[b + 1] from it on.
class AccumulatedRegular {
 public:
  AccumulatedRegular(const uint32_t* punctured, const Block* values, int64_t blocks, int block_log2)
      : punctured_(punctured),
        prefix_(static_cast<size_t>(blocks) + 1),
        log2_(block_log2),
        mask_((uint32_t{1} << block_log2) - 1) {
    for (int64_t b = 0; b < blocks; ++b) prefix_[b + 1] = prefix_[b] ^ values[b];
  }
  // Branch-free: the comparison is data-dependent and would be mispredicted half of the time.
  const Block& operator[](uint32_t i) const {
    const uint32_t b = i >> log2_;
    return prefix_[b + static_cast<uint32_t>((i & mask_) >= punctured_[b])];
  }

 private:
  const uint32_t* punctured_;
  std::vector<Block> prefix_;
  int log2_;
  uint32_t mask_;
};

}  // namespace

EaCode::EaCode(int64_t inputs, int64_t outputs, int weight, const crypto::Seed& seed)
    : inputs_(inputs), outputs_(outputs), weight_(weight), prg_(seed) {}

StatusOr<EaCode> EaCode::Create(int64_t inputs, int64_t outputs, int weight,
                                const crypto::Seed& seed) {
  if (inputs < 1 || inputs >= (int64_t{1} << 32) || outputs < 1 || weight < 1 ||
      weight > kEaMaxWeight || weight > inputs) {
    return ParameterError("invalid_code_parameters", "EA code: inputs " + std::to_string(inputs) +
                                                         ", outputs " + std::to_string(outputs) +
                                                         ", weight " + std::to_string(weight));
  }
  return EaCode(inputs, outputs, weight, seed);
}

void EaCode::RowsFromRandom(const uint64_t* words, int64_t rows, uint32_t* pos) const {
  const int64_t row_words = 2 * RowBlocks();
  if (weight_ <= kWideRowMaxWeight && inputs_ <= kWideRowMaxInputs && HaveAvx512()) {
    RowsAvx512(words, rows, row_words, static_cast<uint32_t>(inputs_), weight_, pos);
    return;
  }
  for (int64_t r = 0; r < rows; ++r) {
    ScalarRow(words + r * row_words, static_cast<uint64_t>(inputs_), weight_, pos + r * weight_);
  }
}

void EaCode::Row(int64_t j, int64_t* pos) const {
  uint64_t words[kEaMaxWeight + 1];
  uint32_t p[kEaMaxWeight];
  prg_.FillAt(static_cast<uint64_t>(j * RowBlocks()), words,
              static_cast<size_t>(RowBlocks()) * sizeof(Block));
  ScalarRow(words, static_cast<uint64_t>(inputs_), weight_, p);
  std::copy(p, p + weight_, pos);
}

template <typename Consume>
void EaCode::ForEachRowBatch(const Consume& consume) const {
  const int64_t rb = RowBlocks();
  ParallelFor(outputs_, kRowGrain, [&](int64_t lo, int64_t hi) {
    std::vector<uint64_t> words(static_cast<size_t>(kRowBatch * rb * 2));
    std::vector<uint32_t> pos(static_cast<size_t>(kRowBatch * weight_));
    for (int64_t j0 = lo; j0 < hi; j0 += kRowBatch) {
      const int64_t rows = std::min(kRowBatch, hi - j0);
      prg_.FillAt(static_cast<uint64_t>(j0 * rb), words.data(),
                  static_cast<size_t>(rows * rb) * sizeof(Block));
      RowsFromRandom(words.data(), rows, pos.data());
      consume(j0, rows, pos.data());
    }
  });
}

void EaCode::DualEncode(Block* x, Block* y) const {
  for (int64_t i = 1; i < inputs_; ++i) x[i] ^= x[i - 1];
  const int w = weight_;
  ForEachRowBatch([&](int64_t j0, int64_t rows, const uint32_t* pos) {
    for (int64_t r = 0; r < std::min(kPrefetchRows, rows); ++r) PrefetchRow(x, pos + r * w, w);
    for (int64_t r = 0; r < rows; ++r) {
      if (r + kPrefetchRows < rows) PrefetchRow(x, pos + (r + kPrefetchRows) * w, w);
      const uint32_t* p = pos + r * w;
      Block acc;
      for (int k = 0; k < w; ++k) acc ^= x[p[k]];
      y[j0 + r] = acc;
    }
  });
}

void EaCode::DualEncodeRegular(const uint32_t* punctured, const Block* values, int64_t blocks,
                               int block_log2, Block* y) const {
  const AccumulatedRegular noise(punctured, values, blocks, block_log2);
  const int w = weight_;
  ForEachRowBatch([&](int64_t j0, int64_t rows, const uint32_t* pos) {
    for (int64_t r = 0; r < rows; ++r) {
      const uint32_t* p = pos + r * w;
      Block acc;
      for (int k = 0; k < w; ++k) acc ^= noise[p[k]];
      y[j0 + r] = acc;
    }
  });
}

void EaCode::DualEncodeWithRegular(Block* x, Block* y, const uint32_t* punctured,
                                   const Block* values, int64_t blocks, int block_log2,
                                   Block* y_regular) const {
  for (int64_t i = 1; i < inputs_; ++i) x[i] ^= x[i - 1];
  const AccumulatedRegular noise(punctured, values, blocks, block_log2);
  const int w = weight_;
  ForEachRowBatch([&](int64_t j0, int64_t rows, const uint32_t* pos) {
    for (int64_t r = 0; r < std::min(kPrefetchRows, rows); ++r) PrefetchRow(x, pos + r * w, w);
    for (int64_t r = 0; r < rows; ++r) {
      if (r + kPrefetchRows < rows) PrefetchRow(x, pos + (r + kPrefetchRows) * w, w);
      const uint32_t* p = pos + r * w;
      Block acc, acc_regular;
      for (int k = 0; k < w; ++k) {
        acc ^= x[p[k]];
        acc_regular ^= noise[p[k]];
      }
      y[j0 + r] = acc;
      y_regular[j0 + r] = acc_regular;
    }
  });
}

}  // namespace veil::ot
