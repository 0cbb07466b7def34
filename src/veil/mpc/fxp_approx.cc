#include "veil/mpc/fxp_approx.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "veil/base/exception.h"
#include "veil/mpc/share_ops.h"

namespace veil::mpc {

namespace {

using internal::AddScalar;
using internal::ConcatShares;
using internal::Filled;
using internal::MapShare;
using internal::MulMany;
using internal::ReshapeShare;
using internal::SplitShare;

// log(1 + u) on [0, 1]: least squares on 2000 Chebyshev nodes, degree 8 (max error 3.4e-8).
constexpr std::array<double, 9> kLog1pCoeffs = {
    3.386965347696614e-08, 0.9999942724811751,   -0.4998385618341656,
    0.33154861651953416,   -0.23982616049886973, 0.16582275268005692,
    -0.09325203897383502,  0.03484971247107324,  -0.006151470959896876};
// c^(-1/2) on [0.5, 1]: least squares on Chebyshev nodes, degree 2 (max error 4.4e-3).
constexpr std::array<double, 3> kRsqrtGuessCoeffs = {2.2353734662862648, -2.0701763141052245,
                                                     0.8380620939936811};
// Goldschmidt's initial approximation of 1/c on [0.5, 1] (SPU): w = 2.9142 − 2c.
constexpr double kGoldschmidtW0 = 2.9142;

// ---- boolean shares: element-wise linear maps on both components ----
template <RingElement T, typename F>
Words MapElements(const Words& w, F f) {
  constexpr int64_t wpe = sizeof(T) / 8;
  const int64_t n = static_cast<int64_t>(w.size()) / wpe;
  Words out(w.size());
  const uint64_t* in = w.data();
  uint64_t* o = out.data();
  ParallelFor(n, kElementwiseGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t e = lo; e < hi; ++e) {
      T v;
      std::memcpy(&v, in + e * wpe, sizeof(T));
      v = f(v);
      std::memcpy(o + e * wpe, &v, sizeof(T));
    }
  });
  return out;
}

// f must be linear over XOR (shifts, masks, XOR with a function of the same component).
template <RingElement T, typename F>
BShare MapBits(const BShare& x, F f) {
  return BShare{x.nbits, MapElements<T>(x.own, f),
                x.next.empty() ? Words() : MapElements<T>(x.next, f)};
}

template <RingElement T>
BShare ShiftLeftBits(const BShare& x, int s) {
  return MapBits<T>(x, [s](T v) { return T(v << s); });
}

template <RingElement T>
BShare ShiftRightBits(const BShare& x, int s) {
  return MapBits<T>(x, [s](T v) { return T(v >> s); });
}

BShare BConcat(const BShare& a, const BShare& b) {
  return BShare{a.nbits + b.nbits, Concat(a.own, b.own),
                a.next.empty() ? Words() : Concat(a.next, b.next)};
}

// The two halves of a string built by BConcat of two equal strings of `nbits` bits each.
void BSplit(const BShare& x, int64_t nbits, BShare* lo, BShare* hi) {
  const int64_t w = WordsForBits(nbits);
  *lo = BShare{nbits, Slice(x.own, 0, w), x.next.empty() ? Words() : Slice(x.next, 0, w)};
  *hi = BShare{nbits, Slice(x.own, w, w), x.next.empty() ? Words() : Slice(x.next, w, w)};
}

// OR of shared bits: a ^ b ^ (a & b).
template <RingElement T>
BShare BOr(Protocol<T>& prot, const BShare& a, const BShare& b) {
  return prot.Xor(prot.Xor(a, b), prot.And(a, b));
}

