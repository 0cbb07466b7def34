// Two-party PSI from the batched OPRF of Kolesnikov, Kumaresan, Rosulek and Trieu, "Efficient
// Batched Oblivious PRF with Applications to Private Set Intersection" (CCS 2016, eprint
// 2016/799), §5 (the PSI protocol of Pinkas–Schneider–Zohner with the BaRK-OPRF of §3–4,
// ot/kkrt_ote.h), with 3-hash stash-less cuckoo hashing (PSZ18, psi/cuckoo.h) — SecretFlow's
// KKRT_PSI_2PC / PROTOCOL_KKRT.
//
// The bucketing, the comparison step and what the receiver learns are bucket_psi.h's; this file
// supplies the OPRF of one bucket:
//
//   R: inserts its n_b distinct x̂ into a cuckoo table of m = CuckooBins(n_b) ≈ 1.27·n_b bins and
//      sends the table's seed; one OPRF instance per bin with input x̂ of the bin's item
//      (tweak = the hash function i that placed it), so R learns F_j(x̂_j, i) for every bin j —
//      its value for item x̂.
//   S: its k = 3 candidates for x̂ are F_{h_i(x̂)}(x̂, i), i < 3.
//
// Security model: semi-honest, static corruption, 128-bit computational security (the OPRF of
// ot/kkrt_ote.h; H modelled as a random oracle). Leakage beyond bucket_psi.h's: with probability
// ≤ 2^-40 per bucket, that the first cuckoo seed failed for R's set.
//
// Cost per receiver key: 64 bytes per cuckoo bin of OPRF matrix (×1.27 bins) ≈ 82 B; per sender
// row: 3 × (ℓ + 5) ≤ 48 B; plus 512 base OTs (≈ 16 KB) once. Memory per bucket of n keys: about
// 64·1.27·n + 24·n ≈ 105·n bytes at the sender (OPRF rows and its records) and at most
// ≈ 120·n bytes at the receiver (keys, cuckoo table, OPRF outputs, tag table at load ≥ 1/4),
// i.e. ≈ 110–125 MB for the default bucket of 2^20 keys whatever the input size.
#pragma once

#include <cstdint>
#include <vector>

#include "veil/base/status.h"
#include "veil/link/context.h"
#include "veil/psi/bucket_psi.h"
#include "veil/psi/key_source.h"

namespace veil::psi {

// Runs this party's side (bucket_psi.h's RunBucketPsi with the KKRT OPRF).
// Errors: those of RunBucketPsi, and AlgorithmError "cuckoo_failure" (cuckoo insertion failed
// for every seed tried).
StatusOr<BucketPsiOutput> RunKkrtPsi(link::Context& ctx, const BucketPsiOptions& options,
                                     KeySource& keys, const std::vector<int64_t>& counts);

}  // namespace veil::psi
