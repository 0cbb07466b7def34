// Regular puncturable PRF from GGM trees: the sparse-noise step of silent VOLE (silent_vole.h).
// Goldreich, Goldwasser and Micali's tree PRF, punctured as in Boyle, Couteau, Gilboa, Ishai,
// Kohl and Scholl, "Efficient Pseudorandom Correlation Generators: Silent OT Extension and More"
// (CRYPTO 2019, eprint 2019/448), §4 (puncturable PRF from OT, Fig. 5 for the regular variant):
// one tree of depth d per noise block; the receiver, holding punctured index α < 2^d, learns at
// every level ℓ the XOR K_{1−α_ℓ}^ℓ of all sender nodes on the side it does not follow, through
// one 1-out-of-2 OT per level, and from it every leaf except leaf α.
//
// Tree PRG: G(x) = (π₀(x) ⊕ x, π₁(x) ⊕ x) with π_b AES-128 under two fixed public keys (the
// π digits after the correlation-robust hash's key, crypto/cr_hash.h): length-doubling in the
// random-permutation model (the Davies–Meyer/MMO argument of Guo, Katz, Wang and Yu, S&P 2020,
// §7), as in libOTe's PPRF. VAES (512- or 256-bit) or AES-NI when the CPU has it, OpenSSL
// otherwise.
//
// These functions are local computations; the OTs and messages are in silent_vole.cc. Level ℓ
// (0 ≤ ℓ < d) goes from depth ℓ to ℓ + 1; the bit followed there is α_ℓ = (α >> (d − 1 − ℓ)) & 1.
// Leaves of tree i occupy leaves[i·2^d, (i + 1)·2^d). Parallel over trees (base ParallelFor).
// Thread safety: pure functions on caller-owned buffers.
#pragma once

#include <cstddef>
#include <cstdint>

#include "veil/crypto/block.h"

namespace veil::ot {

using crypto::Block;

inline constexpr int kPprfMaxDepth = 24;

// out[2j] = π₀(in[j]) ⊕ in[j], out[2j + 1] = π₁(in[j]) ⊕ in[j] for j < n (out must not alias in).
void GgmExpandLevel(const Block* in, size_t n, Block* out);

// The PRG's two fixed public AES keys (for known-answer tests).
Block GgmKey(int b);

// Sender: expands trees[i] from seeds[i]; level_sums[(i·depth + ℓ)·2 + b] = XOR of the nodes at
// depth ℓ + 1 whose last path bit is b; tree_sums[i] = XOR of tree i's leaves. 1 ≤ depth ≤
// kPprfMaxDepth.
void PprfSenderExpand(const Block* seeds, int64_t trees, int depth, Block* leaves,
                      Block* level_sums, Block* tree_sums);

// Receiver: punctured[i] < 2^depth; sibling_sums[i·depth + ℓ] = the sender's
// level_sums[(i·depth + ℓ)·2 + 1 − α_ℓ]. Writes every leaf of tree i except punctured[i] equal to
// the sender's, and zero at punctured[i].
void PprfReceiverExpand(const uint32_t* punctured, const Block* sibling_sums, int64_t trees,
                        int depth, Block* leaves);

}  // namespace veil::ot