// Bit positions pos[r] of every element e of a string of n k-bit elements, regrouped row-major:
// out bit r·n + e = in bit e·k + pos[r].
Words GatherBitRows(const Words& in, int64_t n, int ring_bits, const std::vector<int>& pos) {
  const int64_t total = n * static_cast<int64_t>(pos.size());
  Words out(WordsForBits(total), 0);
  uint64_t* o = out.data();
  ParallelFor(static_cast<int64_t>(out.size()), kWordGrain / 64 + 1, [&](int64_t lo, int64_t hi) {
    for (int64_t w = lo; w < hi; ++w) {
      uint64_t acc = 0;
      const int64_t end = std::min<int64_t>(total, (w + 1) * 64);
      for (int64_t i = w * 64; i < end; ++i) {
        const int64_t r = i / n, e = i % n;
        const int64_t src = e * ring_bits + pos[r];
        acc |= ((in[src >> 6] >> (src & 63)) & 1) << (i & 63);
      }
      o[w] = acc;
    }
  });
  return out;
}

// Σ_j coeffs[j] · rows[j] for a share of shape {rows, n}; the result has `shape` (n elements).
template <RingElement T>
AShare<T> RowCombination(const AShare<T>& rows, const std::vector<T>& coeffs, const Shape& shape) {
  const int64_t n = NumElements(shape);
  auto combine = [&](const Tensor<T>& t) {
    Tensor<T> out(shape);
    T* o = out.data();
    const T* in = t.data();
    ParallelFor(n, kElementwiseGrain, [&](int64_t lo, int64_t hi) {
      for (size_t j = 0; j < coeffs.size(); ++j) {
        if (coeffs[j] == 0) continue;
        const T c = coeffs[j];
        const T* row = in + static_cast<int64_t>(j) * n;
        for (int64_t i = lo; i < hi; ++i) o[i] += c * row[i];
      }
    });
    return out;
  };
  return MapShare(rows, combine);
}

// y · 2^shift[j] for the row j that is 1 in the one-hot share: y·up + Trunc(y·down, down_bits)
// with up = Σ_j h_j 2^shift[j] over shift[j] ≥ 0 and down = Σ_j h_j 2^(down_bits + shift[j])
// over shift[j] < 0. Exactly one of the two is nonzero per element, and y·down stays below
// |y|·2^down_bits, so the truncation works on small values.
template <RingElement T>
struct Pow2Scale {
  AShare<T> up;
  AShare<T> down;
  int down_bits = 0;
};

template <RingElement T>
Pow2Scale<T> MakePow2Scale(const AShare<T>& onehot, const std::vector<int>& shift,
                           const Shape& shape) {
  int down_bits = 0;
  for (int s : shift) down_bits = std::max(down_bits, -s);
  std::vector<T> up(shift.size(), 0), down(shift.size(), 0);
  for (size_t j = 0; j < shift.size(); ++j) {
    if (shift[j] >= 0) {
      up[j] = T(1) << shift[j];
    } else {
      down[j] = T(1) << (down_bits + shift[j]);
    }
  }
  return Pow2Scale<T>{RowCombination(onehot, up, shape), RowCombination(onehot, down, shape),
                      down_bits};
}

template <RingElement T>
AShare<T> ApplyPow2Scale(Protocol<T>& prot, const Pow2Scale<T>& scale, const AShare<T>& y) {
  auto prods = MulMany<T>(prot, {{&y, &scale.up}, {&y, &scale.down}}, /*fxp=*/false);
  return prot.Add(prods[0], prot.Trunc(prods[1], scale.down_bits));
}

// Σ_i coeffs[i] x^i. Powers by repeated doubling (x^(p+i) = x^p·x^i for i ≤ p, one round per
// doubling), then one truncation of the sum of the coefficient products.
template <RingElement T>
AShare<T> PolyEval(Protocol<T>& prot, const AShare<T>& x, const std::vector<double>& coeffs) {
  const int deg = static_cast<int>(coeffs.size()) - 1;
  std::vector<AShare<T>> pw(deg + 1);
  if (deg >= 1) pw[1] = x;
  for (int p = 1; p < deg; p *= 2) {
    std::vector<std::pair<const AShare<T>*, const AShare<T>*>> pairs;
    for (int i = 1; i <= p && p + i <= deg; ++i) pairs.emplace_back(&pw[p], &pw[i]);
    auto prods = MulMany(prot, pairs, /*fxp=*/true);
    for (size_t i = 0; i < prods.size(); ++i) pw[p + 1 + i] = std::move(prods[i]);
  }
  AShare<T> acc = internal::ZeroShare(x, x.shape());
  for (int i = 1; i <= deg; ++i)
    acc = prot.Add(acc, prot.MulScalar(pw[i], prot.EncodeScalar(coeffs[i])));
  return AddScalar(prot, prot.Trunc(acc, prot.fxp_fraction_bits()), prot.EncodeScalar(coeffs[0]));
}

