#include "veil/ot/kkrt_ote.h"

#include <algorithm>
#include <cstring>

#include "veil/base/bytes.h"
#include "veil/base/exception.h"
#include "veil/base/parallel.h"
#include "veil/base/random.h"
#include "veil/crypto/cr_hash.h"
#include "veil/ot/base_ot.h"
#include "veil/ot/bit_matrix.h"
#include "veil/ot/extension_internal.h"

namespace veil::ot {

namespace {

constexpr int kW = kKkrtBaseOts;
constexpr int kG = kKkrtCodeBlocks;
// Tiles of 128 column blocks (16384 instances, one message of 1 MiB), as in iknp.cc.
using internal::KeyedPrg;
using internal::kRowStride;
using internal::kTileBlocks;
using internal::UTag;
constexpr int64_t kRowGrain = 32;
constexpr int64_t kColumnGrain = 4;
// Items per chunk of the code and hash loops (each chunk sets up its own AES contexts).
constexpr int64_t kItemGrain = 2048;

bool SBit(const std::array<Block, kG>& s, int i) { return s[i / 128].bit(i % 128); }

// Transposes the tile's w × (128·tb) bit matrix (row i at rows + i·kRowStride) into per-instance
// rows of 4 blocks: out[4k + g] for instances k < n of the tile.
void TilesToInstances(const Block* rows, int64_t tb, int64_t n, Block* out) {
  ParallelFor(tb, kColumnGrain, [&](int64_t lo, int64_t hi) {
    Block tmp[128];
    for (int64_t b = lo; b < hi; ++b) {
      const int64_t len = std::min<int64_t>(128, n - b * 128);
      if (len <= 0) break;
      for (int g = 0; g < kG; ++g) {
        Transpose128(rows + static_cast<int64_t>(128 * g) * kRowStride + b, kRowStride, tmp);
        for (int64_t k = 0; k < len; ++k) out[(b * 128 + k) * kG + g] = tmp[k];
      }
    }
  });
}

}  // namespace

void KkrtCode(const Block& key, const Block* in, int64_t n, Block* out) {
  ParallelFor(n, kItemGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t k = lo; k < hi; ++k) {
      for (int g = 0; g < kG; ++g) out[k * kG + g] = in[k] ^ Block { static_cast<uint64_t>(g), 0 };
    }
    crypto::AesEcb(key, out + lo * kG, out + lo * kG, static_cast<size_t>((hi - lo) * kG));
  });
}

void KkrtHash(const uint64_t* index, const uint32_t* tweak, const Block* rows, int64_t n,
              Block* out) {
  ParallelFor(n, kItemGrain, [&](int64_t lo, int64_t hi) {
    const auto len = static_cast<size_t>(hi - lo);
    Block* h = out + lo;
    for (int64_t k = lo; k < hi; ++k) out[k] = Block{index[k], tweak[k]};
    std::vector<Block> z(len);
    for (int g = 0; g < kG; ++g) {
      for (size_t k = 0; k < len; ++k) z[k] = h[k] ^ rows[(lo + static_cast<int64_t>(k)) * kG + g];
      crypto::CcrHash(z.data(), h, len);
    }
  });
}

// ---- sender ----

StatusOr<KkrtOprfSender> KkrtOprfSender::Setup(link::Context* ctx, size_t peer, std::string tag) {
  KkrtOprfSender s;
  s.ctx_ = ctx;
  s.peer_ = peer;
  s.tag_ = std::move(tag);
  RandomBytes(s.s_.data(), sizeof s.s_);
  RandomBytes(&s.code_key_, sizeof s.code_key_);
  std::vector<bool> choices(kW);
  for (int i = 0; i < kW; ++i) choices[i] = SBit(s.s_, i);
  VEIL_ASSIGN_OR_RETURN(std::vector<Block> keys,
                        BaseOtReceive(*ctx, peer, choices, s.tag_ + "/base"));
  for (const Block& k : keys) s.prgs_.push_back(KeyedPrg(k));
  Buffer code(sizeof(Block));
  std::memcpy(code.data(), &s.code_key_, sizeof(Block));
  VEIL_RETURN_IF_ERROR(ctx->Send(peer, s.tag_ + "/code", std::move(code)));
  return s;
}

Status KkrtOprfSender::Extend(int64_t count) {
  base_ += static_cast<uint64_t>(count_);
  count_ = std::max<int64_t>(0, count);
  const int64_t nblk = (count_ + 127) / 128;
  q_.assign(static_cast<size_t>(count_ * kG), Block{});
  rows_.resize(static_cast<size_t>(kW * kRowStride));
  for (int64_t tile = 0; tile < nblk; tile += kTileBlocks) {
    const int64_t tb = std::min(kTileBlocks, nblk - tile);
    const int64_t first = tile * 128, n = std::min(tb * 128, count_ - first);
    const size_t bytes = static_cast<size_t>(kW * tb) * sizeof(Block);
    VEIL_ASSIGN_OR_RETURN(Buffer u, ctx_->Recv(peer_, UTag(tag_, seq_++)));
    if (u.size() != bytes) {
      return AlgorithmError("unexpected_message_size",
                            "KKRT: " + std::to_string(u.size()) + " bytes of u from " +
                                ctx_->party_name(peer_) + ", expected " + std::to_string(bytes));
    }
    // q^i = G(k_i^{s_i}) ⊕ s_i·u^i.
    ParallelFor(kW, kRowGrain, [&](int64_t lo, int64_t hi) {
      Block ui[kTileBlocks];
      for (int64_t i = lo; i < hi; ++i) {
        Block* row = rows_.data() + i * kRowStride;
        prgs_[i].Fill(row, tb * sizeof(Block));
        if (!SBit(s_, static_cast<int>(i))) continue;
        std::memcpy(static_cast<void*>(ui), u.data() + i * tb * sizeof(Block), tb * sizeof(Block));
        for (int64_t b = 0; b < tb; ++b) row[b] ^= ui[b];
      }
    });
    TilesToInstances(rows_.data(), tb, n, q_.data() + first * kG);
  }
  return Status();
}

