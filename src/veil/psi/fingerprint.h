// Fingerprint: the 128-bit truncation of a fully masked element H(x)^(k_1···k_n). Equal keys give
// equal fingerprints; distinct keys collide with probability ≤ N²/2^128 over N items
// (the encoding's lowest bit is always 0, so 127 bits are random).
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <tuple>
#include <vector>

#include "veil/base/status.h"

namespace veil::psi {

inline constexpr size_t kFingerprintBytes = 16;

struct Fingerprint {
  uint64_t lo = 0;
  uint64_t hi = 0;

  static Fingerprint FromBytes(const uint8_t* p) {
    Fingerprint f;
    std::memcpy(&f.lo, p, 8);
    std::memcpy(&f.hi, p + 8, 8);
    return f;
  }
  friend bool operator==(const Fingerprint& a, const Fingerprint& b) {
    return a.lo == b.lo && a.hi == b.hi;
  }
  friend bool operator<(const Fingerprint& a, const Fingerprint& b) {
    return std::tie(a.hi, a.lo) < std::tie(b.hi, b.lo);
  }
};

// Where a PSI protocol hands the receiver's fingerprints over as they become known: party
// `party`'s row rows[k] has fingerprint fps[k]. An error stops the protocol.
using FingerprintSink = std::function<Status(size_t party, const std::vector<int64_t>& rows,
                                             const std::vector<Fingerprint>& fps)>;

}  // namespace veil::psi
