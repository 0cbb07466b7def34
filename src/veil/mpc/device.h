// SpuDevice: one party's SPU — the secret-sharing engine of an execution, built once from the
// envelope's spu_config during the runtime's device_creation stage and handed to the task (the
// role of SecretFlow's `sf.SPU(cluster_def)` device).
//
//   VEIL_ASSIGN_OR_RETURN(auto spu, SpuDevice::Create(config, &ctx));   // collective
//   spu->Visit([&]<typename T>(Protocol<T>& prot) { ... });              // T = ring of the field
//
// Create validates the config against the party count, checks that every party runs the same
// configuration and agrees the pairwise PRG seeds (one round; setup.h). The device spans every
// party of `ctx` in rank order (rank 0 is SEMI2K's trusted first party).
//
// Errors: DeviceConfigError for a bad configuration or disagreeing peers, NetworkError when a
// peer does not answer. Kernels run through Visit throw as protocol.h describes.
// Thread safety: as Protocol (one party, one thread at a time); ctx must outlive the device.
#pragma once

#include <memory>
#include <utility>

#include "veil/base/status.h"
#include "veil/link/context.h"
#include "veil/mpc/protocol.h"

namespace veil::mpc {

class SpuDevice {
 public:
  static StatusOr<std::unique_ptr<SpuDevice>> Create(const RuntimeConfig& config,
                                                     link::Context* ctx);
  SpuDevice(const SpuDevice&) = delete;
  SpuDevice& operator=(const SpuDevice&) = delete;

  const RuntimeConfig& config() const { return config_; }
  FieldType field() const { return config_.field; }

  // Calls fn.template operator()<T>(Protocol<T>&) with T the ring type of the field and returns
  // its result.
  template <typename Fn>
  decltype(auto) Visit(Fn&& fn) {
    if (fm64_) return std::forward<Fn>(fn).template operator()<uint64_t>(*fm64_);
    return std::forward<Fn>(fn).template operator()<uint128_t>(*fm128_);
  }

 private:
  explicit SpuDevice(RuntimeConfig config) : config_(std::move(config)) {}

  RuntimeConfig config_;
  std::unique_ptr<Protocol<uint64_t>> fm64_;
  std::unique_ptr<Protocol<uint128_t>> fm128_;
};

}  // namespace veil::mpc
