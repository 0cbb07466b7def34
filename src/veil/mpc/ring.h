// Rings Z_2^64 (FM64) and Z_2^128 (FM128), dense row-major tensors over them, and fixed-point
// encoding of doubles (SPU's FieldType / fxp_fraction_bits).
//
//   Tensor<uint64_t> a({2, 3});                       // zero-filled 2x3 matrix over Z_2^64
//   auto x = EncodeFixedPoint<uint64_t>(doubles, 18); // StatusOr<Tensor<uint64_t>>
//   Tensor<uint64_t> c = MatMul(a, b);                 // (2x3)·(3xN), wraps mod 2^64
//
// Arithmetic is modular (unsigned wrap-around); "signed" views are two's complement, so a ring
// element v stands for the integer in [-2^(k-1), 2^(k-1)) congruent to v. A fixed-point value x
// with f fraction bits is stored as round(x·2^f) in that signed view.
//
// Errors: element-wise operations on mismatched shapes, MatMul on non-conforming matrices and
// out-of-range shift amounts are programming errors and throw VeilException(AlgorithmError,
// "shape_mismatch" / "bad_shift"). EncodeFixedPoint reports bad *data* through StatusOr
// (ParameterError "non_finite_value" / "fixed_point_overflow").
//
// Thread safety: a Tensor is a value type (deep copy); distinct objects may be used from distinct
// threads. Large operations run on base/parallel.h (ParallelFor), never on threads of their own.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "veil/base/exception.h"
#include "veil/base/parallel.h"
#include "veil/base/status.h"

namespace veil::mpc {

using uint128_t = unsigned __int128;
using int128_t = __int128;

// SPU's FieldType (FM32 is not offered).
enum class FieldType { kFM64, kFM128 };

// "FM64" / "FM128".
std::string_view FieldTypeName(FieldType field);
// Inverse of FieldTypeName; ParameterError("unknown_field") otherwise.
StatusOr<FieldType> ParseFieldType(std::string_view name);
// Ring bit width k: 64 or 128.
int FieldBits(FieldType field);

// SPU's defaults (libspu/core/config.cc defaultFxpBits) used when fxp_fraction_bits is 0.
inline constexpr int kDefaultFxpBitsFM64 = 18;
inline constexpr int kDefaultFxpBitsFM128 = 26;
int DefaultFxpFractionBits(FieldType field);

template <typename T>
struct RingTraits;

template <>
struct RingTraits<uint64_t> {
  using Signed = int64_t;
  static constexpr int kBits = 64;
  static constexpr FieldType kField = FieldType::kFM64;
  static constexpr int kDefaultFxpBits = kDefaultFxpBitsFM64;
};

template <>
struct RingTraits<uint128_t> {
  using Signed = int128_t;
  static constexpr int kBits = 128;
  static constexpr FieldType kField = FieldType::kFM128;
  static constexpr int kDefaultFxpBits = kDefaultFxpBitsFM128;
};

template <typename T>
concept RingElement = std::is_same_v<T, uint64_t> || std::is_same_v<T, uint128_t>;

// Dimensions, outermost first. {} is a scalar (one element), {n} a vector, {rows, cols} a matrix.
using Shape = std::vector<int64_t>;
int64_t NumElements(const Shape& shape);
std::string ShapeToString(const Shape& shape);

// std::allocator that leaves trivially constructible elements uninitialised on resize, so ring
// buffers that are about to be overwritten (PRG output, results) are not zero-filled first.
template <typename T>
struct DefaultInitAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = DefaultInitAllocator<U>;
  };
  DefaultInitAllocator() = default;
  template <typename U>
  DefaultInitAllocator(const DefaultInitAllocator<U>&) noexcept {}  // NOLINT: allocator rebind
  template <typename U>
  void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

// Dense row-major tensor. Used for ring elements (uint64_t, uint128_t) and for plaintext doubles
// (Tensor<double>, the input/output of fixed-point encoding).
template <typename T>
class Tensor {
 public:
  using Storage = std::vector<T, DefaultInitAllocator<T>>;

