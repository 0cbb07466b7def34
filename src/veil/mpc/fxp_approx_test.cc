// Conformance suite of the non-linear kernels (fxp_approx.h, reduce.h): every kernel on every
// protocol × field × party count over the in-memory link, against plaintext double arithmetic on
// the quantised inputs with the error bounds the headers state. REF2K is exact plaintext, so its
// instances measure the approximation error alone.
#include "veil/mpc/fxp_approx.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "veil/base/exception.h"
#include "veil/link/test_util.h"
#include "veil/mpc/mpc_test_util.h"
#include "veil/mpc/reduce.h"

namespace veil::mpc {
namespace {

using testing::Config;
using testing::ConfigName;
using testing::RandomDoubles;
using testing::RandomTensor;
using testing::RunParties;
using testing::WithRing;

// |got − want| ≤ abs_tol + rel_tol·|want| for every element; reports the worst element.
void ExpectWithin(const std::string& what, const Tensor<double>& x, const Tensor<double>& got,
                  const std::function<double(double)>& want, double abs_tol, double rel_tol) {
  ASSERT_EQ(x.numel(), got.numel()) << what;
  int64_t bad = 0, worst = -1;
  double worst_excess = -1, max_abs = 0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    const double w = want(x[i]);
    const double err = std::abs(got[i] - w);
    const double tol = abs_tol + rel_tol * std::abs(w);
    max_abs = std::max(max_abs, err);
    if (err - tol > worst_excess) {
      worst_excess = err - tol;
      worst = i;
    }
    if (!(err <= tol)) ++bad;
  }
  if (std::getenv("VEIL_FXP_VERBOSE")) {
    double max_rel = 0;
    for (int64_t i = 0; i < x.numel(); ++i) {
      const double w = want(x[i]);
      if (std::abs(w) > 1e-3) max_rel = std::max(max_rel, std::abs(got[i] - w) / std::abs(w));
    }
    std::printf("%-20s max abs %.3g  max rel (|want|>1e-3) %.3g  worst-excess x %.6g\n",
                what.c_str(), max_abs, max_rel, x[worst]);
  }
  EXPECT_EQ(bad, 0) << what << ": worst x = " << x[worst] << " got " << got[worst] << " want "
                    << want(x[worst]) << " (max abs error " << max_abs << ")";
}

// Decode(encode(v)): the value the parties actually hold.
Tensor<double> Quantised(const Tensor<double>& v, FieldType field) {
  const int f = DefaultFxpFractionBits(field);
  Tensor<double> out(v.shape());
  WithRing(field, [&]<typename T>() {
    out = DecodeFixedPoint(ValueOrThrow(EncodeFixedPoint<T>(v, f)), f);
  });
  return out;
}

// |x| log-uniform in [lo, hi], sign random when `signed_values`.
Tensor<double> LogUniform(std::mt19937_64& rng, int64_t n, double lo, double hi,
                          bool signed_values) {
  std::uniform_real_distribution<double> e(std::log(lo), std::log(hi));
  Tensor<double> t({n});
  for (int64_t i = 0; i < n; ++i) {
    t[i] = std::exp(e(rng));
    if (signed_values && (rng() & 1)) t[i] = -t[i];
  }
  return t;
}

Tensor<double> Join(const Tensor<double>& a, const std::vector<double>& extra) {
  Tensor<double> t({a.numel() + static_cast<int64_t>(extra.size())});
  for (int64_t i = 0; i < a.numel(); ++i) t[i] = a[i];
  for (size_t i = 0; i < extra.size(); ++i) t[a.numel() + static_cast<int64_t>(i)] = extra[i];
  return t;
}

class MpcFxpApproxTest : public ::testing::TestWithParam<Config> {
 protected:
  RuntimeConfig runtime() const { return GetParam().runtime(); }
  int f() const { return DefaultFxpFractionBits(GetParam().field); }
  double ulp() const { return std::ldexp(1.0, -f()); }

