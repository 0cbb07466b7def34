#include "veil/crypto/ristretto.h"

#include <vector>

#include <gtest/gtest.h>

#include "veil/base/bytes.h"

namespace veil::crypto {
namespace {

std::vector<uint8_t> Unhex(std::string_view h) {
  std::vector<uint8_t> out(h.size() / 2);
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = std::stoi(std::string(h.substr(2 * i, 2)), nullptr, 16);
  return out;
}

// RFC 9496 Appendix A.1: encodings of B, 2B, 3B, 4B.
const char* kMultiples[] = {
    "e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76",
    "6a493210f7499cd17fecb510ae0cea23a110e8d5b901f8acadd3095c73a3b919",
    "94741f5d5d52755ece4f23f044ee27d5d1ea1e2bd196b462166b16152a9d0259",
    "da80862773358b466ffadfe0b3293ab3d9fd53c5ea6c955358f568322daf6a57",
};

TEST(RistrettoTest, BaseMultiplesKnownAnswer) {
  for (int k = 1; k <= 4; ++k) {
    uint8_t sb[32] = {static_cast<uint8_t>(k)};
    Scalar s = Scalar::FromBytes(sb);
    uint8_t out[32];
    ASSERT_TRUE(ScalarMultBase(s, out));
    EXPECT_EQ(ToHex(out, 32), kMultiples[k - 1]) << k;
    // Variable-base multiplication of B agrees with the base-point routine.
    auto b = Unhex(kMultiples[0]);
    uint8_t out2[32];
    ASSERT_TRUE(ScalarMult(s, b.data(), out2));
    EXPECT_EQ(ToHex(out2, 32), kMultiples[k - 1]);
  }
}

TEST(RistrettoTest, ElementDerivationKnownAnswer) {
  // RFC 9496 Appendix A.3.
  struct V {
    const char* in;
    const char* out;
  } vs[] = {
      {"5d1be09e3d0c82fc538112490e35701979d99e06ca3e2b5b54bffe8b4dc772c1"
       "4d98b696a1bbfb5ca32c436cc61c16563790306c79eaca7705668b47dffe5bb6",
       "3066f82a1a747d45120d1740f14358531a8f04bbffe6a819f86dfe50f44a0a46"},
      {"f116b34b8f17ceb56e8732a60d913dd10cce47a6d53bee9204be8b44f6678b27"
       "0102a56902e2488c46120e9276cfe54638286b9e4b3cdb470b542d46c2068d38",
       "f26e5b6f7d362d2d2a94c5d0e7602cb4773c95a2e5c31a64f133189fa76ed61b"},
  };
  for (const auto& v : vs) {
    auto in = Unhex(v.in);
    uint8_t out[32];
    PointFromUniform(in.data(), out);
    EXPECT_EQ(ToHex(out, 32), v.out);
  }
}

TEST(RistrettoTest, ScalarMultCommutes) {
  Scalar a = Scalar::Random(), b = Scalar::Random();
  const std::string msg = "alice@example.com";
  uint8_t h[32], ha[32], hb[32], hab[32], hba[32];
  HashToGroup("veil/test", reinterpret_cast<const uint8_t*>(msg.data()), msg.size(), h);
  ASSERT_TRUE(ScalarMult(a, h, ha));
  ASSERT_TRUE(ScalarMult(b, h, hb));
  ASSERT_TRUE(ScalarMult(b, ha, hab));
  ASSERT_TRUE(ScalarMult(a, hb, hba));
  EXPECT_EQ(ToHex(hab, 32), ToHex(hba, 32));
  EXPECT_NE(ToHex(ha, 32), ToHex(hb, 32));
}

TEST(RistrettoTest, HashToGroupSeparatesDomainsAndMessages) {
  const uint8_t m1[] = {'a', 'b'};
  uint8_t p1[32], p2[32], p3[32], p4[32];
  HashToGroup("d1", m1, 2, p1);
  HashToGroup("d2", m1, 2, p2);
  HashToGroup("d1", m1, 1, p3);
  HashToGroup("d1", m1, 2, p4);
  EXPECT_NE(ToHex(p1, 32), ToHex(p2, 32));
  EXPECT_NE(ToHex(p1, 32), ToHex(p3, 32));
  EXPECT_EQ(ToHex(p1, 32), ToHex(p4, 32));
}

TEST(RistrettoTest, RejectsInvalidPoints) {
  Scalar a = Scalar::Random();
  uint8_t bad[32];
  std::fill(bad, bad + 32, 0xff);  // not a canonical encoding
  uint8_t out[32];
  EXPECT_FALSE(ScalarMult(a, bad, out));
  uint8_t identity[32] = {};
  EXPECT_FALSE(ScalarMult(a, identity, out));

  std::vector<uint8_t> in(3 * 32), res(3 * 32);
  for (int i = 0; i < 3; ++i)
    HashToGroup("x", reinterpret_cast<uint8_t*>(&i), 4, in.data() + 32 * i);
  std::fill(in.begin() + 64, in.end(), 0xff);
  Status s = ScalarMultBatch(a, in.data(), 3, res.data());
  EXPECT_EQ(s.code(), "invalid_point");
  EXPECT_NE(s.message().find("index 2"), std::string::npos);
}

TEST(RistrettoTest, PointAddSubKnownAnswer) {
  // RFC 9496 A.1 multiples: B + 2B = 3B, 4B − B = 3B, 3B − 3B is the identity (all zeros).
  const auto b1 = Unhex(kMultiples[0]), b2 = Unhex(kMultiples[1]), b4 = Unhex(kMultiples[3]);
  uint8_t out[32];
  ASSERT_TRUE(PointAdd(b1.data(), b2.data(), out));
  EXPECT_EQ(ToHex(out, 32), kMultiples[2]);
  ASSERT_TRUE(PointSub(b4.data(), b1.data(), out));
  EXPECT_EQ(ToHex(out, 32), kMultiples[2]);
  uint8_t zero[32];
  ASSERT_TRUE(PointSub(out, out, zero));
  EXPECT_EQ(ToHex(zero, 32), std::string(64, '0'));
  std::vector<uint8_t> bad(32, 0xff);
  EXPECT_FALSE(PointAdd(bad.data(), b1.data(), out));
}

TEST(RistrettoTest, BatchMatchesSingle) {
  Scalar a = Scalar::Random();
  const size_t n = 1000;
  std::vector<uint8_t> in(n * 32), out(n * 32);
  for (size_t i = 0; i < n; ++i)
    HashToGroup("x", reinterpret_cast<uint8_t*>(&i), sizeof i, in.data() + 32 * i);
  ASSERT_TRUE(ScalarMultBatch(a, in.data(), n, out.data()).ok());
  for (size_t i = 0; i < n; i += 97) {
    uint8_t one[32];
    ASSERT_TRUE(ScalarMult(a, in.data() + 32 * i, one));
    EXPECT_EQ(ToHex(one, 32), ToHex(out.data() + 32 * i, 32));
  }
}

}  // namespace
}  // namespace veil::crypto