// Goldschmidt: r ≈ 1/d from the initial approximation w (relative error e0 = 1 − d·w):
// r ← r(1 + e), e ← e², both products in one round.
template <RingElement T>
AShare<T> Goldschmidt(Protocol<T>& prot, const AShare<T>& d, const AShare<T>& w, int iters) {
  const T one = prot.EncodeScalar(1.0);
  AShare<T> e = prot.Neg(AddScalar(prot, prot.MulFxp(d, w), T(T{0} - one)));
  AShare<T> r = w;
  for (int it = 0; it < iters; ++it) {
    const AShare<T> e1 = AddScalar(prot, e, one);
    if (it + 1 < iters) {
      auto prods = MulMany<T>(prot, {{&r, &e1}, {&e, &e}}, /*fxp=*/true);
      r = std::move(prods[0]);
      e = std::move(prods[1]);
    } else {
      r = prot.MulFxp(r, e1);
    }
  }
  return r;
}

template <RingElement T>
int GoldschmidtIters(const Protocol<T>& prot, int iters) {
  VEIL_ENFORCE(iters >= 0 && iters <= 8, ParameterError, "bad_iterations",
               "goldschmidt iterations " + std::to_string(iters) + " outside 0..8");
  if (iters != 0) return iters;
  return prot.fxp_fraction_bits() >= kGoldschmidtExtraIterFxpBits ? kDefaultGoldschmidtIters + 1
                                                                  : kDefaultGoldschmidtIters;
}

// 1/√c for c ∈ [0.5, 1]: quadratic guess, then Newton r ← (3r − (c·r)·r²)/2.
template <RingElement T>
AShare<T> RsqrtMantissa(Protocol<T>& prot, const AShare<T>& c) {
  AShare<T> r = PolyEval(prot, c, {kRsqrtGuessCoeffs.begin(), kRsqrtGuessCoeffs.end()});
  for (int it = 0; it < kRsqrtNewtonIters; ++it) {
    auto prods = MulMany<T>(prot, {{&r, &r}, {&c, &r}}, /*fxp=*/true);
    const AShare<T> t = prot.MulFxp(prods[1], prods[0]);
    r = prot.Trunc(prot.Sub(prot.MulScalar(r, T(3)), t), 1);
  }
  return r;
}

// Exponent m_j = j + 1 − f of one-hot row j (|x| = c·2^m with c ∈ [0.5, 1)).
int RowExponent(int j, int f) { return j + 1 - f; }

// 1 + odd(m)·(√2 − 1): the √2 of an odd exponent under a square root.
template <RingElement T>
AShare<T> OddExponentFactor(const Protocol<T>& prot, const Normalized<T>& n, const Shape& shape) {
  const int f = prot.fxp_fraction_bits();
  const int rows = static_cast<int>(n.onehot.shape()[0]);
  std::vector<T> coef(rows, 0);
  for (int j = 0; j < rows; ++j) {
    if (RowExponent(j, f) % 2 != 0) coef[j] = prot.EncodeScalar(std::sqrt(2.0) - 1.0);
  }
  return AddScalar(prot, RowCombination(n.onehot, coef, shape), prot.EncodeScalar(1.0));
}

// y · 2^g(m) for an integer function g of the exponent.
template <RingElement T, typename G>
AShare<T> ScaleByExponent(Protocol<T>& prot, const Normalized<T>& n, const AShare<T>& y, G g) {
  const int f = prot.fxp_fraction_bits();
  const int rows = static_cast<int>(n.onehot.shape()[0]);
  std::vector<int> shift(rows);
  for (int j = 0; j < rows; ++j) shift[j] = g(RowExponent(j, f));
  return ApplyPow2Scale(prot, MakePow2Scale(n.onehot, shift, y.shape()), y);
}