  // Shares `in` from party 0, runs `kernel` on every party and opens its outputs; returns party
  // 0's opened outputs (all parties must agree).
  template <typename Kernel>
  std::vector<Tensor<double>> Run(const std::vector<Tensor<double>>& in, Kernel kernel) {
    std::vector<Tensor<double>> out;
    WithRing(GetParam().field, [&]<typename T>() {
      auto world = link::test::MakeWorld(GetParam().parties);
      auto res =
          RunParties<T, std::vector<Tensor<double>>>(world, runtime(), [&](Protocol<T>& prot) {
            std::vector<AShare<T>> xs;
            for (size_t i = 0; i < in.size(); ++i) {
              const size_t owner = i % prot.world_size();
              xs.push_back(
                  prot.InputFxp(owner, in[i].shape(), prot.rank() == owner ? &in[i] : nullptr));
            }
            std::vector<Tensor<double>> opened;
            for (const auto& z : kernel(prot, xs)) opened.push_back(prot.OpenFxp(z));
            return opened;
          });
      for (size_t r = 1; r < res.size(); ++r) {
        for (size_t i = 0; i < res[0].size(); ++i) EXPECT_TRUE(res[r][i] == res[0][i]);
      }
      out = res[0];
    });
    return out;
  }

  // One kernel of one input.
  template <typename Kernel>
  Tensor<double> Run1(const Tensor<double>& in, Kernel kernel) {
    return Run({in}, [&]<typename T>(Protocol<T>& prot, const std::vector<AShare<T>>& xs) {
      return std::vector<AShare<T>>{kernel(prot, xs[0])};
    })[0];
  }
};

#define KERNEL(expr) []<typename T>(Protocol<T>& prot, const AShare<T>& x) { return expr; }

TEST_P(MpcFxpApproxTest, BitDecomposeGivesTheTwosComplementBits) {
  WithRing(GetParam().field, [&]<typename T>() {
    constexpr int k = RingTraits<T>::kBits;
    std::mt19937_64 rng(21);
    Tensor<T> a = RandomTensor<T>(rng, {37});
    a[0] = 0;
    a[1] = T(0) - T(1);
    a[2] = T(1) << (k - 1);
    auto world = link::test::MakeWorld(GetParam().parties);
    auto res = RunParties<T, std::vector<Tensor<T>>>(world, runtime(), [&](Protocol<T>& prot) {
      auto x = prot.Input(0, a.shape(), prot.rank() == 0 ? &a : nullptr);
      const BShare bits = BitDecompose(prot, x);
      return std::vector<Tensor<T>>{prot.Open(prot.BitToArith(bits, {a.numel() * k})),
                                    prot.Open(BitCompose(prot, bits, a.shape()))};
    });
    for (int64_t e = 0; e < a.numel(); ++e) {
      for (int j = 0; j < k; ++j) {
        ASSERT_EQ(res[0][0][e * k + j], T((a[e] >> j) & 1)) << "element " << e << " bit " << j;
      }
    }
    EXPECT_TRUE(res[0][1] == a);
  });
}

TEST_P(MpcFxpApproxTest, NormalizeFindsMantissaAndExponent) {
  std::mt19937_64 rng(22);
  const double lo = std::ldexp(1.0, -f()), hi = std::ldexp(1.0, f());
  const Tensor<double> x =
      Quantised(Join(LogUniform(rng, 1000, lo, hi * 0.999, true), {lo, 1.0, -1.0, 0.75, -0.5, 0.0}),
                GetParam().field);
  const Tensor<double> big({2}, {hi, -2 * hi});
  for (bool is_signed : {true, false}) {
    auto out = Run({x, big}, [&]<typename T>(Protocol<T>& prot, const std::vector<AShare<T>>& xs) {
      Normalized<T> n = Normalize(prot, xs[0], is_signed);
      Normalized<T> nb = Normalize(prot, xs[1], is_signed);
      return std::vector<AShare<T>>{n.mantissa, n.exponent, nb.mantissa, nb.exponent};
    });
    for (int64_t i = 0; i < x.numel(); ++i) {
      if (!is_signed && x[i] < 0) continue;
      if (x[i] == -ulp()) continue;  // documented exception: |x|·2^f − 1 = 0
      if (x[i] == 0) {
        EXPECT_EQ(out[0][i], 0.0);
        EXPECT_EQ(out[1][i], 0.0);
        continue;
      }
      // Signed normalisation looks at |x|·2^f − 1 for negatives: c = 1 at negative powers of 2.
      const double a = std::abs(x[i]);
      const bool neg_pow2 = is_signed && x[i] < 0 && std::exp2(std::floor(std::log2(a))) == a;
      const double m = std::floor(std::log2(a)) + (neg_pow2 ? 0 : 1);
      EXPECT_EQ(out[1][i], m) << "x = " << x[i];
      EXPECT_NEAR(out[0][i], a * std::exp2(-m), ulp()) << "x = " << x[i];
      EXPECT_GE(out[0][i], 0.5 - ulp());
      EXPECT_LE(out[0][i], 1.0);
    }
    // Outside the domain everything is 0.
    EXPECT_EQ(out[2][0], 0.0);
    EXPECT_EQ(out[3][0], 0.0);
    if (is_signed) {
      EXPECT_EQ(out[2][1], 0.0);
      EXPECT_EQ(out[3][1], 0.0);
    }
  }
}

TEST_P(MpcFxpApproxTest, ExpTaylorWithinStatedError) {
  std::mt19937_64 rng(23);
  const Tensor<double> x = Quantised(
      Join(RandomDoubles(rng, {1000}, -8, 4), {-8, -2, -1, 0, 1, 2, 4}), GetParam().field);
  const Tensor<double> got = Run1(x, KERNEL(Exp(prot, x)));
  // Relative bound of the method: (x²/500 + 3e-3)·e^x.
  ExpectWithin(
      "exp (info)", x, got, [](double v) { return std::exp(v); }, 1e9, 0);
  for (int64_t i = 0; i < x.numel(); ++i) {
    const double want = std::exp(x[i]);
    EXPECT_LE(std::abs(got[i] - want), (x[i] * x[i] / 500 + 3e-3) * want + 4 * ulp())
        << "x = " << x[i];
  }
  // Far below the range the result stays tiny and non-negative.
  const Tensor<double> low = Quantised(RandomDoubles(rng, {50}, -200, -8), GetParam().field);
  const Tensor<double> got_low = Run1(low, KERNEL(Exp(prot, x)));
  for (int64_t i = 0; i < low.numel(); ++i) {
    EXPECT_GE(got_low[i], -ulp());
    EXPECT_LE(got_low[i], std::exp(-8.0));
  }
}

TEST_P(MpcFxpApproxTest, ReciprocalWithinStatedError) {
  std::mt19937_64 rng(24);
  const double hi = std::ldexp(1.0, f());
  const Tensor<double> x = Quantised(
      Join(LogUniform(rng, 1000, 0.01, hi * 0.999, true), {1, -1, 0.5, -0.5, 2, -2, 0.75, 3}),
      GetParam().field);
  ExpectWithin(
      "reciprocal", x, Run1(x, KERNEL(Reciprocal(prot, x))), [](double v) { return 1 / v; },
      4 * ulp(), 2e-4);
  // Defined out-of-domain results: 0 for x = 0; for |x| ≥ 2^f a value within 1 ulp of 1/x.
  const Tensor<double> edge({5}, {0.0, hi, -hi, 4 * hi, -3 * hi});
  const Tensor<double> got = Run1(edge, KERNEL(Reciprocal(prot, x)));
  EXPECT_EQ(got[0], 0.0);
  for (int64_t i = 1; i < edge.numel(); ++i) {
    EXPECT_LE(std::abs(got[i] - 1 / edge[i]), ulp()) << "x = " << edge[i];
  }
}

TEST_P(MpcFxpApproxTest, DivWithinStatedError) {
  std::mt19937_64 rng(25);
  const Tensor<double> y = Quantised(LogUniform(rng, 1000, 0.01, 1000, true), GetParam().field);
  Tensor<double> x = RandomDoubles(rng, {1000}, -100, 100);
  const double cap = std::ldexp(1.0, f() / 2);
  for (int64_t i = 0; i < x.numel(); ++i) {
    if (std::abs(x[i] / y[i]) >= cap) x[i] = std::copysign(cap * 0.9, x[i] / y[i]) * y[i];
  }
  x = Quantised(x, GetParam().field);
  auto out = Run({x, y}, [&]<typename T>(Protocol<T>& prot, const std::vector<AShare<T>>& xs) {
    return std::vector<AShare<T>>{Div(prot, xs[0], xs[1])};
  });
  Tensor<double> idx({x.numel()});
  for (int64_t i = 0; i < x.numel(); ++i) idx[i] = static_cast<double>(i);
  ExpectWithin(
      "div", idx, out[0], [&](double i) { return x[int64_t(i)] / y[int64_t(i)]; }, 8 * ulp(), 1e-4);
}

TEST_P(MpcFxpApproxTest, LogWithinStatedError) {
  std::mt19937_64 rng(26);
  const double hi = std::ldexp(1.0, f());
  const Tensor<double> x = Quantised(
      Join(LogUniform(rng, 1000, 1e-3, hi * 0.999, false), {1, 2, 0.5, std::exp(1.0), 1000}),
      GetParam().field);
  ExpectWithin(
      "log", x, Run1(x, KERNEL(Log(prot, x))), [](double v) { return std::log(v); }, 16 * ulp(), 0);
}

TEST_P(MpcFxpApproxTest, RsqrtAndSqrtWithinStatedError) {
  std::mt19937_64 rng(27);
  const double hi = std::ldexp(1.0, f());
  const Tensor<double> x =
      Quantised(Join(LogUniform(rng, 1000, 0.01, hi * 0.999, false), {1, 2, 4, 0.5, 0.25, 3, 100}),
                GetParam().field);
  auto out = Run({x}, [&]<typename T>(Protocol<T>& prot, const std::vector<AShare<T>>& xs) {
    return std::vector<AShare<T>>{Rsqrt(prot, xs[0]), Sqrt(prot, xs[0])};
  });
  ExpectWithin(
      "rsqrt", x, out[0], [](double v) { return 1 / std::sqrt(v); }, 4 * ulp(), 1e-4);
  ExpectWithin(
      "sqrt", x, out[1], [](double v) { return std::sqrt(v); }, 4 * ulp(), 1e-4);
  const Tensor<double> zero({1}, {0.0});
  EXPECT_EQ(Run1(zero, KERNEL(Sqrt(prot, x)))[0], 0.0);
}

double Sig(double x) { return 1 / (1 + std::exp(-x)); }

TEST_P(MpcFxpApproxTest, SigmoidModesMatchTheirDefinitions) {
  std::mt19937_64 rng(28);
  const Tensor<double> x =
      Quantised(Join(RandomDoubles(rng, {1000}, -10, 10),
                     {-50, -4.5, -4, -2.5, -2, -1, 0, 1, 2, 2.5, 4, 4.5, 50, 1e4, -1e4}),
                GetParam().field);
  auto clip01 = [](double v) { return std::clamp(v, 0.0, 1.0); };
  auto t3 = [](double v) { return v < -2 ? 0 : v > 2 ? 1 : 0.5 + v / 4 - v * v * v / 48; };
  auto t5 = [&](double v) {
    return clip01(0.5 + v / 4 - std::pow(v, 3) / 48 + std::pow(v, 5) / 480);
  };
  auto seg3 = [](double v) { return v < -4 ? 0 : v > 4 ? 1 : 0.5 + v / 8; };
  auto sr = [](double v) { return 0.5 * v / std::sqrt(1 + v * v) + 0.5; };
  struct Case {
    SigmoidMode mode;
    std::function<double(double)> want;
    double abs_tol;
  };
  const std::vector<Case> cases = {
      {SigmoidMode::kT1, [&](double v) { return clip01(0.5 + v / 4); }, 4 * ulp()},
      {SigmoidMode::kT3, t3, 1e-4},
      {SigmoidMode::kT5, t5, 2e-4},
      {SigmoidMode::kMM1, [](double v) { return 0.5 + v / 8; }, 2 * ulp()},
      {SigmoidMode::kSeg3, seg3, 4 * ulp()},
      {SigmoidMode::kReal, Sig, 1.2e-3},
  };
  for (const Case& c : cases) {
    const Tensor<double> got = Run1(x, [&]<typename T>(Protocol<T>& prot, const AShare<T>& s) {
      return Sigmoid(prot, s, c.mode);
    });
    ExpectWithin(std::string(SigmoidModeName(c.mode)), x, got, c.want, c.abs_tol, 0);
  }
  // sr needs 1 + x² < 2^f: |x| ≤ 16.
  const Tensor<double> xs =
      Quantised(Join(RandomDoubles(rng, {200}, -16, 16), {-16, -3, 0, 3, 16}), GetParam().field);
  const Tensor<double> got_sr = Run1(xs, KERNEL(Sigmoid(prot, x, SigmoidMode::kSr)));
  ExpectWithin("sr", xs, got_sr, sr, 1e-4, 0);
  // The sr formula itself is up to 0.124 away from the logistic function (near |x| = 0.86).
  ExpectWithin("sr vs sigmoid", xs, got_sr, Sig, 0.125, 0);
}

TEST(MpcSigmoidModeTest, ParsesSfAndSpuNames) {
  const std::vector<std::pair<std::string, SigmoidMode>> names = {
      {"t1", SigmoidMode::kT1},           {"T3", SigmoidMode::kT3},
      {"t5", SigmoidMode::kT5},           {"mm1", SigmoidMode::kMM1},
      {"SIGMOID_MM1", SigmoidMode::kMM1}, {"sigmoid_seg3", SigmoidMode::kSeg3},
      {"Real", SigmoidMode::kReal},       {"SIGMOID_REAL", SigmoidMode::kReal},
      {"sr", SigmoidMode::kSr},
  };
  for (const auto& [name, mode] : names) {
    auto parsed = ParseSigmoidMode(name);
    ASSERT_TRUE(parsed.ok()) << name;
    EXPECT_EQ(*parsed, mode) << name;
    EXPECT_EQ(*ParseSigmoidMode(SigmoidModeName(mode)), mode);
  }
  for (const char* bad : {"", "t2", "sigmoid_", "SIGMOID_DEFAULT", "relu", "t1 "}) {
    auto parsed = ParseSigmoidMode(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().code(), "unknown_sigmoid_mode");
  }
}

TEST_P(MpcFxpApproxTest, SumMaxArgmaxAlongEitherAxis) {
  std::mt19937_64 rng(29);
  // Small integers so that ties are frequent; plus explicit ties.
  Tensor<double> m({6, 7});
  for (int64_t i = 0; i < m.numel(); ++i) m[i] = static_cast<double>(int(rng() % 9) - 4) / 2;
  for (int64_t c = 0; c < 7; ++c) m.at(0, c) = 1.5;  // row 0: all tied
  m.at(1, 2) = m.at(1, 5) = 9;                       // row 1: tie of the maximum
  const Tensor<double> col({5, 1}, {3, -1, 7, 7, 2});
  const Tensor<double> vec({5}, {-3, 2.5, 2.5, -7, 1});
  auto out =
      Run({m, col, vec}, [&]<typename T>(Protocol<T>& prot, const std::vector<AShare<T>>& xs) {
        std::vector<AShare<T>> z;
        for (int axis : {0, 1}) {
          z.push_back(ReduceSum(prot, xs[0], axis));
          z.push_back(ReduceMax(prot, xs[0], axis));
          ArgmaxResult<T> a = Argmax(prot, xs[0], axis);
          z.push_back(a.max);
          z.push_back(a.index);
          z.push_back(prot.MulScalar(a.onehot, T(1) << prot.fxp_fraction_bits()));
        }
        ArgmaxResult<T> c = Argmax(prot, xs[1], 1);  // one column: nothing to compare
        z.push_back(c.max);
        z.push_back(c.index);
        z.push_back(prot.MulScalar(c.onehot, T(1) << prot.fxp_fraction_bits()));
        ArgmaxResult<T> v = Argmax(prot, xs[2], 0);
        z.push_back(v.max);
        z.push_back(v.index);
        z.push_back(prot.MulScalar(v.onehot, T(1) << prot.fxp_fraction_bits()));
        return z;
      });
  for (int axis : {0, 1}) {
    const int64_t lines = axis == 1 ? 6 : 7, len = axis == 1 ? 7 : 6;
    auto at = [&](int64_t line, int64_t i) { return axis == 1 ? m.at(line, i) : m.at(i, line); };
    const auto& sum = out[5 * axis];
    const auto& max = out[5 * axis + 1];
    const auto& amax = out[5 * axis + 2];
    const auto& idx = out[5 * axis + 3];
    const auto& onehot = out[5 * axis + 4];
    ASSERT_EQ(sum.shape(), (Shape{lines}));
    ASSERT_EQ(onehot.shape(), m.shape());
    for (int64_t line = 0; line < lines; ++line) {
      double s = 0, best = at(line, 0);
      int64_t first = 0;
      for (int64_t i = 0; i < len; ++i) {
        s += at(line, i);
        if (at(line, i) > best) best = at(line, i), first = i;
      }
      EXPECT_EQ(sum[line], s) << "axis " << axis << " line " << line;
      EXPECT_EQ(max[line], best);
      EXPECT_EQ(amax[line], best);
      EXPECT_EQ(idx[line], static_cast<double>(first)) << "axis " << axis << " line " << line;
      for (int64_t i = 0; i < len; ++i) {
        const double h = axis == 1 ? onehot.at(line, i) : onehot.at(i, line);
        EXPECT_EQ(h, i == first ? 1.0 : 0.0);
      }
    }
  }
  EXPECT_TRUE(out[10] == Tensor<double>({5}, {3, -1, 7, 7, 2}));
  EXPECT_TRUE(out[11] == Tensor<double>({5}, {0, 0, 0, 0, 0}));
  EXPECT_TRUE(out[12] == Tensor<double>({5, 1}, {1, 1, 1, 1, 1}));
  EXPECT_TRUE(out[13] == Tensor<double>({1}, {2.5}));
  EXPECT_TRUE(out[14] == Tensor<double>({1}, {1}));
  EXPECT_TRUE(out[15] == Tensor<double>({5}, {0, 1, 0, 0, 0}));
}

TEST_P(MpcFxpApproxTest, BadArgumentsThrow) {
  const Tensor<double> x({2, 2}, {1, 2, 3, 4});
  EXPECT_THROW(Run1(x, KERNEL(ReduceMax(prot, x, 2))), VeilException);
  EXPECT_THROW(Run1(x, KERNEL(Exp(prot, x, 0))), VeilException);
  EXPECT_THROW(Run1(x, KERNEL(Reciprocal(prot, x, -1))), VeilException);
}

INSTANTIATE_TEST_SUITE_P(Protocols, MpcFxpApproxTest,
                         ::testing::Values(Config{kProtocolSemi2k, 2, FieldType::kFM64},
                                           Config{kProtocolSemi2k, 2, FieldType::kFM64, "ot"},
                                           Config{kProtocolSemi2k, 2, FieldType::kFM128},
                                           Config{kProtocolSemi2k, 3, FieldType::kFM64},
                                           Config{kProtocolAby3, 3, FieldType::kFM64},
                                           Config{kProtocolAby3, 3, FieldType::kFM128},
                                           Config{kProtocolRef2k, 2, FieldType::kFM64}),
                         ConfigName);

// The non-linear kernels once over real TCP links on 127.0.0.1 (SEMI2K 2pc FM64 and ABY3 FM128).
class MpcFxpApproxTcpTest : public ::testing::TestWithParam<Config> {};

TEST_P(MpcFxpApproxTcpTest, SigmoidReciprocalAndArgmaxOverTcp) {
  WithRing(GetParam().field, [&]<typename T>() {
    auto world = link::test::MakeTcpWorld(GetParam().parties);
    ASSERT_TRUE(world.ok()) << world.status().ToString();
    std::mt19937_64 rng(41);
    const Tensor<double> a = RandomDoubles(rng, {200, 5}, -6, 6);
    const Tensor<double> b = RandomDoubles(rng, {200, 5}, 0.5, 50);
    RuntimeConfig config;
    config.protocol = GetParam().protocol;
    config.field = GetParam().field;
    const size_t other = GetParam().parties - 1;
    auto res = RunParties<T, std::vector<Tensor<double>>>(*world, config, [&](Protocol<T>& prot) {
      auto x = prot.InputFxp(0, a.shape(), prot.rank() == 0 ? &a : nullptr);
      auto y = prot.InputFxp(other, b.shape(), prot.rank() == other ? &b : nullptr);
      auto am = Argmax(prot, x, 1);
      return std::vector<Tensor<double>>{prot.OpenFxp(Sigmoid(prot, x, SigmoidMode::kReal)),
                                         prot.OpenFxp(Reciprocal(prot, y)), prot.OpenFxp(am.index)};
    });
    for (const auto& r : res) {
      for (int64_t i = 0; i < a.numel(); ++i) {
        ASSERT_NEAR(r[0][i], 1 / (1 + std::exp(-a[i])), 1.2e-3);
        ASSERT_NEAR(r[1][i], 1 / b[i], 2e-4 / b[i] + 4e-5);
      }
      for (int64_t row = 0; row < 200; ++row) {
        int64_t best = 0;
        for (int64_t c = 1; c < 5; ++c) {
          if (a.at(row, c) > a.at(row, best)) best = c;
        }
        ASSERT_EQ(r[2][row], static_cast<double>(best)) << row;
      }
    }
  });
}

INSTANTIATE_TEST_SUITE_P(Protocols, MpcFxpApproxTcpTest,
                         ::testing::Values(Config{kProtocolSemi2k, 2, FieldType::kFM64},
                                           Config{kProtocolAby3, 3, FieldType::kFM128}),
                         ConfigName);

}  // namespace
}  // namespace veil::mpc
