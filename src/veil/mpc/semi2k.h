// SEMI2K: additive n-of-n secret sharing over Z_2^k for n >= 2 parties (SPU
// libspu/mpc/semi2k), with Beaver material from a BeaverSource (beaver.h): a trusted first party
// (beaver_tfp.h, the default, any n) or, for exactly two parties, OT extension (beaver_ot.h,
// beaver_type "ot"; protocol "CHEETAH" is this mode). The kernels and their messages are the same
// for both sources; only where the triples come from differs.
//
// Sharing: x = Σ_i x_i mod 2^k; party i holds x_i (AShare::own). Boolean shares are XOR shares.
//
// Kernels (rounds / bytes sent per party per element, k-bit ring, n parties):
//   Input      0 rounds: the non-owners' shares are PRG output of the seed each shares with the
//              owner (stream kInput); the owner keeps x − Σ of them.
//   Open       1 round, k/8 · (n−1).          RevealTo: 1 round; only the target receives.
//   Mul        1 round, 2k/8 · (n−1): Beaver (CRYPTO'91): open e = x − a, f = y − b, then
//              z_i = c_i + e·b_i + f·a_i (+ e·f at rank 0).
//   MatMul     1 round, (mk + kn)·k/8 · (n−1) for (m x k)·(k x n): matrix Beaver triple.
//   Trunc      n = 2, default (SPU's TruncAPr2 idea: "one-bit error truncation with |x| < L/4";
//              SPU libspu/mpc/semi2k/arithmetic.cc): 1 round, 2k/8 bytes per element each way.
//              Rank 0 shifts its share by 2^(k−2) so that x' = x + 2^(k−2) ∈ [0, 2^(k−1)); then
//              x_0' + x_1 wraps past 2^k exactly when msb(x_0') OR msb(x_1) (if exactly one msb
//              is set the sum is ≥ 2^(k−1), and x' < 2^(k−1) forces the wrap). The wrap bit
//              w = m_0 + m_1 − m_0·m_1 costs one Beaver product of the two private bits, and
//              (x_0' >> f) + (x_1 >> f) − w·2^(k−f) (logical shifts) is floor(x'/2^f) − {0, 1};
//              rank 0 adds 1 and removes the 2^(k−2−f) offset. Result: floor(x/2^f) or that + 1,
//              with no failure at all when |x| < 2^(k−2) (the precondition).
//              n = 2 with trunc_allow_msb_error: 0 rounds, SecureML local truncation
//              (Mohassel–Zhang, S&P 2017, §4.1 and Theorem 1): rank 0 computes x_0 >> f, rank 1
//              computes −((−x_1) >> f) (arithmetic shifts, as SPU). For |x| < 2^l the result is
//              floor(x/2^f) or that + 1 except with probability <= 2^(l+1−k) (SecureML's bound;
//              the exact failure rate is about |x| / 2^k), when it is off by about 2^(k−f).
//              n > 2: 1 round, truncation pair (r, r >> f) from the dealer (ABY3 §5.1.2; only
//              the trusted-first-party source exists for n > 2): open
//              c = x + r, result (c >> f) − [r >> f]; same error (< 1 ulp) and failure rate
//              |x| / 2^k (when x + r overflows the signed range).
//   And        1 round, 2 bits per bit: Beaver on XOR shares.
//   BitToArith 1 round, 1 bit per bit: a dealer random bit r in both worlds; open c = b ^ r,
//              then [b] = c + [r] − 2c[r].
//   Msb/Less   A2B-style circuit of protocol.h: with n = 2, log2(k) + 1 AND rounds plus one
//              BitToArith round (8 rounds for FM64); each extra level of carry-save adders (for
//              n > 2) adds one round.
//
// Security model: semi-honest. With the trusted first party, rank 0 deals the triples and learns
// every secret (see beaver_tfp.h), so it must be trusted; against any coalition of semi-honest
// parties that excludes rank 0 nothing beyond the outputs leaks (dishonest majority). Use for
// development and benchmarks, as SPU does. With OT triples (two parties) there is no trusted
// party: either party may be corrupted (semi-honest, dishonest majority of 2).
//
// Thread safety: as Protocol.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "veil/mpc/beaver.h"
#include "veil/mpc/beaver_tfp.h"
#include "veil/mpc/protocol.h"
#include "veil/mpc/setup.h"

namespace veil::mpc {

template <RingElement T>
class Semi2kProtocol final : public Protocol<T> {
 public:
  using Share = AShare<T>;

  // `name` is the configured protocol name (SEMI2K or CHEETAH). Beaver material comes from
  // `beaver`; truncation pairs (n > 2 only) need it to be a TrustedFirstPartyBeaver.
  Semi2kProtocol(std::string name, link::Context* ctx, int fxp_bits, const PartySeeds& seeds,
                 std::unique_ptr<BeaverSource<T>> beaver, bool trunc_allow_msb_error = false);

  Share Input(size_t owner, const Shape& shape, const Tensor<T>* value) override;
  Tensor<T> Open(const Share& x) override;
  std::optional<Tensor<T>> RevealTo(const Share& x, size_t to) override;
  Share AddPublic(const Share& x, const Tensor<T>& c) const override;
  Share Mul(const Share& x, const Share& y) override;
  Share MatMul(const Share& x, const Share& y) override;
  PreparedOperand<T> PrepareMatMul(const Share& y) override;
  Share MatMulPrepared(const Share& x, const PreparedOperand<T>& y) override;
  Share Trunc(const Share& x, int bits) override;
  BShare And(const BShare& x, const BShare& y) override;
  std::vector<BShare> BitOperands(const Share& x) override;
  Share BitToArith(const BShare& bits, const Shape& shape) override;

 private:
  // Sends `mine` to every peer and returns the peers' messages of the same size (rank order,
  // own rank skipped). `mine` is moved into the last send.
  std::vector<Buffer> Exchange(const std::string& tag, Buffer mine);
  // 2-party truncation with the wrap bit (SPU's TruncAPr2 idea, see the header).
  Share TruncWrapBit(const Share& x, int bits);
  // Sends `mine` (n ring elements) to every peer and returns the element-wise sum over all
  // parties, own contribution included.
  Tensor<T> AllReduceAdd(const std::string& tag, Buffer mine, const Shape& shape);
  // Same with XOR over words.
  Words AllReduceXor(const std::string& tag, const Words& mine);

  std::unique_ptr<BeaverSource<T>> beaver_;
  TrustedFirstPartyBeaver<T>* dealer_;  // beaver_ when it is the trusted first party, else null
  std::vector<Prg> input_;              // input_[j]: kInput stream of the seed shared with rank j
  bool trunc_allow_msb_error_;
};

}  // namespace veil::mpc
