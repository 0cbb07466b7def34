#include "veil/psi/bucket_psi.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>

#include <fmt/format.h>

#include "veil/base/bytes.h"
#include "veil/base/log.h"
#include "veil/base/parallel.h"
#include "veil/base/time.h"
#include "veil/crypto/hash.h"
#include "veil/crypto/prg.h"

namespace veil::psi {

namespace {

using crypto::Block;

constexpr int kRowBytes = 5;  // encrypted sender row index (kBucketPsiMaxRows = 2^40)
constexpr int kMaxTagBytes = static_cast<int>(sizeof(Block)) - kRowBytes;
constexpr double kStatisticalSecurity = 40;
constexpr int64_t kHashGrain = 256;
constexpr int64_t kLookupGrain = 1024;
// Total write buffer of the bucket spill files (divided among the buckets).
constexpr size_t kSpillBufferBytes = size_t{32} << 20;
constexpr uint64_t kTopBit = uint64_t{1} << 63;

struct Hit {
  uint64_t row;   // decrypted sender row
  uint32_t item;  // the receiver's item, TagTable::kNone for no match
};

struct SenderRecord {
  Block x;
  int64_t row;
};

Fingerprint ReceiverFingerprint(const Block& x) { return Fingerprint{x.lo, x.hi & ~kTopBit}; }
Fingerprint UnmatchedFingerprint(int64_t row) {
  return Fingerprint{static_cast<uint64_t>(row), kTopBit};
}

int64_t BucketOf(const Block& x, int64_t buckets) {
  return static_cast<int64_t>(((x.hi >> 32) * static_cast<uint64_t>(buckets)) >> 32);
}

// ℓ: 40 bits of statistical security over the k·n_R·n_S/B comparisons, in whole bytes.
int TagBytes(int k, int64_t n_r, int64_t n_s, int64_t buckets) {
  const double cmp = k * static_cast<double>(std::max<int64_t>(1, n_r)) *
                     static_cast<double>(std::max<int64_t>(1, n_s)) / static_cast<double>(buckets);
  const int bytes = static_cast<int>(std::ceil((kStatisticalSecurity + std::log2(cmp)) / 8));
  return std::clamp(bytes, 6, kMaxTagBytes);
}

using HashKey = std::array<uint8_t, 16>;

// x̂ = SipHash128_k(key) for every key of the batch.
std::vector<Block> HashKeys(const KeyBatch& batch, const HashKey& k) {
  std::vector<Block> out(batch.size());
  ParallelFor(static_cast<int64_t>(batch.size()), kHashGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t j = lo; j < hi; ++j) {
      const auto d = crypto::SipHash128(k, batch.key(static_cast<size_t>(j)));
      std::memcpy(&out[j], d.data(), sizeof(Block));
    }
  });
  return out;
}

// Per-bucket record lists: in memory for a single bucket (or without a temp dir), else appended
// to one file per bucket through bounded write buffers.
class BucketStore {
 public:
  BucketStore(int64_t buckets, std::string dir, std::string name)
      : spill_(buckets > 1 && !dir.empty()),
        dir_(std::move(dir)),
        name_(std::move(name)),
        buf_(static_cast<size_t>(buckets)),
        flush_bytes_(std::max<size_t>(4096, kSpillBufferBytes / static_cast<size_t>(buckets))) {}
  ~BucketStore() {
    if (!spill_) return;
    std::error_code ec;
    for (size_t b = 0; b < buf_.size(); ++b) std::filesystem::remove(Path(b), ec);
  }
  BucketStore(const BucketStore&) = delete;
  BucketStore& operator=(const BucketStore&) = delete;

  Status Append(int64_t b, const void* rec, size_t bytes) {
    auto& buf = buf_[static_cast<size_t>(b)];
    buf.append(static_cast<const char*>(rec), bytes);
    return spill_ && buf.size() >= flush_bytes_ ? Flush(static_cast<size_t>(b)) : Status();
  }

