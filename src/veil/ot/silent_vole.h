// Silent VOLE over GF(2^128) (gf128.h) for RR22 PSI: Raghuraman and Rindal, "Blazing Fast PSI
// from Improved OKVS and Subfield VOLE" (CCS 2022, eprint 2022/320), §2.3 (the VOLE
// functionality) and §4 (its use in the PSI); the generator is the PCG of Boyle, Couteau, Gilboa,
// Ishai, Kohl and Scholl, "Efficient Pseudorandom Correlation Generators: Silent OT Extension
// and More" (CRYPTO 2019, eprint 2019/448), §5 (the primal/dual-LPN VOLE PCG, regular noise),
// compressed with the Expand-Accumulate code of BCGIRS22 (ea_code.h). The Silver code (CRR21)
// is not used: it was shown insecure (Raghuraman, Rindal and Tanguy, CRYPTO 2023, eprint 2023/882).
//
// Relation: the sender holds Δ and B ∈ F^m, the receiver A, C ∈ F^m with C = B + A·Δ
// (F = GF(2^128), + = XOR). Random VOLE: A, B, Δ pseudorandom. Chosen VOLE (Send/Receive): A is
// the receiver's input, obtained by derandomisation (RR22 §4: the receiver sends D = A_r − A,
// the sender sets B = B_r + D·Δ, so C_r = B + A·Δ), 16 bytes per element.
//
// One chunk of m_c ≤ kVoleMaxChunkOutputs outputs:
//   1. regular noise: t' ≥ kVoleMinNoiseWeight blocks of 2^d entries, N = t'·2^d ≥ 5·m_c; the
//      receiver picks α_i < 2^d and y_i ∈ F \ {0}.
//   2. base VOLE of length t' by bit decomposition of IKNP correlated OT (iknp.h) whose global
//      Δ is the VOLE's Δ: 128 COTs q_k = t_k ⊕ y_{i,k}·Δ per y_i, packed as Σ_k x^k·q_k
//      (b'_i at the sender, c'_i = b'_i + y_i·Δ at the receiver).
//   3. PPRF (pprf.h): d random OTs per tree (IKNP COTs hashed with crypto::CcrHash), the sender
//      sends per level (K_0 ⊕ m_0, K_1 ⊕ m_1) and τ_i = ⊕_j v_{i,j} ⊕ b'_i; the receiver sets
//      leaf α_i to τ_i ⊕ ⊕_{j≠α_i} v_{i,j} ⊕ c'_i = v_{i,α_i} + y_i·Δ.
//      Now b = v and c = v + e·Δ for the regular noise vector e.
//   4. B = DualEncode(b), C = DualEncode(c), A = DualEncode(e) with the EA code (the receiver
//      computes C and A in one pass over the code's rows, EaCode::DualEncodeWithRegular).
// Messages per chunk: the IKNP matrix (receiver → sender, 16·t'·(128 + d) bytes) and the PPRF
// corrections (sender → receiver, 16·t'·(2d + 1) bytes): two flows; 1.1–1.7 MB per chunk at the
// default parameters (t' = 416–605 trees of depth 14 for m_c ≈ 2^20 … 2^21). Chosen VOLE adds 16·m
// bytes.
//
// Parameters (libOTe's ExAcc11 configuration, osu-crypto/libOTe ConfigureCode.cpp, which the EA
// paper's authors maintain): expander weight w = 11, N ≥ 5·m, estimated minimum-distance ratio
// δ = 0.1 of the code, and regular noise weight t = ⌈−128 / log2(1 − 2δ)⌉ = 398 rounded up to
// 400 for 128-bit security against linear attacks (bias (1 − 2δ)^t ≤ 2^−128, BCGIRS22 §5 /
// RRT23 §3). The dual-LPN instance is fresh per chunk (new noise, same public code).
//
// Security model: semi-honest, static corruption; 128-bit computational security under dual LPN
// with the EA code and regular noise, AES as a PRF/random permutation and the CCR hash (iknp.h).
// Not secure against a malicious party (no consistency checks on the PPRF or the base VOLE).
//
// Memory: N ≤ ~2·5·kVoleMaxChunkOutputs blocks of scratch (≈ 170 MB at 2^21 outputs, transparent
// huge pages, base/scratch.h) per party, allocated once per call and reused by its chunks, plus
// the caller's outputs; independent of m beyond the outputs themselves.
//
// Errors: NetworkError from the link; AlgorithmError("unexpected_message_size") for a malformed
// peer message; ParameterError("invalid_chunk_size") for max_chunk_outputs < 1.
// Thread safety: one thread at a time per instance (parallel internally). Both parties must call
// with the same sizes in the same order; the link::Context must outlive the instance.
#pragma once

