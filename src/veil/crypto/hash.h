// Hashing helpers via libsodium: BLAKE2b (unkeyed) and SipHash-2-4 with a 128-bit output (keyed).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace veil::crypto {

// BLAKE2b with a 16-byte digest: collision-resistant identifiers for local bookkeeping (e.g.
// spotting duplicate keys); never sent to a peer.
std::array<uint8_t, 16> Blake2b128(std::string_view data);
// The same digest as 32 lower-case hex digits (file digests recorded in JSON metadata).
std::string Blake2b128Hex(std::string_view data);

// SipHash-2-4 with a 128-bit output (Aumasson and Bernstein, "SipHash: a fast short-input PRF",
// INDOCRYPT 2012, and the reference code's 128-bit mode; libsodium's siphashx24) under a 16-byte
// key: a pseudorandom function, about 10× faster than BLAKE2b on short inputs. Used where
// inputs must be told apart under a fresh random key that is drawn after the inputs are fixed
// (bucketed PSI's key hashing, psi/bucket_psi.h): then distinct inputs collide with probability
// about N²/2^129 among N inputs. It is not collision resistant against anyone who knows the key
// and chooses inputs after seeing it.
std::array<uint8_t, 16> SipHash128(const std::array<uint8_t, 16>& key, std::string_view data);

}  // namespace veil::crypto