  // All records of bucket b, as T (trivially copyable); the bucket is emptied.
  template <typename T>
  StatusOr<std::vector<T>> Take(int64_t b) {
    std::string raw;
    const auto bi = static_cast<size_t>(b);
    if (spill_) {
      const std::string path = Path(bi);
      if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
        char chunk[1 << 16];
        size_t got;
        while ((got = std::fread(chunk, 1, sizeof chunk, f)) > 0) raw.append(chunk, got);
        const bool bad = std::ferror(f) != 0;
        std::fclose(f);
        if (bad) return ResourceError("spill_failed", "cannot read " + path);
        std::error_code ec;
        std::filesystem::remove(path, ec);
      }
    }
    raw.append(buf_[bi]);
    std::string().swap(buf_[bi]);
    std::vector<T> out(raw.size() / sizeof(T));
    std::memcpy(static_cast<void*>(out.data()), raw.data(), out.size() * sizeof(T));
    return out;
  }

 private:
  std::string Path(size_t b) const { return fmt::format("{}/{}-{}.bin", dir_, name_, b); }
  Status Flush(size_t b) {
    const std::string path = Path(b);
    std::FILE* f = std::fopen(path.c_str(), "ab");
    if (!f) return ResourceError("spill_failed", "cannot write " + path);
    const bool ok = std::fwrite(buf_[b].data(), 1, buf_[b].size(), f) == buf_[b].size();
    if (std::fclose(f) != 0 || !ok) return ResourceError("spill_failed", "cannot write " + path);
    buf_[b].clear();
    return Status();
  }

  bool spill_;
  std::string dir_, name_;
  std::vector<std::string> buf_;
  size_t flush_bytes_;
};

// The receiver's OPRF values of one bucket, found by their first ℓ bytes: open addressing with
// linear probing over one array of 16-byte values (an all-zero slot is empty; a value is zero
// with probability 2^-128), so a probe touches one cache line. Lookups are issued in batches
// with prefetching, since nearly every probe of a large table misses the cache.
class TagTable {
 public:
  static constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();

  TagTable(int64_t items, int tag_bytes) {
    size_t cap = 16;
    while (cap < 2 * static_cast<size_t>(items)) cap *= 2;
    mask_ = cap - 1;
    values_.resize(cap);
    items_.assign(cap, kNone);
    uint8_t m[sizeof(Block)] = {};
    std::memset(m, 0xff, static_cast<size_t>(tag_bytes));
    std::memcpy(&tag_mask_, m, sizeof m);
  }
  void Insert(const Block& value, uint32_t item) {
    if (value == Block{}) return;  // probability 2^-128; it could never be told from empty
    for (size_t s = Slot(value & tag_mask_);; s = (s + 1) & mask_) {
      if (values_[s] == Block{}) {
        values_[s] = value;
        items_[s] = item;
        return;
      }
    }
  }
  size_t Slot(const Block& tag) const {
    return static_cast<size_t>(
               ((tag.lo ^ (tag.hi * 0x9e3779b97f4a7c15ULL)) * 0xbf58476d1ce4e5b9ULL) >> 20) &
           mask_;
  }
  void Prefetch(size_t slot) const { __builtin_prefetch(&values_[slot]); }
  // The slot holding a value that starts with `tag` (masked), searching from `slot`; -1 if none.
  int64_t Find(const Block& tag, size_t slot) const {
    for (size_t s = slot;; s = (s + 1) & mask_) {
      if (values_[s] == Block{}) return -1;
      if ((values_[s] & tag_mask_) == tag) return static_cast<int64_t>(s);
    }
  }
  const Block& value(int64_t slot) const { return values_[slot]; }
  uint32_t item(int64_t slot) const { return items_[slot]; }

 private:
  size_t mask_;
  Block tag_mask_;
  std::vector<Block> values_;
  std::vector<uint32_t> items_;
};

