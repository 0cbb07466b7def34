// REF2K: the plaintext reference protocol (SPU libspu/mpc/ref2k). Every party holds every value
// in the clear (AShare::own is the value itself); Input broadcasts the owner's tensor, every
// other kernel is local, Trunc is an exact arithmetic shift. It runs the same generic kernels
// (the Msb circuit, Select, Relu) over trivial "shares", which makes it a cheap cross-check of
// those kernels and of callers.
//
// Security model: none. Never use it with private data; it exists for tests and debugging.
// Thread safety: as Protocol.
#pragma once

#include <vector>

#include "veil/mpc/protocol.h"

namespace veil::mpc {

template <RingElement T>
class Ref2kProtocol final : public Protocol<T> {
 public:
  using Share = AShare<T>;

  Ref2kProtocol(link::Context* ctx, int fxp_bits) : Protocol<T>(kProtocolRef2k, ctx, fxp_bits) {}

  Share Input(size_t owner, const Shape& shape, const Tensor<T>* value) override;
  Tensor<T> Open(const Share& x) override { return x.own; }
  std::optional<Tensor<T>> RevealTo(const Share& x, size_t to) override;
  Share AddPublic(const Share& x, const Tensor<T>& c) const override {
    return Share{Add(x.own, c), Tensor<T>()};
  }
  Share Mul(const Share& x, const Share& y) override {
    return Share{mpc::Mul(x.own, y.own), Tensor<T>()};
  }
  Share MatMul(const Share& x, const Share& y) override {
    return Share{mpc::MatMul(x.own, y.own), Tensor<T>()};
  }
  Share Trunc(const Share& x, int bits) override {
    return Share{ArithShiftRight(x.own, bits), Tensor<T>()};
  }
  BShare And(const BShare& x, const BShare& y) override;
  std::vector<BShare> BitOperands(const Share& x) override;
  Share BitToArith(const BShare& bits, const Shape& shape) override {
    return Share{UnpackBits<T>(bits.own, shape), Tensor<T>()};
  }
};

}  // namespace veil::mpc
