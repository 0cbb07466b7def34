#include "veil/psi/rr22_psi.h"

#include <optional>

#include <fmt/format.h>

#include "veil/base/bytes.h"
#include "veil/crypto/block.h"
#include "veil/crypto/cr_hash.h"
#include "veil/crypto/okvs.h"
#include "veil/crypto/prg.h"
#include "veil/ot/gf128.h"
#include "veil/ot/silent_vole.h"

namespace veil::psi {

namespace {

using crypto::Block;

constexpr char kName[] = "rr22";
// Seeds tried per bucket before the OKVS encoding is declared failed (each fails with
// probability ≤ 2^-40).
constexpr int kOkvsAttempts = 4;
// H1's domain separation from H2 ("rr22/H1" in ASCII).
constexpr Block kH1Domain{0x31482f3232727200ULL, 0};

// out[i] = H1(x[i]).
void H1(const Block* x, int64_t n, Block* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] ^ kH1Domain;
  crypto::CcrHash(out, out, static_cast<size_t>(n));
}

// The RR22 OPRF of one bucket (see rr22_psi.h); holds the receiver's or the sender's silent
// VOLE, set up once for all buckets.
class Rr22BucketOprf final : public BucketOprf {
 public:
  Rr22BucketOprf(link::Context& ctx, size_t peer) : ctx_(ctx), peer_(peer) {}

  Status Setup(bool receiver) {
    const std::string tag = std::string(kName) + "/vole";
    if (receiver) {
      VEIL_ASSIGN_OR_RETURN(auto r, ot::SilentVoleReceiver::Setup(&ctx_, peer_, tag));
      receiver_.emplace(std::move(r));
    } else {
      VEIL_ASSIGN_OR_RETURN(auto s, ot::SilentVoleSender::Setup(&ctx_, peer_, tag));
      sender_.emplace(std::move(s));
    }
    return Status();
  }

  int candidates() const override { return 1; }

  Status ReceiverEval(int64_t b, const std::vector<Block>& items,
                      std::vector<Block>* values) override {
    const auto n = static_cast<int64_t>(items.size());
    VEIL_ASSIGN_OR_RETURN(auto okvs,
                          crypto::Okvs::Create(crypto::OkvsParams::ForItems(items.size())));
    const auto m = static_cast<int64_t>(okvs.params().m);
    std::vector<Block> p(static_cast<size_t>(m));
    {
      std::vector<Block> h(items.size());
      H1(items.data(), n, h.data());
      crypto::Prg prg(crypto::RandomSeed());
      Status st;
      for (int attempt = 0; attempt < kOkvsAttempts; ++attempt) {
        prg.Fill(&seed_, sizeof seed_);
        st = okvs.Encode(items.data(), h.data(), items.size(), seed_, p.data(), &prg);
        if (st.ok() || st.code() != "okvs_encode_failed") break;
      }
      VEIL_RETURN_IF_ERROR(st);
    }
    {
      Buffer hdr;
      ByteWriter w(&hdr);
      w.U64(seed_);
      VEIL_RETURN_IF_ERROR(ctx_.Send(peer_, Tag(b), std::move(hdr)));
    }
    std::vector<Block> c(static_cast<size_t>(m));
    VEIL_RETURN_IF_ERROR(receiver_->Receive(m, p.data(), c.data()));
    std::vector<Block>().swap(p);
    values->resize(items.size());
    okvs.Decode(c.data(), items.data(), items.size(), seed_, values->data());
    crypto::CcrHash(values->data(), values->data(), values->size());
    return Status();
  }

  Status SenderPrepare(int64_t b, int64_t receiver_items) override {
    VEIL_ASSIGN_OR_RETURN(Buffer hdr, ctx_.Recv(peer_, Tag(b)));
    ByteReader hr(hdr);
    if (!hr.U64(&seed_)) {
      return AlgorithmError("bad_message", "malformed RR22 OKVS header from the receiver");
    }
    VEIL_ASSIGN_OR_RETURN(
        auto okvs,
        crypto::Okvs::Create(crypto::OkvsParams::ForItems(static_cast<size_t>(receiver_items))));
    okvs_.emplace(std::move(okvs));
    const auto m = static_cast<int64_t>(okvs_->params().m);
    b_.resize(static_cast<size_t>(m));
    return sender_->Send(m, b_.data());
  }

  void SenderEval(const Block* x, int64_t count, Block* out) override {
    okvs_->Decode(b_.data(), x, static_cast<size_t>(count), seed_, out);
    h_.resize(static_cast<size_t>(count));
    H1(x, count, h_.data());
    ot::Gf128MulConstAdd(h_.data(), sender_->delta(), out, static_cast<size_t>(count));
    crypto::CcrHash(out, out, static_cast<size_t>(count));
  }

 private:
  static std::string Tag(int64_t bucket) { return fmt::format("{}/{}/okvs", kName, bucket); }

  link::Context& ctx_;
  size_t peer_;
  std::optional<ot::SilentVoleReceiver> receiver_;
  std::optional<ot::SilentVoleSender> sender_;
  uint64_t seed_ = 0;                 // the current bucket's OKVS seed
  std::optional<crypto::Okvs> okvs_;  // sender: the current bucket's OKVS shape
  std::vector<Block> b_;              // sender: the current bucket's VOLE half B
  std::vector<Block> h_;              // sender: scratch
};

}  // namespace

StatusOr<BucketPsiOutput> RunRr22Psi(link::Context& ctx, const BucketPsiOptions& options,
                                     KeySource& keys, const std::vector<int64_t>& counts) {
  VEIL_RETURN_IF_ERROR(CheckBucketPsiArgs(ctx, options, counts, "RR22"));
  Rr22BucketOprf oprf(ctx, 1 - ctx.rank());
  VEIL_RETURN_IF_ERROR(oprf.Setup(ctx.rank() == options.receiver_rank));
  return RunBucketPsi(ctx, options, keys, counts, kName, oprf);
}

}  // namespace veil::psi
