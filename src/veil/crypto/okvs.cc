#include "veil/crypto/okvs.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "veil/base/parallel.h"
#include "veil/crypto/cr_hash.h"

namespace veil::crypto {

namespace {

// Keys hashed per AES call (the EVP context set-up costs about a microsecond).
constexpr size_t kHashBatch = 4096;
// Keys a decode task hashes, sorts by start and evaluates together: enough that their windows of
// P overlap (m / kDecodeBatch columns apart on average), few enough to stay in L2.
constexpr size_t kDecodeBatch = 1 << 15;
// Domain tag in the high word of the per-output AES keys K_j = (seed, tag | j).
constexpr uint64_t kRowKeyTag = 0x524230'4b565300ULL;  // "RB0KVS\0" + j

size_t Words(size_t w) { return (w + 63) / 64; }

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
        start[i] = static_cast<uint32_t>((static_cast<unsigned __int128>(h.lo) * positions) >>
                                         64);  // ⌊h·positions / 2^64⌋
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

// x ⊕ P[start + j] over the set bits j of band.
template <int W>
inline Block Combine(const Block* P, uint32_t start, const uint64_t* band, Block x) {
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

template <int W>
void DecodeImpl(const OkvsParams& p, const Block* P, const Block* keys, size_t count, uint64_t seed,
                Block* out) {
  const uint64_t positions = p.m - p.band_width + 1;
  ParallelFor(static_cast<int64_t>(count), static_cast<int64_t>(kDecodeBatch),
              [&](int64_t begin, int64_t end) {
                std::vector<uint32_t> start(kDecodeBatch), order(kDecodeBatch);
                std::vector<uint32_t> bucket(kDecodeBatch + 1);
                std::vector<uint64_t> band(kDecodeBatch * W);
                std::vector<Block> tmp(kHashBatch);
                for (int64_t b = begin; b < end; b += kDecodeBatch) {
                  const size_t len = std::min<size_t>(kDecodeBatch, end - b);
                  for (size_t h = 0; h < len; h += kHashBatch) {
                    HashRows<W>(keys + b + h, std::min(kHashBatch, len - h), seed, p.m,
                                p.band_width, &start[h], &band[h * W], tmp.data());
                  }
                  // Visit the rows in (coarse) start order, so that P is read as a stream
                  // instead of one random w-Block window per key.
                  std::fill(bucket.begin(), bucket.begin() + len + 1, 0);
                  for (size_t i = 0; i < len; ++i) ++bucket[start[i] * len / positions + 1];
                  for (size_t k = 0; k < len; ++k) bucket[k + 1] += bucket[k];
                  for (size_t i = 0; i < len; ++i) {
                    order[bucket[start[i] * len / positions]++] = static_cast<uint32_t>(i);
                  }
                  for (size_t k = 0; k < len; ++k) {
                    const uint32_t i = order[k];
                    out[b + i] = Combine<W>(P, start[i], &band[size_t{i} * W], Block{});
                  }
                }
              });
}

bool HasDuplicate(const Block* keys, size_t n) {
  std::vector<Block> sorted(keys, keys + n);
  std::sort(sorted.begin(), sorted.end());
  return std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end();
}

// dst ^= src >> d (as W-word little-endian bit vectors), 0 ≤ d < 64·W.
template <int W>
inline void XorShifted(uint64_t* dst, const uint64_t* src, uint32_t d) {
  const uint32_t q = d / 64;
  const uint32_t r = d % 64;
  if (r == 0) {
    for (uint32_t k = 0; k + q < W; ++k) dst[k] ^= src[k + q];
  } else {
    for (uint32_t k = 0; k + q < W; ++k) {
      uint64_t v = src[k + q] >> r;
      if (k + q + 1 < W) v |= src[k + q + 1] << (64 - r);
      dst[k] ^= v;
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

  // 1. Rows in input order.
  std::vector<uint32_t> start(n);
  std::vector<uint64_t> band(n * W);
  ParallelFor(
      static_cast<int64_t>(n), static_cast<int64_t>(kHashBatch), [&](int64_t begin, int64_t end) {
        std::vector<Block> tmp(kHashBatch);
        for (int64_t b = begin; b < end; b += kHashBatch) {
          const size_t len = std::min<size_t>(kHashBatch, end - b);
          HashRows<W>(keys + b, len, seed, p.m, p.band_width, &start[b], &band[b * W], tmp.data());
        }
      });

  // 2. Counting sort by start.
  const size_t positions = p.m - p.band_width + 1;
  std::vector<uint32_t> order(n);
  {
    std::vector<uint32_t> bucket(positions + 1, 0);
    for (size_t i = 0; i < n; ++i) ++bucket[start[i] + 1];
    for (size_t s = 0; s < positions; ++s) bucket[s + 1] += bucket[s];
    for (size_t i = 0; i < n; ++i) order[bucket[start[i]]++] = static_cast<uint32_t>(i);
  }
  std::vector<uint32_t> s_start(n);
  std::vector<uint64_t> s_band(n * W);
  std::vector<Block> s_val(n);
  ParallelFor(static_cast<int64_t>(n), 1 << 14, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const uint32_t src = order[i];
      s_start[i] = start[src];
      s_val[i] = values[src];
      for (int k = 0; k < W; ++k) s_band[i * W + k] = band[size_t{src} * W + k];
    }
  });
  std::vector<uint32_t>().swap(start);
  std::vector<uint64_t>().swap(band);
  std::vector<uint32_t>().swap(order);

  // 3. Elimination in start order. Invariant: when row i is reached it is zero at the pivot of
  // every earlier row, so pivots are distinct and row i's other columns are free columns or
  // pivots of later rows.
  std::vector<uint32_t> pivot(n);
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
      if ((bj[off / 64] >> (off % 64)) & 1) {
        XorShifted<W>(bj, bi, s_start[j] - si);
        s_val[j] ^= vi;
      }
    }
  }

  // 4. Back substitution, last row first.
  for (size_t i = n; i-- > 0;) {
    uint64_t* bi = &s_band[i * W];
    const uint32_t off = pivot[i] - s_start[i];
    bi[off / 64] &= ~(1ULL << (off % 64));
    out[pivot[i]] = Combine<W>(out, s_start[i], bi, s_val[i]);
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
