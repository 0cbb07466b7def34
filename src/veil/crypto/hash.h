// Non-keyed hashing helpers (BLAKE2b via libsodium).
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

}  // namespace veil::crypto
