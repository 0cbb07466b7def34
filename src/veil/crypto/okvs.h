// RB-OKVS: the random-band oblivious key-value store of Bienstock, Patel, Seo and Yeo,
// "Near-Optimal Oblivious Key-Value Stores for Efficient PSI, PIR and Beyond" (USENIX Security
// 2023, eprint 2023/903): the construction of the paper's random band matrix OKVS and its
// O(n·w) band elimination; the parameter rule below is veil's own measurement of the same
// failure behaviour (section numbers of the paper are not cited: not verified here). It is the
// OKVS of veil's RR22 PSI (Raghuraman–Rindal, CCS 2022, eprint 2022/320): the receiver encodes
// {H(x) → value} and masks the encoding with a VOLE, the sender decodes at its own items.
//
// Definitions (over the field GF(2^128), addition = XOR of Blocks). An OKVS is a pair
//   Encode({(k_i, v_i)}_{i<n}) → P ∈ GF(2^128)^m   (or failure ⊥),
//   Decode(P, k) → GF(2^128),
// with
//   * correctness: if Encode succeeds, Decode(P, k_i) = v_i for every i;
//   * obliviousness (for random values, the property RR22 relies on): when the v_i are uniform and
//     independent, P is uniform in GF(2^128)^m whatever the (distinct) keys were, so P reveals
//     nothing about the keys. Encode gets this by drawing every free column of P at random.
//   * Decode is linear in P: Decode(P ⊕ Q, k) = Decode(P, k) ⊕ Decode(Q, k).
//
// Construction. A public seed (chosen by the encoder and sent with P) fixes the row hash
//   row(k) = (start(k) ∈ [0, m − w], band(k) ∈ {0,1}^w with bit 0 set),
// computed with fixed-key AES in MMO mode (h_j(k) = AES_{K_j}(k) ⊕ k, K_j = (seed, tag ‖ j)). Then
//   Decode(P, k) = ⊕_{j < w, band(k)_j = 1} P[start(k) + j].
// Encode solves the n × m system row(k_i)·P = v_i: rows are sorted by start (counting sort) and
// Gaussian elimination on the band proceeds row by row — a row only ever meets rows whose start
// lies inside its band, so the work is O(n·w) word operations — followed by back substitution in
// reverse order (O(n·w) Block XORs). Non-pivot columns are filled with randomness.
//
// Parameters and failure probability. The system is singular with a probability that, for a
// fixed expansion ε (m = (1 + ε)·n), falls exponentially in the band width w, and (over the
// places where the band can overflow) grows about linearly in n; the paper determines the
// (ε, w) trade-off experimentally in the same way. veil fixes ε = 0.10 and measured this
// implementation (n = 2^10, 40 000 encodings per width; docs/BENCHMARKS.md "RR22 building blocks:
// OKVS"): −log2(failure) = 2.85, 4.91, 7.07, 9.24, 11.83 at w = 32, 40, 48, 56, 64, i.e.
// ≈ 0.28·w − 6.1, and two bits lower at n = 2^12. ForItems uses the weaker line
//   −log2 failure(n, w) ≥ kOkvsFitSlope·w − kOkvsFitOffset − max(0, log2(n) − 12)
//                        = 0.25·w − 7 − max(0, log2(n) − 12)
// and solves it for λ + kOkvsWidthMarginBits (4 bits of margin for extrapolating the fit):
//   w = ⌈(λ + 4 + 7 + max(0, log2 n − 12)) / 0.25⌉  →  λ = 40: w = 220 (2^16), 236 (2^20),
//   252 (2^24); m/n = 1.10. okvs_test.cc checks the measured rate against the line at weak
// widths and that the chosen parameters never fail over many trials. Small sets (ε·n < w) get
// m = n + w columns: then every row spans nearly all of P and the system is close to a random
// dense one, singular with probability about 2^-(m − n) = 2^-w. A failure is reported as
// AlgorithmError "okvs_encode_failed"; the caller retries with another seed (the seed is
// public, so a retry leaks only that the first seed failed).
//
// Thread safety: an Okvs is an immutable value; Encode and Decode may run concurrently. Both
// split their work across base ParallelFor (hashing, putting the rows in start order with a radix
// sort; evaluating), the elimination and back substitution are sequential. Both visit the rows in
// start order, so P is read as a stream; with AVX-512 a row's window of P is combined four Blocks
// at a time with masked loads instead of bit by bit.
// Memory: Encode uses about 36 + 8·⌈w/64⌉ bytes of transient buffers per item (68 at w ≤ 256),
// Decode 16 bytes per key for at most 2^22 keys at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "veil/base/status.h"
#include "veil/crypto/block.h"
#include "veil/crypto/prg.h"

namespace veil::crypto {

// Expansion m/n - 1 used by ForItems.
inline constexpr double kOkvsEpsilon = 0.10;
// Conservative line for −log2(failure) against w at ε = 0.10, n ≤ 2^12 (see above).
inline constexpr double kOkvsFitSlope = 0.25;
inline constexpr double kOkvsFitOffset = 7.0;
// Extra security bits added to λ before solving for w.
inline constexpr double kOkvsWidthMarginBits = 4.0;
// Widest band supported (four 64-bit words per row).
inline constexpr size_t kOkvsMaxBandWidth = 256;

struct OkvsParams {
  size_t n = 0;           // number of key-value pairs an encoding holds (at most)
  size_t m = 0;           // columns of the encoding (Blocks)
  size_t band_width = 0;  // w, bits per row
  int stat_sec_bits = 0;  // λ the parameters were chosen for (informational)

  // Parameters for n items with failure probability ≤ 2^-stat_sec_bits (ε = kOkvsEpsilon).
  static OkvsParams ForItems(size_t n, int stat_sec_bits = 40);
  // −log2 of the failure-probability bound for these parameters (the model of the header).
  double FailureBoundBits() const;
  std::string ToString() const;
};

class Okvs {
 public:
  // Checks 0 < band_width ≤ min(m, kOkvsMaxBandWidth), n ≤ m, m < 2^32.
  static StatusOr<Okvs> Create(const OkvsParams& params);

  const OkvsParams& params() const { return params_; }

  // Writes the m-Block encoding of keys[i] → values[i] (i < n ≤ params().n) to out (m Blocks).
  // Free columns come from `free_columns` (a fresh OS-seeded PRG when null), so an encoding is
  // deterministic given (keys, values, seed, free_columns' state).
  // Errors: ParameterError "okvs_too_many_items"; AlgorithmError "duplicate_key" (two equal
  // keys); AlgorithmError "okvs_encode_failed" (singular system: retry with another seed).
  // On error `out` holds garbage.
  Status Encode(const Block* keys, const Block* values, size_t n, uint64_t seed, Block* out,
                Prg* free_columns = nullptr) const;

  // out[i] = Decode(P, keys[i]) for i < count; P has m Blocks, encoded with the same seed.
  void Decode(const Block* P, const Block* keys, size_t count, uint64_t seed, Block* out) const;

 private:
  explicit Okvs(const OkvsParams& params) : params_(params) {}
  OkvsParams params_;
};

}  // namespace veil::crypto
