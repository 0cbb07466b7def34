// Conformance suite: every kernel of every protocol × field × party count, all parties in one
// process (one thread each) over the in-memory link, checked against plaintext arithmetic; plus
// one run over TCP on 127.0.0.1 and the configuration errors.
#include "veil/mpc/protocol.h"

#include <bit>
#include <cmath>
#include <exception>
#include <functional>
#include <future>
#include <ostream>
#include <random>

#include <gtest/gtest.h>

#include "veil/base/exception.h"
#include "veil/link/test_util.h"
#include "veil/mpc/mpc_test_util.h"

namespace veil::mpc {
namespace {

using testing::Config;
using testing::ConfigName;
using testing::RandomDoubles;
using testing::RandomElement;
using testing::RandomSmall;
using testing::RandomTensor;
using testing::RunParties;
using testing::Signed;
using testing::WithRing;

class MpcConformanceTest : public ::testing::TestWithParam<Config> {
 protected:
  RuntimeConfig runtime() const { return GetParam().runtime(); }
  std::vector<std::unique_ptr<link::Context>> world() const {
    return link::test::MakeWorld(GetParam().parties);
  }
  size_t parties() const { return GetParam().parties; }
};

TEST_P(MpcConformanceTest, InputOpenRevealRoundTrip) {
  WithRing(GetParam().field, [&]<typename T>() {
    std::mt19937_64 rng(11);
    std::vector<Tensor<T>> inputs;
    for (size_t p = 0; p < parties(); ++p) inputs.push_back(RandomTensor<T>(rng, {4, 25}));
    auto w = world();
    auto opened = RunParties<T, std::vector<Tensor<T>>>(w, runtime(), [&](Protocol<T>& prot) {
      std::vector<Tensor<T>> out;
      for (size_t p = 0; p < parties(); ++p) {
        auto x = prot.Input(p, {4, 25}, prot.rank() == p ? &inputs[p] : nullptr);
        EXPECT_EQ(x.shape(), (Shape{4, 25}));
        out.push_back(prot.Open(x));
        auto revealed = prot.RevealTo(x, (p + 1) % parties());
        if (prot.rank() == (p + 1) % parties()) {
          EXPECT_TRUE(revealed.has_value() && *revealed == inputs[p]);
        } else {
          EXPECT_FALSE(revealed.has_value());
        }
      }
      return out;
    });
    for (size_t r = 0; r < parties(); ++r) {
      for (size_t p = 0; p < parties(); ++p) EXPECT_TRUE(opened[r][p] == inputs[p]);
    }
  });
}

TEST_P(MpcConformanceTest, LinearOperationsAreExact) {
  WithRing(GetParam().field, [&]<typename T>() {
    std::mt19937_64 rng(12);
    const Tensor<T> a = RandomTensor<T>(rng, {300}), b = RandomTensor<T>(rng, {300});
    const Tensor<T> c = RandomTensor<T>(rng, {300});
    const T s = RandomElement<T>(rng);
    const size_t owner_b = parties() - 1;
    auto w = world();
    auto res = RunParties<T, std::vector<Tensor<T>>>(w, runtime(), [&](Protocol<T>& prot) {
      auto x = prot.Input(0, {300}, prot.rank() == 0 ? &a : nullptr);
      auto y = prot.Input(owner_b, {300}, prot.rank() == owner_b ? &b : nullptr);
      return std::vector<Tensor<T>>{
          prot.Open(prot.Add(x, y)),       prot.Open(prot.Sub(x, y)),
          prot.Open(prot.Neg(x)),          prot.Open(prot.AddPublic(x, c)),
          prot.Open(prot.SubPublic(x, c)), prot.Open(prot.MulPublic(x, c)),
          prot.Open(prot.MulScalar(x, s)),
      };
    });
    for (const auto& r : res) {
      EXPECT_TRUE(r[0] == Add(a, b));
      EXPECT_TRUE(r[1] == Sub(a, b));
      EXPECT_TRUE(r[2] == Neg(a));
      EXPECT_TRUE(r[3] == Add(a, c));
      EXPECT_TRUE(r[4] == Sub(a, c));
      EXPECT_TRUE(r[5] == Mul(a, c));
      EXPECT_TRUE(r[6] == MulScalar(a, s));
    }
  });
}

TEST_P(MpcConformanceTest, MulAndMatMulAreExactModulo2k) {
  WithRing(GetParam().field, [&]<typename T>() {
    std::mt19937_64 rng(13);
    const Tensor<T> a = RandomTensor<T>(rng, {1000}), b = RandomTensor<T>(rng, {1000});
    const Tensor<T> ma = RandomTensor<T>(rng, {17, 23}), mb = RandomTensor<T>(rng, {23, 9});
    const size_t other = parties() - 1;
    auto w = world();
    auto res = RunParties<T, std::vector<Tensor<T>>>(w, runtime(), [&](Protocol<T>& prot) {
      const bool me0 = prot.rank() == 0, me1 = prot.rank() == other;
      auto x = prot.Input(0, a.shape(), me0 ? &a : nullptr);
      auto y = prot.Input(other, b.shape(), me1 ? &b : nullptr);
      auto mx = prot.Input(0, ma.shape(), me0 ? &ma : nullptr);
      auto my = prot.Input(other, mb.shape(), me1 ? &mb : nullptr);
      auto xy = prot.Mul(x, y);
      return std::vector<Tensor<T>>{prot.Open(xy), prot.Open(prot.Mul(xy, x)),
                                    prot.Open(prot.MatMul(mx, my))};
    });
    const Tensor<T> want_mat = MatMul(ma, mb);
    for (const auto& r : res) {
      EXPECT_TRUE(r[0] == Mul(a, b));
      EXPECT_TRUE(r[1] == Mul(Mul(a, b), a));
      EXPECT_TRUE(r[2] == want_mat);
    }
  });
}

TEST_P(MpcConformanceTest, PreparedMatMulEqualsMatMulForEveryLeftOperand) {
  WithRing(GetParam().field, [&]<typename T>() {
    std::mt19937_64 rng(17);
    const Tensor<T> mb = RandomTensor<T>(rng, {23, 9});
    std::vector<Tensor<T>> lhs;
    for (int64_t m : {1, 4, 17}) lhs.push_back(RandomTensor<T>(rng, {m, 23}));
    const size_t other = parties() - 1;
    auto w = world();
    auto res = RunParties<T, std::vector<Tensor<T>>>(w, runtime(), [&](Protocol<T>& prot) {
      auto my = prot.Input(other, mb.shape(), prot.rank() == other ? &mb : nullptr);
      const auto prepared = prot.PrepareMatMul(my);
      std::vector<Tensor<T>> out;
      for (const auto& a : lhs) {
        auto mx = prot.Input(0, a.shape(), prot.rank() == 0 ? &a : nullptr);
        out.push_back(prot.Open(prot.MatMulPrepared(mx, prepared)));
      }
      return out;
    });
    for (const auto& r : res) {
      for (size_t i = 0; i < lhs.size(); ++i) EXPECT_TRUE(r[i] == MatMul(lhs[i], mb)) << i;
    }
  });
}

TEST_P(MpcConformanceTest, TruncIsWithinOneUlp) {
  WithRing(GetParam().field, [&]<typename T>() {
    // |x| < 2^(k/2): the failure probability per element is below 2^(k/2 - k + 1), i.e. never in
    // practice; every result must be floor(x / 2^f) or floor(x / 2^f) + 1.
    constexpr int k = RingTraits<T>::kBits;
    std::mt19937_64 rng(14);
    const Tensor<T> a = RandomSmall<T>(rng, {2000}, k / 2);
    auto w = world();
    for (int bits : {1, 13, RingTraits<T>::kDefaultFxpBits}) {
      auto res = RunParties<T, Tensor<T>>(w, runtime(), [&](Protocol<T>& prot) {
        auto x = prot.Input(0, a.shape(), prot.rank() == 0 ? &a : nullptr);
        // Truncate a product too: Beaver output shares, not just input shares.
        auto one = prot.AddPublic(prot.Sub(x, x), Tensor<T>({2000}, std::vector<T>(2000, 1)));
        return prot.Open(prot.Trunc(prot.Mul(x, one), bits));
      });
      const Tensor<T> floor = ArithShiftRight(a, bits);
      for (const auto& r : res) {
        for (int64_t i = 0; i < a.numel(); ++i) {
          const T diff = r[i] - floor[i];
          ASSERT_TRUE(diff == 0 || diff == 1)
              << "bits=" << bits << " i=" << i << " diff=" << static_cast<int64_t>(diff);
        }
      }
    }
  });
}

TEST_P(MpcConformanceTest, FixedPointMulAndMatMulWithinErrorBound) {
  WithRing(GetParam().field, [&]<typename T>() {
    std::mt19937_64 rng(15);
    const Tensor<double> a = RandomDoubles(rng, {500}, -10, 10);
    const Tensor<double> b = RandomDoubles(rng, {500}, -10, 10);
    const Tensor<double> ma = RandomDoubles(rng, {12, 30}, -2, 2);
    const Tensor<double> mb = RandomDoubles(rng, {30, 7}, -2, 2);
    const size_t other = parties() - 1;
    auto w = world();
    int f = 0;
    auto res = RunParties<T, std::vector<Tensor<double>>>(w, runtime(), [&](Protocol<T>& prot) {
      f = prot.fxp_fraction_bits();
      const bool me0 = prot.rank() == 0, me1 = prot.rank() == other;
      auto x = prot.InputFxp(0, a.shape(), me0 ? &a : nullptr);
      auto y = prot.InputFxp(other, b.shape(), me1 ? &b : nullptr);
      auto mx = prot.InputFxp(0, ma.shape(), me0 ? &ma : nullptr);
      auto my = prot.InputFxp(other, mb.shape(), me1 ? &mb : nullptr);
      return std::vector<Tensor<double>>{prot.OpenFxp(prot.MulFxp(x, y)),
                                         prot.OpenFxp(prot.MatMulFxp(mx, my))};
    });
    ASSERT_EQ(f, RingTraits<T>::kDefaultFxpBits);
    // Error: encoding rounds each input by <= 2^-(f+1); truncation adds < 1 ulp = 2^-f.
    const double ulp = std::ldexp(1.0, -f), half = ulp / 2;
    for (const auto& r : res) {
      for (int64_t i = 0; i < a.numel(); ++i) {
        const double bound = ulp + (std::fabs(a[i]) + std::fabs(b[i]) + half) * half;
        ASSERT_LE(std::fabs(r[0][i] - a[i] * b[i]), bound) << a[i] << " * " << b[i];
      }
      for (int64_t i = 0; i < 12; ++i) {
        for (int64_t j = 0; j < 7; ++j) {
          double want = 0, bound = ulp;
          for (int64_t p = 0; p < 30; ++p) {
            want += ma.at(i, p) * mb.at(p, j);
            bound += (std::fabs(ma.at(i, p)) + std::fabs(mb.at(p, j)) + half) * half;
          }
          ASSERT_LE(std::fabs(r[1].at(i, j) - want), bound);
        }
      }
    }
  });
}

TEST_P(MpcConformanceTest, MsbAndLessAreExact) {
  WithRing(GetParam().field, [&]<typename T>() {
    constexpr int k = RingTraits<T>::kBits;
    std::mt19937_64 rng(16);
    // Msb over the whole ring (it is exact for every element), including the corner values.
    Tensor<T> a = RandomTensor<T>(rng, {700});
    const T min = T(1) << (k - 1);
    const std::vector<T> corners = {0, 1, T(0) - 1, min, min - 1, min + 1, T(1) << 63};
    for (size_t i = 0; i < corners.size(); ++i) a[i] = corners[i];
    // Less over values whose difference cannot wrap, with ties.
    Tensor<T> u = RandomSmall<T>(rng, {700}, k - 3), v = RandomSmall<T>(rng, {700}, k - 3);
    for (int64_t i = 0; i < 50; ++i) v[i] = u[i];
    for (int64_t i = 50; i < 100; ++i) v[i] = u[i] + 1;
    const size_t other = parties() - 1;
    auto w = world();
    auto res = RunParties<T, std::vector<Tensor<T>>>(w, runtime(), [&](Protocol<T>& prot) {
      auto x = prot.Input(0, a.shape(), prot.rank() == 0 ? &a : nullptr);
      auto xu = prot.Input(0, u.shape(), prot.rank() == 0 ? &u : nullptr);
      auto xv = prot.Input(other, v.shape(), prot.rank() == other ? &v : nullptr);
      return std::vector<Tensor<T>>{prot.Open(prot.Msb(x)), prot.Open(prot.Less(xu, xv)),
                                    prot.Open(prot.Less(xv, xu))};
    });
    for (const auto& r : res) {
      for (int64_t i = 0; i < a.numel(); ++i) {
        ASSERT_TRUE(r[0][i] == (a[i] >> (k - 1))) << "msb i=" << i;
        ASSERT_TRUE(r[1][i] == T(Signed<T>(u[i]) < Signed<T>(v[i]))) << "less i=" << i;
        ASSERT_TRUE(r[2][i] == T(Signed<T>(v[i]) < Signed<T>(u[i]))) << "greater i=" << i;
      }
    }
  });
}

TEST_P(MpcConformanceTest, SelectAndReluMatchPlaintext) {
  WithRing(GetParam().field, [&]<typename T>() {
    std::mt19937_64 rng(17);
    const Tensor<double> a = RandomDoubles(rng, {400}, -100, 100);
    const Tensor<double> b = RandomDoubles(rng, {400}, -100, 100);
    const size_t other = parties() - 1;
    auto w = world();
    int f = 0;
    auto res = RunParties<T, std::vector<Tensor<double>>>(w, runtime(), [&](Protocol<T>& prot) {
      f = prot.fxp_fraction_bits();
      auto x = prot.InputFxp(0, a.shape(), prot.rank() == 0 ? &a : nullptr);
      auto y = prot.InputFxp(other, b.shape(), prot.rank() == other ? &b : nullptr);
      auto max = prot.Select(prot.Less(x, y), y, x);
      return std::vector<Tensor<double>>{prot.OpenFxp(prot.Relu(x)), prot.OpenFxp(max)};
    });
    const double half = std::ldexp(1.0, -f - 1);  // encoding error only: both kernels are exact
    for (const auto& r : res) {
      for (int64_t i = 0; i < a.numel(); ++i) {
        ASSERT_LE(std::fabs(r[0][i] - std::max(a[i], 0.0)), half);
        ASSERT_LE(std::fabs(r[1][i] - std::max(a[i], b[i])), half);
      }
    }
  });
}

TEST_P(MpcConformanceTest, DenseLayerComposesKernels) {
  // relu(X·W + bias) with X from party 0, W and bias from the last party: what a user of the
  // engine would run.
  WithRing(GetParam().field, [&]<typename T>() {
    std::mt19937_64 rng(18);
    const Tensor<double> x = RandomDoubles(rng, {16, 8}, -1, 1);
    const Tensor<double> wt = RandomDoubles(rng, {8, 4}, -1, 1);
    const Tensor<double> bias = RandomDoubles(rng, {16, 4}, -1, 1);
    const size_t other = parties() - 1;
    auto w = world();
    auto res = RunParties<T, Tensor<double>>(w, runtime(), [&](Protocol<T>& prot) {
      const bool me0 = prot.rank() == 0, me1 = prot.rank() == other;
      auto sx = prot.InputFxp(0, x.shape(), me0 ? &x : nullptr);
      auto sw = prot.InputFxp(other, wt.shape(), me1 ? &wt : nullptr);
      auto sb = prot.InputFxp(other, bias.shape(), me1 ? &bias : nullptr);
      auto out = prot.Relu(prot.Add(prot.MatMulFxp(sx, sw), sb));
      auto revealed = prot.RevealFxpTo(out, 0);
      return revealed ? *revealed : Tensor<double>();
    });
    ASSERT_EQ(res[0].shape(), (Shape{16, 4}));
    for (size_t r = 1; r < res.size(); ++r) EXPECT_TRUE(res[r].empty());
    for (int64_t i = 0; i < 16; ++i) {
      for (int64_t j = 0; j < 4; ++j) {
        double want = bias.at(i, j);
        for (int64_t p = 0; p < 8; ++p) want += x.at(i, p) * wt.at(p, j);
        EXPECT_NEAR(res[0].at(i, j), std::max(want, 0.0), 1e-4);
      }
    }
  });
}

TEST_P(MpcConformanceTest, RevealToSendsSharesOnlyToTheTarget) {
  WithRing(GetParam().field, [&]<typename T>() {
    std::mt19937_64 rng(19);
    const Tensor<T> a = RandomTensor<T>(rng, {256});
    auto w = world();
    for (size_t target = 0; target < parties(); ++target) {
      struct Out {
        std::optional<Tensor<T>> value;
        uint64_t sent, received;
      };
      auto res = RunParties<T, Out>(w, runtime(), [&](Protocol<T>& prot) {
        auto x = prot.Input(0, a.shape(), prot.rank() == 0 ? &a : nullptr);
        const link::LinkStats before = prot.link().stats();
        auto v = prot.RevealTo(x, target);
        const link::LinkStats after = prot.link().stats();
        return Out{std::move(v), after.bytes_sent - before.bytes_sent,
                   after.bytes_received - before.bytes_received};
      });
      uint64_t total_sent = 0;
      for (size_t r = 0; r < parties(); ++r) {
        total_sent += res[r].sent;
        if (r == target) {
          ASSERT_TRUE(res[r].value.has_value());
          EXPECT_TRUE(*res[r].value == a);
        } else {
          EXPECT_FALSE(res[r].value.has_value()) << "rank " << r << " learned the value";
          EXPECT_EQ(res[r].received, 0u) << "rank " << r;
        }
      }
      // Everything that was sent was received by the target: nothing went anywhere else.
      EXPECT_EQ(total_sent, res[target].received);
      if (GetParam().protocol != kProtocolRef2k) {
        EXPECT_GE(res[target].received, a.numel() * sizeof(T));
      }
    }
  });
}

TEST_P(MpcConformanceTest, LargeInputsTakeTheParallelPaths) {
  // 100k elements: above the element-wise grain and the PRG's parallel chunk size.
  WithRing(GetParam().field, [&]<typename T>() {
    constexpr int k = RingTraits<T>::kBits;
    std::mt19937_64 rng(21);
    const Tensor<T> a = RandomSmall<T>(rng, {100000}, k - 3);
    const Tensor<T> b = RandomSmall<T>(rng, {100000}, k - 3);
    // Odd inner dimension and several of the dealer's row blocks.
    const Tensor<T> ma = RandomTensor<T>(rng, {1001, 33}), mb = RandomTensor<T>(rng, {33, 3});
    const size_t other = parties() - 1;
    auto w = world();
    auto res = RunParties<T, std::vector<Tensor<T>>>(w, runtime(), [&](Protocol<T>& prot) {
      const bool me0 = prot.rank() == 0, me1 = prot.rank() == other;
      auto x = prot.Input(0, a.shape(), me0 ? &a : nullptr);
      auto y = prot.Input(other, b.shape(), me1 ? &b : nullptr);
      auto mx = prot.Input(0, ma.shape(), me0 ? &ma : nullptr);
      auto my = prot.Input(other, mb.shape(), me1 ? &mb : nullptr);
      return std::vector<Tensor<T>>{prot.Open(prot.Mul(x, y)), prot.Open(prot.Less(x, y)),
                                    prot.Open(prot.MatMul(mx, my))};
    });
    const Tensor<T> prod = Mul(a, b);
    const Tensor<T> mprod = MatMul(ma, mb);
    for (const auto& r : res) {
      EXPECT_TRUE(r[0] == prod);
      EXPECT_TRUE(r[2] == mprod);
      for (int64_t i = 0; i < a.numel(); ++i) {
        ASSERT_TRUE(r[1][i] == T(Signed<T>(a[i]) < Signed<T>(b[i]))) << i;
      }
    }
  });
}

TEST_P(MpcConformanceTest, LocalSharesLookUniform) {
  // An all-zero input: every component any party holds must still look uniformly random (about
  // half of its bits set), before and after a multiplication.
  if (GetParam().protocol == kProtocolRef2k) GTEST_SKIP() << "REF2K holds plaintext by design";
  WithRing(GetParam().field, [&]<typename T>() {
    const Tensor<T> zeros({4096});
    auto w = world();
    auto res = RunParties<T, std::vector<double>>(w, runtime(), [&](Protocol<T>& prot) {
      auto x = prot.Input(0, zeros.shape(), prot.rank() == 0 ? &zeros : nullptr);
      auto y = prot.Mul(x, x);
      std::vector<double> fractions;
      for (const Tensor<T>* t : {&x.own, &x.next, &y.own, &y.next}) {
        if (t->empty()) continue;
        const Words words = ElementsToWords(*t);
        int64_t ones = 0;
        for (uint64_t v : words) ones += std::popcount(v);
        fractions.push_back(static_cast<double>(ones) / (64.0 * words.size()));
      }
      return fractions;
    });
    for (const auto& fractions : res) {
      for (double f : fractions) EXPECT_NEAR(f, 0.5, 0.01);
    }
  });
}

TEST_P(MpcConformanceTest, TruncFailureRateMatchesTheModel) {
  // |x| = 2^(k-6): the documented failure probability |x| / 2^k is 1/64 per element. Failures are
  // results outside {floor(x/2^f), floor(x/2^f) + 1}.
  if (GetParam().protocol == kProtocolRef2k) GTEST_SKIP() << "REF2K truncates exactly";
  WithRing(GetParam().field, [&]<typename T>() {
    constexpr int k = RingTraits<T>::kBits;
    constexpr int64_t kN = 20000;
    Tensor<T> a({kN});
    for (int64_t i = 0; i < kN; ++i) a[i] = i % 2 ? T(1) << (k - 6) : T(0) - (T(1) << (k - 6));
    const int bits = RingTraits<T>::kDefaultFxpBits;
    auto w = world();
    auto res = RunParties<T, Tensor<T>>(w, runtime(), [&](Protocol<T>& prot) {
      auto x = prot.Input(0, a.shape(), prot.rank() == 0 ? &a : nullptr);
      return prot.Open(prot.Trunc(x, bits));
    });
    const Tensor<T> floor = ArithShiftRight(a, bits);
    int64_t failures = 0;
    for (int64_t i = 0; i < kN; ++i) {
      const T diff = res[0][i] - floor[i];
      failures += !(diff == 0 || diff == 1);
    }
    if (GetParam().protocol != kProtocolAby3 && GetParam().parties == 2) {
      // 2-party SEMI2K (and CHEETAH) truncate with the wrap bit: no failure below 2^(k-2).
      EXPECT_EQ(failures, 0);
    } else {
      // Expected 312.5, standard deviation about 17.5.
      EXPECT_GT(failures, 200);
      EXPECT_LT(failures, 450);
    }
  });
}

// 2-party SEMI2K: the wrap-bit truncation is exact (within 1 ulp) up to its precondition
// |x| < 2^(k-2); SPU's trunc_allow_msb_error selects SecureML's local truncation, whose failure
// rate follows |x| / 2^k.
TEST(MpcTruncTest, WrapBitTruncationAndTheAllowMsbErrorOption) {
  using T = uint64_t;
  constexpr int kN = 20000;
  constexpr int bits = 18;
  Tensor<T> edge({kN}), mid({kN});
  std::mt19937_64 rng(5);
  for (int64_t i = 0; i < kN; ++i) {
    const T mag = (T(1) << 62) - 1 - (rng() & 0xffff);  // just below 2^(k-2)
    edge[i] = i % 2 ? mag : T(0) - mag;
    mid[i] = i % 2 ? T(1) << 58 : T(0) - (T(1) << 58);
  }
  auto failures = [&](bool allow, const Tensor<T>& a) {
    RuntimeConfig config;
    config.trunc_allow_msb_error = allow;
    auto world = link::test::MakeWorld(2);
    auto res = RunParties<T, Tensor<T>>(world, config, [&](Protocol<T>& prot) {
      return prot.Open(prot.Trunc(prot.Input(0, a.shape(), prot.rank() == 0 ? &a : nullptr), bits));
    });
    const Tensor<T> floor = ArithShiftRight(a, bits);
    int64_t n = 0;
    for (int64_t i = 0; i < kN; ++i) {
      const T diff = res[0][i] - floor[i];
      n += !(diff == 0 || diff == 1);
    }
    return n;
  };
  EXPECT_EQ(failures(false, edge), 0);
  EXPECT_EQ(failures(false, mid), 0);
  // |x| = 2^58: expected 20000 / 64 = 312.5 failures with the local truncation.
  const int64_t local = failures(true, mid);
  EXPECT_GT(local, 200);
  EXPECT_LT(local, 450);
}

TEST_P(MpcConformanceTest, ShapeMismatchThrowsAlgorithmError) {
  WithRing(GetParam().field, [&]<typename T>() {
    auto w = world();
    auto res = RunParties<T, std::string>(w, runtime(), [&](Protocol<T>& prot) {
      AShare<T> x{Tensor<T>({3}), prot.name() == kProtocolAby3 ? Tensor<T>({3}) : Tensor<T>()};
      AShare<T> y{Tensor<T>({4}), prot.name() == kProtocolAby3 ? Tensor<T>({4}) : Tensor<T>()};
      try {
        prot.Mul(x, y);
      } catch (const VeilException& e) {
        return e.status().code();
      }
      return std::string("no error");
    });
    for (const auto& code : res) EXPECT_EQ(code, "shape_mismatch");
  });
}

INSTANTIATE_TEST_SUITE_P(Protocols, MpcConformanceTest,
                         ::testing::Values(Config{kProtocolSemi2k, 2, FieldType::kFM64},
                                           Config{kProtocolSemi2k, 2, FieldType::kFM128},
                                           Config{kProtocolSemi2k, 3, FieldType::kFM64},
                                           Config{kProtocolSemi2k, 3, FieldType::kFM128},
                                           Config{kProtocolSemi2k, 4, FieldType::kFM64},
                                           Config{kProtocolAby3, 3, FieldType::kFM64},
                                           Config{kProtocolAby3, 3, FieldType::kFM128},
                                           Config{kProtocolRef2k, 2, FieldType::kFM64},
                                           Config{kProtocolRef2k, 2, FieldType::kFM128},
                                           Config{kProtocolSemi2k, 2, FieldType::kFM64, kBeaverOt},
                                           Config{kProtocolSemi2k, 2, FieldType::kFM128, kBeaverOt},
                                           Config{kProtocolCheetah, 2, FieldType::kFM64}),
                         ConfigName);

// One full pipeline per protocol over real TCP links on 127.0.0.1.
class MpcTcpTest : public ::testing::TestWithParam<Config> {};

TEST_P(MpcTcpTest, MulLessAndRevealOverTcp) {
  WithRing(GetParam().field, [&]<typename T>() {
    auto world = link::test::MakeTcpWorld(GetParam().parties);
    ASSERT_TRUE(world.ok()) << world.status().ToString();
    std::mt19937_64 rng(20);
    const Tensor<double> a = RandomDoubles(rng, {3000}, -50, 50);
    const Tensor<double> b = RandomDoubles(rng, {3000}, -50, 50);
    const size_t other = GetParam().parties - 1;
    const RuntimeConfig config = GetParam().runtime();
    auto res = RunParties<T, std::vector<Tensor<double>>>(*world, config, [&](Protocol<T>& prot) {
      auto x = prot.InputFxp(0, a.shape(), prot.rank() == 0 ? &a : nullptr);
      auto y = prot.InputFxp(other, b.shape(), prot.rank() == other ? &b : nullptr);
      return std::vector<Tensor<double>>{prot.OpenFxp(prot.MulFxp(x, y)),
                                         DecodeFixedPoint(prot.Open(prot.Less(x, y)), 0)};
    });
    for (const auto& r : res) {
      for (int64_t i = 0; i < a.numel(); ++i) {
        ASSERT_NEAR(r[0][i], a[i] * b[i], 1e-3);
        ASSERT_EQ(r[1][i], a[i] < b[i] ? 1.0 : 0.0);
      }
    }
  });
}

INSTANTIATE_TEST_SUITE_P(Protocols, MpcTcpTest,
                         ::testing::Values(Config{kProtocolSemi2k, 2, FieldType::kFM64},
                                           Config{kProtocolSemi2k, 2, FieldType::kFM64, kBeaverOt},
                                           Config{kProtocolAby3, 3, FieldType::kFM128}),
                         ConfigName);

// ---- configuration ----
Status CreateOn(const RuntimeConfig& config, size_t parties) {
  auto world = link::test::MakeWorld(parties);
  if (config.field == FieldType::kFM64) {
    return CreateProtocol<uint64_t>(config, world[0].get()).status();
  }
  return CreateProtocol<uint128_t>(config, world[0].get()).status();
}

TEST(MpcConfigTest, RejectsBadConfigurationsBeforeAnyTraffic) {
  RuntimeConfig c;
  c.protocol = "SPDZ2K";
  Status s = CreateOn(c, 2);
  EXPECT_EQ(s.code(), "unknown_protocol");
  EXPECT_EQ(s.type(), ErrorType::kDeviceConfig);

  c.protocol = kProtocolAby3;
  s = CreateOn(c, 2);
  EXPECT_EQ(s.code(), "bad_world_size");
  EXPECT_NE(s.message().find("exactly 3"), std::string::npos) << s.message();

  c.protocol = kProtocolSemi2k;
  EXPECT_EQ(CreateOn(c, 1).code(), "bad_world_size");
  c.fxp_fraction_bits = 31;
  EXPECT_EQ(CreateOn(c, 2).code(), "bad_fxp_fraction_bits");
  c.fxp_fraction_bits = 0;

  // uint64_t protocol requested for an FM128 config.
  c.field = FieldType::kFM128;
  auto world = link::test::MakeWorld(2);
  EXPECT_EQ(CreateProtocol<uint64_t>(c, world[0].get()).status().code(), "field_mismatch");
  EXPECT_EQ(ProtocolNames().size(), 4u);
}

TEST(MpcConfigTest, BeaverTypeIsValidatedAgainstProtocolAndPartyCount) {
  RuntimeConfig c;
  c.beaver_type = "ot";
  EXPECT_TRUE(ValidateRuntimeConfig(c, 2).ok());
  Status s = ValidateRuntimeConfig(c, 3);
  EXPECT_EQ(s.code(), "bad_world_size");
  EXPECT_EQ(s.type(), ErrorType::kDeviceConfig);
  EXPECT_NE(s.message().find("exactly 2"), std::string::npos) << s.message();
  // SPU's spelling and case variants are accepted; others are not.
  c.beaver_type = "OT";
  EXPECT_TRUE(ValidateRuntimeConfig(c, 2).ok());
  c.beaver_type = "trustedfirstparty";
  EXPECT_TRUE(ValidateRuntimeConfig(c, 3).ok());
  EXPECT_EQ(*EffectiveBeaverType(c), kBeaverTrustedFirstParty);
  c.beaver_type = "TrustedThirdParty";
  EXPECT_EQ(ValidateRuntimeConfig(c, 2).code(), "unknown_beaver_type");
  // OT triples make no sense for protocols without triples; TrustedFirstParty is ignored there.
  c.protocol = kProtocolAby3;
  c.beaver_type = "ot";
  EXPECT_EQ(ValidateRuntimeConfig(c, 3).code(), "bad_beaver_type");
  c.beaver_type = kBeaverTrustedFirstParty;
  EXPECT_TRUE(ValidateRuntimeConfig(c, 3).ok());
}

TEST(MpcConfigTest, CheetahIsSemi2kWithOtTriplesForTwoParties) {
  RuntimeConfig c;
  c.protocol = kProtocolCheetah;
  EXPECT_TRUE(ValidateRuntimeConfig(c, 2).ok());
  EXPECT_EQ(*EffectiveBeaverType(c), kBeaverOt);
  Status s = ValidateRuntimeConfig(c, 3);
  EXPECT_EQ(s.code(), "bad_world_size");
  EXPECT_NE(s.message().find("exactly 2"), std::string::npos) << s.message();
  c.beaver_type = kBeaverTrustedFirstParty;
  EXPECT_EQ(ValidateRuntimeConfig(c, 2).code(), "bad_beaver_type");
  c.beaver_type = "ot";
  EXPECT_TRUE(ValidateRuntimeConfig(c, 2).ok());
  // It really runs: the protocol reports its configured name and multiplies correctly.
  c.beaver_type = "";
  auto world = link::test::MakeWorld(2);
  const Tensor<uint64_t> a({3}, {3, 5, 7}), b({3}, {11, 13, uint64_t(0) - 1});
  auto res = RunParties<uint64_t, Tensor<uint64_t>>(world, c, [&](Protocol<uint64_t>& prot) {
    EXPECT_EQ(prot.name(), kProtocolCheetah);
    auto x = prot.Input(0, {3}, prot.rank() == 0 ? &a : nullptr);
    auto y = prot.Input(1, {3}, prot.rank() == 1 ? &b : nullptr);
    return prot.Open(prot.Mul(x, y));
  });
  for (const auto& r : res) EXPECT_TRUE(r == Mul(a, b));
}

TEST(MpcConfigTest, PartiesThatDisagreeOnBeaverTypeFailWithConfigMismatch) {
  auto world = link::test::MakeWorld(2);
  std::vector<std::future<Status>> f;
  for (size_t r = 0; r < 2; ++r) {
    f.push_back(std::async(std::launch::async, [&, r] {
      RuntimeConfig c;
      c.beaver_type = r == 0 ? "ot" : "";
      return CreateProtocol<uint64_t>(c, world[r].get()).status();
    }));
  }
  for (auto& x : f) {
    Status s = x.get();
    EXPECT_EQ(s.code(), "config_mismatch");
    EXPECT_NE(s.message().find("beaver=ot"), std::string::npos) << s.message();
  }
}

TEST(MpcConfigTest, PartiesThatDisagreeFailWithConfigMismatch) {
  auto world = link::test::MakeWorld(2);
  std::vector<std::future<Status>> f;
  for (size_t r = 0; r < 2; ++r) {
    f.push_back(std::async(std::launch::async, [&, r] {
      RuntimeConfig c;
      c.fxp_fraction_bits = r == 0 ? 16 : 18;
      return CreateProtocol<uint64_t>(c, world[r].get()).status();
    }));
  }
  for (auto& x : f) {
    Status s = x.get();
    EXPECT_EQ(s.code(), "config_mismatch");
    EXPECT_NE(s.message().find("fxp=16"), std::string::npos);
  }
}

TEST(MpcConfigTest, CustomFractionBitsAreUsed) {
  auto world = link::test::MakeWorld(2);
  RuntimeConfig c;
  c.fxp_fraction_bits = 12;
  const Tensor<double> a({2}, {1.25, -3.5}), b({2}, {2.0, 0.5});
  auto res = RunParties<uint64_t, Tensor<double>>(world, c, [&](Protocol<uint64_t>& prot) {
    EXPECT_EQ(prot.fxp_fraction_bits(), 12);
    auto x = prot.InputFxp(0, {2}, prot.rank() == 0 ? &a : nullptr);
    auto y = prot.InputFxp(1, {2}, prot.rank() == 1 ? &b : nullptr);
    return prot.OpenFxp(prot.MulFxp(x, y));
  });
  EXPECT_NEAR(res[0][0], 2.5, 1.0 / 4096);
  EXPECT_NEAR(res[0][1], -1.75, 1.0 / 4096);
}

TEST(MpcConfigTest, PeerFailureSurfacesAsTypedError) {
  // Party 1 never runs the kernel and aborts: party 0's Mul must fail quickly with the peer's
  // error instead of waiting for the receive timeout.
  auto world = link::test::MakeWorld(2);
  RuntimeConfig c;
  std::vector<std::future<std::string>> f;
  for (size_t r = 0; r < 2; ++r) {
    f.push_back(std::async(std::launch::async, [&, r]() -> std::string {
      auto prot = CreateProtocol<uint64_t>(c, world[r].get());
      if (!prot.ok()) return prot.status().code();
      if (r == 1) {
        world[r]->Abort(AlgorithmError("boom", "party 1 gave up"));
        return "aborted";
      }
      AShare<uint64_t> x{Tensor<uint64_t>({10}), Tensor<uint64_t>()};
      try {
        (*prot)->Mul(x, x);
      } catch (const VeilException& e) {
        return std::string(e.status().type_name()) + "/" + e.status().code();
      }
      return "no error";
    }));
  }
  EXPECT_EQ(f[0].get(), "AlgorithmError/peer_failed");
  EXPECT_EQ(f[1].get(), "aborted");
}

}  // namespace
}  // namespace veil::mpc
