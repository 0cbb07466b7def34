// Local (communication-free) reshaping of tensors and of shares: transpose, row concatenation,
// diagonal, row/column selection. A share is reshaped by reshaping each of its components the
// same way, so these cost no rounds and reveal nothing.
//
// Thread safety: pure functions.
#pragma once

#include <vector>

#include "veil/base/exception.h"
#include "veil/mpc/protocol.h"
#include "veil/mpc/ring.h"
#include "veil/mpc/share_ops.h"

namespace veil::mpc {

// The transpose of a matrix (a vector {n} is treated as 1 x n and becomes n x 1).
template <typename T>
Tensor<T> Transpose(const Tensor<T>& a) {
  const int64_t rows = a.rows(), cols = a.cols();
  Tensor<T> out = Tensor<T>::Uninitialized({cols, rows});
  constexpr int64_t kBlock = 32;  // cache blocking
  for (int64_t r0 = 0; r0 < rows; r0 += kBlock) {
    for (int64_t c0 = 0; c0 < cols; c0 += kBlock) {
      for (int64_t r = r0; r < std::min(rows, r0 + kBlock); ++r) {
        for (int64_t c = c0; c < std::min(cols, c0 + kBlock); ++c) out.at(c, r) = a.at(r, c);
      }
    }
  }
  return out;
}

// The matrices of `parts` stacked vertically; all must have the same number of columns.
template <typename T>
Tensor<T> ConcatRows(const std::vector<const Tensor<T>*>& parts) {
  VEIL_ENFORCE(!parts.empty(), AlgorithmError, "shape_mismatch", "ConcatRows of nothing");
  const int64_t cols = parts.front()->cols();
  int64_t rows = 0;
  for (const auto* p : parts) {
    VEIL_ENFORCE(p->cols() == cols, AlgorithmError, "shape_mismatch",
                 "ConcatRows: " + ShapeToString(p->shape()) + " has not " + std::to_string(cols) +
                     " columns");
    rows += p->rows();
  }
  Tensor<T> out = Tensor<T>::Uninitialized({rows, cols});
  T* dst = out.data();
  for (const auto* p : parts) dst = std::copy(p->data(), p->data() + p->numel(), dst);
  return out;
}

// The diagonal of a square matrix, as a vector.
template <typename T>
Tensor<T> Diagonal(const Tensor<T>& a) {
  VEIL_ENFORCE(a.shape().size() == 2 && a.rows() == a.cols(), AlgorithmError, "shape_mismatch",
               "Diagonal of " + ShapeToString(a.shape()));
  Tensor<T> out({a.rows()});
  for (int64_t i = 0; i < a.rows(); ++i) out[i] = a.at(i, i);
  return out;
}

// The n x n matrix with `value` on the diagonal and 0 elsewhere.
template <typename T>
Tensor<T> ScaledIdentity(int64_t n, T value) {
  Tensor<T> out({n, n});
  for (int64_t i = 0; i < n; ++i) out.at(i, i) = value;
  return out;
}

// The matrices of `parts` side by side; all must have the same number of rows.
template <typename T>
Tensor<T> ConcatColumns(const std::vector<const Tensor<T>*>& parts) {
  VEIL_ENFORCE(!parts.empty(), AlgorithmError, "shape_mismatch", "ConcatColumns of nothing");
  const int64_t rows = parts.front()->rows();
  int64_t cols = 0;
  for (const auto* p : parts) {
    VEIL_ENFORCE(p->rows() == rows, AlgorithmError, "shape_mismatch",
                 "ConcatColumns: " + ShapeToString(p->shape()) + " has not " +
                     std::to_string(rows) + " rows");
    cols += p->cols();
  }
  Tensor<T> out = Tensor<T>::Uninitialized({rows, cols});
  for (int64_t r = 0; r < rows; ++r) {
    T* dst = out.data() + r * cols;
    for (const auto* p : parts) {
      const T* src = p->data() + r * p->cols();
      dst = std::copy(src, src + p->cols(), dst);
    }
  }
  return out;
}

// Rows [begin, end) of a matrix.
template <typename T>
Tensor<T> SliceRows(const Tensor<T>& a, int64_t begin, int64_t end) {
  VEIL_ENFORCE(0 <= begin && begin <= end && end <= a.rows(), AlgorithmError, "shape_mismatch",
               "SliceRows [" + std::to_string(begin) + ", " + std::to_string(end) + ") of " +
                   ShapeToString(a.shape()));
  Tensor<T> out = Tensor<T>::Uninitialized({end - begin, a.cols()});
  std::copy(a.data() + begin * a.cols(), a.data() + end * a.cols(), out.data());
  return out;
}

// A 1 x c (or {c}) row repeated `rows` times: rows x c.
template <typename T>
Tensor<T> TileRows(const Tensor<T>& row, int64_t rows) {
  const int64_t c = row.numel();
  Tensor<T> out = Tensor<T>::Uninitialized({rows, c});
  for (int64_t r = 0; r < rows; ++r) std::copy(row.data(), row.data() + c, out.data() + r * c);
  return out;
}

// ---- the same on shares (every component reshaped alike) ----

template <RingElement T>
AShare<T> Transpose(const AShare<T>& x) {
  return internal::MapShare(x, [](const Tensor<T>& t) { return Transpose(t); });
}

template <RingElement T>
AShare<T> ConcatRows(const std::vector<AShare<T>>& parts) {
  std::vector<const Tensor<T>*> own, next;
  for (const auto& p : parts) {
    own.push_back(&p.own);
    next.push_back(&p.next);
  }
  AShare<T> out{ConcatRows(own), {}};
  if (!parts.front().next.empty()) out.next = ConcatRows(next);
  return out;
}

template <RingElement T>
AShare<T> Diagonal(const AShare<T>& x) {
  return internal::MapShare(x, [](const Tensor<T>& t) { return Diagonal(t); });
}

template <RingElement T>
AShare<T> ConcatColumns(const std::vector<AShare<T>>& parts) {
  std::vector<const Tensor<T>*> own, next;
  for (const auto& p : parts) {
    own.push_back(&p.own);
    next.push_back(&p.next);
  }
  AShare<T> out{ConcatColumns(own), {}};
  if (!parts.front().next.empty()) out.next = ConcatColumns(next);
  return out;
}

template <RingElement T>
AShare<T> SliceRows(const AShare<T>& x, int64_t begin, int64_t end) {
  return internal::MapShare(x, [&](const Tensor<T>& t) { return SliceRows(t, begin, end); });
}

template <RingElement T>
AShare<T> TileRows(const AShare<T>& row, int64_t rows) {
  return internal::MapShare(row, [&](const Tensor<T>& t) { return TileRows(t, rows); });
}

}  // namespace veil::mpc
