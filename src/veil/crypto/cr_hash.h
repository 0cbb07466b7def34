// Correlation-robust hashing from fixed-key AES-128, for turning correlated OTs into random OTs
// (veil/ot/iknp.h).
//
//   CcrHash(in, out, n):  out[i] = π(σ(in[i])) ⊕ σ(in[i])
//
// π is AES-128 under a fixed public key (kFixedAesKey) and σ(x_L ‖ x_R) = (x_L ⊕ x_R) ‖ x_L is a
// linear orthomorphism (x_L the high 64 bits). This is the MMO construction of Guo, Katz, Wang
// and Yu, "Efficient and Secure Multiparty Computation from Fixed-Key Block Ciphers" (IEEE S&P
// 2020, eprint 2019/074), §7.3: modelling π as a random permutation, it is circular correlation
// robust — for a secret uniform Δ, the values H(x_i ⊕ Δ) look uniform and independent even given
// the x_i — which is the property the OT extension of Ishai et al. needs when the sender outputs
// H(q) and H(q ⊕ Δ). One AES call per hashed block.
//
// Thread safety: free functions, safe to call concurrently (each call has its own cipher
// context). Hash in batches: a call costs one context set-up (about a microsecond).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "veil/crypto/block.h"

namespace veil::crypto {

// The fixed public AES key: the first 128 bits of the fractional part of π (a nothing-up-my-sleeve
// constant; any fixed public key serves in the random-permutation model).
inline constexpr std::array<uint8_t, 16> kFixedAesKey = {
    0x24, 0x3f, 0x6a, 0x88, 0x85, 0xa3, 0x08, 0xd3, 0x13, 0x19, 0x8a, 0x2e, 0x03, 0x70, 0x73, 0x44};

// out[i] = π(in[i]) for the fixed key (exposed for known-answer tests). `in` may equal `out`.
void FixedKeyAes(const Block* in, Block* out, size_t n);

// out[i] = π(σ(in[i])) ⊕ σ(in[i]). `in` may equal `out`.
void CcrHash(const Block* in, Block* out, size_t n);

// out[i] = AES-128_key(in[i]) (ECB, no padding) under a secret or public key: the keyed
// pseudorandom permutation behind KKRT's pseudorandom code (ot/kkrt_ote.h). `in` may equal `out`.
// Key set-up costs about a microsecond per call, so encrypt in batches.
void AesEcb(const Block& key, const Block* in, Block* out, size_t n);

}  // namespace veil::crypto
