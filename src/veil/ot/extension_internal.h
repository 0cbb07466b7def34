// Pieces shared by the two OT extensions of this folder (iknp.cc and its 512-bit-code
// generalisation kkrt_ote.cc). Internal: not part of the ot API.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

#include "veil/crypto/block.h"
#include "veil/crypto/prg.h"

namespace veil::ot::internal {

// Extensions are processed in tiles of kTileBlocks column blocks (128 instances each): a tile's
// rows stay in L2 between the PRG expansion and the transposition, and each tile is one message.
// Rows are kRowStride blocks apart (one cache line of padding) so that the rows of one column
// block do not all map to the same cache set.
inline constexpr int64_t kTileBlocks = 128;
inline constexpr int64_t kRowStride = kTileBlocks + 4;

// The row PRG of a base-OT key (its OT-extension stream).
inline crypto::Prg KeyedPrg(const crypto::Block& key) {
  crypto::Seed s;
  std::memcpy(s.data(), &key, sizeof key);
  return crypto::Prg(s, crypto::PrgStream::kOtExtension);
}

// The link tag of the seq-th tile message of the extension `tag`.
inline std::string UTag(const std::string& tag, uint64_t seq) {
  return tag + "/u/" + std::to_string(seq);
}

}  // namespace veil::ot::internal