  Tensor() = default;
  // Zero-filled.
  explicit Tensor(Shape shape) : shape_(std::move(shape)), data_(NumElements(shape_), T{}) {}
  // `values` must hold NumElements(shape) elements.
  Tensor(Shape shape, const std::vector<T>& values)
      : shape_(std::move(shape)), data_(values.begin(), values.end()) {
    VEIL_ENFORCE(static_cast<int64_t>(data_.size()) == NumElements(shape_), AlgorithmError,
                 "shape_mismatch",
                 "tensor of shape " + ShapeToString(shape_) + " given " +
                     std::to_string(values.size()) + " values");
  }
  // Contents unspecified; for buffers that are written before being read.
  static Tensor Uninitialized(const Shape& shape) {
    Tensor t;
    t.shape_ = shape;
    t.data_.resize(NumElements(t.shape_));
    return t;
  }

  const Shape& shape() const { return shape_; }
  int64_t numel() const { return static_cast<int64_t>(data_.size()); }
  bool empty() const { return data_.empty(); }
  // Matrix dimensions; a vector {n} is a 1 x n row, a scalar 1 x 1.
  int64_t rows() const { return shape_.size() == 2 ? shape_[0] : 1; }
  int64_t cols() const { return shape_.size() == 2 ? shape_[1] : numel(); }

  T* data() { return data_.data(); }
  const T* data() const { return data_.data(); }
  T& operator[](int64_t i) { return data_[i]; }
  const T& operator[](int64_t i) const { return data_[i]; }
  T& at(int64_t r, int64_t c) { return data_[r * cols() + c]; }
  const T& at(int64_t r, int64_t c) const { return data_[r * cols() + c]; }

  // Same elements, new shape with the same element count.
  Tensor Reshaped(const Shape& shape) const {
    VEIL_ENFORCE(NumElements(shape) == numel(), AlgorithmError, "shape_mismatch",
                 "reshape " + ShapeToString(shape_) + " to " + ShapeToString(shape));
    Tensor t = *this;
    t.shape_ = shape;
    return t;
  }

  bool operator==(const Tensor& o) const {
    return shape_ == o.shape_ && std::equal(data_.begin(), data_.end(), o.data_.begin());
  }

 private:
  Shape shape_;
  Storage data_;
};

// Element-wise loops run inline below this many elements and in parallel chunks above it.
inline constexpr int64_t kElementwiseGrain = int64_t{1} << 15;

namespace internal {
inline void CheckSameShape(const Shape& a, const Shape& b, const char* op) {
  VEIL_ENFORCE(a == b, AlgorithmError, "shape_mismatch",
               std::string(op) + ": " + ShapeToString(a) + " vs " + ShapeToString(b));
}
inline void CheckShift(int bits, int ring_bits) {
  VEIL_ENFORCE(
      bits >= 0 && bits < ring_bits, AlgorithmError, "bad_shift",
      "shift by " + std::to_string(bits) + " on a " + std::to_string(ring_bits) + "-bit ring");
}
// out[i] = f(a[i], b[i]) over a fresh tensor of a's shape.
template <typename T, typename F>
Tensor<T> Zip(const Tensor<T>& a, const Tensor<T>& b, const char* op, F f) {
  CheckSameShape(a.shape(), b.shape(), op);
  Tensor<T> out = Tensor<T>::Uninitialized(a.shape());
  const T* pa = a.data();
  const T* pb = b.data();
  T* po = out.data();
  ParallelFor(a.numel(), kElementwiseGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) po[i] = f(pa[i], pb[i]);
  });
  return out;
}
template <typename T, typename F>
Tensor<T> Map(const Tensor<T>& a, F f) {
  Tensor<T> out = Tensor<T>::Uninitialized(a.shape());
  const T* pa = a.data();
  T* po = out.data();
  ParallelFor(a.numel(), kElementwiseGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) po[i] = f(pa[i]);
  });
  return out;
}
template <typename T, typename F>
void ZipInPlace(Tensor<T>* a, const Tensor<T>& b, const char* op, F f) {
  CheckSameShape(a->shape(), b.shape(), op);
  T* pa = a->data();
  const T* pb = b.data();
  ParallelFor(a->numel(), kElementwiseGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) pa[i] = f(pa[i], pb[i]);
  });
}
}  // namespace internal

