// Two-party PSI from the batched OPRF of Kolesnikov, Kumaresan, Rosulek and Trieu, "Efficient
// Batched Oblivious PRF with Applications to Private Set Intersection" (CCS 2016, eprint
// 2016/799), §5 (the PSI protocol of Pinkas–Schneider–Zohner with the BaRK-OPRF of §3–4,
// ot/kkrt_ote.h), with 3-hash stash-less cuckoo hashing (PSZ18, psi/cuckoo.h) — SecretFlow's
// KKRT_PSI_2PC / PROTOCOL_KKRT.
//
// Keys are first hashed to x̂ = BLAKE2b-128(key) (distinct keys collide with probability
// ≤ N²/2^128) and split into B = ⌈max(n_R, n_S) / bucket_size⌉ buckets by x̂, so that both
// parties hold one bucket at a time; the buckets are independent sub-PSIs run one after another
// over one OPRF set-up (512 base OTs). In bucket b:
//
//   receiver R: deduplicates its x̂, inserts them into a cuckoo table of m ≈ 1.27·n bins; sends
//               (seed, m); one OPRF instance per bin with input x̂ of the bin's item (tweak = the
//               hash function i that placed it), i.e. R learns F_j(x̂_j, i) for every bin j.
//   sender S:   shuffles its rows of the bucket; for each row (x̂, row) and each i < 3, sends
//                   tag ‖ (row ⊕ pad)   where   tag ‖ pad ‖ … = F_{h_i(x̂)}(x̂, i)
//               (tag: ℓ = ⌈(40 + log2(3·n_R·n_S / B)) / 8⌉ ≤ 11 bytes; pad: 5 bytes).
//   R:          looks every tag up among its own outputs; a hit at bin j means x̂ = x̂_j, and
//               decrypts the sender's row index with the pad.
//
// What the receiver gets (the contract of ecdh_psi.h, for the join machinery of join_builder.h):
// a fingerprint per row of both parties, equal for rows with equal keys across the parties.
// R's rows get BLAKE2b-128(key) with the top bit cleared; a sender row that matched gets the
// fingerprint of the receiver key it matched; every other sender row gets a distinct
// fingerprint with the top bit set (so it never equals a receiver fingerprint).
//
// Security model: semi-honest, static corruption, 128-bit computational security (the OPRF of
// ot/kkrt_ote.h; H modelled as a random oracle). Leakage beyond the intersection:
// - to R: the sender's row count and, for row-aligned outputs, WHICH sender rows matched (the
//   row indices of the intersection; ECDH PSI here reveals the same) and the sender's
//   multiplicities of every key (equal keys give equal tags); non-matching rows' indices stay
//   encrypted and their order is shuffled within a bucket;
// - to S: the receiver's number of distinct keys per bucket (the cuckoo table size) and, with
//   probability ≤ 2^-40 per bucket, that the first cuckoo seed failed for R's set.
// Both learn every bucket's size. False positives: probability ≤ 2^-40 up to 2^26 items per side
// (ℓ is capped at 11 bytes so that tag and pad fit one 16-byte OPRF output).
//
// Cost per receiver key: 64 bytes per cuckoo bin of OPRF matrix (×1.27 bins) ≈ 82 B; per sender
// row: 3 × (ℓ + 5) ≤ 48 B; plus 512 base OTs (≈ 16 KB) once. Memory: one bucket at a time — for
// a bucket of n keys about 64·1.27·n + 24·n ≈ 105·n bytes at the sender (OPRF rows and its
// records) and at most ≈ 120·n bytes at the receiver (keys, cuckoo table, OPRF outputs, tag
// table at load ≥ 1/4), i.e. ≈ 110–125 MB for the default bucket of 2^20 keys whatever the
// input size; plus one bit per sender row at the receiver (2 MB at 2^24) and 32 MB of write
// buffers when buckets are spilled to files in temp_dir (16 bytes per receiver row, 24 per
// sender row on disk).
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

inline constexpr int64_t kDefaultKkrtBucketSize = int64_t{1} << 20;
inline constexpr size_t kDefaultKkrtBatchSize = size_t{1} << 14;
// Rows must fit the 5-byte encrypted row index.
inline constexpr int64_t kKkrtMaxRows = int64_t{1} << 40;

struct KkrtPsiOptions {
  size_t receiver_rank = 0;
  // Items per bucket (see the header comment); every party must pass the same value.
  int64_t bucket_size = kDefaultKkrtBucketSize;
  // Keys read per batch, sender rows per message.
  size_t batch_size = kDefaultKkrtBatchSize;
  // Where buckets are spilled when there is more than one; empty = keep them in memory.
  std::string temp_dir;
  // Called after each bucket with the fraction done (0, 1].
  std::function<void(double fraction)> progress;
  // Receiver only. When set, fingerprints are handed over as they are known — party p's rows
  // rows[k] get fps[k] — and KkrtPsiOutput stays empty. The receiver's own rows come first and
  // in row order; the sender's in no particular order, each exactly once. An error stops the
  // protocol.
  std::function<Status(size_t party, const std::vector<int64_t>& rows,
                       const std::vector<Fingerprint>& fps)>
      on_fingerprints;
};

struct KkrtPsiOutput {
  // Receiver only (without on_fingerprints): fingerprints[p][i] for row i of party p's input.
  std::vector<std::vector<Fingerprint>> fingerprints;
};

// Runs this party's side; exactly two parties. `counts[p]` is party p's number of keys (both
// pass the same vector); `keys` must yield exactly counts[ctx.rank()] keys.
// Errors: NetworkError from the link; AlgorithmError on a malformed peer message
// ("bad_message", "unexpected_message_size", "bad_row_index"), a count mismatch
// ("key_count_mismatch") or a cuckoo failure ("cuckoo_failure"); InternalError for more or
// fewer than two parties; ResourceError when spilling buckets fails.
StatusOr<KkrtPsiOutput> RunKkrtPsi(link::Context& ctx, const KkrtPsiOptions& options,
                                   KeySource& keys, const std::vector<int64_t>& counts);

}  // namespace veil::psi
