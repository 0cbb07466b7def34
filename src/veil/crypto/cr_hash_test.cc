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