// ---- element-wise ring operations (mod 2^k) ----
template <RingElement T>
Tensor<T> Add(const Tensor<T>& a, const Tensor<T>& b) {
  return internal::Zip(a, b, "add", [](T x, T y) { return T(x + y); });
}
template <RingElement T>
Tensor<T> Sub(const Tensor<T>& a, const Tensor<T>& b) {
  return internal::Zip(a, b, "sub", [](T x, T y) { return T(x - y); });
}
template <RingElement T>
Tensor<T> Mul(const Tensor<T>& a, const Tensor<T>& b) {
  return internal::Zip(a, b, "mul", [](T x, T y) { return T(x * y); });
}
template <RingElement T>
Tensor<T> Neg(const Tensor<T>& a) {
  return internal::Map(a, [](T x) { return T(T{0} - x); });
}
template <RingElement T>
Tensor<T> MulScalar(const Tensor<T>& a, T s) {
  return internal::Map(a, [s](T x) { return T(x * s); });
}
template <RingElement T>
void AddInPlace(Tensor<T>* a, const Tensor<T>& b) {
  internal::ZipInPlace(a, b, "add", [](T x, T y) { return T(x + y); });
}
template <RingElement T>
void SubInPlace(Tensor<T>* a, const Tensor<T>& b) {
  internal::ZipInPlace(a, b, "sub", [](T x, T y) { return T(x - y); });
}
template <RingElement T>
Tensor<T> Xor(const Tensor<T>& a, const Tensor<T>& b) {
  return internal::Zip(a, b, "xor", [](T x, T y) { return T(x ^ y); });
}
template <RingElement T>
Tensor<T> And(const Tensor<T>& a, const Tensor<T>& b) {
  return internal::Zip(a, b, "and", [](T x, T y) { return T(x & y); });
}
template <RingElement T>
Tensor<T> ShiftLeft(const Tensor<T>& a, int bits) {
  internal::CheckShift(bits, RingTraits<T>::kBits);
  return internal::Map(a, [bits](T x) { return T(x << bits); });
}
// Shift of the two's-complement (signed) view: floor(x / 2^bits).
template <RingElement T>
Tensor<T> ArithShiftRight(const Tensor<T>& a, int bits) {
  internal::CheckShift(bits, RingTraits<T>::kBits);
  using S = typename RingTraits<T>::Signed;
  return internal::Map(a, [bits](T x) { return T(static_cast<S>(x) >> bits); });
}
template <RingElement T>
Tensor<T> LogicalShiftRight(const Tensor<T>& a, int bits) {
  internal::CheckShift(bits, RingTraits<T>::kBits);
  return internal::Map(a, [bits](T x) { return T(x >> bits); });
}

// C (m x n) = A (m x k) · B (k x n) over the ring. Both operands must be 2-D. Cache-blocked
// (i-k-j order, tiles of B reused across rows) and parallel over row blocks.
template <RingElement T>
Tensor<T> MatMul(const Tensor<T>& a, const Tensor<T>& b);

// C += A·B on raw row-major buffers (C must be m x n and initialised).
template <RingElement T>
void MatMulAccumulate(const T* a, const T* b, T* c, int64_t m, int64_t k, int64_t n);

// ---- fixed point ----
// round(x · 2^fraction_bits) in two's complement. Fails on NaN/Inf (ParameterError
// "non_finite_value") and when |x·2^f| >= 2^(k-2) (ParameterError "fixed_point_overflow"): one
// bit of headroom is kept so that x - y of two encodable values does not wrap.
template <RingElement T>
StatusOr<Tensor<T>> EncodeFixedPoint(const Tensor<double>& x, int fraction_bits);
// signed(v) / 2^fraction_bits.
template <RingElement T>
Tensor<double> DecodeFixedPoint(const Tensor<T>& v, int fraction_bits);
// Ring element for one double (same rules as EncodeFixedPoint).
template <RingElement T>
StatusOr<T> EncodeFixedPointScalar(double x, int fraction_bits);

}  // namespace veil::mpc
