// Test helpers of the mpc test binaries: uniform random ring elements and tensors (test data
// only; protocol randomness comes from Prg).
#pragma once

#include <random>
#include <type_traits>

#include "veil/mpc/ring.h"

namespace veil::mpc::testing {

template <typename T>
T RandomElement(std::mt19937_64& rng) {
  if constexpr (std::is_same_v<T, uint64_t>) {
    return rng();
  } else {
    return (static_cast<uint128_t>(rng()) << 64) | rng();
  }
}

template <typename T>
Tensor<T> RandomTensor(std::mt19937_64& rng, Shape shape) {
  Tensor<T> t(std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = RandomElement<T>(rng);
  return t;
}

}  // namespace veil::mpc::testing
