#include "veil/mpc/ring.h"

#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "veil/mpc/bits.h"
#include "veil/mpc/mpc_test_util.h"

namespace veil::mpc {
namespace {

using testing::RandomElement;
using testing::RandomTensor;

template <typename T>
class MpcRingTest : public ::testing::Test {};
using RingTypes = ::testing::Types<uint64_t, uint128_t>;
TYPED_TEST_SUITE(MpcRingTest, RingTypes);

TEST(MpcFieldTest, NamesAndDefaults) {
  EXPECT_EQ(FieldTypeName(FieldType::kFM64), "FM64");
  EXPECT_EQ(*ParseFieldType("FM128"), FieldType::kFM128);
  EXPECT_FALSE(ParseFieldType("FM32").ok());
  EXPECT_EQ(DefaultFxpFractionBits(FieldType::kFM64), 18);
  EXPECT_EQ(DefaultFxpFractionBits(FieldType::kFM128), 26);
  EXPECT_EQ(NumElements({}), 1);
  EXPECT_EQ(NumElements({3, 0}), 0);
}

TYPED_TEST(MpcRingTest, ElementwiseOpsWrapModulo2k) {
  using T = TypeParam;
  std::mt19937_64 rng(1);
  // Large enough to take the parallel path.
  const Tensor<T> a = RandomTensor<T>(rng, {70000});
  const Tensor<T> b = RandomTensor<T>(rng, {70000});
  const Tensor<T> sum = Add(a, b), diff = Sub(a, b), prod = Mul(a, b), neg = Neg(a);
  for (int64_t i = 0; i < a.numel(); i += 997) {
    EXPECT_TRUE(sum[i] == T(a[i] + b[i]));
    EXPECT_TRUE(diff[i] == T(a[i] - b[i]));
    EXPECT_TRUE(prod[i] == T(a[i] * b[i]));
    EXPECT_TRUE(T(neg[i] + a[i]) == 0);
  }
  Tensor<T> acc = a;
  AddInPlace(&acc, b);
  SubInPlace(&acc, b);
  EXPECT_TRUE(acc == a);
  EXPECT_TRUE(Xor(Xor(a, b), b) == a);
  EXPECT_THROW(Add(a, Tensor<T>({3})), VeilException);
}

TYPED_TEST(MpcRingTest, ShiftsFollowTwosComplement) {
  using T = TypeParam;
  using S = typename RingTraits<T>::Signed;
  Tensor<T> x({4}, {T(S(-7)), T(S(7)), T(S(-1)), T(S(-8))});
  const Tensor<T> a = ArithShiftRight(x, 2);
  EXPECT_TRUE(S(a[0]) == -2);  // floor(-7/4)
  EXPECT_TRUE(S(a[1]) == 1);
  EXPECT_TRUE(S(a[2]) == -1);
  EXPECT_TRUE(S(a[3]) == -2);
  const Tensor<T> l = LogicalShiftRight(x, RingTraits<T>::kBits - 1);
  EXPECT_TRUE(l[0] == 1 && l[1] == 0);
  EXPECT_TRUE(ShiftLeft(x, 1)[1] == 14);
  EXPECT_THROW(ArithShiftRight(x, RingTraits<T>::kBits), VeilException);
}

TYPED_TEST(MpcRingTest, MatMulMatchesNaiveProduct) {
  using T = TypeParam;
  std::mt19937_64 rng(2);
  // Shapes straddle the 128 x 256 tiles and cover the matrix-vector path.
  for (auto [m, k, n] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{
           {1, 1, 1}, {7, 5, 3}, {33, 300, 1}, {20, 130, 270}, {3, 0, 4}}) {
    const Tensor<T> a = RandomTensor<T>(rng, {m, k});
    const Tensor<T> b = RandomTensor<T>(rng, {k, n});
    const Tensor<T> c = MatMul(a, b);
    ASSERT_EQ(c.shape(), (Shape{m, n}));
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        T want = 0;
        for (int64_t p = 0; p < k; ++p) want += a.at(i, p) * b.at(p, j);
        ASSERT_TRUE(c.at(i, j) == want) << m << "x" << k << "x" << n << " at " << i << "," << j;
      }
    }
  }
  EXPECT_THROW(MatMul(Tensor<T>({2, 3}), Tensor<T>({2, 3})), VeilException);
}

