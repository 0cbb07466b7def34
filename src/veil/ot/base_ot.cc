#include "veil/ot/base_ot.h"

#include <atomic>
#include <cstring>
#include <string>

#include "veil/base/parallel.h"
#include "veil/crypto/hash.h"
#include "veil/crypto/ristretto.h"

namespace veil::ot {

namespace {

using crypto::kPointBytes;
using crypto::Point;

constexpr char kDomain[] = "veil/ot/base/co15/v1";
// Receiver's OTs per ParallelFor chunk (two scalar multiplications each, tens of microseconds).
constexpr int64_t kPointGrain = 8;

// H(i, A, B_i, P) as a 128-bit key.
Block DeriveKey(size_t index, const Point& a, const uint8_t* b, const uint8_t* p) {
  std::string msg(kDomain, sizeof(kDomain));
  const uint64_t i = index;
  msg.append(reinterpret_cast<const char*>(&i), sizeof i);
  msg.append(reinterpret_cast<const char*>(a.data()), kPointBytes);
  msg.append(reinterpret_cast<const char*>(b), kPointBytes);
  msg.append(reinterpret_cast<const char*>(p), kPointBytes);
  const auto digest = crypto::Blake2b128(msg);
  Block k;
  std::memcpy(&k, digest.data(), sizeof k);
  return k;
}

std::string Tag(std::string_view tag, const char* part) { return std::string(tag) + "/" + part; }

Status InvalidPoint(std::atomic<int64_t>& bad, const char* what) {
  return AlgorithmError("invalid_point", std::string("base OT: peer sent an invalid ") + what +
                                             " at index " + std::to_string(bad.load()));
}

// Records the first failing index.
void MarkBad(std::atomic<int64_t>& bad, int64_t i) {
  int64_t expected = -1;
  bad.compare_exchange_strong(expected, i);
}

}  // namespace

StatusOr<std::vector<std::array<Block, 2>>> BaseOtSend(link::Context& ctx, size_t peer,
                                                       size_t count, std::string_view tag) {
  const crypto::Scalar a = crypto::Scalar::Random();
  Point big_a, a_times_a;
  if (!crypto::ScalarMultBase(a, big_a.data()) ||
      !crypto::ScalarMult(a, big_a.data(), a_times_a.data())) {
    return InternalError("base_ot_keygen", "base OT: scalar multiplication failed");
  }
  VEIL_RETURN_IF_ERROR(ctx.Send(peer, Tag(tag, "A"), Buffer(big_a.begin(), big_a.end())));
  VEIL_ASSIGN_OR_RETURN(Buffer bs, ctx.Recv(peer, Tag(tag, "B")));
  if (bs.size() != count * kPointBytes) {
    return AlgorithmError("unexpected_message_size", "base OT: " + std::to_string(bs.size()) +
                                                         " bytes of B, expected " +
                                                         std::to_string(count * kPointBytes));
  }
  // a·B_i for every i (fails on a malformed B_i).
  std::vector<uint8_t> a_times_b(count * kPointBytes);
  if (Status st = crypto::ScalarMultBatch(a, bs.data(), count, a_times_b.data()); !st.ok()) {
    return AlgorithmError("invalid_point", "base OT: B: " + st.message());
  }
  std::vector<std::array<Block, 2>> keys(count);
  std::atomic<int64_t> bad{-1};
  ParallelFor(static_cast<int64_t>(count), kPointGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const uint8_t* b = bs.data() + i * kPointBytes;
      const uint8_t* p0 = a_times_b.data() + i * kPointBytes;
      Point p1;
      if (!crypto::PointSub(p0, a_times_a.data(), p1.data())) {
        MarkBad(bad, i);
        continue;
      }
      keys[i] = {DeriveKey(i, big_a, b, p0), DeriveKey(i, big_a, b, p1.data())};
    }
  });
  if (bad.load() >= 0) return InvalidPoint(bad, "B");
  return keys;
}

StatusOr<std::vector<Block>> BaseOtReceive(link::Context& ctx, size_t peer,
                                           const std::vector<bool>& choices, std::string_view tag) {
  const size_t count = choices.size();
  VEIL_ASSIGN_OR_RETURN(Buffer a_msg, ctx.Recv(peer, Tag(tag, "A")));
  if (a_msg.size() != kPointBytes) {
    return AlgorithmError("unexpected_message_size",
                          "base OT: A has " + std::to_string(a_msg.size()) + " bytes");
  }
  Point big_a;
  std::memcpy(big_a.data(), a_msg.data(), kPointBytes);
  Buffer bs(count * kPointBytes);
  std::vector<Block> keys(count);
  std::atomic<int64_t> bad{-1};
  ParallelFor(static_cast<int64_t>(count), kPointGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const crypto::Scalar b = crypto::Scalar::Random();
      uint8_t* big_b = bs.data() + i * kPointBytes;
      Point bg, shared;
      bool ok = crypto::ScalarMultBase(b, bg.data()) &&
                crypto::ScalarMult(b, big_a.data(), shared.data());
      if (ok && choices[i]) {
        ok = crypto::PointAdd(bg.data(), big_a.data(), big_b);
      } else if (ok) {
        std::memcpy(big_b, bg.data(), kPointBytes);
      }
      if (!ok) {
        MarkBad(bad, i);
        continue;
      }
      keys[i] = DeriveKey(i, big_a, big_b, shared.data());
    }
  });
  if (bad.load() >= 0) return InvalidPoint(bad, "A");
  VEIL_RETURN_IF_ERROR(ctx.Send(peer, Tag(tag, "B"), std::move(bs)));
  return keys;
}

}  // namespace veil::ot