void KkrtOprfSender::Mask(const Block* x, int64_t n, Block* masked) const {
  KkrtCode(code_key_, x, n, masked);
  for (int64_t k = 0; k < n; ++k) {
    for (int g = 0; g < kG; ++g) masked[k * kG + g] = masked[k * kG + g] & s_[g];
  }
}

void KkrtOprfSender::Evaluate(const int64_t* slot, const uint32_t* tweak, const Block* masked,
                              int64_t n, Block* out, int64_t uses_per_mask) const {
  ParallelFor(n, kItemGrain, [&](int64_t lo, int64_t hi) {
    const int64_t len = hi - lo;
    std::vector<Block> rows(static_cast<size_t>(len * kG));
    std::vector<uint64_t> index(static_cast<size_t>(len));
    for (int64_t k = 0; k < len; ++k) {
      const int64_t j = slot[lo + k];
      VEIL_ENFORCE(j >= 0 && j < count_, InternalError, "kkrt_slot",
                   "OPRF slot outside the current batch");
      index[k] = base_ + static_cast<uint64_t>(j);
      const Block* mk = masked + ((lo + k) / uses_per_mask) * kG;
      for (int g = 0; g < kG; ++g) rows[k * kG + g] = q_[j * kG + g] ^ mk[g];
    }
    KkrtHash(index.data(), tweak + lo, rows.data(), len, out + lo);
  });
}

// ---- receiver ----

StatusOr<KkrtOprfReceiver> KkrtOprfReceiver::Setup(link::Context* ctx, size_t peer,
                                                   std::string tag) {
  KkrtOprfReceiver r;
  r.ctx_ = ctx;
  r.peer_ = peer;
  r.tag_ = std::move(tag);
  VEIL_ASSIGN_OR_RETURN(auto keys, BaseOtSend(*ctx, peer, kW, r.tag_ + "/base"));
  for (const auto& pair : keys) {
    r.prgs0_.push_back(KeyedPrg(pair[0]));
    r.prgs1_.push_back(KeyedPrg(pair[1]));
  }
  VEIL_ASSIGN_OR_RETURN(Buffer code, ctx->Recv(peer, r.tag_ + "/code"));
  if (code.size() != sizeof(Block)) {
    return AlgorithmError("unexpected_message_size",
                          "KKRT: malformed code key from " + ctx->party_name(peer));
  }
  std::memcpy(&r.code_key_, code.data(), sizeof(Block));
  return r;
}

Status KkrtOprfReceiver::Extend(const Block* x, const uint32_t* tweak, int64_t count, Block* out) {
  const int64_t nblk = count <= 0 ? 0 : (count + 127) / 128;
  rows_.resize(static_cast<size_t>(kW * kRowStride));
  std::vector<Block> code(static_cast<size_t>(kTileBlocks * 128 * kG));
  std::vector<Block> columns(static_cast<size_t>(kW * kTileBlocks));
  std::vector<uint64_t> index(static_cast<size_t>(kTileBlocks * 128));
  for (int64_t tile = 0; tile < nblk; tile += kTileBlocks) {
    const int64_t tb = std::min(kTileBlocks, nblk - tile);
    const int64_t first = tile * 128, n = std::min(tb * 128, count - first);
    // Code words of this tile's instances (zero past `count`), then as columns c^i (tb blocks
    // each): Transpose128 of the instances' g-th blocks yields columns 128g … 128g+127.
    std::fill(code.begin(), code.begin() + tb * 128 * kG, Block{});
    KkrtCode(code_key_, x + first, n, code.data());
    ParallelFor(tb, kColumnGrain, [&](int64_t lo, int64_t hi) {
      Block tmp[128];
      for (int64_t b = lo; b < hi; ++b) {
        for (int g = 0; g < kG; ++g) {
          Transpose128(code.data() + b * 128 * kG + g, kG, tmp);
          for (int c = 0; c < 128; ++c) columns[(128 * g + c) * tb + b] = tmp[c];
        }
      }
    });
    // t^i = G(k_i^0), u^i = t^i ⊕ G(k_i^1) ⊕ c^i.
    Buffer u(static_cast<size_t>(kW * tb) * sizeof(Block));
    ParallelFor(kW, kRowGrain, [&](int64_t lo, int64_t hi) {
      Block ui[kTileBlocks];
      for (int64_t i = lo; i < hi; ++i) {
        Block* row = rows_.data() + i * kRowStride;
        prgs0_[i].Fill(row, tb * sizeof(Block));
        prgs1_[i].Fill(ui, tb * sizeof(Block));
        for (int64_t b = 0; b < tb; ++b) ui[b] ^= row[b] ^ columns[i * tb + b];
        std::memcpy(u.data() + i * tb * sizeof(Block), ui, tb * sizeof(Block));
      }
    });
    VEIL_RETURN_IF_ERROR(ctx_->Send(peer_, UTag(tag_, seq_++), std::move(u)));
    // t_j rows (reusing the code buffer), hashed to the outputs.
    TilesToInstances(rows_.data(), tb, n, code.data());
    for (int64_t k = 0; k < n; ++k) index[k] = base_ + static_cast<uint64_t>(first + k);
    KkrtHash(index.data(), tweak + first, code.data(), n, out + first);
  }
  base_ += static_cast<uint64_t>(std::max<int64_t>(0, count));
  return Status();
}

}  // namespace veil::ot