int FloorDiv2(int m) { return m >= 0 ? m / 2 : -((-m + 1) / 2); }

// t1/t3/t5/seg3 clipping: 0 for x < −a, 1 for x > a, `ret` in between. One Msb call for both
// comparisons; the clipped elements' `ret` (whatever it is) is multiplied by 0.
template <RingElement T>
AShare<T> ClipSigmoid(Protocol<T>& prot, const AShare<T>& x, const AShare<T>& ret, double a) {
  const T ea = prot.EncodeScalar(a);
  const AShare<T> lo_arg = AddScalar(prot, x, ea);            // < 0 iff x < −a
  const AShare<T> hi_arg = AddScalar(prot, prot.Neg(x), ea);  // < 0 iff x > a
  const AShare<T> both = prot.Msb(ConcatShares<T>({&lo_arg, &hi_arg}));
  auto parts = SplitShare(both, {x.shape(), x.shape()});
  const AShare<T>& lo = parts[0];
  const AShare<T>& hi = parts[1];
  const AShare<T> keep = AddScalar(prot, prot.Neg(prot.Add(lo, hi)), T(1));
  return prot.Add(prot.Mul(keep, ret), prot.MulScalar(hi, prot.EncodeScalar(1.0)));
}

// The x0 > 0 with t5(x0) = 1 (t5 is increasing), by bisection.
double T5UpperClip() {
  auto t5 = [](double x) { return 0.5 + x / 4 - x * x * x / 48 + x * x * x * x * x / 480; };
  double lo = 0, hi = 8;
  for (int i = 0; i < 200; ++i) {
    const double mid = (lo + hi) / 2;
    (t5(mid) > 1 ? hi : lo) = mid;
  }
  return lo;
}

template <RingElement T>
AShare<T> SigmoidReal(Protocol<T>& prot, const AShare<T>& x) {
  // σ(x) = σ(|x|) for x ≥ 0 and 1 − σ(|x|) otherwise: out = r + s·(1 − 2r). |x| is clamped to
  // 2^n (n = exp iterations), where the Taylor base 1 − |x|/2^n reaches 0 (and σ = 1 within
  // 1 ulp): with s = [x < 0], hi = [x > 2^n], lo = [x < −2^n] from one Msb call,
  // clamp(|x|) = x − 2sx − (hi − lo)·x + (hi + lo)·2^n, whose products share one Mul round.
  const double limit = std::ldexp(1.0, kDefaultExpIters);
  const AShare<T> above =
      AddScalar(prot, prot.Neg(x), prot.EncodeScalar(limit));            // < 0 iff x > 2^n
  const AShare<T> below = AddScalar(prot, x, prot.EncodeScalar(limit));  // < 0 iff x < −2^n
  auto bits = SplitShare(prot.Msb(ConcatShares<T>({&x, &above, &below})),
                         {x.shape(), x.shape(), x.shape()});
  const AShare<T>& s = bits[0];
  const AShare<T> hi_minus_lo = prot.Sub(bits[1], bits[2]);
  const AShare<T> hi_plus_lo = prot.Add(bits[1], bits[2]);
  auto prods = MulMany<T>(prot, {{&s, &x}, {&hi_minus_lo, &x}}, /*fxp=*/false);
  const AShare<T> abs = prot.Add(prot.Sub(prot.Sub(x, prot.MulScalar(prods[0], T(2))), prods[1]),
                                 prot.MulScalar(hi_plus_lo, prot.EncodeScalar(limit)));
  const AShare<T> e = Exp(prot, prot.Neg(abs));
  const AShare<T> d = AddScalar(prot, e, prot.EncodeScalar(1.0));  // in [1, 2]
  // Goldschmidt on [1, 2]: w = (2.9142 − 2(d/2))/2.
  const AShare<T> w =
      AddScalar(prot, prot.Neg(prot.Trunc(d, 1)), prot.EncodeScalar(kGoldschmidtW0 / 2));
  const AShare<T> r = Goldschmidt(prot, d, w, GoldschmidtIters(prot, 0));
  const AShare<T> flip = AddScalar(prot, prot.MulScalar(r, T(T{0} - T{2})), prot.EncodeScalar(1.0));
  return prot.Add(r, prot.Mul(s, flip));
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

constexpr std::array<std::pair<SigmoidMode, const char*>, 7> kSigmoidNames = {{
    {SigmoidMode::kT1, "t1"},
    {SigmoidMode::kT3, "t3"},
    {SigmoidMode::kT5, "t5"},
    {SigmoidMode::kMM1, "mm1"},
    {SigmoidMode::kSeg3, "seg3"},
    {SigmoidMode::kReal, "real"},
    {SigmoidMode::kSr, "sr"},
}};

}  // namespace

