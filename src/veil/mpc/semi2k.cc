#include "veil/mpc/semi2k.h"

#include "veil/mpc/wire.h"

namespace veil::mpc {

namespace {

std::vector<Prg> InputStreams(size_t rank, const PartySeeds& seeds) {
  std::vector<Prg> out;
  for (size_t j = 0; j < seeds.pair.size(); ++j) {
    // Own slot is never used; keyed with the private seed so that it is not a shared stream.
    out.emplace_back(j == rank ? seeds.self : seeds.pair[j], PrgStream::kInput);
  }
  return out;
}

}  // namespace

template <RingElement T>
Semi2kProtocol<T>::Semi2kProtocol(std::string name, link::Context* ctx, int fxp_bits,
                                  const PartySeeds& seeds, std::unique_ptr<BeaverSource<T>> beaver,
                                  bool trunc_allow_msb_error)
    : Protocol<T>(std::move(name), ctx, fxp_bits),
      beaver_(std::move(beaver)),
      dealer_(dynamic_cast<TrustedFirstPartyBeaver<T>*>(beaver_.get())),
      input_(InputStreams(ctx->rank(), seeds)),
      trunc_allow_msb_error_(trunc_allow_msb_error) {}

template <RingElement T>
std::vector<Buffer> Semi2kProtocol<T>::Exchange(const std::string& tag, Buffer mine) {
  std::vector<size_t> peers;
  for (size_t j = 0; j < this->world_size(); ++j) {
    if (j != this->rank()) peers.push_back(j);
  }
  const size_t bytes = mine.size();
  for (size_t i = 0; i + 1 < peers.size(); ++i) this->SendOrThrow(peers[i], tag, mine);
  this->SendOrThrow(peers.back(), tag, std::move(mine));
  std::vector<Buffer> theirs;
  theirs.reserve(peers.size());
  for (size_t j : peers) theirs.push_back(this->RecvOrThrow(j, tag, bytes));
  return theirs;
}

template <RingElement T>
Tensor<T> Semi2kProtocol<T>::AllReduceAdd(const std::string& tag, Buffer mine, const Shape& shape) {
  Tensor<T> sum = FromBuffer<T>(mine, shape);
  T* s = sum.data();
  for (const Buffer& theirs : Exchange(tag, std::move(mine))) {
    const uint8_t* p = theirs.data();
    ParallelFor(sum.numel(), kElementwiseGrain, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) s[i] += LoadRing<T>(p, i);
    });
  }
  return sum;
}

template <RingElement T>
Words Semi2kProtocol<T>::AllReduceXor(const std::string& tag, const Words& mine) {
  Words sum = mine;
  for (const Buffer& theirs : Exchange(tag, WordsToBuffer(mine))) {
    XorInPlace(&sum, BufferToWords(theirs));
  }
  return sum;
}

template <RingElement T>
AShare<T> Semi2kProtocol<T>::Input(size_t owner, const Shape& shape, const Tensor<T>* value) {
  const size_t me = this->rank();
  VEIL_ENFORCE(owner < this->world_size(), AlgorithmError, "bad_owner",
               "input owner " + std::to_string(owner));
  VEIL_ENFORCE((value != nullptr) == (me == owner), AlgorithmError, "bad_input",
               "exactly the owner passes a value");
  Share out;
  if (me != owner) {
    out.own = Tensor<T>::Uninitialized(shape);
    input_[owner].FillRing(out.own.data(), out.own.numel());
    return out;
  }
  internal::CheckSameShape(value->shape(), shape, "input");
  out.own = *value;
  Tensor<T> mask = Tensor<T>::Uninitialized(shape);
  for (size_t j = 0; j < this->world_size(); ++j) {
    if (j == me) continue;
    input_[j].FillRing(mask.data(), mask.numel());
    SubInPlace(&out.own, mask);
  }
  return out;
}

template <RingElement T>
Tensor<T> Semi2kProtocol<T>::Open(const Share& x) {
  return AllReduceAdd(this->NextTag("open"), ToBuffer(x.own), x.shape());
}

