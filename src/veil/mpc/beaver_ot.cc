#include "veil/mpc/beaver_ot.h"

#include <algorithm>
#include <cstring>

#include "veil/base/exception.h"
#include "veil/base/parallel.h"
#include "veil/crypto/cr_hash.h"
#include "veil/mpc/shape_ops.h"
#include "veil/mpc/wire.h"

namespace veil::mpc {

namespace {

using crypto::Block;

// Chunk bounds of one cross product: OTs per chunk and bytes of τ per chunk.
constexpr int64_t kMaxOtsPerChunk = int64_t{1} << 17;
constexpr int64_t kMaxTauBytesPerChunk = int64_t{16} << 20;
// Ring elements of work per ParallelFor task in the τ / share loops.
constexpr int64_t kCrossGrainElements = 8192;

// Blocks of hash output per OT for a vector of `cols` ring elements.
template <RingElement T>
int64_t BlocksPerOt(int64_t cols) {
  return static_cast<int64_t>((static_cast<size_t>(cols) * sizeof(T) + sizeof(Block) - 1) /
                              sizeof(Block));
}

// Counter-mode expansion of each OT's hash h_j to `per_ot` blocks: H(h_j ⊕ l), l < per_ot.
std::vector<Block> ExpandHashes(const std::vector<Block>& h, int64_t n, int64_t per_ot) {
  std::vector<Block> out(static_cast<size_t>(n * per_ot));
  ParallelFor(n, std::max<int64_t>(1, 4096 / per_ot), [&](int64_t lo, int64_t hi) {
    for (int64_t j = lo; j < hi; ++j) {
      for (int64_t l = 0; l < per_ot; ++l) {
        out[j * per_ot + l] = h[j] ^ Block { static_cast<uint64_t>(l), 0 };
      }
    }
    crypto::CcrHash(out.data() + lo * per_ot, out.data() + lo * per_ot,
                    static_cast<size_t>((hi - lo) * per_ot));
  });
  return out;
}

// Element c of the vector stored in the blocks at `base`.
template <RingElement T>
inline T LoadVector(const Block* base, int64_t c) {
  T v;
  std::memcpy(&v, reinterpret_cast<const unsigned char*>(base) + c * sizeof(T), sizeof(T));
  return v;
}

inline bool BitAt(const Words& w, int64_t j) { return (w[j >> 6] >> (j & 63)) & 1; }

template <RingElement T>
Tensor<T> RandomTensor(Prg& prg, const Shape& shape) {
  Tensor<T> t = Tensor<T>::Uninitialized(shape);
  prg.FillRing(t.data(), t.numel());
  return t;
}

}  // namespace

template <RingElement T>
StatusOr<std::unique_ptr<OtBeaver<T>>> OtBeaver<T>::Create(link::Context* ctx,
                                                           const PartySeeds& seeds) {
  if (ctx->world_size() != 2) {
    return DeviceConfigError("bad_world_size",
                             "OT-generated Beaver triples need exactly 2 "
                             "parties, got " +
                                 std::to_string(ctx->world_size()));
  }
  VEIL_ASSIGN_OR_RETURN(ot::IknpDuplex iknp,
                        ot::SetupIknpDuplex(ctx, 1 - ctx->rank(), "mpc/ot/iknp"));
  return std::unique_ptr<OtBeaver<T>>(new OtBeaver<T>(ctx, seeds, std::move(iknp)));
}

template <RingElement T>
OtBeaver<T>::OtBeaver(link::Context* ctx, const PartySeeds& seeds, ot::IknpDuplex iknp)
    : ctx_(ctx),
      peer_(1 - ctx->rank()),
      own_(seeds.self, PrgStream::kBeaver),
      sender_(std::move(iknp.sender)),
      receiver_(std::move(iknp.receiver)) {}

template <RingElement T>
std::string OtBeaver<T>::NextTag() {
  return "mpc/ot/tau/" + std::to_string(seq_++);
}

template <RingElement T>
void OtBeaver<T>::Cross(const CrossDims& d, const Words& x_bits, const T* y, T* z_recv, T* z_send) {
  const int64_t ots_per_row = d.inner * d.bits;
  const int64_t per_ot = BlocksPerOt<T>(d.cols);
  const int64_t tau_per_row = ots_per_row * d.cols;
  int64_t chunk_rows = std::max<int64_t>(
      1, std::min(kMaxOtsPerChunk / ots_per_row,
                  kMaxTauBytesPerChunk / (tau_per_row * static_cast<int64_t>(sizeof(T)))));
  // One-bit choices: chunks start on word boundaries of the packed choice bits.
  if (d.bits == 1) chunk_rows = std::max<int64_t>(64, chunk_rows / 64 * 64);
  const int64_t row_grain = std::max<int64_t>(1, kCrossGrainElements / tau_per_row);
  const Block delta = sender_.delta();
  std::vector<Block> t, q, h1;
  for (int64_t r0 = 0; r0 < d.rows; r0 += chunk_rows) {
    const int64_t nr = std::min(chunk_rows, d.rows - r0);
    const int64_t n = nr * ots_per_row, first = r0 * ots_per_row;
    // Receiver, step 1: extend with this chunk's choice bits (sends u; does not wait).
    Words choices(WordsForBits(n));
    std::copy(x_bits.begin() + first / 64, x_bits.begin() + first / 64 + choices.size(),
              choices.begin());
    t.resize(n);
    ThrowIfError(receiver_.Extend(choices.data(), n, t.data()));
    // Sender: τ = m0 − m1 + y per OT, own share −m0·2^i.
    q.resize(n);
    h1.resize(n);
    ThrowIfError(sender_.Extend(n, q.data()));
    ot::HashCotSender(q.data(), n, delta, q.data(), h1.data());
    std::vector<Block> x0, x1;
    const Block* e0 = q.data();
    const Block* e1 = h1.data();
    if (per_ot > 1) {
      x0 = ExpandHashes(q, n, per_ot);
      x1 = ExpandHashes(h1, n, per_ot);
      e0 = x0.data();
      e1 = x1.data();
    }
    Buffer tau(static_cast<size_t>(n * d.cols) * sizeof(T));
    uint8_t* tp = tau.data();
    ParallelFor(nr, row_grain, [&](int64_t lo, int64_t hi) {
      for (int64_t rr = lo; rr < hi; ++rr) {
        const int64_t r = r0 + rr;
        T* zs = z_send + r * d.cols;
        for (int64_t p = 0; p < d.inner; ++p) {
          const T* yv = y + (d.elementwise ? r : p) * d.cols;
          for (int i = 0; i < d.bits; ++i) {
            const int64_t j = (rr * d.inner + p) * d.bits + i;
            for (int64_t c = 0; c < d.cols; ++c) {
              const T m0 = LoadVector<T>(e0 + j * per_ot, c);
              const T m1 = LoadVector<T>(e1 + j * per_ot, c);
              StoreRing<T>(tp, j * d.cols + c, m0 - m1 + yv[c]);
              zs[c] -= m0 << i;
            }
          }
        }
      }
    });
    const std::string tag = NextTag();
    ThrowIfError(ctx_->Send(peer_, tag, std::move(tau)));
    // Receiver, step 2: H(t) + b·τ.
    ot::HashCotReceiver(t.data(), n, t.data());
    std::vector<Block> xt;
    const Block* et = t.data();
    if (per_ot > 1) {
      xt = ExpandHashes(t, n, per_ot);
      et = xt.data();
    }
    const Buffer theirs = ValueOrThrow(ctx_->Recv(peer_, tag));
    VEIL_ENFORCE(
        theirs.size() == static_cast<size_t>(n * d.cols) * sizeof(T), AlgorithmError,
        "unexpected_message_size",
        "OT triple correction '" + tag + "' has " + std::to_string(theirs.size()) + " bytes");
    const uint8_t* up = theirs.data();
    ParallelFor(nr, row_grain, [&](int64_t lo, int64_t hi) {
      for (int64_t rr = lo; rr < hi; ++rr) {
        T* zr = z_recv + (r0 + rr) * d.cols;
        for (int64_t p = 0; p < d.inner; ++p) {
          for (int i = 0; i < d.bits; ++i) {
            const int64_t j = (rr * d.inner + p) * d.bits + i;
            const bool b = BitAt(x_bits, first + j);
            for (int64_t c = 0; c < d.cols; ++c) {
              T m = LoadVector<T>(et + j * per_ot, c);
              if (b) m += LoadRing<T>(up, j * d.cols + c);
              zr[c] += m << i;
            }
          }
        }
      }
    });
  }
}

template <RingElement T>
typename OtBeaver<T>::Triple OtBeaver<T>::Mul(const Shape& shape) {
  Triple t{RandomTensor<T>(own_, shape), RandomTensor<T>(own_, shape), Tensor<T>()};
  const int64_t n = NumElements(shape);
  // c_i = a_i·b_i + [a_{1−i}·b_i] (receiver, choices b_i) + [a_i·b_{1−i}] (sender, a_i).
  t.c = mpc::Mul(t.a, t.b);
  Cross(CrossDims{n, 1, 1, RingTraits<T>::kBits, true}, ElementsToWords(t.b), t.a.data(),
        t.c.data(), t.c.data());
  return t;
}

template <RingElement T>
typename OtBeaver<T>::Triple OtBeaver<T>::Dot(int64_t m, int64_t k, int64_t n) {
  Triple t{RandomTensor<T>(own_, {m, k}), RandomTensor<T>(own_, {k, n}), Tensor<T>({m, n})};
  constexpr int kBits = RingTraits<T>::kBits;
  if (n < m) {
    // Fewer OTs with B's entries as choices: Cᵀ = Bᵀ·Aᵀ, receiver rows = Bᵀ (n x k), sender
    // vectors = rows of Aᵀ (k x m).
    const Tensor<T> bt = Transpose(t.b), at = Transpose(t.a);
    Tensor<T> zt({n, m});
    Cross(CrossDims{n, k, m, kBits, false}, ElementsToWords(bt), at.data(), zt.data(), zt.data());
    t.c = Transpose(zt);
  } else {
    Cross(CrossDims{m, k, n, kBits, false}, ElementsToWords(t.a), t.b.data(), t.c.data(),
          t.c.data());
  }
  MatMulAccumulate(t.a.data(), t.b.data(), t.c.data(), m, k, n);
  return t;
}

template <RingElement T>
typename OtBeaver<T>::BitTriple OtBeaver<T>::And(int64_t words) {
  // Triple bit j: b_j = this party's random choice in the OTs it receives, a_j = x0 ⊕ x1 of the
  // random OT it sends, c_j = a_j·b_j ⊕ x0 ⊕ (its received message).
  BitTriple out{Words(words), Words(words), Words(words)};
  const int64_t chunk_words = kMaxOtsPerChunk / 64;
  std::vector<Block> m0, m1, mc;
  for (int64_t w0 = 0; w0 < words; w0 += chunk_words) {
    const int64_t nw = std::min(chunk_words, words - w0), n = nw * 64;
    own_.Fill(out.b.data() + w0, static_cast<size_t>(nw) * sizeof(uint64_t));
    mc.resize(n);
    ThrowIfError(receiver_.RandomOt(out.b.data() + w0, n, mc.data()));
    m0.resize(n);
    m1.resize(n);
    ThrowIfError(sender_.RandomOt(n, m0.data(), m1.data()));
    ParallelFor(nw, kWordGrain / 64, [&](int64_t lo, int64_t hi) {
      for (int64_t w = lo; w < hi; ++w) {
        uint64_t x0 = 0, x1 = 0, xc = 0;
        for (int bit = 0; bit < 64; ++bit) {
          const int64_t j = w * 64 + bit;
          x0 |= (m0[j].lo & 1) << bit;
          x1 |= (m1[j].lo & 1) << bit;
          xc |= (mc[j].lo & 1) << bit;
        }
        const uint64_t a = x0 ^ x1, b = out.b[w0 + w];
        out.a[w0 + w] = a;
        out.c[w0 + w] = (a & b) ^ x0 ^ xc;
      }
    });
  }
  return out;
}

template <RingElement T>
typename OtBeaver<T>::RandomBits OtBeaver<T>::Bits(const Shape& shape) {
  const int64_t n = NumElements(shape);
  RandomBits rb{Words(WordsForBits(n)), Tensor<T>()};
  own_.Fill(rb.bits.data(), rb.bits.size() * sizeof(uint64_t));
  if (n % 64 != 0) rb.bits.back() &= (uint64_t{1} << (n % 64)) - 1;
  // [r_0·r_1] by Gilboa with one-bit choices. Elements [0, h) use the direction in which rank 1
  // receives, [h, 2h) the other one (padding past n is zero).
  const int64_t h = (n + 1) / 2;
  const bool rank0 = ctx_->rank() == 0;
  const int64_t recv_off = rank0 ? h : 0, send_off = rank0 ? 0 : h;
  Words choices(WordsForBits(h));
  Tensor<T> y = Tensor<T>({h});
  for (int64_t e = 0; e < h; ++e) {
    if (recv_off + e < n && BitAt(rb.bits, recv_off + e))
      choices[e >> 6] |= uint64_t{1} << (e & 63);
    if (send_off + e < n) y[e] = static_cast<T>(BitAt(rb.bits, send_off + e));
  }
  Tensor<T> z({2 * h});
  Cross(CrossDims{h, 1, 1, 1, true}, choices, y.data(), z.data() + recv_off, z.data() + send_off);
  // r = r_0 + r_1 − 2·r_0·r_1.
  rb.arith = Tensor<T>::Uninitialized(shape);
  for (int64_t e = 0; e < n; ++e) {
    rb.arith[e] = static_cast<T>(BitAt(rb.bits, e)) - 2 * z[e];
  }
  return rb;
}

template class OtBeaver<uint64_t>;
template class OtBeaver<uint128_t>;

}  // namespace veil::mpc