// ---- bit decomposition ----
template <RingElement T>
BShare BitDecompose(Protocol<T>& prot, const AShare<T>& x) {
  constexpr int k = RingTraits<T>::kBits;
  const std::vector<BShare> ops = prot.CarrySaveReduce(prot.BitOperands(x));
  VEIL_ENFORCE(!ops.empty(), InternalError, "bad_operands", "no bit operands");
  const int64_t nbits = ops[0].nbits;
  if (ops.size() == 1) return ops[0];
  const BShare& a = ops[0];
  const BShare& b = ops[1];
  const BShare p = prot.Xor(a, b);
  // Kogge-Stone: after the level of distance s, (g, pp) at bit i describe bits (i − 2s, i].
  BShare g = prot.And(a, b);
  BShare pp = p;
  for (int s = 1; s < k; s *= 2) {
    const BShare gs = ShiftLeftBits<T>(g, s);
    if (2 * s < k) {
      const BShare prod = prot.And(BConcat(pp, pp), BConcat(gs, ShiftLeftBits<T>(pp, s)));
      BShare g_term, p_next;
      BSplit(prod, nbits, &g_term, &p_next);
      g = prot.Xor(g, g_term);
      pp = std::move(p_next);
    } else {
      g = prot.Xor(g, prot.And(pp, gs));
    }
  }
  // Bit i of the sum: a_i ^ b_i ^ carry into i (the group generate of bits [0, i − 1]).
  return prot.Xor(p, ShiftLeftBits<T>(g, 1));
}

template <RingElement T>
AShare<T> BitCompose(Protocol<T>& prot, const BShare& bits, const Shape& shape) {
  constexpr int k = RingTraits<T>::kBits;
  const int64_t n = NumElements(shape);
  VEIL_ENFORCE(bits.nbits == n * k, AlgorithmError, "shape_mismatch",
               "bit_compose: " + std::to_string(bits.nbits) + " bits for " + std::to_string(n) +
                   " elements");
  const AShare<T> b = prot.BitToArith(bits, {n * k});
  return MapShare(b, [&](const Tensor<T>& t) {
    Tensor<T> out = Tensor<T>::Uninitialized(shape);
    ParallelFor(n, kElementwiseGrain, [&](int64_t lo, int64_t hi) {
      for (int64_t e = lo; e < hi; ++e) {
        T acc = 0;
        for (int j = 0; j < k; ++j) acc += t[e * k + j] << j;
        out[e] = acc;
      }
    });
    return out;
  });
}

