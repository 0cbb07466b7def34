// IKNP oblivious-transfer extension: Ishai, Kilian, Nissim and Petrank, "Extending Oblivious
// Transfers Efficiently" (CRYPTO 2003), §3 (the protocol for semi-honest parties), in its
// correlated-OT form with a global Δ and random-OT outputs obtained by hashing, as in Asharov,
// Lindell, Schneider and Zohner, "More Efficient Oblivious Transfer and Extensions for Faster
// Secure Computation" (CCS 2013), §5 (correlated and random OT), with the fixed-key-AES hash of Guo
// et al. (crypto/cr_hash.h; a circular-correlation-robust hash suffices for semi-honest parties,
// the tweakable variant of their §7.4 is only needed against a malicious receiver).
//
// Set-up (once per direction): κ = 128 base OTs (base_ot.h) with roles reversed — the extension
// sender is the base-OT receiver with choice bits Δ = (s_0 … s_127), the extension receiver the
// base-OT sender with key pairs (k_i^0, k_i^1). Each key seeds an AES-CTR PRG (crypto/prg.h).
//
// Extend(m) — receiver → sender, 16·⌈m/128⌉·128 bytes in messages of up to 16384 OTs:
//   receiver (choices c ∈ {0,1}^m):  t^i = G(k_i^0),  u^i = t^i ⊕ G(k_i^1) ⊕ c      (i < 128)
//   sender:                          q^i = G(k_i^{s_i}) ⊕ s_i·u^i = t^i ⊕ s_i·c
// Transposing the 128 × m bit matrices gives, for every OT j, rows with
//   q_j = t_j ⊕ c_j·Δ                                          (correlated OT, COT)
// and hashing gives random OT: the sender holds H(q_j), H(q_j ⊕ Δ), the receiver H(t_j) =
// H(q_j ⊕ c_j·Δ). A protocol that needs chosen messages or an additive correlation sends one
// correction per OT on top (e.g. Gilboa multiplication, mpc/beaver_ot.h).
//
// Security model: semi-honest, static corruption of either party; 128-bit computational security
// (κ = 128, AES-128 as a PRF/PRP, the CCR hash in the random-permutation model). The sender sees
// u^i = G(k_i^0) ⊕ G(k_i^1) ⊕ c, pseudorandom without k_i^{1−s_i}; the receiver never sees Δ.
// The raw COT outputs q_j, t_j are correlated through Δ and must be hashed before they are used
// as independent OT messages. Not secure against a malicious receiver (no consistency check, as
// in KOS15); veil's protocols are semi-honest.
//
// Memory: an Extend of m OTs holds O(m) blocks; callers bound m (chunks) so that memory does not
// grow with the total number of OTs. The PRGs advance in lock-step on both sides, so both parties
// must call Extend with the same counts in the same order.
//
// Thread safety: an instance is used from one thread at a time (Extend parallelises internally
// with base ParallelFor). The link::Context must outlive it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "veil/base/status.h"
#include "veil/crypto/block.h"
#include "veil/crypto/prg.h"
#include "veil/link/context.h"

namespace veil::ot {

using crypto::Block;

inline constexpr int kIknpBaseOts = 128;

class IknpCotSender {
 public:
  // Collective with the peer's IknpCotReceiver::Setup on the same tag.
  static StatusOr<IknpCotSender> Setup(link::Context* ctx, size_t peer, std::string tag);
  IknpCotSender(IknpCotSender&&) noexcept = default;
  IknpCotSender& operator=(IknpCotSender&&) noexcept = default;

  // The global correlation Δ (secret: it must never leave this party).
  const Block& delta() const { return delta_; }
  // The next `count` correlated OTs: q[j] = t[j] ⊕ c_j·Δ. Receives one message.
  Status Extend(int64_t count, Block* q);
  // The next `count` random OTs: m0[j] = H(q_j), m1[j] = H(q_j ⊕ Δ).
  Status RandomOt(int64_t count, Block* m0, Block* m1);

 private:
  IknpCotSender() = default;
  link::Context* ctx_ = nullptr;
  size_t peer_ = 0;
  std::string tag_;
  Block delta_;
  std::vector<crypto::Prg> prgs_;  // G(k_i^{s_i})
  std::vector<Block> rows_;        // scratch: one tile of the 128-row matrix
  uint64_t seq_ = 0;
};

class IknpCotReceiver {
 public:
  // Collective with the peer's IknpCotSender::Setup on the same tag.
  static StatusOr<IknpCotReceiver> Setup(link::Context* ctx, size_t peer, std::string tag);
  IknpCotReceiver(IknpCotReceiver&&) noexcept = default;
  IknpCotReceiver& operator=(IknpCotReceiver&&) noexcept = default;

  // The next `count` correlated OTs for the packed choice bits (bit j of choices[j / 64]):
  // t[j] with q[j] = t[j] ⊕ c_j·Δ at the sender. Sends one message.
  Status Extend(const uint64_t* choices, int64_t count, Block* t);
  // The next `count` random OTs: m[j] = H(t_j) = the sender's m_{c_j}[j].
  Status RandomOt(const uint64_t* choices, int64_t count, Block* m);

 private:
  IknpCotReceiver() = default;
  link::Context* ctx_ = nullptr;
  size_t peer_ = 0;
  std::string tag_;
  std::vector<crypto::Prg> prgs0_, prgs1_;  // G(k_i^0), G(k_i^1)
  std::vector<Block> rows_;                 // scratch: one tile of the 128-row matrix
  uint64_t seq_ = 0;
};

// Both directions between this party and `peer`: a sender (with this party's Δ) and a receiver.
// Collective: the peer calls it with the same tag. The two base-OT runs are ordered by rank so
// that neither party waits for the other.
struct IknpDuplex {
  IknpCotSender sender;
  IknpCotReceiver receiver;
};
StatusOr<IknpDuplex> SetupIknpDuplex(link::Context* ctx, size_t peer, std::string_view tag);

// COT → random OT hashing (CcrHash), parallel over chunks: m0[j] = H(q_j), m1[j] = H(q_j ⊕ Δ);
// m0 may alias q.
void HashCotSender(const Block* q, int64_t n, const Block& delta, Block* m0, Block* m1);
// m[j] = H(t_j); m may alias t.
void HashCotReceiver(const Block* t, int64_t n, Block* m);

}  // namespace veil::ot
