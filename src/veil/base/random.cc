#include "veil/base/random.h"

#include <sodium.h>

#include <stdexcept>

#include "veil/base/bytes.h"

namespace veil {

namespace {
void EnsureSodium() {
  static const int rc = sodium_init();
  if (rc < 0) throw std::runtime_error("libsodium initialisation failed");
}
}  // namespace

void RandomBytes(void* out, size_t n) {
  EnsureSodium();
  randombytes_buf(out, n);
}

std::string RandomUuid() {
  uint8_t b[16];
  RandomBytes(b, sizeof b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  std::string h = ToHex(b, sizeof b);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20);
}

}  // namespace veil