// ---- normalisation ----
template <RingElement T>
Normalized<T> Normalize(Protocol<T>& prot, const AShare<T>& x, bool is_signed) {
  constexpr int k = RingTraits<T>::kBits;
  const int f = prot.fxp_fraction_bits();
  const int width = 2 * f;
  const int64_t n = x.numel();
  const Shape& shape = x.shape();
  BShare bits = BitDecompose(prot, x);
  std::vector<int> rows(width);
  for (int j = 0; j < width; ++j) rows[j] = j;
  BShare y = bits;
  if (is_signed) {
    // x ^ sign-broadcast is x for x ≥ 0 and ~x = |x| − 1 for x < 0 (component-wise: linear).
    y = MapBits<T>(bits, [](T v) { return T(v ^ (T{0} - (v >> (k - 1)))); });
    rows.push_back(k - 1);
  }
  // Prefix OR from the top: bit i of y becomes OR of bits ≥ i.
  for (int s = 1; s < k; s *= 2) y = BOr(prot, y, ShiftRightBits<T>(y, s));
  BShare onehot_bits = prot.Xor(y, ShiftRightBits<T>(y, 1));
  if (is_signed) {
    // Bit k−1 of the one-hot is 0 (the top bit of y is); put the sign bit there instead.
    constexpr T kTop = T(1) << (k - 1);
    onehot_bits = prot.Xor(MapBits<T>(onehot_bits, [](T v) { return T(v & ~kTop); }),
                           MapBits<T>(bits, [](T v) { return T(v & kTop); }));
  }
  const BShare gathered{
      n * static_cast<int64_t>(rows.size()), GatherBitRows(onehot_bits.own, n, k, rows),
      onehot_bits.next.empty() ? Words() : GatherBitRows(onehot_bits.next, n, k, rows)};
  const AShare<T> arith = prot.BitToArith(gathered, {static_cast<int64_t>(rows.size()), n});
  auto split = SplitShare<T>(arith, {{width, n}, {static_cast<int64_t>(rows.size()) - width, n}});

  Normalized<T> out;
  out.onehot = std::move(split[0]);
  out.sign = is_signed ? ReshapeShare(split[1], shape) : internal::ZeroShare(x, shape);
  std::vector<int> shift(width);
  std::vector<T> exponent(width);
  for (int j = 0; j < width; ++j) {
    shift[j] = -RowExponent(j, f);
    exponent[j] = prot.EncodeScalar(RowExponent(j, f));
  }
  Pow2Scale<T> scale = MakePow2Scale(out.onehot, shift, shape);
  if (is_signed) {
    const AShare<T> pm = AddScalar(prot, prot.MulScalar(out.sign, T(T{0} - T{2})), T(1));
    auto prods = MulMany<T>(prot, {{&scale.up, &pm}, {&scale.down, &pm}}, /*fxp=*/false);
    scale.up = std::move(prods[0]);
    scale.down = std::move(prods[1]);
  }
  VEIL_ENFORCE(scale.down_bits == f, InternalError, "bad_scale", "normalisation scale");
  out.scale_up = std::move(scale.up);
  out.scale_down = std::move(scale.down);
  out.exponent = RowCombination(out.onehot, exponent, shape);
  out.mantissa = ScaleByPow2(prot, out, x);
  return out;
}

template <RingElement T>
AShare<T> ScaleByPow2(Protocol<T>& prot, const Normalized<T>& n, const AShare<T>& y) {
  return ApplyPow2Scale(prot, Pow2Scale<T>{n.scale_up, n.scale_down, prot.fxp_fraction_bits()}, y);
}

// ---- exp ----
template <RingElement T>
AShare<T> Exp(Protocol<T>& prot, const AShare<T>& x, int iters) {
  VEIL_ENFORCE(iters >= 1 && iters < prot.fxp_fraction_bits(), ParameterError, "bad_iterations",
               "exp iterations " + std::to_string(iters) + " outside 1..f-1");
  if (x.numel() == 0) return x;
  AShare<T> y = AddScalar(prot, prot.Trunc(x, iters), prot.EncodeScalar(1.0));
  for (int i = 0; i < iters; ++i) y = prot.MulFxp(y, y);
  return y;
}

// ---- reciprocal, division ----
template <RingElement T>
AShare<T> Reciprocal(Protocol<T>& prot, const AShare<T>& x, int iters) {
  iters = GoldschmidtIters(prot, iters);
  if (x.numel() == 0) return x;
  const Normalized<T> n = Normalize(prot, x, /*is_signed=*/true);
  const AShare<T>& c = n.mantissa;
  const AShare<T> w =
      AddScalar(prot, prot.MulScalar(c, T(T{0} - T{2})), prot.EncodeScalar(kGoldschmidtW0));
  return ScaleByPow2(prot, n, Goldschmidt(prot, c, w, iters));
}

