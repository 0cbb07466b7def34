#include "veil/mpc/ring.h"

#include <cmath>

namespace veil::mpc {

std::string_view FieldTypeName(FieldType field) {
  return field == FieldType::kFM64 ? "FM64" : "FM128";
}

StatusOr<FieldType> ParseFieldType(std::string_view name) {
  if (name == "FM64") return FieldType::kFM64;
  if (name == "FM128") return FieldType::kFM128;
  return ParameterError("unknown_field",
                        "field '" + std::string(name) + "' is not one of FM64, FM128");
}

int FieldBits(FieldType field) { return field == FieldType::kFM64 ? 64 : 128; }

int DefaultFxpFractionBits(FieldType field) {
  return field == FieldType::kFM64 ? kDefaultFxpBitsFM64 : kDefaultFxpBitsFM128;
}

int64_t NumElements(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    VEIL_ENFORCE(d >= 0, AlgorithmError, "shape_mismatch", "negative dimension");
    n *= d;
  }
  return n;
}

std::string ShapeToString(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

namespace {
// Tile sizes of the blocked product: a kBlockK x kBlockN tile of B (128 x 256 x 16 bytes at most,
// 512 KiB for FM128, half that for FM64) stays in L2 while every row of the current row block
// streams through it.
constexpr int64_t kBlockK = 128;
constexpr int64_t kBlockN = 256;
// Minimum multiply-adds per parallel task.
constexpr int64_t kMatMulGrainOps = int64_t{1} << 16;
}  // namespace

namespace {

// c[0, n) += s · b[0, n): the inner loop of the blocked product. The 64-bit version is compiled
// for AVX-512DQ (vpmullq: 8 products per instruction), AVX2 and baseline x86-64, and the best
// one is picked at load time (GCC function multi-versioning), so the binary still runs anywhere.
template <RingElement T>
inline void ScaledAdd(T* __restrict c, const T* __restrict b, T s, int64_t n) {
  for (int64_t j = 0; j < n; ++j) c[j] += s * b[j];
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("arch=x86-64-v4", "avx2", "default"), optimize("tree-vectorize")))
#endif
void ScaledAddU64(uint64_t* __restrict c, const uint64_t* __restrict b, uint64_t s, int64_t n) {
  for (int64_t j = 0; j < n; ++j) c[j] += s * b[j];
}

template <>
inline void ScaledAdd<uint64_t>(uint64_t* __restrict c, const uint64_t* __restrict b, uint64_t s,
                                int64_t n) {
  ScaledAddU64(c, b, s, n);
}

}  // namespace

template <RingElement T>
void MatMulAccumulate(const T* a, const T* b, T* c, int64_t m, int64_t k, int64_t n) {
  if (m == 0 || n == 0 || k == 0) return;
  const int64_t row_grain = std::max<int64_t>(1, kMatMulGrainOps / std::max<int64_t>(1, k * n));
  if (n == 1) {
    // Matrix-vector: contiguous dot products.
    ParallelFor(m, row_grain, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) {
        const T* arow = a + i * k;
        T acc0 = 0, acc1 = 0;
        int64_t p = 0;
        for (; p + 1 < k; p += 2) {
          acc0 += arow[p] * b[p];
          acc1 += arow[p + 1] * b[p + 1];
        }
        if (p < k) acc0 += arow[p] * b[p];
        c[i] += acc0 + acc1;
      }
    });
    return;
  }
  ParallelFor(m, row_grain, [&](int64_t lo, int64_t hi) {
    for (int64_t j0 = 0; j0 < n; j0 += kBlockN) {
      const int64_t j1 = std::min(n, j0 + kBlockN);
      for (int64_t p0 = 0; p0 < k; p0 += kBlockK) {
        const int64_t p1 = std::min(k, p0 + kBlockK);
        for (int64_t i = lo; i < hi; ++i) {
          T* crow = c + i * n;
          const T* arow = a + i * k;
          for (int64_t p = p0; p < p1; ++p) {
            ScaledAdd<T>(crow + j0, b + p * n + j0, arow[p], j1 - j0);
          }
        }
      }
    }
  });
}

template <RingElement T>
Tensor<T> MatMul(const Tensor<T>& a, const Tensor<T>& b) {
  VEIL_ENFORCE(a.shape().size() == 2 && b.shape().size() == 2 && a.shape()[1] == b.shape()[0],
               AlgorithmError, "shape_mismatch",
               "matmul " + ShapeToString(a.shape()) + " x " + ShapeToString(b.shape()));
  const int64_t m = a.shape()[0], k = a.shape()[1], n = b.shape()[1];
  Tensor<T> c({m, n});
  MatMulAccumulate(a.data(), b.data(), c.data(), m, k, n);
  return c;
}

template <RingElement T>
StatusOr<T> EncodeFixedPointScalar(double x, int fraction_bits) {
  using S = typename RingTraits<T>::Signed;
  if (!std::isfinite(x)) {
    return ParameterError("non_finite_value", "cannot encode NaN or infinity as fixed point");
  }
  const double scaled = std::nearbyint(std::ldexp(x, fraction_bits));
  const double limit = std::ldexp(1.0, RingTraits<T>::kBits - 2);
  if (!(std::fabs(scaled) < limit)) {
    return ParameterError("fixed_point_overflow",
                          "value " + std::to_string(x) + " does not fit " +
                              std::to_string(RingTraits<T>::kBits) + "-bit fixed point with " +
                              std::to_string(fraction_bits) + " fraction bits");
  }
  return static_cast<T>(static_cast<S>(scaled));
}

template <RingElement T>
StatusOr<Tensor<T>> EncodeFixedPoint(const Tensor<double>& x, int fraction_bits) {
  Tensor<T> out = Tensor<T>::Uninitialized(x.shape());
  for (int64_t i = 0; i < x.numel(); ++i) {
    auto v = EncodeFixedPointScalar<T>(x[i], fraction_bits);
    if (!v.ok()) return v.status().WithContext("element " + std::to_string(i) + ": ");
    out[i] = *v;
  }
  return out;
}

template <RingElement T>
Tensor<double> DecodeFixedPoint(const Tensor<T>& v, int fraction_bits) {
  using S = typename RingTraits<T>::Signed;
  Tensor<double> out = Tensor<double>::Uninitialized(v.shape());
  const double scale = std::ldexp(1.0, -fraction_bits);
  for (int64_t i = 0; i < v.numel(); ++i) {
    out[i] = static_cast<double>(static_cast<S>(v[i])) * scale;
  }
  return out;
}

// NOLINTBEGIN(bugprone-macro-parentheses): T is a type.
#define VEIL_MPC_INSTANTIATE_RING(T)                                                    \
  template void MatMulAccumulate<T>(const T*, const T*, T*, int64_t, int64_t, int64_t); \
  template Tensor<T> MatMul<T>(const Tensor<T>&, const Tensor<T>&);                     \
  template StatusOr<T> EncodeFixedPointScalar<T>(double, int);                          \
  template StatusOr<Tensor<T>> EncodeFixedPoint<T>(const Tensor<double>&, int);         \
  template Tensor<double> DecodeFixedPoint<T>(const Tensor<T>&, int);

VEIL_MPC_INSTANTIATE_RING(uint64_t)
VEIL_MPC_INSTANTIATE_RING(uint128_t)
#undef VEIL_MPC_INSTANTIATE_RING
// NOLINTEND(bugprone-macro-parentheses)

}  // namespace veil::mpc
