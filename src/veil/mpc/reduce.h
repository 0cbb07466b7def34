// Reductions along an axis of a secret-shared matrix: Sum (local), Max and Argmax (a tournament
// of Less + Select).
//
//   auto s = ReduceSum(prot, x, /*axis=*/1);        // {m, n} -> {m}, no communication
//   ArgmaxResult<uint64_t> a = Argmax(prot, x, 1);   // a.max {m}, a.index {m}, a.onehot {m, n}
//
// Shapes: x is a matrix {m, n} (axis 0 reduces over rows, giving {n}; axis 1 over columns,
// giving {m}) or a vector {n} (axis 0, giving {1}). The values may be integers or fixed point:
// only comparisons and selections are used, so Max is exact and Argmax has no approximation
// error, provided differences of compared values do not wrap (|a − b| < 2^(k-1), protocol.h).
//
// Tournament: the n candidates of every row are paired (0,1), (2,3), …; one Less call compares all
// pairs of all rows (b > a strictly picks the right one, so ties keep the lower index), one Mul
// selects the winners; an odd candidate passes to the next level. ⌈log2 n⌉ levels of
// (Msb + 1) rounds. Argmax then expands the winner flags top-down into a one-hot share (one Mul
// per level, another ⌈log2 n⌉ rounds) and derives the index from it locally. A 1-element axis
// costs nothing (max = x, index 0, one-hot 1).
//
// Errors: VeilException(AlgorithmError "shape_mismatch") for a tensor of rank > 2, an empty
// axis, or an axis out of range. Collective, thread safety as Protocol.
#pragma once

#include <cstdint>

#include "veil/mpc/protocol.h"

namespace veil::mpc {

// Σ over `axis` (local).
template <RingElement T>
AShare<T> ReduceSum(const Protocol<T>& prot, const AShare<T>& x, int axis);

// max over `axis`.
template <RingElement T>
AShare<T> ReduceMax(Protocol<T>& prot, const AShare<T>& x, int axis);

template <RingElement T>
struct ArgmaxResult {
  // The maxima, shape as ReduceSum's result.
  AShare<T> max;
  // The index of the first maximum along the axis as a fixed-point integer (OpenFxp gives the
  // index exactly; multiply by nothing else), shape as max.
  AShare<T> index;
  // 0/1 share of x's shape, 1 exactly at the first maximum of every reduced line (plain ring
  // integers, not fixed point).
  AShare<T> onehot;
};

template <RingElement T>
ArgmaxResult<T> Argmax(Protocol<T>& prot, const AShare<T>& x, int axis);

}  // namespace veil::mpc