template <RingElement T>
AShare<T> Div(Protocol<T>& prot, const AShare<T>& x, const AShare<T>& y) {
  internal::CheckSameShape(x.shape(), y.shape(), "div");
  if (x.numel() == 0) return x;
  const AShare<T> r = Reciprocal(prot, y);
  AShare<T> q = prot.MulFxp(x, r);
  const AShare<T> residual = prot.Sub(x, prot.MulFxp(q, y));
  return prot.Add(q, prot.MulFxp(residual, r));
}

// ---- log, sqrt, rsqrt ----
template <RingElement T>
AShare<T> Log(Protocol<T>& prot, const AShare<T>& x) {
  if (x.numel() == 0) return x;
  const int f = prot.fxp_fraction_bits();
  const Normalized<T> n = Normalize(prot, x, /*is_signed=*/false);
  // log x = log(2c) + (m − 1)·ln 2 = log(1 + u) + (m − 1)·ln 2 with u = 2c − 1.
  const AShare<T> u =
      AddScalar(prot, prot.MulScalar(n.mantissa, T(2)), T(T{0} - prot.EncodeScalar(1.0)));
  const AShare<T> log1p = PolyEval(prot, u, {kLog1pCoeffs.begin(), kLog1pCoeffs.end()});
  const int rows = static_cast<int>(n.onehot.shape()[0]);
  std::vector<T> coef(rows);
  for (int j = 0; j < rows; ++j)
    coef[j] = prot.EncodeScalar((RowExponent(j, f) - 1) * std::log(2.0));
  return prot.Add(log1p, RowCombination(n.onehot, coef, x.shape()));
}

template <RingElement T>
AShare<T> Rsqrt(Protocol<T>& prot, const AShare<T>& x) {
  if (x.numel() == 0) return x;
  const Normalized<T> n = Normalize(prot, x, /*is_signed=*/false);
  // x^(-1/2) = c^(-1/2) · 2^(-m/2) = c^(-1/2) · (m odd ? √2 : 1) · 2^(-⌈m/2⌉).
  AShare<T> r = RsqrtMantissa(prot, n.mantissa);
  r = prot.MulFxp(r, OddExponentFactor(prot, n, x.shape()));
  return ScaleByExponent(prot, n, r, [](int m) { return -(m - FloorDiv2(m)); });
}

template <RingElement T>
AShare<T> Sqrt(Protocol<T>& prot, const AShare<T>& x) {
  if (x.numel() == 0) return x;
  const Normalized<T> n = Normalize(prot, x, /*is_signed=*/false);
  // √x = c·c^(-1/2) · (m odd ? √2 : 1) · 2^⌊m/2⌋.
  AShare<T> s = prot.MulFxp(n.mantissa, RsqrtMantissa(prot, n.mantissa));
  s = prot.MulFxp(s, OddExponentFactor(prot, n, x.shape()));
  return ScaleByExponent(prot, n, s, [](int m) { return FloorDiv2(m); });
}

// ---- sigmoid ----
StatusOr<SigmoidMode> ParseSigmoidMode(std::string_view name) {
  std::string s = Lower(name);
  constexpr std::string_view kSpuPrefix = "sigmoid_";
  if (s.rfind(kSpuPrefix, 0) == 0) s = s.substr(kSpuPrefix.size());
  for (const auto& [mode, n] : kSigmoidNames) {
    if (s == n) return mode;
  }
  return ParameterError("unknown_sigmoid_mode",
                        "sigmoid mode '" + std::string(name) +
                            "' is not one of t1, t3, t5, mm1, seg3, real, sr (or SIGMOID_<mode>)");
}

