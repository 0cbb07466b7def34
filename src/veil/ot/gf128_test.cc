// GF(2^128) arithmetic: PCLMULQDQ against a bitwise reference and the portable path, field
// identities, and a GCM GHASH known-answer vector.
#include "veil/ot/gf128.h"

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace veil::ot {
namespace {

Block X(int k) { return k < 64 ? Block{uint64_t{1} << k, 0} : Block{0, uint64_t{1} << (k - 64)}; }

// Schoolbook: for each set bit i of b, add a·x^i, reducing one shift at a time.
Block BitwiseMul(Block a, const Block& b) {
  Block r;
  for (int i = 0; i < 128; ++i) {
    if (b.bit(i)) r ^= a;
    const bool top = a.bit(127);
    a = Block{a.lo << 1, (a.hi << 1) | (a.lo >> 63)};
    if (top) a.lo ^= 0x87;
  }
  return r;
}

// A GCM block (hex, bit 0 = most significant bit of byte 0 = coefficient of x^0) in veil's basis.
Block FromGcmHex(const std::string& hex) {
  uint8_t bytes[16];
  for (int i = 0; i < 16; ++i) {
    auto byte = static_cast<uint8_t>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
    uint8_t rev = 0;
    for (int k = 0; k < 8; ++k) rev |= ((byte >> k) & 1) << (7 - k);
    bytes[i] = rev;
  }
  Block b;
  std::memcpy(&b, bytes, sizeof b);
  return b;
}

TEST(Gf128Test, ClmulAndPortableMatchBitwiseReference) {
  std::mt19937_64 rng(11);
  for (int i = 0; i < 2000; ++i) {
    const Block a{rng(), rng()}, b{rng(), rng()};
    const Block want = BitwiseMul(a, b);
    ASSERT_EQ(Gf128Mul(a, b), want) << i;
    ASSERT_EQ(Gf128MulPortable(a, b), want) << i;
  }
  // Operands with all high bits set exercise both reduction folds.
  const Block ones{~uint64_t{0}, ~uint64_t{0}};
  EXPECT_EQ(Gf128Mul(ones, ones), BitwiseMul(ones, ones));
  EXPECT_EQ(Gf128MulPortable(ones, ones), BitwiseMul(ones, ones));
}

TEST(Gf128Test, FieldIdentities) {
  // x · x^127 = x^128 = x^7 + x^2 + x + 1.
  EXPECT_EQ(Gf128Mul(X(1), X(127)), (Block{0x87, 0}));
  EXPECT_EQ(Gf128Mul(X(64), X(64)), (Block{0x87, 0}));
  EXPECT_EQ(Gf128MulX(X(127)), (Block{0x87, 0}));
  std::mt19937_64 rng(12);
  const Block one{1, 0};
  for (int i = 0; i < 200; ++i) {
    const Block a{rng(), rng()}, b{rng(), rng()}, c{rng(), rng()};
    ASSERT_EQ(Gf128Mul(a, one), a);
    ASSERT_EQ(Gf128Mul(a, b), Gf128Mul(b, a));
    ASSERT_EQ(Gf128Mul(a, b ^ c), Gf128Mul(a, b) ^ Gf128Mul(a, c));
    ASSERT_EQ(Gf128Mul(Gf128Mul(a, b), c), Gf128Mul(a, Gf128Mul(b, c)));
    ASSERT_EQ(Gf128MulX(a), Gf128Mul(a, X(1)));
  }
  // a^(2^128 − 1) = 1 for a ≠ 0: 128 squarings give a^(2^128) = a (Frobenius).
  Block a{rng(), rng()}, p = a;
  for (int i = 0; i < 128; ++i) p = Gf128Mul(p, p);
  EXPECT_EQ(p, a);
}

TEST(Gf128Test, GhashKnownAnswer) {
  // NIST GCM test case 2 (key 0, IV 0, one zero plaintext block): H = AES_0(0), C, and
  // GHASH(H, {}, C) = ((C·H) ⊕ len)·H with len = 0^64 ‖ 128.
  const Block h = FromGcmHex("66e94bd4ef8a2c3b884cfa59ca342b2e");
  const Block c = FromGcmHex("0388dace60b6a392f328c2b971b2fe78");
  const Block len = FromGcmHex("00000000000000000000000000000080");
  const Block ghash = Gf128Mul(Gf128Mul(c, h) ^ len, h);
  EXPECT_EQ(ghash, FromGcmHex("f38cbb1ad69223dcc3457ae5b6b0f885"));
  EXPECT_EQ(Gf128MulPortable(Gf128MulPortable(c, h) ^ len, h), ghash);
}

TEST(Gf128Test, BatchHelpersAndPowerPacking) {
  std::mt19937_64 rng(13);
  std::vector<Block> a(100), out(100), acc(100);
  for (auto& v : a) v = Block{rng(), rng()};
  for (auto& v : acc) v = Block{rng(), rng()};
  const Block b{rng(), rng()};
  const auto acc0 = acc;
  Gf128MulConst(a.data(), b, out.data(), a.size());
  Gf128MulConstAdd(a.data(), b, acc.data(), a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(out[i], BitwiseMul(a[i], b));
    ASSERT_EQ(acc[i], acc0[i] ^ out[i]);
  }
  // Σ x^k·v_k with v_k ∈ {0, Δ} by the bits of y equals y·Δ.
  const Block y{rng(), rng()}, delta{rng(), rng()};
  std::vector<Block> v(128);
  for (int k = 0; k < 128; ++k) v[k] = y.bit(k) ? delta : Block{};
  EXPECT_EQ(Gf128PackPowers(v.data()), Gf128Mul(y, delta));
}

}  // namespace
}  // namespace veil::ot
