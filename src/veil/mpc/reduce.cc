#include "veil/mpc/reduce.h"

#include <algorithm>
#include <string>
#include <vector>

#include "veil/base/exception.h"
#include "veil/mpc/shape_ops.h"
#include "veil/mpc/share_ops.h"

namespace veil::mpc {

namespace {

using internal::MapShare;

// The lines to reduce as a {lines, len} matrix (transposed for axis 0), and the output shape.
struct Layout {
  int64_t lines = 0;
  int64_t len = 0;
  bool transpose = false;
  Shape out_shape;
};

Layout MakeLayout(const Shape& shape, int axis) {
  VEIL_ENFORCE(shape.size() == 1 || shape.size() == 2, AlgorithmError, "shape_mismatch",
               "reduction of a tensor of shape " + ShapeToString(shape) + " (need 1-D or 2-D)");
  VEIL_ENFORCE(axis >= 0 && axis < static_cast<int>(shape.size()), AlgorithmError, "shape_mismatch",
               "reduction axis " + std::to_string(axis) + " of shape " + ShapeToString(shape));
  Layout l;
  if (shape.size() == 1) {
    l = Layout{1, shape[0], false, {1}};
  } else if (axis == 1) {
    l = Layout{shape[0], shape[1], false, {shape[0]}};
  } else {
    l = Layout{shape[1], shape[0], true, {shape[1]}};
  }
  VEIL_ENFORCE(l.len > 0, AlgorithmError, "shape_mismatch",
               "reduction over an empty axis of shape " + ShapeToString(shape));
  return l;
}

// x as a {lines, len} matrix share.
template <RingElement T>
AShare<T> ToLines(const AShare<T>& x, const Layout& l) {
  return MapShare(x, [&](const Tensor<T>& t) {
    return l.transpose ? Transpose(t) : t.Reshaped({l.lines, l.len});
  });
}

// Columns first, first + step, … (count of them) of a {rows, cols} matrix share.
template <RingElement T>
AShare<T> Columns(const AShare<T>& x, int64_t rows, int64_t cols, int64_t first, int64_t step,
                  int64_t count) {
  return MapShare(x, [&](const Tensor<T>& t) {
    Tensor<T> out = Tensor<T>::Uninitialized({rows, count});
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t c = 0; c < count; ++c) out[r * count + c] = t[r * cols + first + c * step];
    }
    return out;
  });
}

template <RingElement T>
struct Tournament {
  AShare<T> max;  // {lines, 1}
  // Per level: the comparison results {lines, pairs} (1: the right candidate won) and the
  // number of candidates the level started with.
  std::vector<std::pair<AShare<T>, int64_t>> levels;
};

template <RingElement T>
Tournament<T> RunTournament(Protocol<T>& prot, AShare<T> cur, int64_t lines, int64_t len) {
  Tournament<T> t;
  int64_t c = len;
  while (c > 1) {
    const int64_t pairs = c / 2;
    const AShare<T> a = Columns(cur, lines, c, 0, 2, pairs);
    const AShare<T> b = Columns(cur, lines, c, 1, 2, pairs);
    AShare<T> right = prot.Less(a, b);  // a < b: the right one wins; ties keep the left
    AShare<T> win = prot.Add(a, prot.Mul(right, prot.Sub(b, a)));
    if (c % 2 == 1) {
      win = ConcatColumns(std::vector<AShare<T>>{win, Columns(cur, lines, c, c - 1, 1, 1)});
    }
    t.levels.emplace_back(std::move(right), c);
    cur = std::move(win);
    c = pairs + c % 2;
  }
  t.max = std::move(cur);
  return t;
}

}  // namespace

