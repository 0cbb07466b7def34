// Base oblivious transfer on ristretto255: Chou and Orlandi, "The Simplest Protocol for Oblivious
// Transfer" (LATINCRYPT 2015, eprint 2015/267), §3, batched so that `count` OTs take two messages.
//
//   sender                                   receiver (choice bits c_i)
//   a ← Z_ℓ, A = a·G          ── A ──►
//                             ◄── B_i ──     b_i ← Z_ℓ, B_i = b_i·G + c_i·A
//   k_i^0 = H(i, A, B_i, a·B_i)              k_i = H(i, A, B_i, b_i·A)   (= k_i^{c_i})
//   k_i^1 = H(i, A, B_i, a·B_i − a·A)
//
// H is BLAKE2b with a 16-byte output over a domain label, the OT index and the transcript. The
// outputs are random OT keys (each 128 bits); callers use them as PRG seeds (IKNP, iknp.h).
//
// Security model: semi-honest sender and receiver, static corruption. B_i is a uniform group
// element whatever c_i is, so the sender learns nothing about the choices; a receiver that follows
// the protocol cannot compute a·(B_i − (1 − c_i)·A) without solving CDH in ristretto255 (H as a
// random oracle), so k_i^{1−c_i} stays pseudorandom to it. Not secure against a malicious party
// (Chou–Orlandi's original UC claim does not hold; see Genç, Iovino and Rial, "'The Simplest
// Protocol for Oblivious Transfer' Revisited"); veil's MPC and PSI protocols are semi-honest
// throughout.
//
// Errors: NetworkError from the link; AlgorithmError("invalid_point") when the peer sends a
// malformed group element; AlgorithmError("unexpected_message_size") for a wrong-size message.
// Thread safety: collective over one link; both parties must use the same `tag` and count.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>
#include <vector>

#include "veil/base/status.h"
#include "veil/crypto/block.h"
#include "veil/link/context.h"

namespace veil::ot {

using crypto::Block;

// The sender's side: `count` pairs (k_i^0, k_i^1).
StatusOr<std::vector<std::array<Block, 2>>> BaseOtSend(link::Context& ctx, size_t peer,
                                                       size_t count, std::string_view tag);

// The receiver's side: k_i^{c_i} for every choice bit.
StatusOr<std::vector<Block>> BaseOtReceive(link::Context& ctx, size_t peer,
                                           const std::vector<bool>& choices, std::string_view tag);

}  // namespace veil::ot
