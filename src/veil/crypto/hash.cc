#include "veil/crypto/hash.h"

#include <sodium.h>

#include "veil/base/bytes.h"
#include "veil/crypto/ristretto.h"

namespace veil::crypto {

std::array<uint8_t, 16> Blake2b128(std::string_view data) {
  InitSodium();
  std::array<uint8_t, 16> out;
  crypto_generichash(out.data(), out.size(), reinterpret_cast<const uint8_t*>(data.data()),
                     data.size(), nullptr, 0);
  return out;
}

std::array<uint8_t, 16> SipHash128(const std::array<uint8_t, 16>& key, std::string_view data) {
  static_assert(crypto_shorthash_siphashx24_BYTES == 16 &&
                crypto_shorthash_siphashx24_KEYBYTES == 16);
  std::array<uint8_t, 16> out;
  crypto_shorthash_siphashx24(out.data(), reinterpret_cast<const uint8_t*>(data.data()),
                              data.size(), key.data());
  return out;
}

std::string Blake2b128Hex(std::string_view data) {
  const auto d = Blake2b128(data);
  return ToHex(d.data(), d.size());
}

}  // namespace veil::crypto
