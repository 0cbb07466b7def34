// Batched related-key OPRF (BaRK-OPRF) from OT extension with a pseudorandom code: Kolesnikov,
// Kumaresan, Rosulek and Trieu, "Efficient Batched Oblivious PRF with Applications to Private Set
// Intersection" (CCS 2016, eprint 2016/799), §3 (1-out-of-∞ OT from IKNP with a code C of width
// w instead of the repetition code) and §4 (the pseudorandom code and the resulting OPRF).
//
// This is IKNP (iknp.h) generalised from width κ = 128 to w = 512 = kKkrtCodeBlocks · 128:
//
// Set-up: w base OTs (base_ot.h) with roles reversed — the OPRF sender is the base-OT receiver
// with secret choice bits s ∈ {0,1}^w, the OPRF receiver the base-OT sender with key pairs
// (k_i^0, k_i^1); each key seeds an AES-CTR PRG. The sender then draws the pseudorandom code's
// AES key and sends it (public; it only has to be independent of the inputs):
//     C(x) = AES_k(x ⊕ 0) ‖ AES_k(x ⊕ 1) ‖ AES_k(x ⊕ 2) ‖ AES_k(x ⊕ 3)      (x a 128-bit input)
//
// Extend(m) — receiver → sender, 64 bytes per OT, in messages of up to 16384 OTs:
//   receiver (inputs r_j):  c^i = column i of the m × w matrix with rows C(r_j),
//                           t^i = G(k_i^0),  u^i = t^i ⊕ G(k_i^1) ⊕ c^i          (i < w)
//   sender:                 q^i = G(k_i^{s_i}) ⊕ s_i·u^i = t^i ⊕ s_i·c^i
// Row-wise (after 128 × 128 bit transpositions) q_j = t_j ⊕ (C(r_j) ∧ s). The OPRF of instance j
// (absolute OT index J, a caller tweak τ) is
//     F_j(x) = H(J, τ, q_j ⊕ (C(x) ∧ s)),   and the receiver's output is F_j(r_j) = H(J, τ, t_j).
// H chains the fixed-key correlation-robust hash of crypto/cr_hash.h over the four 128-bit
// pieces: h ← (J, τ); h ← CcrHash(h ⊕ piece_g) for g = 0…3 (CBC-MMO), modelled as a random
// oracle as the paper's H is (§3–4).
//
// Security model: semi-honest, static corruption of either party. For x ≠ r_j the sender's
// value differs from t_j by (C(x) ⊕ C(r_j)) ∧ s; with a 512-bit pseudorandom code the Hamming
// distance of C(x) ⊕ C(r_j) is ≥ 128 except with negligible probability (§4: a pseudorandom
// code of width ≈ 424–512 bits suffices for κ = 128), so κ bits of s stay unknown to the
// receiver and F_j(x) is pseudorandom to it; the sender sees only u^i, pseudorandom without
// k_i^{1−s_i}. Like the paper's construction, the OPRF keys of the m instances are related
// (shared s), which is why the index J enters H. Not secure against a malicious receiver (no
// consistency check, cf. Orrù–Orsini–Scholl 2017).
//
// Both parties must call Extend with the same counts in the same order (the PRGs advance in
// lock-step). Memory: the sender keeps the q rows of its last Extend (64 bytes per OT).
// Thread safety: an instance is used from one thread at a time (it parallelises internally with
// base ParallelFor). The link::Context must outlive it.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "veil/base/status.h"
#include "veil/crypto/block.h"
#include "veil/crypto/prg.h"
#include "veil/link/context.h"

namespace veil::ot {

using crypto::Block;

inline constexpr int kKkrtCodeBlocks = 4;                   // w = 512 bits
inline constexpr int kKkrtBaseOts = 128 * kKkrtCodeBlocks;  // one base OT per code bit

// C(x) for n inputs: out[4k + g] = AES_key(in[k] ⊕ g) (4n blocks). Parallel over chunks.
void KkrtCode(const Block& key, const Block* in, int64_t n, Block* out);

// H(J, τ, row) for n rows of 4 blocks: out[k] = H(index[k], tweak[k], rows[4k … 4k+3]).
void KkrtHash(const uint64_t* index, const uint32_t* tweak, const Block* rows, int64_t n,
              Block* out);

class KkrtOprfSender {
 public:
  // Collective with the peer's KkrtOprfReceiver::Setup on the same tag.
  static StatusOr<KkrtOprfSender> Setup(link::Context* ctx, size_t peer, std::string tag);
  KkrtOprfSender(KkrtOprfSender&&) noexcept = default;
  KkrtOprfSender& operator=(KkrtOprfSender&&) noexcept = default;

  // The next `count` OPRF instances (receives the receiver's matrix). Replaces the previous
  // batch: Evaluate then refers to instances [base(), base() + count).
  Status Extend(int64_t count);
  // Absolute index of the current batch's first instance, and its size.
  uint64_t base() const { return base_; }
  int64_t count() const { return count_; }
  // masked[4k … 4k+3] = C(x_k) ∧ s: the input-dependent half of an evaluation, computed once per
  // input and reusable for several instances.
  void Mask(const Block* x, int64_t n, Block* masked) const;
  // out[k] = F_{slot[k]}(x_⌊k/u⌋) with tweak[k], slot relative to the current batch
  // (< count()), given masked = Mask(x) and u = uses_per_mask ≥ 1 consecutive instances per
  // input (KKRT PSI evaluates each sender input at its 3 cuckoo bins).
  void Evaluate(const int64_t* slot, const uint32_t* tweak, const Block* masked, int64_t n,
                Block* out, int64_t uses_per_mask = 1) const;

 private:
  KkrtOprfSender() = default;
  link::Context* ctx_ = nullptr;
  size_t peer_ = 0;
  std::string tag_;
  Block code_key_;
  std::array<Block, kKkrtCodeBlocks> s_;
  std::vector<crypto::Prg> prgs_;  // G(k_i^{s_i})
  std::vector<Block> q_;           // current batch, 4 blocks per instance
  std::vector<Block> rows_;        // scratch: one tile of the w-row matrix
  uint64_t base_ = 0;
  int64_t count_ = 0;
  uint64_t seq_ = 0;
};

class KkrtOprfReceiver {
 public:
  // Collective with the peer's KkrtOprfSender::Setup on the same tag.
  static StatusOr<KkrtOprfReceiver> Setup(link::Context* ctx, size_t peer, std::string tag);
  KkrtOprfReceiver(KkrtOprfReceiver&&) noexcept = default;
  KkrtOprfReceiver& operator=(KkrtOprfReceiver&&) noexcept = default;

  // The next `count` instances with inputs x[j] and tweaks tweak[j]: out[j] = F_j(x_j), the
  // sender's Evaluate on (j, tweak[j], x_j). Sends the matrix in messages of ≤ 16384 instances.
  Status Extend(const Block* x, const uint32_t* tweak, int64_t count, Block* out);
  uint64_t base() const { return base_; }

 private:
  KkrtOprfReceiver() = default;
  link::Context* ctx_ = nullptr;
  size_t peer_ = 0;
  std::string tag_;
  Block code_key_;
  std::vector<crypto::Prg> prgs0_, prgs1_;  // G(k_i^0), G(k_i^1)
  std::vector<Block> rows_;                 // scratch: one tile of the w-row matrix
  uint64_t base_ = 0;
  uint64_t seq_ = 0;
};

}  // namespace veil::ot
