// Set-up exchange of a secret-sharing session: configuration agreement and pairwise PRG seeds.
//
// Seeds. Every party draws a private seed, and for every peer j a 16-byte contribution c_ij that
// it sends to j; the pair seed is s_ij = c_ij XOR c_ji, known to exactly i and j. This is a
// simple exchange that is sound only in the semi-honest model (a malicious party could pick its
// contribution after seeing the peer's), and the contributions travel over the link like every
// share does: the link must be confidential against outsiders (TLS or a trusted network).
//
// Thread safety: functions are collective over one link::Context and must not run concurrently
// with other traffic on the same tags.
#pragma once

#include <string_view>
#include <vector>

#include "veil/base/status.h"
#include "veil/crypto/prg.h"
#include "veil/link/context.h"

namespace veil::mpc {

// The PRG lives in crypto (shared with the OT layer); mpc code names it unqualified.
using crypto::kPrgBlockBytes;
using crypto::kSeedBytes;
using crypto::Prg;
using crypto::PrgBlocks;
using crypto::PrgStream;
using crypto::RandomSeed;
using crypto::Seed;

struct PartySeeds {
  Seed self;               // known to this party only
  std::vector<Seed> pair;  // pair[j] shared with rank j; pair[rank] is unused
};

// Agrees on pairwise seeds with every peer (one round).
StatusOr<PartySeeds> AgreeSeeds(link::Context& ctx);

// Exchanges `description` (protocol, field, fraction bits, beaver type, wire version) with every
// peer and fails with DeviceConfigError("config_mismatch") naming the first party that disagrees.
Status CheckPeerConfig(link::Context& ctx, std::string_view description);

}  // namespace veil::mpc