template <RingElement T>
AShare<T> ReduceSum(const Protocol<T>& prot, const AShare<T>& x, int axis) {
  (void)prot;
  const Layout l = MakeLayout(x.shape(), axis);
  const AShare<T> m = ToLines(x, l);
  return MapShare(m, [&](const Tensor<T>& t) {
    Tensor<T> out(l.out_shape);
    for (int64_t r = 0; r < l.lines; ++r) {
      T acc = 0;
      for (int64_t c = 0; c < l.len; ++c) acc += t[r * l.len + c];
      out[r] = acc;
    }
    return out;
  });
}

template <RingElement T>
AShare<T> ReduceMax(Protocol<T>& prot, const AShare<T>& x, int axis) {
  const Layout l = MakeLayout(x.shape(), axis);
  Tournament<T> t = RunTournament(prot, ToLines(x, l), l.lines, l.len);
  return internal::ReshapeShare(t.max, l.out_shape);
}

template <RingElement T>
ArgmaxResult<T> Argmax(Protocol<T>& prot, const AShare<T>& x, int axis) {
  const Layout l = MakeLayout(x.shape(), axis);
  Tournament<T> t = RunTournament(prot, ToLines(x, l), l.lines, l.len);
  // Top-down: the winner of the final candidate carries flag 1; a pair's flags are
  // (flag·(1 − right), flag·right), an odd candidate keeps its flag.
  AShare<T> flags = internal::AddScalar(prot, internal::ZeroShare(x, {l.lines, 1}), T(1));
  int64_t width = 1;
  for (auto it = t.levels.rbegin(); it != t.levels.rend(); ++it) {
    const AShare<T>& right = it->first;
    const int64_t c = it->second, pairs = c / 2;
    const AShare<T> paired = Columns(flags, l.lines, width, 0, 1, pairs);
    const AShare<T> to_right = prot.Mul(paired, right);
    const AShare<T> to_left = prot.Sub(paired, to_right);
    auto interleave = [&](const Tensor<T>& lt, const Tensor<T>& rt, const Tensor<T>& ft) {
      Tensor<T> out = Tensor<T>::Uninitialized({l.lines, c});
      for (int64_t r = 0; r < l.lines; ++r) {
        for (int64_t i = 0; i < pairs; ++i) {
          out[r * c + 2 * i] = lt[r * pairs + i];
          out[r * c + 2 * i + 1] = rt[r * pairs + i];
        }
        if (c % 2 == 1) out[r * c + c - 1] = ft[r * width + width - 1];
      }
      return out;
    };
    flags = AShare<T>{
        interleave(to_left.own, to_right.own, flags.own),
        flags.next.empty() ? Tensor<T>() : interleave(to_left.next, to_right.next, flags.next)};
    width = c;
  }
  ArgmaxResult<T> out;
  out.max = internal::ReshapeShare(t.max, l.out_shape);
  const T one = ValueOrThrow(EncodeFixedPointScalar<T>(1.0, prot.fxp_fraction_bits()));
  out.index = MapShare(flags, [&](const Tensor<T>& f) {
    Tensor<T> idx(l.out_shape);
    for (int64_t r = 0; r < l.lines; ++r) {
      T acc = 0;
      for (int64_t c = 0; c < l.len; ++c) acc += f[r * l.len + c] * (one * static_cast<T>(c));
      idx[r] = acc;
    }
    return idx;
  });
  out.onehot = MapShare(flags, [&](const Tensor<T>& f) {
    return l.transpose ? Transpose(f.Reshaped({l.lines, l.len})) : f.Reshaped(x.shape());
  });
  return out;
}

#define VEIL_REDUCE_INSTANTIATE(T)                                            \
  template AShare<T> ReduceSum<T>(const Protocol<T>&, const AShare<T>&, int); \
  template AShare<T> ReduceMax<T>(Protocol<T>&, const AShare<T>&, int);       \
  template ArgmaxResult<T> Argmax<T>(Protocol<T>&, const AShare<T>&, int);

VEIL_REDUCE_INSTANTIATE(uint64_t)
VEIL_REDUCE_INSTANTIATE(uint128_t)
#undef VEIL_REDUCE_INSTANTIATE

}  // namespace veil::mpc
