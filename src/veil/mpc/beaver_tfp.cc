#include "veil/mpc/beaver_tfp.h"

#include <algorithm>

namespace veil::mpc {

namespace {

// Elements per chunk when rank 0 re-expands the other parties' shares (64 KiB of FM64).
constexpr int64_t kDealerChunk = 8192;
static_assert(kDealerChunk % 2 == 0, "chunk offsets must be whole PRG blocks");

template <RingElement T>
Tensor<T> RandomTensor(Prg& prg, const Shape& shape) {
  Tensor<T> t = Tensor<T>::Uninitialized(shape);
  prg.FillRing(t.data(), t.numel());
  return t;
}

Words RandomWords(Prg& prg, int64_t words) {
  Words w(words);
  prg.Fill(w.data(), w.size() * sizeof(uint64_t));
  return w;
}

int64_t ChunkCount(int64_t n) { return (n + kDealerChunk - 1) / kDealerChunk; }

// Elements [off, off + len) of object `object_index` among consecutive fills of `object_blocks`
// blocks each, which a peer drew starting at block `base`. off·sizeof(E) is a multiple of the
// PRG block size because kDealerChunk is even.
template <typename E>
void ReadPeerChunk(const Prg& prg, uint64_t base, uint64_t object_blocks, int object_index,
                   int64_t off, int64_t len, E* out) {
  prg.FillAt(base + object_index * object_blocks + off * sizeof(E) / kPrgBlockBytes, out,
             len * sizeof(E));
}

Prg OwnStream(size_t rank, const PartySeeds& seeds) {
  return rank == 0 ? Prg(seeds.self, PrgStream::kPrivate) : Prg(seeds.pair[0], PrgStream::kBeaver);
}

}  // namespace

template <RingElement T>
TrustedFirstPartyBeaver<T>::TrustedFirstPartyBeaver(size_t rank, size_t world_size,
                                                    const PartySeeds& seeds)
    : rank_(rank), world_size_(world_size), own_(OwnStream(rank, seeds)) {
  if (dealer()) {
    for (size_t j = 1; j < world_size; ++j) peers_.emplace_back(seeds.pair[j], PrgStream::kBeaver);
  }
}

template <RingElement T>
std::vector<uint64_t> TrustedFirstPartyBeaver<T>::ReservePeerBlocks(uint64_t blocks) {
  std::vector<uint64_t> bases;
  for (Prg& peer : peers_) {
    bases.push_back(peer.position());
    peer.Skip(blocks);
  }
  return bases;
}

template <RingElement T>
typename TrustedFirstPartyBeaver<T>::Triple TrustedFirstPartyBeaver<T>::Mul(const Shape& shape) {
  Triple t{RandomTensor<T>(own_, shape), RandomTensor<T>(own_, shape), Tensor<T>()};
  if (!dealer()) {
    t.c = RandomTensor<T>(own_, shape);
    return t;
  }
  // Each peer drew a_j, b_j, c_j with three consecutive fills; re-expand them chunk by chunk:
  // c_0 = (Σ a)(Σ b) − Σ_{j>0} c_j.
  const int64_t n = NumElements(shape);
  const uint64_t object = PrgBlocks(n * sizeof(T));
  const std::vector<uint64_t> bases = ReservePeerBlocks(3 * object);
  t.c = Tensor<T>::Uninitialized(shape);
  const T *a0 = t.a.data(), *b0 = t.b.data();
  T* c0 = t.c.data();
  ParallelFor(ChunkCount(n), 1, [&](int64_t lo, int64_t hi) {
    std::vector<T> a(kDealerChunk), b(kDealerChunk), c(kDealerChunk), tmp(kDealerChunk);
    for (int64_t chunk = lo; chunk < hi; ++chunk) {
      const int64_t off = chunk * kDealerChunk, len = std::min(kDealerChunk, n - off);
      std::copy(a0 + off, a0 + off + len, a.begin());
      std::copy(b0 + off, b0 + off + len, b.begin());
      std::fill(c.begin(), c.end(), T{0});
      for (size_t j = 0; j < peers_.size(); ++j) {
        const auto add = [&](int object_index, std::vector<T>& acc) {
          ReadPeerChunk(peers_[j], bases[j], object, object_index, off, len, tmp.data());
          for (int64_t i = 0; i < len; ++i) acc[i] += tmp[i];
        };
        add(0, a);
        add(1, b);
        add(2, c);
      }
      for (int64_t i = 0; i < len; ++i) c0[off + i] = a[i] * b[i] - c[i];
    }
  });
  return t;
}

template <RingElement T>
typename TrustedFirstPartyBeaver<T>::Triple TrustedFirstPartyBeaver<T>::Dot(int64_t m, int64_t k,
                                                                            int64_t n) {
  Triple t{RandomTensor<T>(own_, {m, k}), RandomTensor<T>(own_, {k, n}), Tensor<T>()};
  if (!dealer()) {
    t.c = RandomTensor<T>(own_, {m, n});
    return t;
  }
  // Peers drew a_j (m x k), b_j (k x n), c_j (m x n) with three consecutive fills. B = Σ b is
  // materialised; A = Σ a and the c_j are re-expanded in blocks of rows:
  // c_0[rows] = A[rows]·B − Σ_{j>0} c_j[rows].
  const uint64_t a_blocks = PrgBlocks(m * k * sizeof(T));
  const uint64_t b_blocks = PrgBlocks(k * n * sizeof(T));
  const uint64_t c_blocks = PrgBlocks(m * n * sizeof(T));
  const std::vector<uint64_t> bases = ReservePeerBlocks(a_blocks + b_blocks + c_blocks);
  Tensor<T> b = t.b;
  Tensor<T> tmp = Tensor<T>::Uninitialized({k, n});
  for (size_t j = 0; j < peers_.size(); ++j) {
    peers_[j].FillAt(bases[j] + a_blocks, tmp.data(), k * n * sizeof(T));
    AddInPlace(&b, tmp);
  }
  t.c = Tensor<T>::Uninitialized({m, n});
  // An even number of rows per block keeps every block offset a whole PRG block.
  const int64_t rows = std::max<int64_t>(2, (kDealerChunk / std::max<int64_t>(1, k)) & ~int64_t{1});
  ParallelFor((m + rows - 1) / rows, 1, [&](int64_t lo, int64_t hi) {
    std::vector<T> a(rows * k), c(rows * n), buf(rows * std::max(k, n));
    for (int64_t blk = lo; blk < hi; ++blk) {
      const int64_t r0 = blk * rows, nr = std::min(rows, m - r0);
      std::copy(t.a.data() + r0 * k, t.a.data() + (r0 + nr) * k, a.begin());
      std::fill(c.begin(), c.end(), T{0});
      for (size_t j = 0; j < peers_.size(); ++j) {
        peers_[j].FillAt(bases[j] + r0 * k * sizeof(T) / kPrgBlockBytes, buf.data(),
                         nr * k * sizeof(T));
        for (int64_t i = 0; i < nr * k; ++i) a[i] += buf[i];
        peers_[j].FillAt(bases[j] + a_blocks + b_blocks + r0 * n * sizeof(T) / kPrgBlockBytes,
                         buf.data(), nr * n * sizeof(T));
        for (int64_t i = 0; i < nr * n; ++i) c[i] -= buf[i];
      }
      MatMulAccumulate(a.data(), b.data(), c.data(), nr, k, n);
      std::copy(c.begin(), c.begin() + nr * n, t.c.data() + r0 * n);
    }
  });
  return t;
}

template <RingElement T>
typename TrustedFirstPartyBeaver<T>::Fixed TrustedFirstPartyBeaver<T>::DrawFixed(int64_t k,
                                                                                 int64_t n) {
  Fixed f{RandomTensor<T>(own_, {k, n}), Tensor<T>()};
  if (!dealer()) return f;
  const std::vector<uint64_t> bases = ReservePeerBlocks(PrgBlocks(k * n * sizeof(T)));
  f.sum_b = f.b;
  Tensor<T> tmp = Tensor<T>::Uninitialized({k, n});
  for (size_t j = 0; j < peers_.size(); ++j) {
    peers_[j].FillAt(bases[j], tmp.data(), k * n * sizeof(T));
    AddInPlace(&f.sum_b, tmp);
  }
  return f;
}

template <RingElement T>
typename TrustedFirstPartyBeaver<T>::Triple TrustedFirstPartyBeaver<T>::DotFixed(
    int64_t m, int64_t k, int64_t n, const Tensor<T>& sum_b) {
  Triple t{RandomTensor<T>(own_, {m, k}), Tensor<T>(), Tensor<T>()};
  if (!dealer()) {
    t.c = RandomTensor<T>(own_, {m, n});
    return t;
  }
  // Peers drew a_j (m x k) and c_j (m x n) with two consecutive fills.
  const uint64_t a_blocks = PrgBlocks(m * k * sizeof(T));
  const std::vector<uint64_t> bases = ReservePeerBlocks(a_blocks + PrgBlocks(m * n * sizeof(T)));
  Tensor<T> a = t.a;
  Tensor<T> tmp_a = Tensor<T>::Uninitialized({m, k});
  t.c = Tensor<T>({m, n});
  Tensor<T> tmp_c = Tensor<T>::Uninitialized({m, n});
  for (size_t j = 0; j < peers_.size(); ++j) {
    peers_[j].FillAt(bases[j], tmp_a.data(), m * k * sizeof(T));
    AddInPlace(&a, tmp_a);
    peers_[j].FillAt(bases[j] + a_blocks, tmp_c.data(), m * n * sizeof(T));
    SubInPlace(&t.c, tmp_c);
  }
  MatMulAccumulate(a.data(), sum_b.data(), t.c.data(), m, k, n);
  return t;
}

template <RingElement T>
typename TrustedFirstPartyBeaver<T>::BitTriple TrustedFirstPartyBeaver<T>::And(int64_t words) {
  BitTriple t{RandomWords(own_, words), RandomWords(own_, words), Words()};
  if (!dealer()) {
    t.c = RandomWords(own_, words);
    return t;
  }
  const uint64_t object = PrgBlocks(words * sizeof(uint64_t));
  const std::vector<uint64_t> bases = ReservePeerBlocks(3 * object);
  t.c.resize(words);
  ParallelFor(ChunkCount(words), 1, [&](int64_t lo, int64_t hi) {
    Words a(kDealerChunk), b(kDealerChunk), c(kDealerChunk), tmp(kDealerChunk);
    for (int64_t chunk = lo; chunk < hi; ++chunk) {
      const int64_t off = chunk * kDealerChunk, len = std::min(kDealerChunk, words - off);
      std::copy(t.a.begin() + off, t.a.begin() + off + len, a.begin());
      std::copy(t.b.begin() + off, t.b.begin() + off + len, b.begin());
      std::fill(c.begin(), c.end(), 0);
      for (size_t j = 0; j < peers_.size(); ++j) {
        const auto add = [&](int object_index, Words& acc) {
          ReadPeerChunk(peers_[j], bases[j], object, object_index, off, len, tmp.data());
          for (int64_t i = 0; i < len; ++i) acc[i] ^= tmp[i];
        };
        add(0, a);
        add(1, b);
        add(2, c);
      }
      for (int64_t i = 0; i < len; ++i) t.c[off + i] = (a[i] & b[i]) ^ c[i];
    }
  });
  return t;
}

template <RingElement T>
typename TrustedFirstPartyBeaver<T>::TruncPair TrustedFirstPartyBeaver<T>::Trunc(const Shape& shape,
                                                                                 int bits) {
  TruncPair p{RandomTensor<T>(own_, shape), Tensor<T>()};
  if (!dealer()) {
    p.t = RandomTensor<T>(own_, shape);
    return p;
  }
  Tensor<T> r = p.r, tsum(shape);
  for (Prg& peer : peers_) {
    AddInPlace(&r, RandomTensor<T>(peer, shape));
    AddInPlace(&tsum, RandomTensor<T>(peer, shape));
  }
  p.t = Sub(ArithShiftRight(r, bits), tsum);
  return p;
}

template <RingElement T>
typename TrustedFirstPartyBeaver<T>::RandomBits TrustedFirstPartyBeaver<T>::Bits(
    const Shape& shape) {
  const int64_t words = WordsForBits(NumElements(shape));
  RandomBits rb{RandomWords(own_, words), Tensor<T>()};
  if (!dealer()) {
    rb.arith = RandomTensor<T>(own_, shape);
    return rb;
  }
  Words bits = rb.bits;
  Tensor<T> asum(shape);
  for (Prg& peer : peers_) {
    XorInPlace(&bits, RandomWords(peer, words));
    AddInPlace(&asum, RandomTensor<T>(peer, shape));
  }
  rb.arith = Sub(UnpackBits<T>(bits, shape), asum);
  return rb;
}

template class TrustedFirstPartyBeaver<uint64_t>;
template class TrustedFirstPartyBeaver<uint128_t>;

}  // namespace veil::mpc
