// ABY3: 2-out-of-3 replicated secret sharing over Z_2^k for exactly three parties (P. Mohassel
// and P. Rindal, "ABY3: A Mixed Protocol Framework for Machine Learning", ACM CCS 2018, ePrint
// 2018/403; SPU libspu/mpc/aby3).
//
// Sharing (ABY3 §2, semi-honest 3PC): x = x_0 + x_1 + x_2 mod 2^k; party i holds (x_i, x_{i+1})
// (indices mod 3, AShare::own / ::next). Any two parties can reconstruct; any single one sees
// uniformly random values. Boolean shares are the same over XOR.
//
// Randomness: neighbours i and i+1 share a PRG seed (setup.h, stream kPrss). Party i derives
// α_i = F(s_{i,i+1}) − F(s_{i−1,i}), a zero-sharing (Σ α_i = 0) without communication (ABY3 §2).
//
// Kernels (rounds / bytes sent per party per element, k-bit ring):
//   Input      1 round: the owner p takes x_p and x_{p+1} from the seeds it shares with its
//              neighbours and sends x_{p+2} = x − x_p − x_{p+1} to the other two parties.
//   Open       1 round, k/8 (party i sends x_i to party i+1). RevealTo(p): only party p−1 sends.
//   Mul        1 round, k/8: z_i = x_i y_i + x_i y_{i+1} + x_{i+1} y_i + α_i, then party i sends
//              z_i to party i−1 (re-sharing, ABY3 §2). MatMul: the same with matrix products,
//              (m·n)·k/8 bytes for an (m x n) result.
//   Trunc      1 round, one message of k/8 from P0 to P2: ABY3 §5.1.1 "share truncation"
//              Π_trunc1 (SPU's ABY3 TruncA): the 2-out-of-2 split (x_0 + x_1, x_2) is truncated
//              locally as in SecureML (P0: (x_0 + x_1) >> f; P1, P2: −((−x_2) >> f)), then P0 and
//              P1 re-randomise with r from their shared seed: new shares (t − r, r, x_2') where P0
//              sends t − r to P2. Error < 1 ulp; failure probability about |x| / 2^k, as for
//              two-party SecureML truncation. (ABY3's other method, the truncation pair of
//              §5.1.2, needs a pair (r, r >> f) that three parties can only make with a binary
//              circuit; SEMI2K uses it with its dealer.)
//   And        1 round, as Mul over XOR/AND.
//   BitOperands the components x_0, x_1, x_2 as three boolean operands (each known to two
//              parties, so locally sharable); Msb reduces them with one carry-save level.
//   BitToArith 2 rounds: the XOR components b_0, b_1, b_2 of a bit are locally arithmetic-shared
//              and combined as t = b_0 + b_1 − 2 b_0 b_1, b = t + b_2 − 2 t b_2.
//   Msb/Less   1 (carry-save) + log2(k) + 1 (carry tree) + 2 (BitToArith) rounds: 10 for FM64.
//
// Security model: semi-honest, honest majority: secure against one passively corrupted party
// (no two parties may collude). No malicious security (no MACs or consistency checks).
//
// Thread safety: as Protocol.
#pragma once

#include <vector>

#include "veil/mpc/protocol.h"
#include "veil/mpc/setup.h"

namespace veil::mpc {

template <RingElement T>
class Aby3Protocol final : public Protocol<T> {
 public:
  using Share = AShare<T>;
  static constexpr size_t kParties = 3;

  Aby3Protocol(link::Context* ctx, int fxp_bits, const PartySeeds& seeds);

  Share Input(size_t owner, const Shape& shape, const Tensor<T>* value) override;
  Tensor<T> Open(const Share& x) override;
  std::optional<Tensor<T>> RevealTo(const Share& x, size_t to) override;
  Share AddPublic(const Share& x, const Tensor<T>& c) const override;
  Share Mul(const Share& x, const Share& y) override;
  Share MatMul(const Share& x, const Share& y) override;
  Share Trunc(const Share& x, int bits) override;
  BShare And(const BShare& x, const BShare& y) override;
  std::vector<BShare> BitOperands(const Share& x) override;
  Share BitToArith(const BShare& bits, const Shape& shape) override;

 private:
  size_t prev() const { return (this->rank() + kParties - 1) % kParties; }
  size_t next() const { return (this->rank() + 1) % kParties; }
  // Sends z_i to party i−1 and returns (z_i, z_{i+1}).
  Share Reshare(const std::string& tag, Tensor<T> z);
  // α_i added to z in place (one fill of each neighbour stream).
  void AddZeroShare(Tensor<T>* z);

  Prg prev_prss_;  // kPrss stream of the seed shared with party i−1
  Prg next_prss_;  // kPrss stream of the seed shared with party i+1
};

}  // namespace veil::mpc
