// OtBeaver on its own: the material of both parties, reconstructed, satisfies the Beaver
// relations, for both Dot layouts (choices from either matrix), odd sizes and both rings.
#include "veil/mpc/beaver_ot.h"

#include <future>

#include <gtest/gtest.h>

#include "veil/base/exception.h"
#include "veil/link/context.h"
#include "veil/mpc/mpc_test_util.h"

namespace veil::mpc {
namespace {

template <RingElement T, typename R>
std::vector<R> RunBeaver(const std::function<R(OtBeaver<T>&)>& fn) {
  auto world = link::test::MakeWorld(2);
  std::vector<std::future<R>> f;
  for (size_t r = 0; r < 2; ++r) {
    f.push_back(std::async(std::launch::async, [&, r] {
      const PartySeeds seeds = ValueOrThrow(AgreeSeeds(*world[r]));
      auto beaver = ValueOrThrow(OtBeaver<T>::Create(world[r].get(), seeds));
      return fn(*beaver);
    }));
  }
  std::vector<R> out;
  for (auto& x : f) out.push_back(x.get());
  return out;
}

template <typename T>
class OtBeaverTest : public ::testing::Test {};
using Rings = ::testing::Types<uint64_t, uint128_t>;
TYPED_TEST_SUITE(OtBeaverTest, Rings);

TYPED_TEST(OtBeaverTest, MulAndDotTriplesReconstruct) {
  using T = TypeParam;
  using Triple = typename BeaverSource<T>::Triple;
  // Dot shapes: n < m (choices from b), n >= m (choices from a), and a degenerate 1x1x1.
  const std::vector<std::array<int64_t, 3>> dots = {{37, 5, 3}, {4, 6, 50}, {1, 1, 1}};
  auto res = RunBeaver<T, std::vector<Triple>>([&](OtBeaver<T>& b) {
    std::vector<Triple> out{b.Mul({3, 333})};
    for (const auto& d : dots) out.push_back(b.Dot(d[0], d[1], d[2]));
    return out;
  });
  const auto sum = [&](size_t i, auto member) { return Add(res[0][i].*member, res[1][i].*member); };
  EXPECT_TRUE(sum(0, &Triple::c) == Mul(sum(0, &Triple::a), sum(0, &Triple::b)));
  EXPECT_FALSE(res[0][0].c == res[1][0].c);
  for (size_t i = 1; i <= dots.size(); ++i) {
    EXPECT_TRUE(sum(i, &Triple::c) == MatMul(sum(i, &Triple::a), sum(i, &Triple::b)))
        << dots[i - 1][0] << "x" << dots[i - 1][1] << "x" << dots[i - 1][2];
  }
}

TYPED_TEST(OtBeaverTest, BitTriplesAndRandomBitsReconstruct) {
  using T = TypeParam;
  struct Out {
    typename BeaverSource<T>::BitTriple and_triple;
    typename BeaverSource<T>::RandomBits bits;
  };
  constexpr int64_t kBits = 1001;  // odd: the two OT directions get unequal halves
  auto res = RunBeaver<T, Out>([&](OtBeaver<T>& b) { return Out{b.And(2050), b.Bits({kBits})}; });
  const auto& t0 = res[0].and_triple;
  const auto& t1 = res[1].and_triple;
  int64_t ones = 0;
  for (size_t w = 0; w < t0.a.size(); ++w) {
    const uint64_t a = t0.a[w] ^ t1.a[w], b = t0.b[w] ^ t1.b[w];
    ASSERT_EQ(t0.c[w] ^ t1.c[w], a & b) << w;
    ones += __builtin_popcountll(a & b);
  }
  // a & b is set for about a quarter of the 2050·64 bits.
  EXPECT_NEAR(static_cast<double>(ones) / (2050.0 * 64), 0.25, 0.01);
  int64_t set = 0;
  for (int64_t e = 0; e < kBits; ++e) {
    const uint64_t bit = ((res[0].bits.bits[e / 64] ^ res[1].bits.bits[e / 64]) >> (e % 64)) & 1;
    ASSERT_TRUE(res[0].bits.arith[e] + res[1].bits.arith[e] == T(bit)) << e;
    set += bit;
  }
  EXPECT_GT(set, 400);
  EXPECT_LT(set, 600);
}

TEST(OtBeaverConfigTest, NeedsExactlyTwoParties) {
  auto world = link::test::MakeWorld(3);
  PartySeeds seeds;
  seeds.pair.resize(3);
  EXPECT_EQ(OtBeaver<uint64_t>::Create(world[0].get(), seeds).status().code(), "bad_world_size");
}

}  // namespace
}  // namespace veil::mpc