TYPED_TEST(MpcRingTest, FixedPointRoundTrip) {
  using T = TypeParam;
  const int f = RingTraits<T>::kDefaultFxpBits;
  Tensor<double> x({6}, {0.0, 1.5, -1.5, 3.14159265, -1e6, 1.0 / 3});
  auto enc = EncodeFixedPoint<T>(x, f);
  ASSERT_TRUE(enc.ok()) << enc.status().ToString();
  EXPECT_TRUE((*enc)[1] == T(3) << (f - 1));
  EXPECT_TRUE(static_cast<typename RingTraits<T>::Signed>((*enc)[2]) < 0);
  const Tensor<double> back = DecodeFixedPoint(*enc, f);
  for (int64_t i = 0; i < x.numel(); ++i) {
    EXPECT_LE(std::fabs(back[i] - x[i]), std::ldexp(1.0, -f - 1)) << x[i];
  }
}

TYPED_TEST(MpcRingTest, FixedPointRejectsBadValues) {
  using T = TypeParam;
  const int f = RingTraits<T>::kDefaultFxpBits;
  auto nan = EncodeFixedPoint<T>(Tensor<double>({1}, {std::nan("")}), f);
  ASSERT_FALSE(nan.ok());
  EXPECT_EQ(nan.status().code(), "non_finite_value");
  const double too_big = std::ldexp(1.0, RingTraits<T>::kBits - 2 - f);
  auto big = EncodeFixedPoint<T>(Tensor<double>({2}, {1.0, -too_big}), f);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), "fixed_point_overflow");
  EXPECT_EQ(big.status().type(), ErrorType::kParameterValidation);
  EXPECT_TRUE(EncodeFixedPoint<T>(Tensor<double>({1}, {too_big / 2}), f).ok());
}

TEST(MpcBitsTest, DeinterleaveSplitsEvenAndOddPositions) {
  std::mt19937_64 rng(3);
  const int64_t nbits = int64_t{64} * 5;
  Words in(5);
  for (auto& w : in) w = rng();
  Words even, odd;
  Deinterleave(in, nbits, &even, &odd);
  ASSERT_EQ(even.size(), 3u);
  for (int64_t j = 0; j < nbits / 2; ++j) {
    const int64_t e = 2 * j, o = 2 * j + 1;
    ASSERT_EQ((even[j / 64] >> (j % 64)) & 1, (in[e / 64] >> (e % 64)) & 1);
    ASSERT_EQ((odd[j / 64] >> (j % 64)) & 1, (in[o / 64] >> (o % 64)) & 1);
  }
}

TEST(MpcBitsTest, ShiftAndTopBitsRespectElementBoundaries) {
  Tensor<uint128_t> t({3}, {(uint128_t(1) << 127) | 1, uint128_t(1) << 63, 5});
  Words w = ElementsToWords(t);
  ShiftElementsLeft1(&w, 128);
  EXPECT_EQ(w[0], 2u);  // top bit dropped, bit 0 moved up
  EXPECT_EQ(w[1], 0u);
  EXPECT_EQ(w[2], 0u);  // bit 63 of element 1 crossed into ...
  EXPECT_EQ(w[3], 1u);  // ... its high word
  EXPECT_EQ(TopBits(ElementsToWords(t), 3, 128)[0], 1u);
  Tensor<uint64_t> u({2}, {uint64_t(1) << 63, 1});
  EXPECT_EQ(TopBits(ElementsToWords(u), 2, 64)[0], 1u);
  const Tensor<uint64_t> bits = UnpackBits<uint64_t>(Words{0b101}, {3});
  EXPECT_EQ(bits[0], 1u);
  EXPECT_EQ(bits[1], 0u);
  EXPECT_EQ(bits[2], 1u);
}

}  // namespace
}  // namespace veil::mpc
