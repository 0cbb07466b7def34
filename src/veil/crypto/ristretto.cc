#include "veil/crypto/ristretto.h"

#include <sodium.h>

#include <atomic>
#include <string>

#include "veil/base/parallel.h"

namespace veil::crypto {

namespace {
// Items per ParallelFor chunk: one scalar multiplication is ~50–100 µs, so 64 items keep the
// scheduling overhead negligible while leaving enough chunks to balance two cores.
constexpr int64_t kScalarMultGrain = 64;
}  // namespace

bool InitSodium() {
  static const bool ok = sodium_init() >= 0;
  return ok;
}

Scalar Scalar::Random() {
  InitSodium();
  Scalar s;
  static const uint8_t kZero[kScalarBytes] = {};
  do {
    crypto_core_ristretto255_scalar_random(s.bytes_.data());
  } while (sodium_memcmp(s.bytes_.data(), kZero, kScalarBytes) == 0);
  return s;
}

Scalar Scalar::FromBytes(const uint8_t bytes[kScalarBytes]) {
  InitSodium();
  uint8_t wide[crypto_core_ristretto255_NONREDUCEDSCALARBYTES] = {};
  std::copy(bytes, bytes + kScalarBytes, wide);
  Scalar s;
  crypto_core_ristretto255_scalar_reduce(s.bytes_.data(), wide);
  sodium_memzero(wide, sizeof wide);
  return s;
}

Scalar::~Scalar() { sodium_memzero(bytes_.data(), bytes_.size()); }

void PointFromUniform(const uint8_t uniform[kUniformHashBytes], uint8_t out[kPointBytes]) {
  InitSodium();
  crypto_core_ristretto255_from_hash(out, uniform);
}

void HashToGroup(std::string_view domain, const uint8_t* message, size_t message_len,
                 uint8_t out[kPointBytes]) {
  InitSodium();
  crypto_generichash_blake2b_state st;
  crypto_generichash_blake2b_init(&st, nullptr, 0, kUniformHashBytes);
  // Length-prefixed domain: no (domain, message) pair collides with another.
  const uint8_t dlen = static_cast<uint8_t>(std::min<size_t>(domain.size(), 255));
  crypto_generichash_blake2b_update(&st, &dlen, 1);
  crypto_generichash_blake2b_update(&st, reinterpret_cast<const uint8_t*>(domain.data()), dlen);
  crypto_generichash_blake2b_update(&st, message, message_len);
  uint8_t uniform[kUniformHashBytes];
  crypto_generichash_blake2b_final(&st, uniform, sizeof uniform);
  crypto_core_ristretto255_from_hash(out, uniform);
}

bool ScalarMult(const Scalar& s, const uint8_t p[kPointBytes], uint8_t out[kPointBytes]) {
  return crypto_scalarmult_ristretto255(out, s.data(), p) == 0;
}

bool ScalarMultBase(const Scalar& s, uint8_t out[kPointBytes]) {
  return crypto_scalarmult_ristretto255_base(out, s.data()) == 0;
}

bool PointAdd(const uint8_t p[kPointBytes], const uint8_t q[kPointBytes],
              uint8_t out[kPointBytes]) {
  InitSodium();
  return crypto_core_ristretto255_add(out, p, q) == 0;
}

bool PointSub(const uint8_t p[kPointBytes], const uint8_t q[kPointBytes],
              uint8_t out[kPointBytes]) {
  InitSodium();
  return crypto_core_ristretto255_sub(out, p, q) == 0;
}

Status ScalarMultBatch(const Scalar& s, const uint8_t* in, size_t count, uint8_t* out) {
  InitSodium();
  std::atomic<int64_t> bad{-1};
  ParallelFor(static_cast<int64_t>(count), kScalarMultGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      if (!ScalarMult(s, in + i * kPointBytes, out + i * kPointBytes)) {
        int64_t expected = -1;
        bad.compare_exchange_strong(expected, i);
      }
    }
  });
  if (bad.load() >= 0) {
    return AlgorithmError("invalid_point", "peer sent an invalid group element at index " +
                                               std::to_string(bad.load()));
  }
  return Status();
}

}  // namespace veil::crypto
