#include "veil/ot/silent_vole.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <vector>

#include "veil/base/parallel.h"
#include "veil/base/scratch.h"
#include "veil/ot/gf128.h"
#include "veil/ot/pprf.h"

namespace veil::ot {

namespace {

// The EA code's public seed ("veil/silent-vole" in ASCII): any fixed value independent of the
// noise works, the code is public.
constexpr crypto::Seed kCodeSeed = {'v', 'e', 'i', 'l', '/', 's', 'i', 'l',
                                    'e', 'n', 't', '-', 'v', 'o', 'l', 'e'};
constexpr int kBits = 128;
// Derandomisation corrections per message.
constexpr int64_t kCorrectionBlocks = int64_t{1} << 16;
constexpr int64_t kMulGrain = 8192;

StatusOr<EaCode> CodeFor(const VoleChunkShape& shape) {
  return EaCode::Create(shape.inputs(), shape.outputs, kVoleExpanderWeight, kCodeSeed);
}

// Chunks of at most max_chunk outputs, of equal size except the last (1 for m ≤ 0).
int64_t ChunkOutputs(int64_t m, int64_t max_chunk) {
  if (m <= 0) return 1;
  const int64_t chunks = (m + max_chunk - 1) / max_chunk;
  return (m + chunks - 1) / chunks;
}

Status CheckChunk(int64_t max_chunk_outputs) {
  if (max_chunk_outputs >= 1) return Status();
  return ParameterError("invalid_chunk_size",
                        "silent VOLE: max_chunk_outputs " + std::to_string(max_chunk_outputs));
}

std::string PprfTag(const std::string& tag, uint64_t seq) {
  return tag + "/pprf/" + std::to_string(seq);
}
std::string CorrectionTag(const std::string& tag, uint64_t seq) {
  return tag + "/derand/" + std::to_string(seq);
}

Status CheckSize(const Buffer& msg, size_t expected, const char* what, const std::string& peer) {
  if (msg.size() == expected) return Status();
  return AlgorithmError("unexpected_message_size",
                        std::string("silent VOLE: ") + std::to_string(msg.size()) + " bytes of " +
                            what + " from " + peer + ", expected " + std::to_string(expected));
}

// Makes the reused PPRF scratch hold at least n leaves (freeing a smaller one first).
void GrowLeaves(ScratchArray<Block>* leaves, int64_t n) {
  if (leaves->size() >= static_cast<size_t>(n)) return;
  *leaves = ScratchArray<Block>();
  *leaves = ScratchArray<Block>(static_cast<size_t>(n));
}

}  // namespace

VoleChunkShape VoleShapeFor(int64_t outputs) {
  VoleChunkShape s;
  s.outputs = outputs;
  const int64_t min_inputs = kVoleCodeExpansion * outputs;
  // The largest block size 2^d that still gives at least t blocks, then enough blocks for N.
  const int64_t per_tree = std::max<int64_t>(2, min_inputs / kVoleMinNoiseWeight);
  s.depth = std::min(kPprfMaxDepth,
                     static_cast<int>(std::bit_width(static_cast<uint64_t>(per_tree))) - 1);
  s.trees = std::max(kVoleMinNoiseWeight, (min_inputs + (int64_t{1} << s.depth) - 1) >> s.depth);
  return s;
}

// ---- sender ----

SilentVoleSender::SilentVoleSender(IknpCotSender iknp, link::Context* ctx, size_t peer,
                                   std::string tag, int64_t max_chunk_outputs)
    : iknp_(std::move(iknp)),
      ctx_(ctx),
      peer_(peer),
      tag_(std::move(tag)),
      max_chunk_outputs_(max_chunk_outputs),
      prg_(crypto::RandomSeed()) {}

StatusOr<SilentVoleSender> SilentVoleSender::Setup(link::Context* ctx, size_t peer, std::string tag,
                                                   int64_t max_chunk_outputs) {
  VEIL_RETURN_IF_ERROR(CheckChunk(max_chunk_outputs));
  VEIL_ASSIGN_OR_RETURN(IknpCotSender iknp, IknpCotSender::Setup(ctx, peer, tag + "/iknp"));
  return SilentVoleSender(std::move(iknp), ctx, peer, std::move(tag), max_chunk_outputs);
}

Status SilentVoleSender::Chunk(int64_t m, Block* b, ScratchArray<Block>* leaves) {
  const VoleChunkShape shape = VoleShapeFor(m);
  const int64_t t = shape.trees;
  const int d = shape.depth;
  VEIL_ASSIGN_OR_RETURN(EaCode code, CodeFor(shape));
  // COTs: 128 per base VOLE, then d per tree for the PPRF.
  std::vector<Block> q(static_cast<size_t>(t * (kBits + d)));
  VEIL_RETURN_IF_ERROR(iknp_.Extend(static_cast<int64_t>(q.size()), q.data()));
  const Block* pprf_q = q.data() + t * kBits;
  std::vector<Block> m0(static_cast<size_t>(t * d)), m1(m0.size());
  HashCotSender(pprf_q, t * d, delta(), m0.data(), m1.data());

  std::vector<Block> seeds(static_cast<size_t>(t)), level_sums(static_cast<size_t>(2 * t * d)),
      tree_sums(static_cast<size_t>(t));
  prg_.Fill(seeds.data(), seeds.size() * sizeof(Block));
  GrowLeaves(leaves, shape.inputs());
  PprfSenderExpand(seeds.data(), t, d, leaves->data(), level_sums.data(), tree_sums.data());

  // Message: per tree, d pairs (K_0 ⊕ m_0, K_1 ⊕ m_1), then τ_i for every tree.
  std::vector<Block> out(static_cast<size_t>(t * (2 * d + 1)));
  for (int64_t k = 0; k < t * d; ++k) {
    out[2 * k] = level_sums[2 * k] ^ m0[k];
    out[2 * k + 1] = level_sums[2 * k + 1] ^ m1[k];
  }
  for (int64_t i = 0; i < t; ++i) {
    out[2 * t * d + i] = tree_sums[i] ^ Gf128PackPowers(q.data() + i * kBits);
  }
  Buffer msg(out.size() * sizeof(Block));
  std::memcpy(msg.data(), out.data(), msg.size());
  VEIL_RETURN_IF_ERROR(ctx_->Send(peer_, PprfTag(tag_, seq_++), std::move(msg)));
  code.DualEncode(leaves->data(), b);
  return Status();
}

Status SilentVoleSender::SendRandom(int64_t m, Block* b) {
  const int64_t step = ChunkOutputs(m, max_chunk_outputs_);
  ScratchArray<Block> leaves;
  for (int64_t off = 0; off < m; off += step) {
    VEIL_RETURN_IF_ERROR(Chunk(std::min(step, m - off), b + off, &leaves));
  }
  return Status();
}

Status SilentVoleSender::Send(int64_t m, Block* b) {
  // Chunk by chunk, so that the receiver's random A never has to be held in full.
  const int64_t step = ChunkOutputs(m, max_chunk_outputs_);
  const Block d = delta();
  std::vector<Block> corr;
  ScratchArray<Block> leaves;
  for (int64_t off = 0; off < m; off += step) {
    const int64_t n = std::min(step, m - off);
    VEIL_RETURN_IF_ERROR(Chunk(n, b + off, &leaves));
    for (int64_t pos = off; pos < off + n; pos += kCorrectionBlocks) {
      const int64_t len = std::min(kCorrectionBlocks, off + n - pos);
      VEIL_ASSIGN_OR_RETURN(Buffer msg, ctx_->Recv(peer_, CorrectionTag(tag_, seq_++)));
      VEIL_RETURN_IF_ERROR(CheckSize(msg, static_cast<size_t>(len) * sizeof(Block), "corrections",
                                     ctx_->party_name(peer_)));
      corr.resize(static_cast<size_t>(len));
      std::memcpy(static_cast<void*>(corr.data()), msg.data(), msg.size());
      // B = B_r + D·Δ.
      ParallelFor(len, kMulGrain, [&](int64_t lo, int64_t hi) {
        Gf128MulConstAdd(corr.data() + lo, d, b + pos + lo, static_cast<size_t>(hi - lo));
      });
    }
  }
  return Status();
}

// ---- receiver ----

SilentVoleReceiver::SilentVoleReceiver(IknpCotReceiver iknp, link::Context* ctx, size_t peer,
                                       std::string tag, int64_t max_chunk_outputs)
    : iknp_(std::move(iknp)),
      ctx_(ctx),
      peer_(peer),
      tag_(std::move(tag)),
      max_chunk_outputs_(max_chunk_outputs),
      prg_(crypto::RandomSeed()) {}

StatusOr<SilentVoleReceiver> SilentVoleReceiver::Setup(link::Context* ctx, size_t peer,
                                                       std::string tag, int64_t max_chunk_outputs) {
  VEIL_RETURN_IF_ERROR(CheckChunk(max_chunk_outputs));
  VEIL_ASSIGN_OR_RETURN(IknpCotReceiver iknp, IknpCotReceiver::Setup(ctx, peer, tag + "/iknp"));
  return SilentVoleReceiver(std::move(iknp), ctx, peer, std::move(tag), max_chunk_outputs);
}

Status SilentVoleReceiver::Chunk(int64_t m, Block* a, Block* c, ScratchArray<Block>* leaves) {
  const VoleChunkShape shape = VoleShapeFor(m);
  const int64_t t = shape.trees;
  const int d = shape.depth;
  VEIL_ASSIGN_OR_RETURN(EaCode code, CodeFor(shape));
  // Noise: values y_i ≠ 0 and positions α_i < 2^d.
  std::vector<Block> y(static_cast<size_t>(t));
  std::vector<uint32_t> alpha(static_cast<size_t>(t));
  prg_.Fill(y.data(), y.size() * sizeof(Block));
  prg_.Fill(alpha.data(), alpha.size() * sizeof(uint32_t));
  for (int64_t i = 0; i < t; ++i) {
    while (y[i] == Block{}) prg_.Fill(&y[i], sizeof(Block));
    alpha[i] &= (uint32_t{1} << d) - 1;
  }
  // Choice bits: y_i's 128 bits (two words each), then per tree the d bits 1 − α_ℓ.
  const int64_t count = t * (kBits + d);
  std::vector<uint64_t> choices(static_cast<size_t>((count + 63) / 64));
  std::memcpy(choices.data(), y.data(), y.size() * sizeof(Block));
  for (int64_t i = 0; i < t; ++i) {
    for (int l = 0; l < d; ++l) {
      const int64_t j = t * kBits + i * d + l;
      const uint64_t bit = 1 - ((alpha[i] >> (d - 1 - l)) & 1);
      choices[j / 64] |= bit << (j % 64);
    }
  }
  std::vector<Block> tq(static_cast<size_t>(count));
  VEIL_RETURN_IF_ERROR(iknp_.Extend(choices.data(), count, tq.data()));
  Block* pprf_t = tq.data() + t * kBits;
  HashCotReceiver(pprf_t, t * d, pprf_t);

  VEIL_ASSIGN_OR_RETURN(Buffer msg, ctx_->Recv(peer_, PprfTag(tag_, seq_++)));
  VEIL_RETURN_IF_ERROR(CheckSize(msg, static_cast<size_t>(t * (2 * d + 1)) * sizeof(Block),
                                 "PPRF corrections", ctx_->party_name(peer_)));
  std::vector<Block> corr(static_cast<size_t>(t * (2 * d + 1)));
  std::memcpy(static_cast<void*>(corr.data()), msg.data(), msg.size());
  std::vector<Block> siblings(static_cast<size_t>(t * d));
  for (int64_t i = 0; i < t; ++i) {
    for (int l = 0; l < d; ++l) {
      const int64_t k = i * d + l;
      const int64_t side = 1 - ((alpha[i] >> (d - 1 - l)) & 1);
      siblings[k] = corr[2 * k + side] ^ pprf_t[k];
    }
  }
  GrowLeaves(leaves, shape.inputs());
  PprfReceiverExpand(alpha.data(), siblings.data(), t, d, leaves->data());
  const size_t width = size_t{1} << d;
  ParallelFor(t, 8, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      Block* tree = leaves->data() + static_cast<size_t>(i) * width;
      Block sum = corr[2 * t * d + i] ^ Gf128PackPowers(tq.data() + i * kBits);
      for (size_t j = 0; j < width; ++j) sum ^= tree[j];  // tree[α_i] is zero
      tree[alpha[i]] = sum;
    }
  });
  code.DualEncodeWithRegular(leaves->data(), c, alpha.data(), y.data(), t, d, a);
  return Status();
}

