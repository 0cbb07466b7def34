// The bucketed two-party PSI shared by KKRT (kkrt_psi.h) and RR22 (rr22_psi.h): both are an
// OPRF F that the receiver R evaluates on its own items and the sender S evaluates on its own
// items under the same key, followed by the same comparison step. This file holds that common
// skeleton; each protocol supplies its per-bucket OPRF (BucketOprf).
//
// Keys are hashed to x̂ = SipHash128_k(key) (crypto/hash.h) under a key k = k_R ⊕ k_S that both
// parties draw at random when the run starts, after the inputs are fixed — so, modelling SipHash
// as a PRF, distinct keys collide with probability ≤ N²/2^128; BLAKE2b is 10× slower here and
// collision resistance against inputs chosen after seeing k is not needed for semi-honest
// parties — and split into B = ⌈max(n_R, n_S) / bucket_size⌉ buckets by x̂ (SecretFlow's
// NegotiateBucketNum), so that both parties hold one bucket at a time; buckets are independent
// sub-PSIs run one after another. In bucket b:
//
//   R: deduplicates its x̂, sends their number n_b; when n_b > 0, R obtains one 16-byte value
//      F(x̂) per distinct item (BucketOprf::ReceiverEval).
//   S: shuffles its rows of the bucket; when n_b > 0, for each row (x̂, row) it gets k candidate
//      values F(x̂, i), i < k (k = 3 for KKRT's cuckoo hash functions, 1 for RR22) and sends
//          tag ‖ (row ⊕ pad)   where   tag ‖ pad ‖ … = F(x̂, i)
//      (tag: ℓ = ⌈(40 + log2(k·n_R·n_S / B)) / 8⌉ bytes, 6 ≤ ℓ ≤ 11; pad: 5 bytes).
//   R: looks every tag up among its own values; a hit on item x̂_j means x̂ = x̂_j, and R
//      decrypts the sender's row index with the pad.
//
// What R gets (the contract of ecdh_psi.h, for the join machinery of join_builder.h): a
// fingerprint per row of both parties, equal for rows with equal keys across the parties. R's
// rows get x̂ with the top bit cleared; a sender row that matched gets the
// fingerprint of the receiver key it matched; every other sender row gets a distinct
// fingerprint with the top bit set (so it never equals a receiver fingerprint).
//
// Leakage beyond the intersection (on top of the OPRF's own, stated by each protocol):
// - to R: the sender's row count and, for row-aligned outputs, WHICH sender rows matched (the
//   row indices of the intersection; ECDH PSI here reveals the same) and the sender's
//   multiplicities of every key (equal keys give equal tags); non-matching rows' indices stay
//   encrypted and their order is shuffled within a bucket;
// - to S: the receiver's number of distinct keys per bucket.
// Both learn every bucket's size. False positives: probability ≤ 2^-40 up to 2^26 items per side
// (ℓ is capped at 11 bytes so that tag and pad fit one 16-byte OPRF output).
//
// Memory: one bucket at a time, plus one bit per sender row at the receiver (2 MB at 2^24) and
// 32 MB of write buffers when buckets are spilled to files in temp_dir (16 bytes per receiver
// row, 24 per sender row on disk).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "veil/base/status.h"
#include "veil/crypto/block.h"
#include "veil/link/context.h"
#include "veil/psi/fingerprint.h"
#include "veil/psi/key_source.h"

namespace veil::psi {

inline constexpr int64_t kDefaultPsiBucketSize = int64_t{1} << 20;
inline constexpr size_t kDefaultPsiBatchSize = size_t{1} << 14;
// Rows must fit the 5-byte encrypted row index.
inline constexpr int64_t kBucketPsiMaxRows = int64_t{1} << 40;

struct BucketPsiOptions {
  size_t receiver_rank = 0;
  // Items per bucket (see the header comment); both parties must pass the same value.
  int64_t bucket_size = kDefaultPsiBucketSize;
  // Keys read per batch, sender rows per message.
  size_t batch_size = kDefaultPsiBatchSize;
  // Where buckets are spilled when there is more than one; empty = keep them in memory.
  std::string temp_dir;
  // Called after each bucket with the fraction done (0, 1].
  std::function<void(double fraction)> progress;
  // Receiver only. When set, fingerprints are handed over as they are known and
  // BucketPsiOutput stays empty. The receiver's own rows come first and in row order; the
  // sender's in no particular order, each exactly once. An error stops the protocol.
  FingerprintSink on_fingerprints;
};

struct BucketPsiOutput {
  // Receiver only (without on_fingerprints): fingerprints[p][i] for row i of party p's input.
  std::vector<std::vector<Fingerprint>> fingerprints;
};

// The per-bucket OPRF of one protocol. Calls alternate between the parties as documented; both
// run buckets in the same order. Message tags should include the bucket number.
class BucketOprf {
 public:
  virtual ~BucketOprf() = default;
  // k: candidate values per sender row.
  virtual int candidates() const = 0;
  // Receiver: values[i] = F(items[i]) for the bucket's items (distinct, sorted, at least one).
  virtual Status ReceiverEval(int64_t bucket, const std::vector<crypto::Block>& items,
                              std::vector<crypto::Block>* values) = 0;
  // Sender: the counterpart of ReceiverEval for a bucket where the receiver has `receiver_items`
  // (≥ 1) distinct items.
  virtual Status SenderPrepare(int64_t bucket, int64_t receiver_items) = 0;
  // Sender, after SenderPrepare: out[e·k + i] = F(x[e], i) for e < count. Local.
  virtual void SenderEval(const crypto::Block* x, int64_t count, crypto::Block* out) = 0;
};

// Runs this party's side of a bucketed PSI with the given OPRF (already set up for this party's
// role); `name` prefixes message tags and spill files. Exactly two parties; `counts[p]` is party
// p's number of keys (both pass the same vector); `keys` must yield exactly counts[ctx.rank()].
// Errors: NetworkError from the link; AlgorithmError on a malformed peer message
// ("bad_message", "bad_row_index"), a count mismatch ("key_count_mismatch") or the OPRF's own;
// ResourceError when spilling buckets fails.
StatusOr<BucketPsiOutput> RunBucketPsi(link::Context& ctx, const BucketPsiOptions& options,
                                       KeySource& keys, const std::vector<int64_t>& counts,
                                       const std::string& name, BucketOprf& oprf);

// Argument checks shared by the protocols' entry points: two parties, receiver_rank < 2, counts
// in [0, kBucketPsiMaxRows). InternalError "bad_psi_args", AlgorithmError "too_many_rows".
Status CheckBucketPsiArgs(const link::Context& ctx, const BucketPsiOptions& options,
                          const std::vector<int64_t>& counts, const std::string& protocol);

}  // namespace veil::psi
