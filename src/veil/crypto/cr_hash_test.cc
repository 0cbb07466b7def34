#include "veil/crypto/cr_hash.h"

#include <cstring>
#include <set>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "veil/base/bytes.h"

namespace veil::crypto {
namespace {

std::string Hex(const Block& b) { return ToHex(reinterpret_cast<const uint8_t*>(&b), 16); }

Block FromBytes(const uint8_t bytes[16]) {
  Block b;
  std::memcpy(&b, bytes, 16);
  return b;
}

TEST(CrHashTest, FixedKeyAesKnownAnswer) {
  // `openssl enc -aes-128-ecb -nopad -K 243f6a8885a308d313198a2e03707344` of 16 zero bytes.
  Block zero;
  Block out;
  FixedKeyAes(&zero, &out, 1);
  EXPECT_EQ(Hex(out), "2d89a57aea7ff675d95f27ea0da9f5d3");
}

TEST(CrHashTest, KeyedAesEcbMatchesFips197AndOpenssl) {
  // FIPS-197 Appendix C.1: key 000102…0f, plaintext 00112233…ff. The second block was computed
  // with `openssl enc -aes-128-ecb -nopad -K 000102030405060708090a0b0c0d0e0f` of 16 zero bytes.
  uint8_t key_bytes[16], pt[16];
  for (int i = 0; i < 16; ++i) {
    key_bytes[i] = static_cast<uint8_t>(i);
    pt[i] = static_cast<uint8_t>(0x11 * i);
  }
  const Block key = FromBytes(key_bytes);
  Block in[2] = {FromBytes(pt), Block{}};
  Block out[2];
  AesEcb(key, in, out, 2);
  EXPECT_EQ(Hex(out[0]), "69c4e0d86a7b0430d8cdb78070b4c55a");
  EXPECT_EQ(Hex(out[1]), "c6a13b37878f5b826f4f8162a1c8d879");
  // In place, and many blocks (crosses the internal batch size) agree with one-at-a-time calls.
  std::vector<Block> many(1500);
  for (size_t i = 0; i < many.size(); ++i) many[i] = Block{i, ~i};
  std::vector<Block> copy = many;
  AesEcb(key, many.data(), many.data(), many.size());
  for (size_t i = 0; i < copy.size(); i += 97) {
    Block one;
    AesEcb(key, &copy[i], &one, 1);
    EXPECT_EQ(one, many[i]);
  }
}

TEST(CrHashTest, CcrHashKnownAnswer) {
  // x = bytes 00..0f: σ(x) = 08..0f ‖ 08×8 (high half ‖ high ⊕ low in memory order); AES of
  // that under the fixed key (openssl, as above) is ce9012cd2f6fd4e4814269709afc044f; XOR σ(x).
  uint8_t bytes[16];
  for (int i = 0; i < 16; ++i) bytes[i] = static_cast<uint8_t>(i);
  const Block x = FromBytes(bytes);
  Block out;
  CcrHash(&x, &out, 1);
  EXPECT_EQ(Hex(out), "c69918c62362daeb894a617892f40c47");
}

TEST(CrHashTest, BatchesMatchSingleCallsAndInPlaceWorks) {
  // More than one internal batch, an odd count, and in == out.
  std::vector<Block> in(1500), out(1500);
  for (size_t i = 0; i < in.size(); ++i) in[i] = Block{i * 0x9e3779b97f4a7c15ull, ~i};
  CcrHash(in.data(), out.data(), in.size());
  std::set<std::pair<uint64_t, uint64_t>> distinct;
  for (size_t i = 0; i < in.size(); i += 111) {
    Block one;
    CcrHash(&in[i], &one, 1);
    EXPECT_EQ(one, out[i]) << i;
  }
  for (const Block& b : out) distinct.insert({b.lo, b.hi});
  EXPECT_EQ(distinct.size(), in.size());
  std::vector<Block> inplace = in;
  CcrHash(inplace.data(), inplace.data(), inplace.size());
  EXPECT_EQ(inplace, out);
  // H(x) ⊕ H(x ⊕ Δ) is not Δ (the hash breaks the XOR correlation).
  const Block delta{0x0123456789abcdefull, 0xfedcba9876543210ull};
  const Block shifted = in[0] ^ delta;
  Block h;
  CcrHash(&shifted, &h, 1);
  EXPECT_NE(h ^ out[0], delta);
}

}  // namespace
}  // namespace veil::crypto
