#include "veil/crypto/hash.h"

#include <gtest/gtest.h>

#include "veil/base/bytes.h"

namespace veil::crypto {
namespace {

TEST(HashTest, Blake2bKnownAnswers) {
  // BLAKE2b-256("") and BLAKE2b-256("abc") (RFC 7693 family; values from the reference impl).
  auto e = Blake2b256("");
  EXPECT_EQ(ToHex(e.data(), e.size()),
            "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
  auto a = Blake2b256("abc");
  EXPECT_EQ(ToHex(a.data(), a.size()),
            "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
  EXPECT_NE(Blake2b128("a"), Blake2b128("b"));
}

}  // namespace
}  // namespace veil::crypto