class BucketRun {
 public:
  BucketRun(link::Context& ctx, const BucketPsiOptions& options, const std::vector<int64_t>& counts,
            const std::string& name, BucketOprf& oprf)
      : ctx_(ctx),
        opt_(options),
        counts_(counts),
        name_(name),
        oprf_(oprf),
        k_(oprf.candidates()),
        self_(ctx.rank()),
        receiver_(options.receiver_rank),
        sender_(1 - options.receiver_rank),
        batch_(static_cast<int64_t>(std::max<size_t>(1, options.batch_size))),
        buckets_(std::max<int64_t>(
            1, (std::max(counts[0], counts[1]) + std::max<int64_t>(1, options.bucket_size) - 1) /
                   std::max<int64_t>(1, options.bucket_size))),
        tag_bytes_(TagBytes(k_, counts[receiver_], counts[sender_], buckets_)),
        entry_bytes_(tag_bytes_ + kRowBytes) {}

  StatusOr<BucketPsiOutput> Run(KeySource& keys) {
    const bool receiver = self_ == receiver_;
    if (receiver && !opt_.on_fingerprints) {
      out_.fingerprints.resize(2);
      for (size_t p = 0; p < 2; ++p) out_.fingerprints[p].resize(counts_[p]);
    }
    BucketStore store(buckets_, opt_.temp_dir, name_ + (receiver ? "-receiver" : "-sender"));
    VEIL_RETURN_IF_ERROR(AgreeHashKey());
    auto start = SteadyClock::now();
    VEIL_RETURN_IF_ERROR(Partition(keys, store));
    Log().debug("{} psi: {} keys read, hashed and bucketed in {:.3f} s", name_, counts_[self_],
                SecondsSince(start));
    if (receiver) matched_.assign(static_cast<size_t>((counts_[sender_] + 63) / 64), 0);
    for (int64_t b = 0; b < buckets_; ++b) {
      VEIL_RETURN_IF_ERROR(ctx_.cancel()->Check());
      start = SteadyClock::now();
      oprf_seconds_ = 0;
      VEIL_RETURN_IF_ERROR(receiver ? ReceiverBucket(b, store) : SenderBucket(b, store));
      Log().debug("{} psi: bucket {}/{} in {:.3f} s, of which the OPRF {:.3f} s", name_, b + 1,
                  buckets_, SecondsSince(start), oprf_seconds_);
      if (opt_.progress) opt_.progress(static_cast<double>(b + 1) / buckets_);
    }
    if (receiver) VEIL_RETURN_IF_ERROR(EmitUnmatched());
    return std::move(out_);
  }

 private:
  std::string Tag(int64_t bucket, const std::string& what) const {
    return fmt::format("{}/{}/{}", name_, bucket, what);
  }

  // k = k_R ⊕ k_S from 16 random bytes of each party (one message each way).
  Status AgreeHashKey() {
    HashKey mine;
    crypto::Prg(crypto::RandomSeed()).Fill(mine.data(), mine.size());
    const size_t peer = 1 - self_;
    VEIL_RETURN_IF_ERROR(ctx_.Send(peer, name_ + "/hashkey", Buffer(mine.begin(), mine.end())));
    VEIL_ASSIGN_OR_RETURN(Buffer theirs, ctx_.Recv(peer, name_ + "/hashkey"));
    if (theirs.size() != mine.size()) {
      return AlgorithmError("bad_message", "malformed key-hash share from the PSI peer");
    }
    for (size_t i = 0; i < mine.size(); ++i) hash_key_[i] = mine[i] ^ theirs[i];
    return Status();
  }

  Status Emit(size_t party, const std::vector<int64_t>& rows, const std::vector<Fingerprint>& fps) {
    if (rows.empty()) return Status();
    if (opt_.on_fingerprints) return opt_.on_fingerprints(party, rows, fps);
    for (size_t k = 0; k < rows.size(); ++k) out_.fingerprints[party][rows[k]] = fps[k];
    return Status();
  }