std::string_view SigmoidModeName(SigmoidMode mode) {
  for (const auto& [m, n] : kSigmoidNames) {
    if (m == mode) return n;
  }
  return "unknown";
}

template <RingElement T>
AShare<T> Sigmoid(Protocol<T>& prot, const AShare<T>& x, SigmoidMode mode) {
  if (x.numel() == 0) return x;
  const int f = prot.fxp_fraction_bits();
  const T half = prot.EncodeScalar(0.5);
  switch (mode) {
    case SigmoidMode::kMM1:
      return AddScalar(prot, prot.Trunc(x, 3), half);
    case SigmoidMode::kSeg3:
      return ClipSigmoid(prot, x, AddScalar(prot, prot.Trunc(x, 3), half), 4.0);
    case SigmoidMode::kT1:
      return ClipSigmoid(prot, x, AddScalar(prot, prot.Trunc(x, 2), half), 2.0);
    case SigmoidMode::kT3:
    case SigmoidMode::kT5: {
      // Horner in x²: t3 = 0.5 + x(1/4 − x²/48), t5 = 0.5 + x(1/4 + x²(−1/48 + x²/480)).
      const AShare<T> x2 = prot.MulFxp(x, x);
      AShare<T> q;
      if (mode == SigmoidMode::kT3) {
        q = AddScalar(prot, prot.Trunc(prot.MulScalar(x2, prot.EncodeScalar(-1.0 / 48)), f),
                      prot.EncodeScalar(0.25));
      } else {
        const AShare<T> inner =
            AddScalar(prot, prot.Trunc(prot.MulScalar(x2, prot.EncodeScalar(1.0 / 480)), f),
                      prot.EncodeScalar(-1.0 / 48));
        q = AddScalar(prot, prot.MulFxp(x2, inner), prot.EncodeScalar(0.25));
      }
      const AShare<T> ret = AddScalar(prot, prot.MulFxp(x, q), half);
      return ClipSigmoid(prot, x, ret, mode == SigmoidMode::kT3 ? 2.0 : T5UpperClip());
    }
    case SigmoidMode::kReal:
      return SigmoidReal(prot, x);
    case SigmoidMode::kSr: {
      const AShare<T> one_x2 = AddScalar(prot, prot.MulFxp(x, x), prot.EncodeScalar(1.0));
      const AShare<T> p = prot.MulFxp(x, Rsqrt(prot, one_x2));
      return AddScalar(prot, prot.Trunc(p, 1), half);
    }
  }
  VEIL_ENFORCE(false, ParameterError, "unknown_sigmoid_mode", "bad SigmoidMode value");
  return x;
}

#define VEIL_FXP_APPROX_INSTANTIATE(T)                                                     \
  template BShare BitDecompose<T>(Protocol<T>&, const AShare<T>&);                         \
  template AShare<T> BitCompose<T>(Protocol<T>&, const BShare&, const Shape&);             \
  template Normalized<T> Normalize<T>(Protocol<T>&, const AShare<T>&, bool);               \
  template AShare<T> ScaleByPow2<T>(Protocol<T>&, const Normalized<T>&, const AShare<T>&); \
  template AShare<T> Exp<T>(Protocol<T>&, const AShare<T>&, int);                          \
  template AShare<T> Reciprocal<T>(Protocol<T>&, const AShare<T>&, int);                   \
  template AShare<T> Div<T>(Protocol<T>&, const AShare<T>&, const AShare<T>&);             \
  template AShare<T> Log<T>(Protocol<T>&, const AShare<T>&);                               \
  template AShare<T> Rsqrt<T>(Protocol<T>&, const AShare<T>&);                             \
  template AShare<T> Sqrt<T>(Protocol<T>&, const AShare<T>&);                              \
  template AShare<T> Sigmoid<T>(Protocol<T>&, const AShare<T>&, SigmoidMode);

VEIL_FXP_APPROX_INSTANTIATE(uint64_t)
VEIL_FXP_APPROX_INSTANTIATE(uint128_t)
#undef VEIL_FXP_APPROX_INSTANTIATE

}  // namespace veil::mpc
