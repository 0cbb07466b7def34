#include "veil/mpc/bits.h"

#include <algorithm>

namespace veil::mpc {

void Deinterleave(const Words& in, int64_t nbits, Words* even, Words* odd) {
  const int64_t out_bits = nbits / 2;
  const int64_t out_words = WordsForBits(out_bits);
  even->assign(out_words, 0);
  odd->assign(out_words, 0);
  const int64_t in_words = static_cast<int64_t>(in.size());
  uint64_t* pe = even->data();
  uint64_t* po = odd->data();
  ParallelFor(out_words, kWordGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t j = lo; j < hi; ++j) {
      const uint64_t w0 = in[2 * j];
      const uint64_t w1 = 2 * j + 1 < in_words ? in[2 * j + 1] : 0;
      pe[j] = EvenBits(w0) | (EvenBits(w1) << 32);
      po[j] = EvenBits(w0 >> 1) | (EvenBits(w1 >> 1) << 32);
    }
  });
}

void ShiftElementsLeft1(Words* bits, int ring_bits) {
  uint64_t* w = bits->data();
  const int64_t n = static_cast<int64_t>(bits->size());
  if (ring_bits == 64) {
    ParallelFor(n, kWordGrain, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) w[i] <<= 1;
    });
    return;
  }
  // 128-bit elements: (lo, hi) word pairs.
  ParallelFor(n / 2, kWordGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t e = lo; e < hi; ++e) {
      const uint64_t l = w[2 * e], h = w[2 * e + 1];
      w[2 * e] = l << 1;
      w[2 * e + 1] = (h << 1) | (l >> 63);
    }
  });
}

Words TopBits(const Words& elements, int64_t n, int ring_bits) {
  const int64_t words_per_elem = ring_bits / 64;
  Words out(WordsForBits(n), 0);
  uint64_t* o = out.data();
  ParallelFor(static_cast<int64_t>(out.size()), kWordGrain / 64 + 1, [&](int64_t lo, int64_t hi) {
    for (int64_t j = lo; j < hi; ++j) {
      uint64_t acc = 0;
      const int64_t e_end = std::min<int64_t>(n, (j + 1) * 64);
      for (int64_t e = j * 64; e < e_end; ++e) {
        acc |= (elements[e * words_per_elem + words_per_elem - 1] >> 63) << (e & 63);
      }
      o[j] = acc;
    }
  });
  return out;
}

void XorInPlace(Words* a, const Words& b) {
  const int64_t n = static_cast<int64_t>(std::min(a->size(), b.size()));
  uint64_t* pa = a->data();
  const uint64_t* pb = b.data();
  ParallelFor(n, kWordGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) pa[i] ^= pb[i];
  });
}

Words Concat(const Words& a, const Words& b) {
  Words out;
  out.reserve(a.size() + b.size());
  out.insert(out.end(), a.begin(), a.end());
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

Words Slice(const Words& w, int64_t begin, int64_t count) {
  return Words(w.begin() + begin, w.begin() + begin + count);
}

}  // namespace veil::mpc
