// ristretto255 (RFC 9496) over libsodium: the prime-order group of veil's ECDH PSI.
//
// Primitives:
//  - HashToGroup: BLAKE2b-512(domain_len ‖ domain ‖ message) → 64 uniform bytes →
//    ristretto255 element derivation (RFC 9496 §4.3.4, libsodium
//    crypto_core_ristretto255_from_hash, two Elligator maps and an addition). Modelled as a random
//    oracle into the group.
//  - ScalarMult: variable-base scalar multiplication (libsodium crypto_scalarmult_ristretto255,
//    constant time in the scalar).
//  - PointAdd / PointSub: the group operation (used by the base OT, veil/ot/base_ot.h).
//
// Security: ristretto255 has prime order ℓ ≈ 2^252, so there is no cofactor to clear and no small
// subgroup; DDH is assumed hard (≈128-bit security). Secrets (scalars) are wiped on destruction.
// Thread safety: free functions are thread-safe; a Scalar is a value.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "veil/base/status.h"

namespace veil::crypto {

inline constexpr size_t kPointBytes = 32;
inline constexpr size_t kScalarBytes = 32;
inline constexpr size_t kUniformHashBytes = 64;

using Point = std::array<uint8_t, kPointBytes>;

class Scalar {
 public:
  // A uniformly random non-zero scalar mod ℓ from libsodium's CSPRNG.
  static Scalar Random();
  // Little-endian bytes, reduced mod ℓ (for tests and known-answer vectors).
  static Scalar FromBytes(const uint8_t bytes[kScalarBytes]);
  ~Scalar();
  Scalar(const Scalar&) = default;
  Scalar& operator=(const Scalar&) = default;
  const uint8_t* data() const { return bytes_.data(); }

 private:
  Scalar() = default;
  std::array<uint8_t, kScalarBytes> bytes_{};
};

// Initialises libsodium once; every function below calls it. Returns false only if libsodium
// cannot start (no entropy source).
bool InitSodium();

// Hashes `message` under `domain` (a protocol label, e.g. "veil/psi/ecdh/v1") to a group element.
void HashToGroup(std::string_view domain, const uint8_t* message, size_t message_len,
                 uint8_t out[kPointBytes]);
// Element derivation from 64 uniform bytes (RFC 9496 §4.3.4), exposed for known-answer tests.
void PointFromUniform(const uint8_t uniform[kUniformHashBytes], uint8_t out[kPointBytes]);

// out = s · p. Returns false when `p` is not a canonical encoding of a group element or the
// result is the identity (a peer sent garbage); `out` is then unspecified.
[[nodiscard]] bool ScalarMult(const Scalar& s, const uint8_t p[kPointBytes],
                              uint8_t out[kPointBytes]);
// out = s · B for the standard base point B.
[[nodiscard]] bool ScalarMultBase(const Scalar& s, uint8_t out[kPointBytes]);
// out = p + q and out = p − q (libsodium crypto_core_ristretto255_add/sub). Return false when an
// operand is not a canonical encoding of a group element.
[[nodiscard]] bool PointAdd(const uint8_t p[kPointBytes], const uint8_t q[kPointBytes],
                            uint8_t out[kPointBytes]);
[[nodiscard]] bool PointSub(const uint8_t p[kPointBytes], const uint8_t q[kPointBytes],
                            uint8_t out[kPointBytes]);

// Batch forms over contiguous arrays of 32-byte points, spread over the cores with ParallelFor.
// Fail with AlgorithmError "invalid_point" naming the first bad index.
Status ScalarMultBatch(const Scalar& s, const uint8_t* in, size_t count, uint8_t* out);

}  // namespace veil::crypto
