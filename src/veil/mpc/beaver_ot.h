// Dealer-free Beaver material for two-party SEMI2K (beaver_type "ot", and protocol "CHEETAH"),
// generated with IKNP correlated OT (veil/ot/iknp.h) between the two parties.
//
// Arithmetic triples (Mul, Dot): each party draws its own a_i, b_i; then
//   c = (a_0 + a_1)(b_0 + b_1) = a_0·b_0 + a_1·b_1 + a_0·b_1 + a_1·b_0,
// and each cross term a_j·b_{1−j} is shared by Gilboa's OT multiplication (N. Gilboa, "Two Party
// RSA Key Generation", CRYPTO 1999, §3.1) over COT: the holder of b is the OT receiver with the k
// bits of b as choices, the holder of a the sender; for OT (e, i) the sender sends
//   τ = H(q) − H(q ⊕ Δ) + a  (mod 2^k)
// and keeps −H(q); the receiver computes H(t) + b_i·τ; the two sum to b_i·a, and Σ_i 2^i·(…) is a
// share of a·b. Dot uses vector correlations (SecureML, Mohassel–Zhang, S&P 2017, §4.2): the
// choice bits are the entries of one matrix and τ is a whole row of the other, so an
// (m x k)·(k x n) triple takes k·min(m, n)·k_ring OTs and k·m·n·k_ring ring elements of τ rather
// than m·k·n products' worth of OTs. Both cross terms run at once (each party is the sender of one
// IKNP instance and the receiver of the other), in chunks of at most 2^17 OTs so memory is
// bounded by the chunk, not the request. Hash outputs longer than 128 bits are expanded in
// counter mode with the same correlation-robust hash.
//
// Bit triples (And): the random-OT trick of Asharov et al. (CCS 2013, §5 / "multiplication
// triples from R-OT"): with a random OT (x_0, x_1) → x_c, the sender's a = x_0 ⊕ x_1 and the
// receiver's random choice b satisfy a·b = x_0 ⊕ x_c. Two random OTs per triple (one per cross
// term), no messages beyond the OT extension itself.
//
// Random bits (Bits): r = r_0 ⊕ r_1 with r_i private; its arithmetic shares are
// r_i − 2·[r_0·r_1]_i, the product from one Gilboa OT with a one-bit choice (the elements are
// split between the two OT directions).
//
// Communication per element (k-bit ring): Mul 2·k OTs, i.e. 2·k·(16 + k/8) bytes (3 KiB for
// FM64); And 32 bytes per bit triple; Bits 16 + k/8 bytes. All in one round per chunk.
//
// Security model: semi-honest, two parties, dishonest majority (either party may be corrupted);
// no trusted dealer — neither party learns anything about the other's shares beyond what the
// kernels reveal. Assumes CDH in ristretto255 (base OT), AES as a PRF/PRP and the
// correlation-robust hash (crypto/cr_hash.h). Not secure against a malicious party.
//
// Errors: kernels throw VeilException (NetworkError from the link, AlgorithmError for malformed
// messages), as the protocol kernels do. Thread safety: as BeaverSource.
#pragma once

#include <memory>

#include "veil/base/status.h"
#include "veil/link/context.h"
#include "veil/mpc/beaver.h"
#include "veil/mpc/setup.h"
#include "veil/ot/iknp.h"

namespace veil::mpc {

template <RingElement T>
class OtBeaver final : public BeaverSource<T> {
 public:
  using Triple = typename BeaverSource<T>::Triple;
  using BitTriple = typename BeaverSource<T>::BitTriple;
  using RandomBits = typename BeaverSource<T>::RandomBits;

  // Collective between the two parties of ctx (world size 2): runs the base OTs of both IKNP
  // directions. DeviceConfigError unless the world has exactly two parties; NetworkError /
  // AlgorithmError from the base OTs.
  static StatusOr<std::unique_ptr<OtBeaver>> Create(link::Context* ctx, const PartySeeds& seeds);

  Triple Mul(const Shape& shape) override;
  Triple Dot(int64_t m, int64_t k, int64_t n) override;
  BitTriple And(int64_t words) override;
  RandomBits Bits(const Shape& shape) override;

 private:
  // The shape of one cross product: the receiver holds X (rows x inner; `bits` choice bits per
  // entry, packed), the sender Y (inner x cols, or one `cols` vector per row when elementwise).
  struct CrossDims {
    int64_t rows, inner, cols;
    int bits;
    bool elementwise;
  };

  OtBeaver(link::Context* ctx, const PartySeeds& seeds, ot::IknpDuplex iknp);
  // Adds this party's shares of X_mine·Y_peer (as receiver, to z_recv) and X_peer·Y_mine (as
  // sender, to z_send); z_* are rows x cols.
  void Cross(const CrossDims& d, const Words& x_bits, const T* y, T* z_recv, T* z_send);
  std::string NextTag();

  link::Context* ctx_;
  size_t peer_;
  Prg own_;  // this party's private randomness (a_i, b_i, random bits)
  ot::IknpCotSender sender_;
  ot::IknpCotReceiver receiver_;
  uint64_t seq_ = 0;
};

}  // namespace veil::mpc