  // Reads the own keys once: hashes them into buckets (and, at the receiver, hands over its own
  // rows' fingerprints in row order).
  Status Partition(KeySource& keys, BucketStore& store) {
    const int64_t expected = counts_[self_];
    int64_t row = 0;
    KeyBatch batch;
    std::vector<int64_t> rows;
    std::vector<Fingerprint> fps;
    while (true) {
      VEIL_ASSIGN_OR_RETURN(size_t got, keys.Next(static_cast<size_t>(batch_), &batch));
      if (got == 0) break;
      if (row + static_cast<int64_t>(got) > expected) {
        return AlgorithmError("key_count_mismatch", "key source has more keys than announced");
      }
      const std::vector<Block> x = HashKeys(batch, hash_key_);
      rows.clear();
      fps.clear();
      for (size_t j = 0; j < got; ++j, ++row) {
        const int64_t b = BucketOf(x[j], buckets_);
        if (self_ == receiver_) {
          VEIL_RETURN_IF_ERROR(store.Append(b, &x[j], sizeof(Block)));
          rows.push_back(row);
          fps.push_back(ReceiverFingerprint(x[j]));
        } else {
          const SenderRecord rec{x[j], row};
          VEIL_RETURN_IF_ERROR(store.Append(b, &rec, sizeof rec));
        }
      }
      if (self_ == receiver_) VEIL_RETURN_IF_ERROR(Emit(self_, rows, fps));
    }
    if (row != expected) {
      return AlgorithmError("key_count_mismatch",
                            fmt::format("key source gave {} keys, expected {}", row, expected));
    }
    return Status();
  }

