// BeaverSource: where SEMI2K gets its correlated randomness (Beaver, "Efficient Multiparty
// Protocols Using Circuit Randomization", CRYPTO 1991). Two implementations:
//   TrustedFirstPartyBeaver (beaver_tfp.h)  rank 0 deals; n ≥ 2; rank 0 must be trusted.
//   OtBeaver (beaver_ot.h)                  dealer-free, from IKNP OT extension; exactly 2 parties.
//
// Every object is additively shared over Z_2^k (arithmetic) or XOR-shared (bits) among the
// parties; each party's call returns its own shares.
//
// Thread safety: one instance per party, used from one thread. Calls are collective: all
// parties request the same objects with the same sizes in the same order.
#pragma once

#include <cstdint>

#include "veil/mpc/bits.h"
#include "veil/mpc/ring.h"

namespace veil::mpc {

template <RingElement T>
class BeaverSource {
 public:
  // Shares of a, b uniform and c = a·b (element-wise for Mul, matrix product for Dot).
  struct Triple {
    Tensor<T> a, b, c;
  };
  // XOR shares of bit strings a, b uniform and c = a & b.
  struct BitTriple {
    Words a, b, c;
  };
  // A uniform random bit per element in both worlds: XOR shares (bit e of `bits`) and additive
  // shares of the same bit as a ring element.
  struct RandomBits {
    Words bits;
    Tensor<T> arith;
  };

  virtual ~BeaverSource() = default;

  virtual Triple Mul(const Shape& shape) = 0;
  // a (m x k), b (k x n), c = a·b (m x n).
  virtual Triple Dot(int64_t m, int64_t k, int64_t n) = 0;
  // 64·words bit triples.
  virtual BitTriple And(int64_t words) = 0;
  virtual RandomBits Bits(const Shape& shape) = 0;
};

}  // namespace veil::mpc
