// ECDH PSI for n ≥ 2 parties over ristretto255.
//
// Protocol: Meadows (IEEE S&P 1986) and Huberman–Franklin–Hogg (ACM EC 1999), generalised to n
// parties by chained masking, as in SecretFlow's ECDH-PSI-3PC/NPC. Each party i draws a secret
// scalar k_i. Party P hashes each key x to H(x) (RFC 9496 element derivation, hash-to-group) and
// the value travels a route through every party, each raising it to its own k; the last hop
// delivers the fully masked H(x)^(k_1···k_n), truncated to a 128-bit fingerprint, to the
// receiver R:
//     route(P) = P → (all parties except P and R, in rank order) → R      (P ≠ R; R masks last)
//     route(R) = R → (all other parties, in rank order) → R               (last masker sends)
// R then knows the fingerprints of every party's keys, in each party's input order, and
// computes the join (join.h). For n = 2 this is exactly the classic two-message DH-PSI.
//
// Security (semi-honest, DDH in ristretto255, H a random oracle): a party other than R sees only
// values under at least one unknown key, indistinguishable from random; R learns the
// intersection and, as in SecretFlow's ECDH PSI, the cardinality of every subset intersection
// and each party's key multiplicities (equal keys give equal fingerprints). Every party learns
// every set's size. Colluding parties are out of scope (for n ≥ 3 a coalition of R with a relay
// learns more). Scalars are wiped on destruction; scalar multiplication is constant time.
//
// Cost per item of party P: one hash-to-group at P and one scalar multiplication at every
// party; 32 bytes per hop and 16 bytes on the final hop. Batches of `batch_size` items are
// processed in lock-step (all parties handle batch b of every stream before batch b+1), so memory
// is bounded by the batch size except for R's fingerprint store (16 bytes per item).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "veil/base/status.h"
#include "veil/link/context.h"
#include "veil/psi/fingerprint.h"
#include "veil/psi/key_source.h"

namespace veil::psi {

inline constexpr size_t kDefaultEcdhBatchSize = 4096;
inline constexpr char kEcdhDomain[] = "veil/psi/ecdh-ristretto255/v1";

struct EcdhPsiOptions {
  size_t receiver_rank = 0;
  size_t batch_size = kDefaultEcdhBatchSize;
  // Called after each lock-step batch with the fraction of batches done (0, 1].
  std::function<void(double fraction)> progress;
  // Receiver only. When set, each batch of fingerprints is handed over as it arrives (each
  // party's rows in row order) and EcdhPsiOutput stays empty, so the receiver need not hold
  // every fingerprint in memory. An error stops the protocol.
  FingerprintSink on_fingerprints;
};

struct EcdhPsiOutput {
  // Receiver only (without on_fingerprints): fingerprints[p][i] for row i of party p's input.
  // Empty at other parties.
  std::vector<std::vector<Fingerprint>> fingerprints;
};

// Runs this party's side. `counts[p]` is the number of keys of party p (every party passes the
// same vector, e.g. from an AllGather); `keys` must yield exactly counts[ctx.rank()] keys.
// Errors: NetworkError from the link, AlgorithmError on a malformed peer message or count
// mismatch.
StatusOr<EcdhPsiOutput> RunEcdhPsi(link::Context& ctx, const EcdhPsiOptions& options,
                                   KeySource& keys, const std::vector<int64_t>& counts);

}  // namespace veil::psi
