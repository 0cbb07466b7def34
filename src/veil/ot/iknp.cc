#include "veil/ot/iknp.h"

#include <algorithm>
#include <cstring>

#include "veil/base/parallel.h"
#include "veil/base/random.h"
#include "veil/crypto/cr_hash.h"
#include "veil/ot/base_ot.h"
#include "veil/ot/bit_matrix.h"
#include "veil/ot/extension_internal.h"

namespace veil::ot {

namespace {

constexpr int kKappa = kIknpBaseOts;
using internal::KeyedPrg;
using internal::kRowStride;
using internal::kTileBlocks;
using internal::UTag;
// ParallelFor grains: PRG rows per chunk, 128-OT column blocks per chunk, OTs per hash chunk.
constexpr int64_t kRowGrain = 16;
constexpr int64_t kColumnGrain = 16;
constexpr int64_t kHashGrain = 4096;

int64_t ColumnBlocks(int64_t count) { return (count + kKappa - 1) / kKappa; }

// Transposes the tile's 128 × (128·tile_blocks) bit matrix (row i at rows + i·kRowStride) into
// OTs [first, first + n) of `out`.
void TransposeTile(const Block* rows, int64_t tile_blocks, int64_t first, int64_t n, Block* out) {
  ParallelFor(tile_blocks, kColumnGrain, [&](int64_t lo, int64_t hi) {
    Block tail[kKappa];
    for (int64_t b = lo; b < hi; ++b) {
      const int64_t j = b * kKappa, len = std::min<int64_t>(kKappa, n - j);
      if (len == kKappa) {
        Transpose128(rows + b, kRowStride, out + first + j);
      } else {
        Transpose128(rows + b, kRowStride, tail);
        std::copy(tail, tail + len, out + first + j);
      }
    }
  });
}

}  // namespace

// ---- sender ----

StatusOr<IknpCotSender> IknpCotSender::Setup(link::Context* ctx, size_t peer, std::string tag) {
  IknpCotSender s;
  s.ctx_ = ctx;
  s.peer_ = peer;
  s.tag_ = std::move(tag);
  RandomBytes(&s.delta_, sizeof s.delta_);
  std::vector<bool> choices(kKappa);
  for (int i = 0; i < kKappa; ++i) choices[i] = s.delta_.bit(i);
  VEIL_ASSIGN_OR_RETURN(std::vector<Block> keys,
                        BaseOtReceive(*ctx, peer, choices, s.tag_ + "/base"));
  for (const Block& k : keys) s.prgs_.push_back(KeyedPrg(k));
  return s;
}

Status IknpCotSender::Extend(int64_t count, Block* q) {
  const int64_t nblk = count <= 0 ? 0 : ColumnBlocks(count);
  rows_.resize(static_cast<size_t>(kKappa * kRowStride));
  for (int64_t tile = 0; tile < nblk; tile += kTileBlocks) {
    const int64_t tb = std::min(kTileBlocks, nblk - tile);
    const size_t bytes = static_cast<size_t>(kKappa * tb) * sizeof(Block);
    VEIL_ASSIGN_OR_RETURN(Buffer u, ctx_->Recv(peer_, UTag(tag_, seq_++)));
    if (u.size() != bytes) {
      return AlgorithmError("unexpected_message_size",
                            "IKNP: " + std::to_string(u.size()) + " bytes of u from " +
                                ctx_->party_name(peer_) + ", expected " + std::to_string(bytes));
    }
    // q^i = G(k_i^{s_i}) ⊕ s_i·u^i.
    ParallelFor(kKappa, kRowGrain, [&](int64_t lo, int64_t hi) {
      Block ui[kTileBlocks];
      for (int64_t i = lo; i < hi; ++i) {
        Block* row = rows_.data() + i * kRowStride;
        prgs_[i].Fill(row, tb * sizeof(Block));
        if (!delta_.bit(static_cast<int>(i))) continue;
        std::memcpy(static_cast<void*>(ui), u.data() + i * tb * sizeof(Block), tb * sizeof(Block));
        for (int64_t b = 0; b < tb; ++b) row[b] ^= ui[b];
      }
    });
    const int64_t first = tile * kKappa;
    TransposeTile(rows_.data(), tb, first, std::min(tb * kKappa, count - first), q);
  }
  return Status();
}

Status IknpCotSender::RandomOt(int64_t count, Block* m0, Block* m1) {
  VEIL_RETURN_IF_ERROR(Extend(count, m0));
  HashCotSender(m0, count, delta_, m0, m1);
  return Status();
}

// ---- receiver ----

StatusOr<IknpCotReceiver> IknpCotReceiver::Setup(link::Context* ctx, size_t peer, std::string tag) {
  IknpCotReceiver r;
  r.ctx_ = ctx;
  r.peer_ = peer;
  r.tag_ = std::move(tag);
  VEIL_ASSIGN_OR_RETURN(auto keys, BaseOtSend(*ctx, peer, kKappa, r.tag_ + "/base"));
  for (const auto& pair : keys) {
    r.prgs0_.push_back(KeyedPrg(pair[0]));
    r.prgs1_.push_back(KeyedPrg(pair[1]));
  }
  return r;
}

Status IknpCotReceiver::Extend(const uint64_t* choices, int64_t count, Block* t) {
  const int64_t nblk = count <= 0 ? 0 : ColumnBlocks(count);
  rows_.resize(static_cast<size_t>(kKappa * kRowStride));
  for (int64_t tile = 0; tile < nblk; tile += kTileBlocks) {
    const int64_t tb = std::min(kTileBlocks, nblk - tile);
    const int64_t first = tile * kKappa, n = std::min(tb * kKappa, count - first);
    // This tile's choice bits as tb blocks, zero-padded past `count` (first is a multiple of 64).
    Block c[kTileBlocks] = {};
    const int64_t words = (n + 63) / 64;
    std::memcpy(static_cast<void*>(c), choices + first / 64,
                static_cast<size_t>(words - 1) * sizeof(uint64_t));
    const uint64_t last = choices[first / 64 + words - 1] &
                          (n % 64 == 0 ? ~uint64_t{0} : (uint64_t{1} << (n % 64)) - 1);
    std::memcpy(reinterpret_cast<unsigned char*>(c) + (words - 1) * sizeof(uint64_t), &last,
                sizeof last);
    // t^i = G(k_i^0), u^i = t^i ⊕ G(k_i^1) ⊕ c.
    Buffer u(static_cast<size_t>(kKappa * tb) * sizeof(Block));
    ParallelFor(kKappa, kRowGrain, [&](int64_t lo, int64_t hi) {
      Block ui[kTileBlocks];
      for (int64_t i = lo; i < hi; ++i) {
        Block* row = rows_.data() + i * kRowStride;
        prgs0_[i].Fill(row, tb * sizeof(Block));
        prgs1_[i].Fill(ui, tb * sizeof(Block));
        for (int64_t b = 0; b < tb; ++b) ui[b] ^= row[b] ^ c[b];
        std::memcpy(u.data() + i * tb * sizeof(Block), ui, tb * sizeof(Block));
      }
    });
    VEIL_RETURN_IF_ERROR(ctx_->Send(peer_, UTag(tag_, seq_++), std::move(u)));
    TransposeTile(rows_.data(), tb, first, n, t);
  }
  return Status();
}

Status IknpCotReceiver::RandomOt(const uint64_t* choices, int64_t count, Block* m) {
  VEIL_RETURN_IF_ERROR(Extend(choices, count, m));
  HashCotReceiver(m, count, m);
  return Status();
}

// ---- both directions ----

StatusOr<IknpDuplex> SetupIknpDuplex(link::Context* ctx, size_t peer, std::string_view tag) {
  const size_t me = ctx->rank();
  // Direction "s<r>": party r is the COT sender.
  const std::string mine = std::string(tag) + "/s" + std::to_string(me);
  const std::string theirs = std::string(tag) + "/s" + std::to_string(peer);
  if (me < peer) {
    VEIL_ASSIGN_OR_RETURN(IknpCotSender sender, IknpCotSender::Setup(ctx, peer, mine));
    VEIL_ASSIGN_OR_RETURN(IknpCotReceiver receiver, IknpCotReceiver::Setup(ctx, peer, theirs));
    return IknpDuplex{std::move(sender), std::move(receiver)};
  }
  VEIL_ASSIGN_OR_RETURN(IknpCotReceiver receiver, IknpCotReceiver::Setup(ctx, peer, theirs));
  VEIL_ASSIGN_OR_RETURN(IknpCotSender sender, IknpCotSender::Setup(ctx, peer, mine));
  return IknpDuplex{std::move(sender), std::move(receiver)};
}

// ---- hashing ----

void HashCotSender(const Block* q, int64_t n, const Block& delta, Block* m0, Block* m1) {
  ParallelFor(n, kHashGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) m1[i] = q[i] ^ delta;
    crypto::CcrHash(m1 + lo, m1 + lo, static_cast<size_t>(hi - lo));
    crypto::CcrHash(q + lo, m0 + lo, static_cast<size_t>(hi - lo));
  });
}

void HashCotReceiver(const Block* t, int64_t n, Block* m) {
  ParallelFor(n, kHashGrain, [&](int64_t lo, int64_t hi) {
    crypto::CcrHash(t + lo, m + lo, static_cast<size_t>(hi - lo));
  });
}

}  // namespace veil::ot