template <RingElement T>
std::optional<Tensor<T>> Semi2kProtocol<T>::RevealTo(const Share& x, size_t to) {
  VEIL_ENFORCE(to < this->world_size(), AlgorithmError, "bad_rank",
               "reveal to rank " + std::to_string(to));
  const std::string tag = this->NextTag("reveal");
  if (this->rank() != to) {
    this->SendOrThrow(to, tag, ToBuffer(x.own));
    return std::nullopt;
  }
  Tensor<T> sum = x.own;
  for (size_t j = 0; j < this->world_size(); ++j) {
    if (j == to) continue;
    const Buffer theirs = this->RecvOrThrow(j, tag, x.numel() * sizeof(T));
    AddInPlace(&sum, FromBuffer<T>(theirs, x.shape()));
  }
  return sum;
}

template <RingElement T>
AShare<T> Semi2kProtocol<T>::AddPublic(const Share& x, const Tensor<T>& c) const {
  internal::CheckSameShape(x.shape(), c.shape(), "add_public");
  if (this->rank() != 0) return x;
  return Share{Add(x.own, c), Tensor<T>()};
}

template <RingElement T>
AShare<T> Semi2kProtocol<T>::Mul(const Share& x, const Share& y) {
  internal::CheckSameShape(x.shape(), y.shape(), "mul");
  const int64_t n = x.numel();
  auto t = beaver_->Mul(x.shape());
  // Message: e_i = x_i − a_i (elements [0, n)) ‖ f_i = y_i − b_i (elements [n, 2n)).
  Buffer mine(static_cast<size_t>(2 * n) * sizeof(T));
  {
    uint8_t* p = mine.data();
    const T *px = x.own.data(), *py = y.own.data(), *pa = t.a.data(), *pb = t.b.data();
    ParallelFor(n, kElementwiseGrain, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) {
        StoreRing<T>(p, i, px[i] - pa[i]);
        StoreRing<T>(p, n + i, py[i] - pb[i]);
      }
    });
  }
  // The opened e and f are summed on the fly: own part recomputed from x − a, y − b.
  const std::vector<Buffer> theirs = Exchange(this->NextTag("mul"), std::move(mine));
  Share z{Tensor<T>::Uninitialized(x.shape()), Tensor<T>()};
  const T *px = x.own.data(), *py = y.own.data();
  const T *a = t.a.data(), *b = t.b.data(), *c = t.c.data();
  T* pz = z.own.data();
  const T e_f_coeff = this->rank() == 0 ? T{1} : T{0};  // rank 0 adds e·f
  ParallelFor(n, kElementwiseGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      T e = px[i] - a[i], f = py[i] - b[i];
      for (const Buffer& m : theirs) {
        e += LoadRing<T>(m.data(), i);
        f += LoadRing<T>(m.data(), n + i);
      }
      pz[i] = c[i] + e * (b[i] + e_f_coeff * f) + f * a[i];
    }
  });
  return z;
}

template <RingElement T>
AShare<T> Semi2kProtocol<T>::MatMul(const Share& x, const Share& y) {
  VEIL_ENFORCE(x.shape().size() == 2 && y.shape().size() == 2 && x.shape()[1] == y.shape()[0],
               AlgorithmError, "shape_mismatch",
               "matmul " + ShapeToString(x.shape()) + " x " + ShapeToString(y.shape()));
  const int64_t m = x.shape()[0], k = x.shape()[1], n = y.shape()[1];
  auto t = beaver_->Dot(m, k, n);
  // Message: E = X − A (m·k elements) ‖ F = Y − B (k·n elements).
  Buffer mine(static_cast<size_t>(m * k + k * n) * sizeof(T));
  {
    uint8_t* p = mine.data();
    ParallelFor(m * k, kElementwiseGrain, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) StoreRing<T>(p, i, x.own[i] - t.a[i]);
    });
    ParallelFor(k * n, kElementwiseGrain, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) StoreRing<T>(p, m * k + i, y.own[i] - t.b[i]);
    });
  }
  const Tensor<T> ef = AllReduceAdd(this->NextTag("matmul"), std::move(mine), {m * k + k * n});
  const T* e = ef.data();
  const T* f = ef.data() + m * k;
  Share z{std::move(t.c), Tensor<T>()};
  // Z_i = C_i + E·B_i + A_i·F, and at rank 0 E·(B_0 + F) instead of E·B_0 (+ E·F).
  if (this->rank() == 0) {
    Tensor<T> bf = t.b;
    for (int64_t i = 0; i < k * n; ++i) bf[i] += f[i];
    MatMulAccumulate(e, bf.data(), z.own.data(), m, k, n);
  } else {
    MatMulAccumulate(e, t.b.data(), z.own.data(), m, k, n);
  }
  MatMulAccumulate(t.a.data(), f, z.own.data(), m, k, n);
  return z;
}

