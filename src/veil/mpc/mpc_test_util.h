// Test helpers of the mpc test binaries: uniform random ring elements and tensors (test data
// only; protocol randomness comes from Prg), and the fixtures of the TEST_P conformance suites
// (protocol × party count × field × beaver type, one thread per party over the in-memory link).
#pragma once

#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include <gtest/gtest.h>

#include "veil/base/exception.h"
#include "veil/link/context.h"
#include "veil/mpc/protocol.h"
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

struct Config {
  std::string protocol;
  size_t parties;
  FieldType field;
  std::string beaver_type = "";  // "": the protocol's default

  RuntimeConfig runtime() const {
    RuntimeConfig c;
    c.protocol = protocol;
    c.field = field;
    c.beaver_type = beaver_type;
    return c;
  }
};

inline void PrintTo(const Config& c, std::ostream* os) {
  *os << c.protocol << "/" << c.parties << "pc/" << FieldTypeName(c.field);
  if (!c.beaver_type.empty()) *os << "/" << c.beaver_type;
}

inline std::string ConfigName(const ::testing::TestParamInfo<Config>& info) {
  std::string name = info.param.protocol + "_" + std::to_string(info.param.parties) + "_" +
                     std::string(FieldTypeName(info.param.field));
  if (!info.param.beaver_type.empty()) name += "_" + info.param.beaver_type;
  return name;
}

// Calls fn.template operator()<T>() with T the ring type of `field`.
template <typename Fn>
void WithRing(FieldType field, Fn&& fn) {
  if (field == FieldType::kFM64) {
    fn.template operator()<uint64_t>();
  } else {
    fn.template operator()<uint128_t>();
  }
}

// Runs fn(protocol) for every party of `world`, one thread each, and returns the per-party
// results (rank order). A party that throws aborts its link so that its peers fail fast; the
// first exception is rethrown here after every thread has finished.
template <typename T, typename R>
std::vector<R> RunParties(std::vector<std::unique_ptr<link::Context>>& world,
                          const RuntimeConfig& config, const std::function<R(Protocol<T>&)>& fn) {
  std::vector<std::future<R>> futures;
  for (size_t r = 0; r < world.size(); ++r) {
    futures.push_back(std::async(std::launch::async, [&, r]() -> R {
      try {
        auto prot = ValueOrThrow(CreateProtocol<T>(config, world[r].get()));
        return fn(*prot);
      } catch (const VeilException& e) {
        world[r]->Abort(e.status());
        throw;
      } catch (const std::exception& e) {
        world[r]->Abort(InternalError("test_exception", e.what()));
        throw;
      }
    }));
  }
  std::vector<R> out;
  std::exception_ptr first;
  for (auto& f : futures) {
    try {
      out.push_back(f.get());
    } catch (...) {
      if (!first) first = std::current_exception();
    }
  }
  if (first) std::rethrow_exception(first);
  return out;
}

// Uniform signed integers in [-2^bits, 2^bits).
template <typename T>
Tensor<T> RandomSmall(std::mt19937_64& rng, Shape shape, int bits) {
  Tensor<T> t(std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) {
    T v = RandomElement<T>(rng) & ((T(1) << (bits + 1)) - 1);
    t[i] = v - (T(1) << bits);
  }
  return t;
}

inline Tensor<double> RandomDoubles(std::mt19937_64& rng, Shape shape, double lo, double hi) {
  std::uniform_real_distribution<double> d(lo, hi);
  Tensor<double> t(std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = d(rng);
  return t;
}

template <typename T>
using Signed = typename RingTraits<T>::Signed;

}  // namespace veil::mpc::testing