#include <cstdint>
#include <string>

#include "veil/base/scratch.h"
#include "veil/base/status.h"
#include "veil/crypto/block.h"
#include "veil/crypto/prg.h"
#include "veil/link/context.h"
#include "veil/ot/ea_code.h"
#include "veil/ot/iknp.h"

namespace veil::ot {

inline constexpr int kVoleExpanderWeight = 11;
inline constexpr int64_t kVoleCodeExpansion = 5;
inline constexpr int64_t kVoleMinNoiseWeight = 400;
inline constexpr int64_t kVoleMaxChunkOutputs = int64_t{1} << 21;

// The noise layout of one chunk of `outputs` VOLEs.
struct VoleChunkShape {
  int64_t outputs = 0;                               // m_c
  int64_t trees = 0;                                 // t'
  int depth = 0;                                     // d: 2^d entries per noise block
  int64_t inputs() const { return trees << depth; }  // N
};
VoleChunkShape VoleShapeFor(int64_t outputs);

class SilentVoleSender {
 public:
  // Collective with the peer's SilentVoleReceiver::Setup on the same tag (runs IKNP's base OTs).
  // max_chunk_outputs bounds the scratch memory; both parties must pass the same value.
  static StatusOr<SilentVoleSender> Setup(link::Context* ctx, size_t peer, std::string tag,
                                          int64_t max_chunk_outputs = kVoleMaxChunkOutputs);
  SilentVoleSender(SilentVoleSender&&) noexcept = default;
  SilentVoleSender& operator=(SilentVoleSender&&) noexcept = default;

  // The global Δ (secret).
  const Block& delta() const { return iknp_.delta(); }
  // The sender's half of m random VOLEs: b[j] with c[j] = b[j] + a[j]·Δ at the receiver.
  Status SendRandom(int64_t m, Block* b);
  // The sender's half of m VOLEs for the receiver's chosen a (receives its correction).
  Status Send(int64_t m, Block* b);

 private:
  SilentVoleSender(IknpCotSender iknp, link::Context* ctx, size_t peer, std::string tag,
                   int64_t max_chunk_outputs);
  // One chunk; `leaves` is the PPRF's scratch, reused (grown when too small) across chunks.
  Status Chunk(int64_t m, Block* b, ScratchArray<Block>* leaves);
  IknpCotSender iknp_;
  link::Context* ctx_;
  size_t peer_;
  std::string tag_;
  int64_t max_chunk_outputs_;
  crypto::Prg prg_;  // tree seeds
  uint64_t seq_ = 0;
};

class SilentVoleReceiver {
 public:
  static StatusOr<SilentVoleReceiver> Setup(link::Context* ctx, size_t peer, std::string tag,
                                            int64_t max_chunk_outputs = kVoleMaxChunkOutputs);
  SilentVoleReceiver(SilentVoleReceiver&&) noexcept = default;
  SilentVoleReceiver& operator=(SilentVoleReceiver&&) noexcept = default;

  // The receiver's half of m random VOLEs: c[j] = b[j] + a[j]·Δ.
  Status ReceiveRandom(int64_t m, Block* a, Block* c);
  // The receiver's half for chosen a (sends D = a_r ⊕ a, 16·m bytes): c[j] = b[j] + a[j]·Δ.
  Status Receive(int64_t m, const Block* a, Block* c);

 private:
  SilentVoleReceiver(IknpCotReceiver iknp, link::Context* ctx, size_t peer, std::string tag,
                     int64_t max_chunk_outputs);
  Status Chunk(int64_t m, Block* a, Block* c, ScratchArray<Block>* leaves);
  IknpCotReceiver iknp_;
  link::Context* ctx_;
  size_t peer_;
  std::string tag_;
  int64_t max_chunk_outputs_;
  crypto::Prg prg_;  // noise positions and values
  uint64_t seq_ = 0;
};

}  // namespace veil::ot