  Status ReceiverBucket(int64_t b, BucketStore& store) {
    VEIL_ASSIGN_OR_RETURN(std::vector<Block> items, store.Take<Block>(b));
    std::sort(items.begin(), items.end());
    items.erase(std::unique(items.begin(), items.end()), items.end());
    const auto distinct = static_cast<int64_t>(items.size());
    {
      Buffer hdr;
      ByteWriter w(&hdr);
      w.I64(distinct);
      VEIL_RETURN_IF_ERROR(ctx_.Send(sender_, Tag(b, "hdr"), std::move(hdr)));
    }
    std::unique_ptr<TagTable> tags;
    if (distinct > 0) {
      std::vector<Block> values;
      const auto start = SteadyClock::now();
      VEIL_RETURN_IF_ERROR(oprf_.ReceiverEval(b, items, &values));
      oprf_seconds_ += SecondsSince(start);
      if (values.size() != items.size()) {
        return InternalError("oprf_size", "the OPRF returned a value count other than the items'");
      }
      tags = std::make_unique<TagTable>(distinct, tag_bytes_);
      for (int64_t j = 0; j < distinct; ++j) tags->Insert(values[j], static_cast<uint32_t>(j));
    }

    VEIL_ASSIGN_OR_RETURN(Buffer nmsg, ctx_.Recv(sender_, Tag(b, "n")));
    ByteReader nr(nmsg);
    int64_t n = 0;
    if (!nr.I64(&n) || n < 0 || n > counts_[sender_]) {
      return AlgorithmError("bad_message", "malformed bucket size from the PSI sender");
    }
    if (!tags) return Status();  // nothing can match; the sender sends no tags
    const int64_t messages = (n + batch_ - 1) / batch_;
    const int64_t row_bytes = k_ * entry_bytes_;
    std::vector<int64_t> rows;
    std::vector<Fingerprint> fps;
    for (int64_t m = 0; m < messages; ++m) {
      const int64_t items_here = std::min(batch_, n - m * batch_);
      const std::string tag = Tag(b, "v/" + std::to_string(m));
      VEIL_ASSIGN_OR_RETURN(Buffer msg, ctx_.Recv(sender_, tag));
      if (msg.size() != static_cast<size_t>(items_here * row_bytes)) {
        return AlgorithmError("bad_message", fmt::format("message {} has {} bytes, expected {}",
                                                         tag, msg.size(), items_here * row_bytes));
      }
      // Look every entry up (in parallel, prefetching a chunk's slots first), then record the
      // hits in message order.
      std::vector<Hit> hits(static_cast<size_t>(items_here));
      ParallelFor(items_here, kLookupGrain, [&](int64_t lo, int64_t hi) {
        std::vector<Block> t(static_cast<size_t>(k_ * (hi - lo)));
        std::vector<size_t> slot(t.size());
        for (size_t q = 0; q < t.size(); ++q) {
          std::memcpy(&t[q], msg.data() + (lo * k_ + static_cast<int64_t>(q)) * entry_bytes_,
                      static_cast<size_t>(tag_bytes_));
          slot[q] = tags->Slot(t[q]);
          tags->Prefetch(slot[q]);
        }
        for (int64_t e = lo; e < hi; ++e) {
          hits[e].item = TagTable::kNone;
          for (int i = 0; i < k_; ++i) {
            const size_t q = static_cast<size_t>((e - lo) * k_ + i);
            const int64_t found = tags->Find(t[q], slot[q]);
            if (found < 0) continue;
            const uint8_t* entry = msg.data() + (e * k_ + i) * entry_bytes_;
            const auto* pad = reinterpret_cast<const uint8_t*>(&tags->value(found)) + tag_bytes_;
            uint64_t row = 0;
            for (int c = 0; c < kRowBytes; ++c) {
              row |= static_cast<uint64_t>(entry[tag_bytes_ + c] ^ pad[c]) << (8 * c);
            }
            hits[e] = Hit{row, tags->item(found)};
            break;  // a row matches at most one item
          }
        }
      });
      rows.clear();
      fps.clear();
      for (const Hit& h : hits) {
        if (h.item == TagTable::kNone) continue;
        if (h.row >= static_cast<uint64_t>(counts_[sender_]) ||
            ((matched_[h.row / 64] >> (h.row % 64)) & 1)) {
          return AlgorithmError("bad_row_index", "PSI: a matched sender row is invalid");
        }
        matched_[h.row / 64] |= uint64_t{1} << (h.row % 64);
        rows.push_back(static_cast<int64_t>(h.row));
        fps.push_back(ReceiverFingerprint(items[h.item]));
      }
      VEIL_RETURN_IF_ERROR(Emit(sender_, rows, fps));
    }
    return Status();
  }

  Status EmitUnmatched() {
    std::vector<int64_t> rows;
    std::vector<Fingerprint> fps;
    for (int64_t r = 0; r < counts_[sender_]; ++r) {
      if ((matched_[r / 64] >> (r % 64)) & 1) continue;
      rows.push_back(r);
      fps.push_back(UnmatchedFingerprint(r));
      if (static_cast<int64_t>(rows.size()) >= batch_) {
        VEIL_RETURN_IF_ERROR(Emit(sender_, rows, fps));
        rows.clear();
        fps.clear();
      }
    }
    return Emit(sender_, rows, fps);
  }

