#include "veil/mpc/device.h"

namespace veil::mpc {

StatusOr<std::unique_ptr<SpuDevice>> SpuDevice::Create(const RuntimeConfig& config,
                                                       link::Context* ctx) {
  std::unique_ptr<SpuDevice> device(new SpuDevice(config));
  if (config.field == FieldType::kFM64) {
    VEIL_ASSIGN_OR_RETURN(device->fm64_, CreateProtocol<uint64_t>(config, ctx));
  } else {
    VEIL_ASSIGN_OR_RETURN(device->fm128_, CreateProtocol<uint128_t>(config, ctx));
  }
  return device;
}

}  // namespace veil::mpc
