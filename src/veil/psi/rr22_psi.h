// Two-party PSI from VOLE and an OKVS: Raghuraman and Rindal, "Blazing Fast PSI from Improved
// OKVS and Subfield VOLE" (CCS 2022, eprint 2022/320), §4 (the VOLE-based OPRF of Rindal–Schoppmann
// "VOLE-PSI", Eurocrypt 2021, with the paper's OKVS and the fast, non-subfield GF(2^128)
// instantiation) — SecretFlow's PROTOCOL_RR22 / RR22_FAST_PSI_2PC in its semi-honest mode.
// The silent VOLE is ot/silent_vole.h (Expand-Accumulate code, never Silver), the OKVS
// crypto/okvs.h (RB-OKVS, m = 1.1·n).
//
// The bucketing, the comparison step and what the receiver learns are bucket_psi.h's; this file
// supplies the OPRF of one bucket, with F = GF(2^128), H1 and H2 fixed-key-AES hashes (below):
//
//   R (n_b distinct x̂): P = OKVS.Encode({x̂ → H1(x̂)}) ∈ F^m under a fresh public seed, sent to S
//      (a failed encoding is retried with another seed). Chosen VOLE with A = P: R gets C, S gets
//      B and its global Δ with C = B + P·Δ (R sends D = A_r + P, 16·m bytes, which hides P
//      perfectly behind the pseudorandom A_r).
//      R's value for x̂: H2(Decode(C, x̂)).
//   S: its single candidate (k = 1) for ŷ: H2(Decode(B, ŷ) + Δ·H1(ŷ)).
// Correctness: Decode is linear, so Decode(C, x̂) = Decode(B, x̂) + Decode(P, x̂)·Δ =
// Decode(B, x̂) + H1(x̂)·Δ — the sender's value for ŷ = x̂.
//
// Hashes: H1(x̂) = CcrHash(x̂ ⊕ c1) and H2(v) = CcrHash(v) (crypto/cr_hash.h: π(σ(·)) ⊕ σ(·) with
// fixed-key AES π), c1 a domain-separation constant. The paper models H as a random oracle;
// the property used is this: for ŷ ∉ X, R can compute Decode(C, ŷ), and S's pre-hash value is
// Decode(C, ŷ) + s·Δ with s = H1(ŷ) + Decode(P, ŷ) ≠ 0 (except with probability 2^-128) and
// known to R. Every such input of H2 carries an offset s·Δ that is uniform to R (Δ is), and two
// distinct inputs collide only if Δ takes one value; with π a random permutation, the outputs
// are then uniform unless R queries π at an input, i.e. guesses Δ — the argument of Guo, Katz,
// Wang and Yu (IEEE S&P 2020, eprint 2019/074) §7 for correlation robustness, applied to the
// offsets s·Δ rather than Δ.
//
// Security model: semi-honest, static corruption, 128-bit computational security (dual LPN with
// the EA code for the VOLE, AES as a random permutation), 40-bit statistical security (OKVS
// failure ≤ 2^-40 per bucket, false positives as bucket_psi.h). Not secure against a malicious
// party (RR22's malicious variant, RR22_MALICIOUS_PSI_2PC, is not implemented). Leakage beyond
// bucket_psi.h's: with probability ≤ 2^-40 per bucket, that the first OKVS seed failed for R's
// set.
//
// Cost per bucket of n_b receiver keys and s_b sender rows: the VOLE of m = OkvsParams::ForItems
// (n_b).m ≈ 1.1·n_b elements (≈ 0.84 B per element plus the 16·m bytes of D) and (ℓ + 5) bytes
// per sender row (ℓ ≤ 11), i.e. ≈ 18 B per receiver key + ≈ 15 B per sender row at 2^20 each;
// compute: one OKVS encoding (R), two decodings (one per party), the VOLE. Memory per bucket:
// ≈ 16·(3·m + 2·n_b) bytes at R (P, C, hashes, values, tag table) plus the VOLE's scratch
// (silent_vole.h, ≈ 170 MB at 2^21 outputs), ≈ 16·m + 24·s_b at S plus the VOLE's scratch.
#pragma once

#include <cstdint>
#include <vector>

#include "veil/base/status.h"
#include "veil/link/context.h"
#include "veil/psi/bucket_psi.h"
#include "veil/psi/key_source.h"

namespace veil::psi {

// Runs this party's side (bucket_psi.h's RunBucketPsi with the RR22 OPRF).
// Errors: those of RunBucketPsi, and AlgorithmError "okvs_encode_failed" (the OKVS encoding
// failed for every seed tried) or "unexpected_message_size" from the VOLE.
StatusOr<BucketPsiOutput> RunRr22Psi(link::Context& ctx, const BucketPsiOptions& options,
                                     KeySource& keys, const std::vector<int64_t>& counts);

}  // namespace veil::psi
