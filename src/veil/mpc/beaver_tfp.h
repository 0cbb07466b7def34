// Correlated randomness for SEMI2K from a trusted first party (SPU's default beaver_type
// "TrustedFirstParty", libspu/mpc/semi2k/beaver/beaver_impl/beaver_tfp.cc), after Beaver's
// circuit randomisation (D. Beaver, "Efficient Multiparty Protocols Using Circuit
// Randomization", CRYPTO 1991).
//
// How: every party i > 0 expands its shares of each object (a_i, b_i, c_i, ...) from the PRG
// stream kBeaver of the seed it shares with rank 0. Rank 0 expands its own a_0, b_0, ... from its
// private seed, re-expands every other party's shares from the same pair streams, and sets its
// own correcting share (e.g. c_0 = (Σ a_i)(Σ b_i) − Σ_{i>0} c_i) so that the object is consistent.
// The correction stays with rank 0, so after set-up the material costs no communication at all:
// only PRG output (AES-CTR) and, at rank 0, the correction arithmetic.
//
// Security model: rank 0 knows every share of every triple, so it can unmask every value opened
// with them (e = x − a) and therefore learns all secrets of the computation. Rank 0 must be
// trusted outright; against any semi-honest coalition that excludes rank 0 the protocol reveals
// nothing beyond outputs (dishonest majority among the others). This is a debugging/benchmark
// mode, exactly as SPU labels it ("NOT SAFE and SHOULD NOT BE used in production"); the
// dealer-free alternative for two parties is OtBeaver (beaver_ot.h, beaver_type "ot").
//
// Thread safety: one instance per party, used from one thread. All parties must request the same
// objects with the same sizes in the same order (the PRG streams advance in lock-step).
#pragma once

#include <cstdint>
#include <vector>

#include "veil/mpc/beaver.h"
#include "veil/mpc/bits.h"
#include "veil/mpc/ring.h"
#include "veil/mpc/setup.h"

namespace veil::mpc {

template <RingElement T>
class TrustedFirstPartyBeaver final : public BeaverSource<T> {
 public:
  using Triple = typename BeaverSource<T>::Triple;
  using BitTriple = typename BeaverSource<T>::BitTriple;
  using RandomBits = typename BeaverSource<T>::RandomBits;

  TrustedFirstPartyBeaver(size_t rank, size_t world_size, const PartySeeds& seeds);

  Triple Mul(const Shape& shape) override;
  Triple Dot(int64_t m, int64_t k, int64_t n) override;
  BitTriple And(int64_t words) override;
  RandomBits Bits(const Shape& shape) override;

  // Truncation pair (ABY3 §5.1.2): r uniform in Z_2^k and t = r >> bits (arithmetic shift).
  // Only SEMI2K with n > 2 needs it (two parties truncate locally).
  // A mask B (k x n) reused by DotFixed: this party's share b and, at rank 0, B = Σ b_j.
  struct Fixed {
    Tensor<T> b, sum_b;
  };
  Fixed DrawFixed(int64_t k, int64_t n);
  // A fresh a (m x k) and c with Σ c = (Σ a)·B for the B of a DrawFixed (`sum_b`, read at rank 0
  // only); `b` of the result is empty.
  Triple DotFixed(int64_t m, int64_t k, int64_t n, const Tensor<T>& sum_b);

  struct TruncPair {
    Tensor<T> r, t;
  };
  TruncPair Trunc(const Shape& shape, int bits);

 private:
  bool dealer() const { return rank_ == 0; }
  // Rank 0: the current position of every peer stream, each then moved `blocks` forward (the
  // peer's next fills of that many blocks are re-expanded with Prg::FillAt).
  std::vector<uint64_t> ReservePeerBlocks(uint64_t blocks);

  size_t rank_;
  size_t world_size_;
  Prg own_;                 // rank 0: private stream; others: kBeaver stream shared with rank 0
  std::vector<Prg> peers_;  // rank 0 only: peers_[j - 1] is the kBeaver stream shared with rank j
};

}  // namespace veil::mpc