Status SilentVoleReceiver::ReceiveRandom(int64_t m, Block* a, Block* c) {
  const int64_t step = ChunkOutputs(m, max_chunk_outputs_);
  ScratchArray<Block> leaves;
  for (int64_t off = 0; off < m; off += step) {
    VEIL_RETURN_IF_ERROR(Chunk(std::min(step, m - off), a + off, c + off, &leaves));
  }
  return Status();
}

Status SilentVoleReceiver::Receive(int64_t m, const Block* a, Block* c) {
  const int64_t step = ChunkOutputs(m, max_chunk_outputs_);
  std::vector<Block> a_random;
  ScratchArray<Block> leaves;
  for (int64_t off = 0; off < m; off += step) {
    const int64_t n = std::min(step, m - off);
    a_random.resize(static_cast<size_t>(n));
    VEIL_RETURN_IF_ERROR(Chunk(n, a_random.data(), c + off, &leaves));
    // D = A_r ⊕ A.
    for (int64_t pos = 0; pos < n; pos += kCorrectionBlocks) {
      const int64_t len = std::min(kCorrectionBlocks, n - pos);
      Buffer msg(static_cast<size_t>(len) * sizeof(Block));
      for (int64_t j = 0; j < len; ++j) {
        const Block dj = a_random[pos + j] ^ a[off + pos + j];
        std::memcpy(msg.data() + j * sizeof(Block), &dj, sizeof dj);
      }
      VEIL_RETURN_IF_ERROR(ctx_->Send(peer_, CorrectionTag(tag_, seq_++), std::move(msg)));
    }
  }
  return Status();
}

}  // namespace veil::ot
