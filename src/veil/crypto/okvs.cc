#include "veil/crypto/okvs.h"

#include <immintrin.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <memory>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "veil/base/parallel.h"
#include "veil/base/scratch.h"
#include "veil/crypto/cr_hash.h"

namespace veil::crypto {

namespace {

// Keys hashed per AES call (the EVP context set-up costs about a microsecond).
constexpr size_t kHashBatch = 4096;
// Keys a decode sorts by start and evaluates together (16 bytes of sort state each, 64 MB):
// consecutive windows of P then start about m / kDecodeSortBatch columns apart (≈ 4.4 at n = 2^24)
// and overlap almost entirely, so P streams through the cache instead of each key fetching its
// own w-Block window.
constexpr size_t kDecodeSortBatch = size_t{1} << 22;
// Rows per ParallelFor chunk once rows are in start order.
constexpr int64_t kSortedGrain = int64_t{1} << 14;
// Keys read in start order (random reads of keys, values and outputs) prefetched ahead, and the
// 64-byte lines at the end of a key's window of P the decoder prefetches (the part of the window
// earlier windows did not cover; the hardware prefetcher does not follow such a stream).
constexpr size_t kSortedAhead = 16;
constexpr int kDecodeWindowLines = 2;
// Bits of start per radix-sort pass (a 2^12-entry histogram and as many output streams).
constexpr int kRadixMaxBits = 12;
// Domain tag in the high word of the per-output AES keys K_j = (seed, tag | j).
constexpr uint64_t kRowKeyTag = 0x524230'4b565300ULL;  // "RB0KVS\0" + j

size_t Words(size_t w) { return (w + 63) / 64; }

// ⌊h·positions / 2^64⌋ for the low word of the first hash block.
inline uint32_t StartOf(const Block& h0, uint64_t positions) {
  return static_cast<uint32_t>((static_cast<unsigned __int128>(h0.lo) * positions) >> 64);
}

// Sort keys of keys[0, count): packed[i] = start(keys[i]) << 32 | (first + i).
void HashStarts(const Block* keys, size_t count, uint64_t seed, uint64_t positions, size_t first,
                uint64_t* packed, Block* tmp) {
  AesEcb(Block{seed, kRowKeyTag}, keys, tmp, count);
  for (size_t i = 0; i < count; ++i) {
    packed[i] = uint64_t{StartOf(tmp[i] ^ keys[i], positions)} << 32 | (first + i);
  }
}

// Sorts packed values (start << 32 | index) by start, stably (equal starts stay in index order),
// with an LSD radix sort; `scratch` holds n values. Returns the array holding the result.
uint64_t* SortByStart(uint64_t* packed, uint64_t* scratch, size_t n, uint64_t positions) {
  const int bits = std::max(1, static_cast<int>(std::bit_width(positions - 1)));
  const int passes = (bits + kRadixMaxBits - 1) / kRadixMaxBits;
  const int digit = (bits + passes - 1) / passes;
  const uint64_t mask = (uint64_t{1} << digit) - 1;
  std::vector<uint32_t> count(size_t{1} << digit);
  uint64_t* src = packed;
  uint64_t* dst = scratch;
  for (int pass = 0; pass < passes; ++pass) {
    const int shift = 32 + pass * digit;
    std::fill(count.begin(), count.end(), 0);
    for (size_t i = 0; i < n; ++i) ++count[(src[i] >> shift) & mask];
    uint32_t sum = 0;
    for (uint32_t& c : count) sum += std::exchange(c, sum);
    for (size_t i = 0; i < n; ++i) dst[count[(src[i] >> shift) & mask]++] = src[i];
    std::swap(src, dst);
  }
  return src;
}

inline uint32_t IndexOf(uint64_t packed) { return static_cast<uint32_t>(packed); }

// The rows of keys[0, count): start[i] and band[i * W, (i + 1) * W).
template <int W>
void HashRows(const Block* keys, size_t count, uint64_t seed, size_t m, size_t w, uint32_t* start,
              uint64_t* band, Block* tmp) {
  const uint64_t positions = m - w + 1;
  const uint64_t top_mask = (w % 64 == 0) ? ~0ULL : (1ULL << (w % 64)) - 1;
  const int blocks = static_cast<int>((64 + w + 127) / 128);
  for (int j = 0; j < blocks; ++j) {
    AesEcb(Block{seed, kRowKeyTag | static_cast<uint64_t>(j)}, keys, tmp, count);
    for (size_t i = 0; i < count; ++i) {
      const Block h = tmp[i] ^ keys[i];  // MMO: not invertible even though K_j is public
      uint64_t* b = band + i * W;
      if (j == 0) {
        start[i] = StartOf(h, positions);
        b[0] = h.hi;
      } else {
        const int word = 2 * j - 1;
        if (word < W) b[word] = h.lo;
        if (word + 1 < W) b[word + 1] = h.hi;
      }
    }
  }
  for (size_t i = 0; i < count; ++i) {
    band[i * W] |= 1;  // bit 0 set: the row's first column is start(k)
    band[i * W + W - 1] &= top_mask;
  }
}

// x ⊕ P[start + j] over the set bits j of band (about w/2 of them).
template <int W>
Block CombineScalar(const Block* P, uint32_t start, const uint64_t* band, Block x) {
  for (int word = 0; word < W; ++word) {
    uint64_t bits = band[word];
    const Block* base = P + start + 64 * word;
    while (bits != 0) {
      x ^= base[std::countr_zero(bits)];
      bits &= bits - 1;
    }
  }
  return x;
}

bool HaveAvx512() {
  static const bool have = __builtin_cpu_supports("avx512f");
  return have;
}

// The 64-bit lanes of four Blocks that a nibble of band bits selects (bit i → lanes 2i, 2i + 1).
constexpr std::array<uint8_t, 16> kNibbleLanes = [] {
  std::array<uint8_t, 16> t{};
  for (int v = 0; v < 16; ++v) {
    for (int b = 0; b < 4; ++b) t[v] |= static_cast<uint8_t>(((v >> b) & 1) * (3 << (2 * b)));
  }
  return t;
}();

// GCC 12's AVX-512 intrinsics start from _mm512_undefined_epi32(), which -W(maybe-)uninitialized
// reports as uninitialised (GCC bug 105593, fixed in GCC 13).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
// CombineScalar without branches: four Blocks per masked load, the mask from four band bits. A
// masked-off Block is not read, so the band may end anywhere in P.
template <int W>
__attribute__((target("avx512f"))) Block CombineAvx512(const Block* P, uint32_t start,
                                                       const uint64_t* band, Block x) {
  // Two accumulators: two loads in flight per XOR latency.
  __m512i acc0 = _mm512_setzero_si512(), acc1 = _mm512_setzero_si512();
  for (int word = 0; word < W; ++word) {
    const uint64_t bits = band[word];
    const Block* base = P + start + 64 * word;
    for (int q = 0; q < 16; q += 2) {
      const __mmask8 lanes0 = kNibbleLanes[(bits >> (4 * q)) & 15];
      const __mmask8 lanes1 = kNibbleLanes[(bits >> (4 * q + 4)) & 15];
      acc0 = _mm512_xor_si512(acc0, _mm512_maskz_loadu_epi64(lanes0, base + 4 * q));
      acc1 = _mm512_xor_si512(acc1, _mm512_maskz_loadu_epi64(lanes1, base + 4 * q + 4));
    }
  }
  const __m512i a = _mm512_xor_si512(acc0, acc1);
  const __m256i h = _mm256_xor_si256(_mm512_castsi512_si256(a), _mm512_extracti64x4_epi64(a, 1));
  const __m128i l = _mm_xor_si128(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
  Block r;
  _mm_storeu_si128(reinterpret_cast<__m128i*>(&r), l);
  return r ^ x;
}
#pragma GCC diagnostic pop

template <int W>
inline Block Combine(bool avx512, const Block* P, uint32_t start, const uint64_t* band, Block x) {
  return avx512 ? CombineAvx512<W>(P, start, band, x) : CombineScalar<W>(P, start, band, x);
}

// Calls visit(lo, hi, rows) for consecutive chunks [lo, hi) of `sorted` (packed start/index
// values, in start order), in parallel; rows holds the chunk's starts and bands in that order.
// keys are read through the indices (prefetched ahead).
template <int W, typename Visit>
void ForSortedRows(const OkvsParams& p, const Block* keys, uint64_t seed, const uint64_t* sorted,
                   size_t n, const Visit& visit) {
  ParallelFor(static_cast<int64_t>(n), kSortedGrain, [&](int64_t begin, int64_t end) {
    std::vector<Block> gathered(kHashBatch), tmp(kHashBatch);
    std::vector<uint32_t> start(kHashBatch);
    std::vector<uint64_t> band(kHashBatch * W);
    for (int64_t lo = begin; lo < end; lo += static_cast<int64_t>(kHashBatch)) {
      const size_t len = std::min<size_t>(kHashBatch, end - lo);
      for (size_t k = 0; k < len; ++k) {
        if (lo + k + kSortedAhead < static_cast<size_t>(end)) {
          __builtin_prefetch(&keys[IndexOf(sorted[lo + k + kSortedAhead])]);
        }
        gathered[k] = keys[IndexOf(sorted[lo + k])];
      }
      HashRows<W>(gathered.data(), len, seed, p.m, p.band_width, start.data(), band.data(),
                  tmp.data());
      visit(static_cast<size_t>(lo), len, start.data(), band.data());
    }
  });
}

template <int W>
void DecodeImpl(const OkvsParams& p, const Block* P, const Block* keys, size_t count, uint64_t seed,
                Block* out) {
  if (count == 0) return;
  const uint64_t positions = p.m - p.band_width + 1;
  const bool avx512 = HaveAvx512();
  // Keys in start order, so that consecutive windows of P overlap and P is read as a stream
  // instead of one random w-Block window per key.
  const size_t batch = std::min(count, kDecodeSortBatch);
  ScratchArray<uint64_t> packed(batch), scratch(batch);
  for (size_t b = 0; b < count; b += batch) {
    const size_t len = std::min(batch, count - b);
    ParallelFor(static_cast<int64_t>(len), static_cast<int64_t>(kHashBatch),
                [&](int64_t lo, int64_t hi) {
                  std::vector<Block> tmp(kHashBatch);
                  for (int64_t c = lo; c < hi; c += static_cast<int64_t>(kHashBatch)) {
                    HashStarts(keys + b + c, std::min<size_t>(kHashBatch, hi - c), seed, positions,
                               static_cast<size_t>(c), &packed[c], tmp.data());
                  }
                });
    const uint64_t* sorted = SortByStart(packed.data(), scratch.data(), len, positions);
    Block* const dst = out + b;
    ForSortedRows<W>(p, keys + b, seed, sorted, len,
                     [&](size_t lo, size_t rows, const uint32_t* start, const uint64_t* band) {
                       for (size_t k = 0; k < rows; ++k) {
                         if (k + kSortedAhead < rows) {
                           __builtin_prefetch(&dst[IndexOf(sorted[lo + k + kSortedAhead])], 1);
                           const Block* end = P + start[k + kSortedAhead] + p.band_width;
                           for (int line = 1; line <= kDecodeWindowLines; ++line) {
                             __builtin_prefetch(end - 4 * line);
                           }
                         }
                         dst[IndexOf(sorted[lo + k])] =
                             Combine<W>(avx512, P, start[k], &band[k * W], Block{});
                       }
                     });
  }
}

bool HasDuplicate(const Block* keys, size_t n) {
  std::vector<Block> sorted(keys, keys + n);
  std::sort(sorted.begin(), sorted.end());
  return std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end();
}

// dst ^= (src >> d) & mask (as W-word little-endian bit vectors), 0 ≤ d < 64·W.
template <int W>
inline void XorShifted(uint64_t* dst, const uint64_t* src, uint32_t d, uint64_t mask) {
  const uint32_t q = d / 64;
  const uint32_t r = d % 64;
  if (r == 0) {
    for (uint32_t k = 0; k + q < W; ++k) dst[k] ^= src[k + q] & mask;
  } else {
    for (uint32_t k = 0; k + q < W; ++k) {
      uint64_t v = src[k + q] >> r;
      if (k + q + 1 < W) v |= src[k + q + 1] << (64 - r);
      dst[k] ^= v & mask;
    }
  }
}

template <int W>
Status EncodeImpl(const OkvsParams& p, const Block* keys, const Block* values, size_t n,
                  uint64_t seed, Block* out, Prg* free_columns) {
  // Free columns (and, until back substitution overwrites them, the pivot columns) are random.
  if (free_columns != nullptr) {
    free_columns->Fill(out, p.m * sizeof(Block));
  } else {
    Prg fresh(RandomSeed());
    fresh.Fill(out, p.m * sizeof(Block));
  }
  if (n == 0) return Status::Ok();

  // 1. Sort keys: start and index of every key, sorted by start.
  const uint64_t positions = p.m - p.band_width + 1;
  ScratchArray<uint64_t> packed(n), scratch(n);
  ParallelFor(static_cast<int64_t>(n), static_cast<int64_t>(kHashBatch),
              [&](int64_t lo, int64_t hi) {
                std::vector<Block> tmp(kHashBatch);
                for (int64_t c = lo; c < hi; c += static_cast<int64_t>(kHashBatch)) {
                  HashStarts(keys + c, std::min<size_t>(kHashBatch, hi - c), seed, positions,
                             static_cast<size_t>(c), &packed[c], tmp.data());
                }
              });
  const uint64_t* sorted = SortByStart(packed.data(), scratch.data(), n, positions);

  // 2. The rows and values in start order (keys and values read through the sorted indices).
  ScratchArray<uint32_t> s_start(n);
  ScratchArray<uint64_t> s_band(n * W);
  ScratchArray<Block> s_val(n);
  ForSortedRows<W>(p, keys, seed, sorted, n,
                   [&](size_t lo, size_t rows, const uint32_t* start, const uint64_t* band) {
                     std::copy(start, start + rows, &s_start[lo]);
                     std::copy(band, band + rows * W, &s_band[lo * W]);
                     for (size_t k = 0; k < rows; ++k) {
                       if (k + kSortedAhead < rows) {
                         __builtin_prefetch(&values[IndexOf(sorted[lo + k + kSortedAhead])]);
                       }
                       s_val[lo + k] = values[IndexOf(sorted[lo + k])];
                     }
                   });
  packed = ScratchArray<uint64_t>();
  scratch = ScratchArray<uint64_t>();

  // 3. Elimination in start order. Invariant: when row i is reached it is zero at the pivot of
  // every earlier row, so pivots are distinct and row i's other columns are free columns or
  // pivots of later rows.
  ScratchArray<uint32_t> pivot(n);
  for (size_t i = 0; i < n; ++i) {
    uint64_t* bi = &s_band[i * W];
    int word = 0;
    while (word < W && bi[word] == 0) ++word;
    if (word == W) {
      if (HasDuplicate(keys, n)) {
        return AlgorithmError("duplicate_key", "OKVS encode: two keys are equal");
      }
      return AlgorithmError("okvs_encode_failed",
                            fmt::format("OKVS encode: singular band system ({}; seed {}); "
                                        "retry with another seed",
                                        p.ToString(), seed));
    }
    const uint32_t si = s_start[i];
    const uint32_t piv = si + 64 * word + std::countr_zero(bi[word]);
    pivot[i] = piv;
    const Block vi = s_val[i];
    for (size_t j = i + 1; j < n && s_start[j] <= piv; ++j) {
      const uint32_t off = piv - s_start[j];
      uint64_t* bj = &s_band[j * W];
      // Branch-free: whether row j has the pivot column set is a coin flip.
      const uint64_t mask = 0 - ((bj[off / 64] >> (off % 64)) & 1);
      XorShifted<W>(bj, bi, s_start[j] - si, mask);
      s_val[j] ^= vi & Block{mask, mask};
    }
  }

  // 4. Back substitution, last row first.
  const bool avx512 = HaveAvx512();
  for (size_t i = n; i-- > 0;) {
    uint64_t* bi = &s_band[i * W];
    const uint32_t off = pivot[i] - s_start[i];
    bi[off / 64] &= ~(1ULL << (off % 64));
    out[pivot[i]] = Combine<W>(avx512, out, s_start[i], bi, s_val[i]);
  }
  return Status::Ok();
}

}  // namespace

OkvsParams OkvsParams::ForItems(size_t n, int stat_sec_bits) {
  OkvsParams p;
  p.n = n;
  p.stat_sec_bits = stat_sec_bits;
  const double extra_log_n = std::max(0.0, std::log2(std::max<double>(n, 1)) - 12.0);
  const double w = std::ceil((stat_sec_bits + extra_log_n + kOkvsWidthMarginBits + kOkvsFitOffset) /
                             kOkvsFitSlope);
  p.band_width = std::clamp<size_t>(static_cast<size_t>(w), 8, kOkvsMaxBandWidth);
  p.m =
      std::max<size_t>(static_cast<size_t>(std::ceil((1.0 + kOkvsEpsilon) * n)), n + p.band_width);
  return p;
}

double OkvsParams::FailureBoundBits() const {
  const double extra_log_n = std::max(0.0, std::log2(std::max<double>(n, 1)) - 12.0);
  return kOkvsFitSlope * band_width - kOkvsFitOffset - extra_log_n;
}

std::string OkvsParams::ToString() const {
  return fmt::format("n={} m={} w={} m/n={:.3f}", n, m, band_width,
                     n == 0 ? 0.0 : static_cast<double>(m) / n);
}

StatusOr<Okvs> Okvs::Create(const OkvsParams& params) {
  if (params.band_width == 0 || params.band_width > kOkvsMaxBandWidth ||
      params.band_width > params.m) {
    return ParameterError("okvs_bad_params",
                          fmt::format("OKVS band width must be in [1, min(m, {})]: {}",
                                      kOkvsMaxBandWidth, params.ToString()));
  }
  if (params.n > params.m || params.m >= (size_t{1} << 32)) {
    return ParameterError("okvs_bad_params",
                          fmt::format("OKVS needs n ≤ m < 2^32: {}", params.ToString()));
  }
  return Okvs(params);
}

Status Okvs::Encode(const Block* keys, const Block* values, size_t n, uint64_t seed, Block* out,
                    Prg* free_columns) const {
  if (n > params_.n) {
    return ParameterError("okvs_too_many_items",
                          fmt::format("OKVS sized for {} items, got {}", params_.n, n));
  }
  switch (Words(params_.band_width)) {
    case 1:
      return EncodeImpl<1>(params_, keys, values, n, seed, out, free_columns);
    case 2:
      return EncodeImpl<2>(params_, keys, values, n, seed, out, free_columns);
    case 3:
      return EncodeImpl<3>(params_, keys, values, n, seed, out, free_columns);
    default:
      return EncodeImpl<4>(params_, keys, values, n, seed, out, free_columns);
  }
}

void Okvs::Decode(const Block* P, const Block* keys, size_t count, uint64_t seed,
                  Block* out) const {
  switch (Words(params_.band_width)) {
    case 1:
      return DecodeImpl<1>(params_, P, keys, count, seed, out);
    case 2:
      return DecodeImpl<2>(params_, P, keys, count, seed, out);
    case 3:
      return DecodeImpl<3>(params_, P, keys, count, seed, out);
    default:
      return DecodeImpl<4>(params_, P, keys, count, seed, out);
  }
}

}  // namespace veil::crypto
