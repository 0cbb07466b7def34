#include "veil/mpc/ref2k.h"

#include "veil/mpc/wire.h"

namespace veil::mpc {

template <RingElement T>
AShare<T> Ref2kProtocol<T>::Input(size_t owner, const Shape& shape, const Tensor<T>* value) {
  VEIL_ENFORCE(owner < this->world_size(), AlgorithmError, "bad_owner",
               "input owner " + std::to_string(owner));
  VEIL_ENFORCE((value != nullptr) == (this->rank() == owner), AlgorithmError, "bad_input",
               "exactly the owner passes a value");
  const std::string tag = this->NextTag("input");
  if (this->rank() == owner) {
    internal::CheckSameShape(value->shape(), shape, "input");
    const Buffer payload = ToBuffer(*value);
    for (size_t j = 0; j < this->world_size(); ++j) {
      if (j != owner) this->SendOrThrow(j, tag, payload);
    }
    return Share{*value, Tensor<T>()};
  }
  const Buffer b = this->RecvOrThrow(owner, tag, NumElements(shape) * sizeof(T));
  return Share{FromBuffer<T>(b, shape), Tensor<T>()};
}

template <RingElement T>
std::optional<Tensor<T>> Ref2kProtocol<T>::RevealTo(const Share& x, size_t to) {
  VEIL_ENFORCE(to < this->world_size(), AlgorithmError, "bad_rank",
               "reveal to rank " + std::to_string(to));
  if (this->rank() != to) return std::nullopt;
  return x.own;
}

template <RingElement T>
BShare Ref2kProtocol<T>::And(const BShare& x, const BShare& y) {
  VEIL_ENFORCE(x.nbits == y.nbits && x.own.size() == y.own.size(), AlgorithmError, "shape_mismatch",
               "and of bit strings of different lengths");
  BShare z{x.nbits, x.own, Words()};
  for (size_t i = 0; i < z.own.size(); ++i) z.own[i] &= y.own[i];
  return z;
}

template <RingElement T>
std::vector<BShare> Ref2kProtocol<T>::BitOperands(const Share& x) {
  const int64_t nbits = x.numel() * this->kRingBits;
  std::vector<BShare> ops;
  ops.push_back(BShare{nbits, ElementsToWords(x.own), Words()});
  ops.push_back(BShare{nbits, Words(WordsForBits(nbits)), Words()});
  return ops;
}

template class Ref2kProtocol<uint64_t>;
template class Ref2kProtocol<uint128_t>;

}  // namespace veil::mpc
