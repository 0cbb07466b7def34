// Randomness for non-protocol uses (ids). Backed by libsodium's OS CSPRNG; never rand().
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace veil {

// Fills `out` with n cryptographically secure random bytes. Aborts never; libsodium's
// randombytes cannot fail once initialised (InitRandom is idempotent and thread-safe).
void RandomBytes(void* out, size_t n);
// RFC 4122 version-4 UUID, lower-case hex with dashes.
std::string RandomUuid();

}  // namespace veil
