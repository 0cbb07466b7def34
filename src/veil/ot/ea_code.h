// Expand-Accumulate (EA) code: the LPN compression of silent VOLE (silent_vole.h). Boyle,
// Couteau, Gilboa, Ishai, Kohl, Resch and Scholl, "Correlated Pseudorandomness from
// Expand-Accumulate Codes" (CRYPTO 2022, eprint 2022/1014), §3 (the code) and §5 (its use as the
// compressing matrix of dual LPN).
//
// The code's generator is G = B·A (k × N, here "outputs" m × "inputs" N): A is the N × N upper
// triangular all-ones accumulator and B a sparse expander with m rows of fixed weight w and
// uniformly random column positions. Silent VOLE uses the dual encoding of a noise vector x ∈ F^N
// (F = GF(2^128), a GF(2)-linear map):
//
//   DualEncode(x):  x_i ← x_0 ⊕ … ⊕ x_i   (accumulate, in place)
//                   y_j = ⊕_{r<w} x_{pos(j, r)}   for j < m     (expand)
//
// The rows pos(j, ·) come from an AES-CTR stream (crypto::Prg) of a public seed, so both parties
// derive the same code without communication and random access to a row costs O(w). Each position
// is ⌊r·N / 2^64⌋ for a 64-bit PRG word r; a position that repeats within a row moves to the next
// free index (mod N), so every row has exactly w distinct entries.
//
// Cost: the expansion is m·w random reads of x (N·16 bytes, far beyond the caches at silent-VOLE
// sizes), issued a few rows ahead as prefetches so that many are in flight; generating the rows
// costs 16·⌈w/2⌉ bytes of AES-CTR per row. The accumulation is one sequential pass over x.
//
// Dual-LPN assumption (semi-honest PCG security, BCGIKS19 §5 with the EA code of BCGIRS22): for a
// public G of this shape and a regular noise vector e (t blocks of N/t, one uniform nonzero entry
// each), y = DualEncode(e) is pseudorandom. Parameters are in silent_vole.h.
//
// Thread safety: a const EaCode may be used from several threads; encoding parallelises
// internally (base ParallelFor). Movable, not copyable.
#pragma once

#include <cstdint>

#include "veil/base/status.h"
#include "veil/crypto/block.h"
#include "veil/crypto/prg.h"

namespace veil::ot {

using crypto::Block;

inline constexpr int kEaMaxWeight = 64;

class EaCode {
 public:
  // 1 ≤ inputs N < 2^32, outputs m ≥ 1 with weight w ≤ N; 1 ≤ w ≤ kEaMaxWeight.
  static StatusOr<EaCode> Create(int64_t inputs, int64_t outputs, int weight,
                                 const crypto::Seed& seed);

  int64_t inputs() const { return inputs_; }
  int64_t outputs() const { return outputs_; }
  int weight() const { return weight_; }

  // The w distinct positions of row j (j < outputs).
  void Row(int64_t j, int64_t* pos) const;

  // Accumulates x (inputs() blocks) in place, then y[j] = ⊕_r x[pos(j, r)] (outputs() blocks).
  void DualEncode(Block* x, Block* y) const;

  // DualEncode of the regular noise vector with values[i] at i·2^block_log2 + punctured[i]
  // (blocks·2^block_log2 == inputs()) and zero elsewhere, without materialising it.
  void DualEncodeRegular(const uint32_t* punctured, const Block* values, int64_t blocks,
                         int block_log2, Block* y) const;

  // DualEncode(x, y) and DualEncodeRegular(punctured, values, blocks, block_log2, y_regular) in
  // one pass over the rows, so each row is generated once (the silent-VOLE receiver's C and A).
  void DualEncodeWithRegular(Block* x, Block* y, const uint32_t* punctured, const Block* values,
                             int64_t blocks, int block_log2, Block* y_regular) const;

 private:
  EaCode(int64_t inputs, int64_t outputs, int weight, const crypto::Seed& seed);
  // Calls consume(j0, rows, pos) for consecutive batches of rows (pos: rows·w positions), in
  // parallel over disjoint ranges of rows.
  template <typename Consume>
  void ForEachRowBatch(const Consume& consume) const;
  int64_t RowBlocks() const { return (weight_ + 1) / 2; }
  // Positions of `rows` consecutive rows (w each) from their PRG words (2·RowBlocks() per row).
  void RowsFromRandom(const uint64_t* words, int64_t rows, uint32_t* pos) const;

  int64_t inputs_;
  int64_t outputs_;
  int weight_;
  crypto::Prg prg_;
};

}  // namespace veil::ot