template <RingElement T>
PreparedOperand<T> Semi2kProtocol<T>::PrepareMatMul(const Share& y) {
  if (dealer_ == nullptr) return Protocol<T>::PrepareMatMul(y);
  VEIL_ENFORCE(y.shape().size() == 2, AlgorithmError, "shape_mismatch",
               "prepared matmul operand " + ShapeToString(y.shape()));
  PreparedOperand<T> p;
  p.shape = y.shape();
  p.masked = true;
  auto fixed = dealer_->DrawFixed(y.shape()[0], y.shape()[1]);
  p.f = AllReduceAdd(this->NextTag("matmul_prepare"), ToBuffer(Sub(y.own, fixed.b)), y.shape());
  p.b = std::move(fixed.b);
  p.sum_b = std::move(fixed.sum_b);
  return p;
}

template <RingElement T>
AShare<T> Semi2kProtocol<T>::MatMulPrepared(const Share& x, const PreparedOperand<T>& y) {
  if (!y.masked) return MatMul(x, y.y);
  VEIL_ENFORCE(x.shape().size() == 2 && x.shape()[1] == y.shape[0], AlgorithmError,
               "shape_mismatch",
               "matmul " + ShapeToString(x.shape()) + " x " + ShapeToString(y.shape));
  const int64_t m = x.shape()[0], k = y.shape[0], n = y.shape[1];
  auto t = dealer_->DotFixed(m, k, n, y.sum_b);
  const Tensor<T> e =
      AllReduceAdd(this->NextTag("matmul_prepared"), ToBuffer(Sub(x.own, t.a)), {m, k});
  Share z{std::move(t.c), Tensor<T>()};
  // Z_i = C_i + E·B_i + A_i·F, and at rank 0 E·(B_0 + F) instead of E·B_0 (+ E·F).
  if (this->rank() == 0) {
    const Tensor<T> bf = Add(y.b, y.f);
    MatMulAccumulate(e.data(), bf.data(), z.own.data(), m, k, n);
  } else {
    MatMulAccumulate(e.data(), y.b.data(), z.own.data(), m, k, n);
  }
  MatMulAccumulate(t.a.data(), y.f.data(), z.own.data(), m, k, n);
  return z;
}

template <RingElement T>
AShare<T> Semi2kProtocol<T>::Trunc(const Share& x, int bits) {
  internal::CheckShift(bits, this->kRingBits);
  if (bits == 0) return x;
  if (this->world_size() == 2) {
    if (!trunc_allow_msb_error_) return TruncWrapBit(x, bits);
    if (this->rank() == 0) return Share{ArithShiftRight(x.own, bits), Tensor<T>()};
    return Share{Neg(ArithShiftRight(Neg(x.own), bits)), Tensor<T>()};
  }
  VEIL_ENFORCE(
      dealer_ != nullptr, InternalError, "no_truncation_pairs",
      "SEMI2K with more than two parties needs the trusted first party's truncation pairs");
  auto pair = dealer_->Trunc(x.shape(), bits);
  const Tensor<T> c = AllReduceAdd(this->NextTag("trunc"), ToBuffer(Add(x.own, pair.r)), x.shape());
  Share z{Neg(pair.t), Tensor<T>()};
  if (this->rank() == 0) AddInPlace(&z.own, ArithShiftRight(c, bits));
  return z;
}

