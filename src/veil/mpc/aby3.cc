#include "veil/mpc/aby3.h"

#include "veil/mpc/wire.h"

namespace veil::mpc {

namespace {

template <RingElement T>
Tensor<T> Random(Prg& prg, const Shape& shape) {
  Tensor<T> t = Tensor<T>::Uninitialized(shape);
  prg.FillRing(t.data(), t.numel());
  return t;
}

Words RandomWords(Prg& prg, size_t words) {
  Words w(words);
  prg.Fill(w.data(), w.size() * sizeof(uint64_t));
  return w;
}

}  // namespace

template <RingElement T>
Aby3Protocol<T>::Aby3Protocol(link::Context* ctx, int fxp_bits, const PartySeeds& seeds)
    : Protocol<T>(kProtocolAby3, ctx, fxp_bits),
      prev_prss_(seeds.pair[(ctx->rank() + kParties - 1) % kParties], PrgStream::kPrss),
      next_prss_(seeds.pair[(ctx->rank() + 1) % kParties], PrgStream::kPrss) {}

template <RingElement T>
void Aby3Protocol<T>::AddZeroShare(Tensor<T>* z) {
  const Tensor<T> from_next = Random<T>(next_prss_, z->shape());
  const Tensor<T> from_prev = Random<T>(prev_prss_, z->shape());
  T* pz = z->data();
  const T *pn = from_next.data(), *pp = from_prev.data();
  ParallelFor(z->numel(), kElementwiseGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) pz[i] += pn[i] - pp[i];
  });
}

template <RingElement T>
AShare<T> Aby3Protocol<T>::Reshare(const std::string& tag, Tensor<T> z) {
  this->SendOrThrow(prev(), tag, ToBuffer(z));
  const Buffer theirs = this->RecvOrThrow(next(), tag, z.numel() * sizeof(T));
  Tensor<T> zn = FromBuffer<T>(theirs, z.shape());
  return Share{std::move(z), std::move(zn)};
}

template <RingElement T>
AShare<T> Aby3Protocol<T>::Input(size_t owner, const Shape& shape, const Tensor<T>* value) {
  const size_t me = this->rank();
  VEIL_ENFORCE(owner < kParties, AlgorithmError, "bad_owner",
               "input owner " + std::to_string(owner));
  VEIL_ENFORCE((value != nullptr) == (me == owner), AlgorithmError, "bad_input",
               "exactly the owner passes a value");
  const std::string tag = this->NextTag("input");
  const size_t n1 = (owner + 1) % kParties, n2 = (owner + 2) % kParties;
  if (me == owner) {
    internal::CheckSameShape(value->shape(), shape, "input");
    Share out{Random<T>(prev_prss_, shape), Random<T>(next_prss_, shape)};  // x_p, x_{p+1}
    Tensor<T> rest = Sub(Sub(*value, out.own), out.next);                   // x_{p+2}
    Buffer payload = ToBuffer(rest);
    this->SendOrThrow(n1, tag, payload);
    this->SendOrThrow(n2, tag, std::move(payload));
    return out;
  }
  const Buffer rest = this->RecvOrThrow(owner, tag, NumElements(shape) * sizeof(T));
  if (me == n1) return Share{Random<T>(prev_prss_, shape), FromBuffer<T>(rest, shape)};
  return Share{FromBuffer<T>(rest, shape), Random<T>(next_prss_, shape)};
}

template <RingElement T>
Tensor<T> Aby3Protocol<T>::Open(const Share& x) {
  const std::string tag = this->NextTag("open");
  this->SendOrThrow(next(), tag, ToBuffer(x.own));
  const Buffer missing = this->RecvOrThrow(prev(), tag, x.numel() * sizeof(T));
  Tensor<T> out = Add(x.own, x.next);
  AddInPlace(&out, FromBuffer<T>(missing, x.shape()));
  return out;
}

template <RingElement T>
std::optional<Tensor<T>> Aby3Protocol<T>::RevealTo(const Share& x, size_t to) {
  VEIL_ENFORCE(to < kParties, AlgorithmError, "bad_rank", "reveal to rank " + std::to_string(to));
  const std::string tag = this->NextTag("reveal");
  const size_t sender = (to + kParties - 1) % kParties;
  if (this->rank() == sender) this->SendOrThrow(to, tag, ToBuffer(x.own));
  if (this->rank() != to) return std::nullopt;
  const Buffer missing = this->RecvOrThrow(sender, tag, x.numel() * sizeof(T));
  Tensor<T> out = Add(x.own, x.next);
  AddInPlace(&out, FromBuffer<T>(missing, x.shape()));
  return out;
}

template <RingElement T>
AShare<T> Aby3Protocol<T>::AddPublic(const Share& x, const Tensor<T>& c) const {
  internal::CheckSameShape(x.shape(), c.shape(), "add_public");
  // c goes into component x_0, held by P0 (own) and P2 (next).
  if (this->rank() == 0) return Share{Add(x.own, c), x.next};
  if (this->rank() == 2) return Share{x.own, Add(x.next, c)};
  return x;
}

template <RingElement T>
AShare<T> Aby3Protocol<T>::Mul(const Share& x, const Share& y) {
  internal::CheckSameShape(x.shape(), y.shape(), "mul");
  Tensor<T> z = Tensor<T>::Uninitialized(x.shape());
  const T *x0 = x.own.data(), *x1 = x.next.data(), *y0 = y.own.data(), *y1 = y.next.data();
  T* pz = z.data();
  ParallelFor(z.numel(), kElementwiseGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) pz[i] = x0[i] * (y0[i] + y1[i]) + x1[i] * y0[i];
  });
  AddZeroShare(&z);
  return Reshare(this->NextTag("mul"), std::move(z));
}

