#include "veil/crypto/hash.h"

#include <gtest/gtest.h>

#include "veil/base/bytes.h"

namespace veil::crypto {
namespace {

TEST(HashTest, Blake2b128KnownAnswers) {
  // BLAKE2b with a 16-byte digest (RFC 7693), values from Python's hashlib.blake2b(digest_size=16).
  auto e = Blake2b128("");
  EXPECT_EQ(ToHex(e.data(), e.size()), "cae66941d9efbd404e4d88758ea67670");
  auto a = Blake2b128("abc");
  EXPECT_EQ(ToHex(a.data(), a.size()), "cf4ab791c62b8d2b2109c90275287816");
  EXPECT_EQ(Blake2b128Hex("abc"), "cf4ab791c62b8d2b2109c90275287816");
}

}  // namespace
}  // namespace veil::crypto