template <RingElement T>
AShare<T> Semi2kProtocol<T>::TruncWrapBit(const Share& x, int bits) {
  constexpr int k = RingTraits<T>::kBits;
  const T offset = T(1) << (k - 2);
  const bool me0 = this->rank() == 0;
  // x' = x + 2^(k-2): rank 0 shifts its share.
  Tensor<T> shifted = me0 ? internal::Map(x.own, [offset](T v) { return T(v + offset); }) : x.own;
  // m_i = msb of the own (shifted) share, as a ring element 0/1.
  Tensor<T> msb = internal::Map(shifted, [](T v) { return T(v >> (k - 1)); });
  // Trivial sharings (m_0, 0) and (0, m_1): the Beaver product masks both before opening.
  const Tensor<T> zero(x.shape());
  const Share m0{me0 ? msb : zero, Tensor<T>()};
  const Share m1{me0 ? zero : msb, Tensor<T>()};
  // w = m0 + m1 − m0·m1 (the wrap of x0' + x1 past 2^k).
  const Share w = this->Sub(this->Add(m0, m1), Mul(m0, m1));
  // (x_i' >> f) − w_i·2^(k−f), logical shifts; rank 0 adds 1 − 2^(k−2−f).
  const int up = k - bits;
  const T fix = T(1) - (T(1) << (k - 2 - bits));
  Tensor<T> out = Tensor<T>::Uninitialized(x.shape());
  const T* ps = shifted.data();
  const T* pw = w.own.data();
  T* po = out.data();
  ParallelFor(out.numel(), kElementwiseGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      T v = T(ps[i] >> bits) - T(pw[i] << up);
      if (me0) v += fix;
      po[i] = v;
    }
  });
  return Share{std::move(out), Tensor<T>()};
}

template <RingElement T>
BShare Semi2kProtocol<T>::And(const BShare& x, const BShare& y) {
  VEIL_ENFORCE(x.nbits == y.nbits && x.own.size() == y.own.size(), AlgorithmError, "shape_mismatch",
               "and of bit strings of different lengths");
  const int64_t w = static_cast<int64_t>(x.own.size());
  auto t = beaver_->And(w);
  // Message: e_i = x_i ^ a_i (words [0, w)) ‖ f_i = y_i ^ b_i (words [w, 2w)).
  Buffer mine(static_cast<size_t>(2 * w) * sizeof(uint64_t));
  {
    uint8_t* p = mine.data();
    ParallelFor(w, kWordGrain, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) {
        StoreWord(p, i, x.own[i] ^ t.a[i]);
        StoreWord(p, w + i, y.own[i] ^ t.b[i]);
      }
    });
  }
  const std::vector<Buffer> theirs = Exchange(this->NextTag("and"), std::move(mine));
  BShare z{x.nbits, Words(w), Words()};
  const uint64_t ef_mask = this->rank() == 0 ? ~uint64_t{0} : 0;  // rank 0 adds e & f
  ParallelFor(w, kWordGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      uint64_t e = x.own[i] ^ t.a[i], f = y.own[i] ^ t.b[i];
      for (const Buffer& m : theirs) {
        e ^= LoadWord(m.data(), i);
        f ^= LoadWord(m.data(), w + i);
      }
      z.own[i] = t.c[i] ^ (e & (t.b[i] ^ (f & ef_mask))) ^ (f & t.a[i]);
    }
  });
  return z;
}

template <RingElement T>
std::vector<BShare> Semi2kProtocol<T>::BitOperands(const Share& x) {
  const int64_t nbits = x.numel() * this->kRingBits;
  std::vector<BShare> ops;
  for (size_t j = 0; j < this->world_size(); ++j) {
    ops.push_back(BShare{
        nbits, j == this->rank() ? ElementsToWords(x.own) : Words(WordsForBits(nbits)), Words()});
  }
  return ops;
}

template <RingElement T>
AShare<T> Semi2kProtocol<T>::BitToArith(const BShare& bits, const Shape& shape) {
  const int64_t n = NumElements(shape);
  VEIL_ENFORCE(bits.nbits == n, AlgorithmError, "shape_mismatch",
               "bit_to_arith: " + std::to_string(bits.nbits) + " bits for " + std::to_string(n) +
                   " elements");
  auto r = beaver_->Bits(shape);
  Words masked = bits.own;
  XorInPlace(&masked, r.bits);
  const Words c = AllReduceXor(this->NextTag("b2a"), masked);
  Share z{Tensor<T>::Uninitialized(shape), Tensor<T>()};
  const T one = this->rank() == 0 ? T{1} : T{0};
  T* pz = z.own.data();
  const T* pr = r.arith.data();
  ParallelFor(n, kElementwiseGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const bool ci = (c[i >> 6] >> (i & 63)) & 1;
      pz[i] = ci ? one - pr[i] : pr[i];
    }
  });
  return z;
}

template class Semi2kProtocol<uint64_t>;
template class Semi2kProtocol<uint128_t>;

}  // namespace veil::mpc
