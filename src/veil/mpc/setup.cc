#include "veil/mpc/setup.h"

#include <string>

namespace veil::mpc {

StatusOr<PartySeeds> AgreeSeeds(link::Context& ctx) {
  const size_t n = ctx.world_size(), me = ctx.rank();
  PartySeeds seeds;
  seeds.self = RandomSeed();
  seeds.pair.assign(n, Seed{});
  std::vector<Seed> mine(n);
  for (size_t j = 0; j < n; ++j) {
    if (j == me) continue;
    mine[j] = RandomSeed();
    VEIL_RETURN_IF_ERROR(ctx.Send(j, "mpc/setup/seed", Buffer(mine[j].begin(), mine[j].end())));
  }
  for (size_t j = 0; j < n; ++j) {
    if (j == me) continue;
    VEIL_ASSIGN_OR_RETURN(Buffer theirs, ctx.Recv(j, "mpc/setup/seed"));
    if (theirs.size() != kSeedBytes) {
      return NetworkError("bad_seed_message", "seed contribution from " + ctx.party_name(j) +
                                                  " has " + std::to_string(theirs.size()) +
                                                  " bytes");
    }
    for (size_t b = 0; b < kSeedBytes; ++b) seeds.pair[j][b] = mine[j][b] ^ theirs[b];
  }
  return seeds;
}

Status CheckPeerConfig(link::Context& ctx, std::string_view description) {
  VEIL_ASSIGN_OR_RETURN(
      auto all, ctx.AllGather("mpc/setup/config", Buffer(description.begin(), description.end())));
  for (size_t j = 0; j < all.size(); ++j) {
    std::string theirs(all[j].begin(), all[j].end());
    if (theirs != description) {
      return DeviceConfigError("config_mismatch", "party " + ctx.party_name(j) + " runs '" +
                                                      theirs + "', this party runs '" +
                                                      std::string(description) + "'");
    }
  }
  return Status();
}

}  // namespace veil::mpc