template <RingElement T>
AShare<T> Aby3Protocol<T>::MatMul(const Share& x, const Share& y) {
  VEIL_ENFORCE(x.shape().size() == 2 && y.shape().size() == 2 && x.shape()[1] == y.shape()[0],
               AlgorithmError, "shape_mismatch",
               "matmul " + ShapeToString(x.shape()) + " x " + ShapeToString(y.shape()));
  const int64_t m = x.shape()[0], k = x.shape()[1], n = y.shape()[1];
  // Z_i = X_i·(Y_i + Y_{i+1}) + X_{i+1}·Y_i + α_i.
  Tensor<T> z({m, n});
  const Tensor<T> ysum = Add(y.own, y.next);
  MatMulAccumulate(x.own.data(), ysum.data(), z.data(), m, k, n);
  MatMulAccumulate(x.next.data(), y.own.data(), z.data(), m, k, n);
  AddZeroShare(&z);
  return Reshare(this->NextTag("matmul"), std::move(z));
}

template <RingElement T>
AShare<T> Aby3Protocol<T>::Trunc(const Share& x, int bits) {
  internal::CheckShift(bits, this->kRingBits);
  if (bits == 0) return x;
  const std::string tag = this->NextTag("trunc");
  switch (this->rank()) {
    case 0: {
      // P0 holds (x_0, x_1): y_0 = ((x_0 + x_1) >> f) − r, y_1 = r with r shared with P1.
      Tensor<T> r = Random<T>(next_prss_, x.shape());
      Tensor<T> y0 = Sub(ArithShiftRight(Add(x.own, x.next), bits), r);
      this->SendOrThrow(2, tag, ToBuffer(y0));
      return Share{std::move(y0), std::move(r)};
    }
    case 1: {
      // P1 holds (x_1, x_2): y_1 = r, y_2 = −((−x_2) >> f).
      Tensor<T> r = Random<T>(prev_prss_, x.shape());
      return Share{std::move(r), Neg(ArithShiftRight(Neg(x.next), bits))};
    }
    default: {
      // P2 holds (x_2, x_0): y_2 = −((−x_2) >> f), y_0 from P0.
      const Buffer y0 = this->RecvOrThrow(0, tag, x.numel() * sizeof(T));
      return Share{Neg(ArithShiftRight(Neg(x.own), bits)), FromBuffer<T>(y0, x.shape())};
    }
  }
}

template <RingElement T>
BShare Aby3Protocol<T>::And(const BShare& x, const BShare& y) {
  VEIL_ENFORCE(x.nbits == y.nbits && x.own.size() == y.own.size(), AlgorithmError, "shape_mismatch",
               "and of bit strings of different lengths");
  const size_t w = x.own.size();
  const Words from_next = RandomWords(next_prss_, w);
  const Words from_prev = RandomWords(prev_prss_, w);
  Words z(w);
  for (size_t i = 0; i < w; ++i) {
    z[i] =
        (x.own[i] & (y.own[i] ^ y.next[i])) ^ (x.next[i] & y.own[i]) ^ from_next[i] ^ from_prev[i];
  }
  const std::string tag = this->NextTag("and");
  this->SendOrThrow(prev(), tag, WordsToBuffer(z));
  Words zn = BufferToWords(this->RecvOrThrow(next(), tag, w * sizeof(uint64_t)));
  return BShare{x.nbits, std::move(z), std::move(zn)};
}

template <RingElement T>
std::vector<BShare> Aby3Protocol<T>::BitOperands(const Share& x) {
  const int64_t nbits = x.numel() * this->kRingBits;
  const size_t words = WordsForBits(nbits);
  std::vector<BShare> ops;
  for (size_t j = 0; j < kParties; ++j) {
    // Operand j is component x_j: party j holds it as `own`, party j−1 as `next`.
    ops.push_back(BShare{nbits, j == this->rank() ? ElementsToWords(x.own) : Words(words),
                         j == next() ? ElementsToWords(x.next) : Words(words)});
  }
  return ops;
}

template <RingElement T>
AShare<T> Aby3Protocol<T>::BitToArith(const BShare& bits, const Shape& shape) {
  const int64_t n = NumElements(shape);
  VEIL_ENFORCE(bits.nbits == n, AlgorithmError, "shape_mismatch",
               "bit_to_arith: " + std::to_string(bits.nbits) + " bits for " + std::to_string(n) +
                   " elements");
  // Component b_j as a ring 0/1 value, arithmetic-shared with itself in component j.
  auto component = [&](size_t j) {
    return Share{j == this->rank() ? UnpackBits<T>(bits.own, shape) : Tensor<T>(shape),
                 j == next() ? UnpackBits<T>(bits.next, shape) : Tensor<T>(shape)};
  };
  const Share b0 = component(0), b1 = component(1), b2 = component(2);
  const T two = 2;
  // XOR as arithmetic: u ^ v = u + v − 2uv.
  const Share t = this->Sub(this->Add(b0, b1), this->MulScalar(Mul(b0, b1), two));
  return this->Sub(this->Add(t, b2), this->MulScalar(Mul(t, b2), two));
}

template class Aby3Protocol<uint64_t>;
template class Aby3Protocol<uint128_t>;

}  // namespace veil::mpc
