#include "veil/ot/ea_code.h"

#include <algorithm>
#include <string>
#include <vector>

#include "veil/base/parallel.h"

namespace veil::ot {

namespace {

// Rows per ParallelFor chunk, and rows whose randomness and positions are generated together.
constexpr int64_t kRowGrain = 16384;
constexpr int64_t kRowBatch = 512;

}  // namespace

EaCode::EaCode(int64_t inputs, int64_t outputs, int weight, const crypto::Seed& seed)
    : inputs_(inputs), outputs_(outputs), weight_(weight), prg_(seed) {}

StatusOr<EaCode> EaCode::Create(int64_t inputs, int64_t outputs, int weight,
                                const crypto::Seed& seed) {
  if (inputs < 1 || outputs < 1 || weight < 1 || weight > kEaMaxWeight || weight > inputs) {
    return ParameterError("invalid_code_parameters", "EA code: inputs " + std::to_string(inputs) +
                                                         ", outputs " + std::to_string(outputs) +
                                                         ", weight " + std::to_string(weight));
  }
  return EaCode(inputs, outputs, weight, seed);
}

void EaCode::RowsFromRandom(const uint64_t* words, int64_t* pos) const {
  const auto n = static_cast<unsigned __int128>(inputs_);
  for (int r = 0; r < weight_; ++r) {
    auto p = static_cast<int64_t>((static_cast<unsigned __int128>(words[r]) * n) >> 64);
    // Linear probing keeps the row weight exactly w (w ≤ N, so a free index exists).
    while (std::find(pos, pos + r, p) != pos + r) p = (p + 1 == inputs_) ? 0 : p + 1;
    pos[r] = p;
  }
}

void EaCode::Row(int64_t j, int64_t* pos) const {
  uint64_t words[kEaMaxWeight + 1];
  prg_.FillAt(static_cast<uint64_t>(j * RowBlocks()), words,
              static_cast<size_t>(RowBlocks()) * sizeof(Block));
  RowsFromRandom(words, pos);
}

template <typename Lookup>
void EaCode::Expand(const Lookup& lookup, Block* y) const {
  const int64_t rb = RowBlocks();
  ParallelFor(outputs_, kRowGrain, [&](int64_t lo, int64_t hi) {
    std::vector<uint64_t> words(static_cast<size_t>(kRowBatch * rb * 2));
    std::vector<int64_t> pos(static_cast<size_t>(kRowBatch * weight_));
    for (int64_t j0 = lo; j0 < hi; j0 += kRowBatch) {
      const int64_t rows = std::min(kRowBatch, hi - j0);
      prg_.FillAt(static_cast<uint64_t>(j0 * rb), words.data(),
                  static_cast<size_t>(rows * rb) * sizeof(Block));
      for (int64_t r = 0; r < rows; ++r) {
        RowsFromRandom(words.data() + r * rb * 2, pos.data() + r * weight_);
      }
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t* p = pos.data() + r * weight_;
        Block acc;
        for (int k = 0; k < weight_; ++k) acc ^= lookup(p[k]);
        y[j0 + r] = acc;
      }
    }
  });
}

void EaCode::DualEncode(Block* x, Block* y) const {
  for (int64_t i = 1; i < inputs_; ++i) x[i] ^= x[i - 1];
  Expand([x](int64_t i) -> const Block& { return x[i]; }, y);
}

void EaCode::DualEncodeRegular(const uint32_t* punctured, const Block* values, int64_t blocks,
                               int block_log2, Block* y) const {
  // The accumulated noise is piecewise constant: prefix[b] = values[0] ⊕ … ⊕ values[b − 1] before
  // the noise entry of block b, prefix[b] ⊕ values[b] from it on.
  std::vector<Block> prefix(static_cast<size_t>(blocks) + 1);
  for (int64_t b = 0; b < blocks; ++b) prefix[b + 1] = prefix[b] ^ values[b];
  const uint32_t mask = (uint32_t{1} << block_log2) - 1;
  Expand(
      [&](int64_t i) -> Block {
        const int64_t b = i >> block_log2;
        return (static_cast<uint32_t>(i) & mask) >= punctured[b] ? prefix[b + 1] : prefix[b];
      },
      y);
}

}  // namespace veil::ot