  Status SenderBucket(int64_t b, BucketStore& store) {
    VEIL_ASSIGN_OR_RETURN(Buffer hdr, ctx_.Recv(receiver_, Tag(b, "hdr")));
    ByteReader hr(hdr);
    int64_t distinct = 0;
    if (!hr.I64(&distinct) || distinct < 0 || distinct > counts_[receiver_]) {
      return AlgorithmError("bad_message", "malformed bucket header from the PSI receiver");
    }
    auto start = SteadyClock::now();
    if (distinct > 0) VEIL_RETURN_IF_ERROR(oprf_.SenderPrepare(b, distinct));
    oprf_seconds_ += SecondsSince(start);
    VEIL_ASSIGN_OR_RETURN(std::vector<SenderRecord> recs, store.Take<SenderRecord>(b));
    // Shuffle so that the order of the tags says nothing about the rows.
    const auto n = static_cast<int64_t>(recs.size());
    if (n > 1) {
      std::vector<uint64_t> r(static_cast<size_t>(n));
      crypto::Prg prg(crypto::RandomSeed());
      prg.Fill(r.data(), r.size() * sizeof(uint64_t));
      for (int64_t i = n - 1; i > 0; --i) {
        std::swap(recs[i], recs[r[i] % static_cast<uint64_t>(i + 1)]);
      }
    }
    {
      Buffer nmsg;
      ByteWriter w(&nmsg);
      w.I64(n);
      VEIL_RETURN_IF_ERROR(ctx_.Send(receiver_, Tag(b, "n"), std::move(nmsg)));
    }
    if (distinct == 0) return Status();
    std::vector<Block> x, values;
    for (int64_t first = 0, m = 0; first < n; first += batch_, ++m) {
      const int64_t count = std::min(batch_, n - first);
      x.resize(static_cast<size_t>(count));
      for (int64_t e = 0; e < count; ++e) x[e] = recs[first + e].x;
      values.resize(static_cast<size_t>(k_ * count));
      start = SteadyClock::now();
      oprf_.SenderEval(x.data(), count, values.data());
      oprf_seconds_ += SecondsSince(start);
      Buffer msg(static_cast<size_t>(k_ * count * entry_bytes_));
      for (int64_t e = 0; e < count; ++e) {
        const auto row = static_cast<uint64_t>(recs[first + e].row);
        for (int i = 0; i < k_; ++i) {
          uint8_t* entry = msg.data() + (e * k_ + i) * entry_bytes_;
          const auto* v = reinterpret_cast<const uint8_t*>(&values[e * k_ + i]);
          std::memcpy(entry, v, static_cast<size_t>(tag_bytes_));
          for (int c = 0; c < kRowBytes; ++c) {
            entry[tag_bytes_ + c] = static_cast<uint8_t>(row >> (8 * c)) ^ v[tag_bytes_ + c];
          }
        }
      }
      VEIL_RETURN_IF_ERROR(ctx_.Send(receiver_, Tag(b, "v/" + std::to_string(m)), std::move(msg)));
    }
    return Status();
  }

  link::Context& ctx_;
  const BucketPsiOptions& opt_;
  const std::vector<int64_t>& counts_;
  std::string name_;
  BucketOprf& oprf_;
  int k_;
  size_t self_, receiver_, sender_;
  int64_t batch_;
  int64_t buckets_;
  int tag_bytes_, entry_bytes_;
  HashKey hash_key_{};             // k of x̂ = SipHash128_k(key), jointly random
  std::vector<uint64_t> matched_;  // receiver: sender rows already matched
  double oprf_seconds_ = 0;        // time spent in the OPRF in the current bucket (debug log)
  BucketPsiOutput out_;
};

}  // namespace

Status CheckBucketPsiArgs(const link::Context& ctx, const BucketPsiOptions& options,
                          const std::vector<int64_t>& counts, const std::string& protocol) {
  if (ctx.world_size() != 2 || counts.size() != 2 || options.receiver_rank > 1) {
    return InternalError("bad_psi_args", protocol + " PSI runs between exactly two parties");
  }
  for (int64_t c : counts) {
    if (c < 0 || c >= kBucketPsiMaxRows) {
      return AlgorithmError(
          "too_many_rows",
          fmt::format("{} PSI supports fewer than 2^40 rows, got {}", protocol, c));
    }
  }
  return Status();
}

StatusOr<BucketPsiOutput> RunBucketPsi(link::Context& ctx, const BucketPsiOptions& options,
                                       KeySource& keys, const std::vector<int64_t>& counts,
                                       const std::string& name, BucketOprf& oprf) {
  VEIL_RETURN_IF_ERROR(CheckBucketPsiArgs(ctx, options, counts, name));
  BucketRun run(ctx, options, counts, name, oprf);
  return run.Run(keys);
}

}  // namespace veil::psi
