// Local (communication-free) reshaping of shares, for the kernels built on Protocol's public API
// (fxp_approx.cc, reduce.cc): any linear map applied to every component of a share is a share of
// the mapped value, for every protocol (SEMI2K/REF2K use `own`, ABY3 `own` and `next`).
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <vector>

#include "veil/mpc/protocol.h"
#include "veil/mpc/ring.h"

namespace veil::mpc::internal {

// {f(own), f(next)} (next stays empty when it is).
template <RingElement T, typename F>
AShare<T> MapShare(const AShare<T>& x, F f) {
  return AShare<T>{f(x.own), x.next.empty() ? Tensor<T>() : f(x.next)};
}

// A share of 0 with `shape`, with a `next` component iff `like` has one.
template <RingElement T>
AShare<T> ZeroShare(const AShare<T>& like, const Shape& shape) {
  return AShare<T>{Tensor<T>(shape), like.next.empty() ? Tensor<T>() : Tensor<T>(shape)};
}

// A public tensor with every element `v`.
template <RingElement T>
Tensor<T> Filled(const Shape& shape, T v) {
  Tensor<T> t = Tensor<T>::Uninitialized(shape);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = v;
  return t;
}

// x + v for a public scalar v.
template <RingElement T>
AShare<T> AddScalar(const Protocol<T>& prot, const AShare<T>& x, T v) {
  return prot.AddPublic(x, Filled(x.shape(), v));
}

// The flattened concatenation of the parts (a vector share).
template <RingElement T>
AShare<T> ConcatShares(const std::vector<const AShare<T>*>& parts) {
  int64_t total = 0;
  for (const auto* p : parts) total += p->numel();
  const bool next = !parts.empty() && !parts[0]->next.empty();
  AShare<T> out{Tensor<T>::Uninitialized({total}),
                next ? Tensor<T>::Uninitialized({total}) : Tensor<T>()};
  int64_t at = 0;
  for (const auto* p : parts) {
    std::copy(p->own.data(), p->own.data() + p->numel(), out.own.data() + at);
    if (next) std::copy(p->next.data(), p->next.data() + p->numel(), out.next.data() + at);
    at += p->numel();
  }
  return out;
}

// Inverse of ConcatShares: consecutive pieces of x with the given shapes.
template <RingElement T>
std::vector<AShare<T>> SplitShare(const AShare<T>& x, const std::vector<Shape>& shapes) {
  std::vector<AShare<T>> out;
  int64_t at = 0;
  for (const Shape& s : shapes) {
    const int64_t n = NumElements(s);
    VEIL_ENFORCE(at + n <= x.numel(), AlgorithmError, "shape_mismatch", "split past the end");
    auto piece = [&](const Tensor<T>& t) {
      Tensor<T> p = Tensor<T>::Uninitialized(s);
      std::copy(t.data() + at, t.data() + at + n, p.data());
      return p;
    };
    out.push_back(MapShare(x, [&](const Tensor<T>& t) { return piece(t); }));
    at += n;
  }
  return out;
}

// The same elements with a new shape.
template <RingElement T>
AShare<T> ReshapeShare(const AShare<T>& x, const Shape& shape) {
  return MapShare(x, [&](const Tensor<T>& t) { return t.Reshaped(shape); });
}

// Element-wise products of several pairs in one Mul call (one round); each result has its
// pair's shape. With `fxp`, the products are truncated by the fraction bits (one Trunc call).
template <RingElement T>
std::vector<AShare<T>> MulMany(Protocol<T>& prot,
                               const std::vector<std::pair<const AShare<T>*, const AShare<T>*>>& xy,
                               bool fxp) {
  std::vector<const AShare<T>*> lhs, rhs;
  std::vector<Shape> shapes;
  for (const auto& [a, b] : xy) {
    internal::CheckSameShape(a->shape(), b->shape(), "mul_many");
    lhs.push_back(a);
    rhs.push_back(b);
    shapes.push_back(a->shape());
  }
  AShare<T> z = prot.Mul(ConcatShares(lhs), ConcatShares(rhs));
  if (fxp) z = prot.Trunc(z, prot.fxp_fraction_bits());
  return SplitShare(z, shapes);
}

}  // namespace veil::mpc::internal
