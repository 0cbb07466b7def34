#include "veil/psi/ecdh_psi.h"

#include <algorithm>
#include <atomic>

#include <fmt/format.h>

#include "veil/base/bytes.h"
#include "veil/base/parallel.h"
#include "veil/crypto/ristretto.h"

namespace veil::psi {

namespace {

using crypto::kPointBytes;

// Items per ParallelFor chunk when hashing and masking (see crypto::ScalarMultBatch).
constexpr int64_t kHashGrain = 64;

// The parties that mask stream `p`, in order (see the header).
std::vector<size_t> Maskers(size_t p, size_t receiver, size_t n) {
  std::vector<size_t> m{p};
  for (size_t r = 0; r < n; ++r) {
    if (r != p && r != receiver) m.push_back(r);
  }
  if (p != receiver) m.push_back(receiver);
  return m;
}

std::string Tag(size_t stream, const std::string& hop, int64_t batch) {
  return fmt::format("ecdh/{}/{}/{}", stream, hop, batch);
}

int64_t BatchItems(int64_t count, int64_t batch_size, int64_t b) {
  return std::min(batch_size, count - b * batch_size);
}

// Message = raw concatenation of fixed-size elements; checks the expected item count.
Status CheckSize(const Buffer& msg, int64_t items, size_t item_bytes, const std::string& tag) {
  if (msg.size() != static_cast<size_t>(items) * item_bytes) {
    return AlgorithmError("bad_message", fmt::format("message {} has {} bytes, expected {}", tag,
                                                     msg.size(), items * item_bytes));
  }
  return Status();
}

}  // namespace

StatusOr<EcdhPsiOutput> RunEcdhPsi(link::Context& ctx, const EcdhPsiOptions& options,
                                   KeySource& keys, const std::vector<int64_t>& counts) {
  const size_t n = ctx.world_size();
  const size_t self = ctx.rank();
  const size_t recv_rank = options.receiver_rank;
  const int64_t bs = static_cast<int64_t>(std::max<size_t>(1, options.batch_size));
  if (counts.size() != n || recv_rank >= n) {
    return InternalError("bad_psi_args", "counts/receiver do not match the world");
  }
  if (!crypto::InitSodium()) return InternalError("sodium_init", "libsodium failed to start");

  const crypto::Scalar key = crypto::Scalar::Random();
  std::vector<std::vector<size_t>> maskers(n);
  std::vector<int64_t> batches(n);
  int64_t max_batches = 0;
  for (size_t p = 0; p < n; ++p) {
    maskers[p] = Maskers(p, recv_rank, n);
    batches[p] = (counts[p] + bs - 1) / bs;
    max_batches = std::max(max_batches, batches[p]);
  }
  // Relay duties of this party, by increasing hop so that lock-step batches cannot deadlock.
  struct Duty {
    size_t stream;
    size_t pos;
  };
  std::vector<Duty> duties;
  for (size_t p = 0; p < n; ++p) {
    for (size_t pos = 1; pos < maskers[p].size(); ++pos) {
      if (maskers[p][pos] == self) duties.push_back({p, pos});
    }
  }
  std::sort(duties.begin(), duties.end(),
            [](const Duty& a, const Duty& b) { return a.pos < b.pos; });

  EcdhPsiOutput out;
  const bool keep = self == recv_rank && !options.on_fingerprints;
  if (keep) {
    out.fingerprints.resize(n);
    for (size_t p = 0; p < n; ++p) out.fingerprints[p].resize(counts[p]);
  }
  std::vector<Fingerprint> batch_fps;
  std::vector<int64_t> batch_rows;
  auto store = [&](size_t stream, int64_t b, const uint8_t* data, int64_t items,
                   size_t stride) -> Status {
    if (keep) {
      auto& dst = out.fingerprints[stream];
      for (int64_t j = 0; j < items; ++j)
        dst[b * bs + j] = Fingerprint::FromBytes(data + j * stride);
      return Status();
    }
    batch_fps.resize(items);
    batch_rows.resize(items);
    for (int64_t j = 0; j < items; ++j) {
      batch_fps[j] = Fingerprint::FromBytes(data + j * stride);
      batch_rows[j] = b * bs + j;
    }
    return options.on_fingerprints(stream, batch_rows, batch_fps);
  };
  // Sends masked points onward, or their fingerprints to the receiver after the last masker.
  auto forward = [&](size_t stream, size_t pos, int64_t b, const Buffer& points,
                     int64_t items) -> Status {
    const auto& m = maskers[stream];
    if (pos + 1 < m.size()) {
      return ctx.Send(m[pos + 1], Tag(stream, std::to_string(pos + 1), b), points);
    }
    if (self == recv_rank) return store(stream, b, points.data(), items, kPointBytes);
    Buffer fp(items * kFingerprintBytes);
    for (int64_t j = 0; j < items; ++j) {
      std::copy_n(points.data() + j * kPointBytes, kFingerprintBytes,
                  fp.data() + j * kFingerprintBytes);
    }
    return ctx.Send(recv_rank, Tag(stream, "final", b), std::move(fp));
  };

  KeyBatch batch;
  for (int64_t b = 0; b < max_batches; ++b) {
    VEIL_RETURN_IF_ERROR(ctx.cancel()->Check());
    // 1. Own stream: hash to the group and mask with our key.
    if (b < batches[self]) {
      const int64_t items = BatchItems(counts[self], bs, b);
      VEIL_ASSIGN_OR_RETURN(size_t got, keys.Next(static_cast<size_t>(items), &batch));
      if (static_cast<int64_t>(got) != items) {
        return AlgorithmError(
            "key_count_mismatch",
            fmt::format("key source gave {} keys in batch {}, expected {}", got, b, items));
      }
      Buffer points(items * kPointBytes);
      std::atomic<bool> bad{false};
      ParallelFor(items, kHashGrain, [&](int64_t lo, int64_t hi) {
        uint8_t h[kPointBytes];
        for (int64_t j = lo; j < hi; ++j) {
          auto k = batch.key(j);
          crypto::HashToGroup(kEcdhDomain, reinterpret_cast<const uint8_t*>(k.data()), k.size(), h);
          if (!crypto::ScalarMult(key, h, points.data() + j * kPointBytes)) bad = true;
        }
      });
      if (bad) return AlgorithmError("hash_to_identity", "a key hashed to the identity element");
      VEIL_RETURN_IF_ERROR(forward(self, 0, b, points, items));
    }
    // 2. Relay duties: mask what the previous hop sent.
    for (const Duty& d : duties) {
      if (b >= batches[d.stream]) continue;
      const int64_t items = BatchItems(counts[d.stream], bs, b);
      const std::string tag = Tag(d.stream, std::to_string(d.pos), b);
      VEIL_ASSIGN_OR_RETURN(Buffer in, ctx.Recv(maskers[d.stream][d.pos - 1], tag));
      VEIL_RETURN_IF_ERROR(CheckSize(in, items, kPointBytes, tag));
      Buffer points(in.size());
      VEIL_RETURN_IF_ERROR(crypto::ScalarMultBatch(key, in.data(), items, points.data()));
      VEIL_RETURN_IF_ERROR(forward(d.stream, d.pos, b, points, items));
    }
    // 3. The receiver collects its own stream's fingerprints from the last masker.
    if (self == recv_rank && b < batches[self]) {
      const int64_t items = BatchItems(counts[self], bs, b);
      const std::string tag = Tag(self, "final", b);
      VEIL_ASSIGN_OR_RETURN(Buffer in, ctx.Recv(maskers[self].back(), tag));
      VEIL_RETURN_IF_ERROR(CheckSize(in, items, kFingerprintBytes, tag));
      VEIL_RETURN_IF_ERROR(store(self, b, in.data(), items, kFingerprintBytes));
    }
    if (options.progress) options.progress(static_cast<double>(b + 1) / max_batches);
  }
  KeyBatch rest;
  VEIL_ASSIGN_OR_RETURN(size_t extra, keys.Next(1, &rest));
  if (extra != 0) {
    return AlgorithmError("key_count_mismatch", "key source has more keys than announced");
  }
  return out;
}

}  // namespace veil::psi
