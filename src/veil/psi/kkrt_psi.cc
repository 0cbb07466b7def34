#include "veil/psi/kkrt_psi.h"

#include <optional>

#include <fmt/format.h>

#include "veil/base/bytes.h"
#include "veil/crypto/block.h"
#include "veil/ot/kkrt_ote.h"
#include "veil/psi/cuckoo.h"

namespace veil::psi {

namespace {

using crypto::Block;

constexpr char kName[] = "kkrt";

// The KKRT OPRF of one bucket (see kkrt_psi.h); holds the receiver's or the sender's OPRF
// extension, set up once for all buckets.
class KkrtBucketOprf final : public BucketOprf {
 public:
  KkrtBucketOprf(link::Context& ctx, size_t peer) : ctx_(ctx), peer_(peer) {}

  Status Setup(bool receiver) {
    const std::string tag = std::string(kName) + "/oprf";
    if (receiver) {
      VEIL_ASSIGN_OR_RETURN(auto r, ot::KkrtOprfReceiver::Setup(&ctx_, peer_, tag));
      receiver_.emplace(std::move(r));
    } else {
      VEIL_ASSIGN_OR_RETURN(auto s, ot::KkrtOprfSender::Setup(&ctx_, peer_, tag));
      sender_.emplace(std::move(s));
    }
    return Status();
  }

  int candidates() const override { return kCuckooHashes; }

  Status ReceiverEval(int64_t b, const std::vector<Block>& items,
                      std::vector<Block>* values) override {
    VEIL_ASSIGN_OR_RETURN(CuckooTable table, BuildCuckooTable(items, static_cast<uint64_t>(b)));
    {
      Buffer hdr;
      ByteWriter w(&hdr);
      w.U64(table.seed());
      VEIL_RETURN_IF_ERROR(ctx_.Send(peer_, Tag(b), std::move(hdr)));
    }
    // One OPRF instance per bin: input x̂ of its item (zero for an empty bin), tweak = hash index.
    const int64_t bins = table.bins();
    std::vector<Block> in(static_cast<size_t>(bins));
    std::vector<uint32_t> tweak(static_cast<size_t>(bins), 0);
    for (int64_t j = 0; j < bins; ++j) {
      const int64_t it = table.item(j);
      if (it == CuckooTable::kEmpty) continue;
      in[j] = items[it];
      tweak[j] = static_cast<uint32_t>(table.hash_index(j));
    }
    std::vector<Block> outputs(static_cast<size_t>(bins));
    VEIL_RETURN_IF_ERROR(receiver_->Extend(in.data(), tweak.data(), bins, outputs.data()));
    values->assign(items.size(), Block{});
    for (int64_t j = 0; j < bins; ++j) {
      const int64_t it = table.item(j);
      if (it != CuckooTable::kEmpty) (*values)[it] = outputs[j];
    }
    return Status();
  }

  Status SenderPrepare(int64_t b, int64_t receiver_items) override {
    VEIL_ASSIGN_OR_RETURN(Buffer hdr, ctx_.Recv(peer_, Tag(b)));
    ByteReader hr(hdr);
    if (!hr.U64(&seed_)) {
      return AlgorithmError("bad_message", "malformed KKRT cuckoo header from the receiver");
    }
    bins_ = CuckooBins(receiver_items);
    return sender_->Extend(bins_);
  }

  void SenderEval(const Block* x, int64_t count, Block* out) override {
    masked_.resize(static_cast<size_t>(count * ot::kKkrtCodeBlocks));
    sender_->Mask(x, count, masked_.data());
    // Instance e·3 + i evaluates row e at bin h_i(x̂) with tweak i.
    slot_.resize(static_cast<size_t>(kCuckooHashes * count));
    tweak_.resize(slot_.size());
    for (int64_t e = 0; e < count; ++e) {
      for (int i = 0; i < kCuckooHashes; ++i) {
        slot_[e * kCuckooHashes + i] = CuckooBin(x[e], seed_, i, bins_);
        tweak_[e * kCuckooHashes + i] = static_cast<uint32_t>(i);
      }
    }
    sender_->Evaluate(slot_.data(), tweak_.data(), masked_.data(), kCuckooHashes * count, out,
                      kCuckooHashes);
  }

 private:
  static std::string Tag(int64_t bucket) { return fmt::format("{}/{}/cuckoo", kName, bucket); }

  link::Context& ctx_;
  size_t peer_;
  std::optional<ot::KkrtOprfReceiver> receiver_;
  std::optional<ot::KkrtOprfSender> sender_;
  // Sender: the current bucket's cuckoo table shape, and scratch.
  uint64_t seed_ = 0;
  int64_t bins_ = 0;
  std::vector<Block> masked_;
  std::vector<int64_t> slot_;
  std::vector<uint32_t> tweak_;
};

}  // namespace

StatusOr<BucketPsiOutput> RunKkrtPsi(link::Context& ctx, const BucketPsiOptions& options,
                                     KeySource& keys, const std::vector<int64_t>& counts) {
  VEIL_RETURN_IF_ERROR(CheckBucketPsiArgs(ctx, options, counts, "KKRT"));
  KkrtBucketOprf oprf(ctx, 1 - ctx.rank());
  VEIL_RETURN_IF_ERROR(oprf.Setup(ctx.rank() == options.receiver_rank));
  return RunBucketPsi(ctx, options, keys, counts, kName, oprf);
}

}  // namespace veil::psi
