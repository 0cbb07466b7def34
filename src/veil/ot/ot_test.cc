// Base OT and IKNP extension between two parties in one process (one thread each) over the
// in-memory link, and once over TCP on 127.0.0.1.
#include <future>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "veil/link/test_util.h"
#include "veil/ot/base_ot.h"
#include "veil/ot/bit_matrix.h"
#include "veil/ot/iknp.h"
#include "veil/ot/kkrt_ote.h"
#include "veil/ot/ot_test_util.h"

namespace veil::ot {
namespace {

using testing::RunPair;
using testing::World;

std::vector<Block> RandomBlocks(std::mt19937_64& rng, size_t n) {
  std::vector<Block> out(n);
  for (auto& b : out) b = Block{rng(), rng()};
  return out;
}

std::vector<uint64_t> RandomWords(std::mt19937_64& rng, size_t n) {
  std::vector<uint64_t> out(n);
  for (auto& w : out) w = rng();
  return out;
}

bool Bit(const std::vector<uint64_t>& words, int64_t j) { return (words[j / 64] >> (j % 64)) & 1; }

// ---- transpose ----

TEST(BitMatrixTest, TransposeMatchesBitByBitReference) {
  std::mt19937_64 rng(1);
  // A 128 × 384-bit matrix (stride 3), transposed one 128-column block at a time.
  const auto m = RandomBlocks(rng, 128 * 3);
  for (size_t blk = 0; blk < 3; ++blk) {
    Block fast[128], slow[128];
    Transpose128(m.data() + blk, 3, fast);
    Transpose128Portable(m.data() + blk, 3, slow);
    for (int c = 0; c < 128; ++c) {
      ASSERT_EQ(fast[c], slow[c]) << "block " << blk << " column " << c;
      for (int r = 0; r < 128; r += 7) ASSERT_EQ(fast[c].bit(r), m[r * 3 + blk].bit(c));
    }
  }
}

TEST(BitMatrixTest, KnownPatternsAndInvolution) {
  // Row r has only bit (r·5 + 3) mod 128 set: column c then has bit r set iff c = 5r + 3 mod 128.
  std::vector<Block> m(128), t(128), back(128);
  for (int r = 0; r < 128; ++r) {
    const int c = (5 * r + 3) % 128;
    m[r] = c < 64 ? Block{uint64_t{1} << c, 0} : Block{0, uint64_t{1} << (c - 64)};
  }
  Transpose128(m.data(), 1, t.data());
  for (int r = 0; r < 128; ++r) {
    const int c = (5 * r + 3) % 128;
    EXPECT_TRUE(t[c].bit(r));
    EXPECT_EQ(__builtin_popcountll(t[c].lo) + __builtin_popcountll(t[c].hi), 1);
  }
  std::mt19937_64 rng(2);
  const auto x = RandomBlocks(rng, 128);
  Transpose128(x.data(), 1, t.data());
  Transpose128(t.data(), 1, back.data());
  EXPECT_EQ(back, x);
}

// ---- base OT ----

TEST(BaseOtTest, ReceiverGetsExactlyTheChosenKeys) {
  auto w = link::test::MakeWorld(2);
  std::mt19937_64 rng(3);
  std::vector<bool> choices(128);
  for (size_t i = 0; i < choices.size(); ++i) choices[i] = rng() & 1;
  std::vector<std::array<Block, 2>> pairs;
  std::vector<Block> got;
  RunPair(
      w,
      [&](link::Context& ctx) -> Status {
        VEIL_ASSIGN_OR_RETURN(pairs, BaseOtSend(ctx, 1, 128, "t/base"));
        return Status();
      },
      [&](link::Context& ctx) -> Status {
        VEIL_ASSIGN_OR_RETURN(got, BaseOtReceive(ctx, 0, choices, "t/base"));
        return Status();
      });
  ASSERT_EQ(pairs.size(), 128u);
  ASSERT_EQ(got.size(), 128u);
  for (size_t i = 0; i < 128; ++i) {
    EXPECT_EQ(got[i], pairs[i][choices[i]]) << i;
    EXPECT_NE(got[i], pairs[i][!choices[i]]) << i;
    EXPECT_NE(pairs[i][0], pairs[i][1]);
  }
  // One group element from the sender, one per OT back.
  EXPECT_EQ(w[0]->stats().bytes_sent, 32u);
  EXPECT_EQ(w[1]->stats().bytes_sent, 128u * 32);
}

TEST(BaseOtTest, MalformedPointsAreRejected) {
  auto w = link::test::MakeWorld(2);
  // The "receiver" answers with non-canonical encodings instead of group elements.
  Status sender_status;
  auto f = std::async(std::launch::async,
                      [&] { sender_status = BaseOtSend(*w[0], 1, 4, "t/bad").status(); });
  ASSERT_TRUE(w[1]->Recv(0, "t/bad/A").ok());
  ASSERT_TRUE(w[1]->Send(0, "t/bad/B", Buffer(4 * 32, 0xff)).ok());
  f.get();
  EXPECT_EQ(sender_status.code(), "invalid_point") << sender_status.ToString();
}

// ---- IKNP ----

struct CotRun {
  Block delta;
  std::vector<Block> q, t;
};

// `counts` extends of correlated OTs with the given choice bits (concatenated).
CotRun RunCot(World& w, const std::vector<uint64_t>& choices, const std::vector<int64_t>& counts) {
  int64_t total = 0;
  for (int64_t c : counts) total += c;
  CotRun out;
  out.q.resize(total);
  out.t.resize(total);
  RunPair(
      w,
      [&](link::Context& ctx) -> Status {
        VEIL_ASSIGN_OR_RETURN(IknpCotSender s, IknpCotSender::Setup(&ctx, 1, "t/iknp"));
        out.delta = s.delta();
        int64_t off = 0;
        for (int64_t c : counts) {
          VEIL_RETURN_IF_ERROR(s.Extend(c, out.q.data() + off));
          off += c;
        }
        return Status();
      },
      [&](link::Context& ctx) -> Status {
        VEIL_ASSIGN_OR_RETURN(IknpCotReceiver r, IknpCotReceiver::Setup(&ctx, 0, "t/iknp"));
        int64_t off = 0;
        for (int64_t c : counts) {
          // Choice bits of this extend, re-packed from bit `off`.
          std::vector<uint64_t> part((c + 63) / 64);
          for (int64_t j = 0; j < c; ++j)
            part[j / 64] |= uint64_t{Bit(choices, off + j)} << (j % 64);
          VEIL_RETURN_IF_ERROR(r.Extend(part.data(), c, out.t.data() + off));
          off += c;
        }
        return Status();
      });
  return out;
}

TEST(IknpTest, CorrelatedOtsSatisfyQEqualsTXorChoiceTimesDelta) {
  auto w = link::test::MakeWorld(2);
  std::mt19937_64 rng(4);
  const std::vector<int64_t> counts = {1000, 128, 4097, 1};  // partial blocks and words
  const auto choices = RandomWords(rng, (1000 + 128 + 4097 + 1 + 63) / 64);
  const CotRun run = RunCot(w, choices, counts);
  ASSERT_NE(run.delta, Block{});
  int64_t ones = 0;
  for (size_t j = 0; j < run.q.size(); ++j) {
    const bool c = Bit(choices, j);
    ones += c;
    ASSERT_EQ(run.q[j], run.t[j] ^ (c ? run.delta : Block{})) << j;
  }
  EXPECT_GT(ones, 2000);  // both choices occur
  // The sender's u messages: 16 bytes per OT (rounded up to 128 OTs per extend) + base OT.
  const uint64_t u_bytes = 16 * 128 * (8 + 1 + 33 + 1);
  EXPECT_EQ(w[1]->stats().bytes_sent, u_bytes + 32);
}

TEST(IknpTest, RandomOtReceiverLearnsOnlyTheChosenMessage) {
  auto w = link::test::MakeWorld(2);
  std::mt19937_64 rng(5);
  constexpr int64_t kN = 20000;
  const auto choices = RandomWords(rng, (kN + 63) / 64);
  std::vector<Block> m0(kN), m1(kN), m(kN);
  Block delta;
  RunPair(
      w,
      [&](link::Context& ctx) -> Status {
        VEIL_ASSIGN_OR_RETURN(IknpCotSender s, IknpCotSender::Setup(&ctx, 1, "t/rot"));
        delta = s.delta();
        return s.RandomOt(kN, m0.data(), m1.data());
      },
      [&](link::Context& ctx) -> Status {
        VEIL_ASSIGN_OR_RETURN(IknpCotReceiver r, IknpCotReceiver::Setup(&ctx, 0, "t/rot"));
        return r.RandomOt(choices.data(), kN, m.data());
      });
  for (int64_t j = 0; j < kN; ++j) {
    const bool c = Bit(choices, j);
    ASSERT_EQ(m[j], c ? m1[j] : m0[j]) << j;
    ASSERT_NE(m[j], c ? m0[j] : m1[j]) << j;
    // Hashing broke the correlation: the two messages do not differ by Δ.
    ASSERT_NE(m0[j] ^ m1[j], delta) << j;
  }
}

TEST(IknpTest, DuplexRunsBothDirectionsOverTcp) {
  auto world = link::test::MakeTcpWorld(2);
  ASSERT_TRUE(world.ok()) << world.status().ToString();
  std::mt19937_64 rng(6);
  constexpr int64_t kN = 3000;
  const auto c0 = RandomWords(rng, (kN + 63) / 64), c1 = RandomWords(rng, (kN + 63) / 64);
  struct Side {
    Block delta;
    std::vector<Block> q = std::vector<Block>(kN), t = std::vector<Block>(kN);
  } side[2];
  const auto party = [&](size_t me, const std::vector<uint64_t>& choices) {
    return [&, me](link::Context& ctx) -> Status {
      VEIL_ASSIGN_OR_RETURN(IknpDuplex d, SetupIknpDuplex(&ctx, 1 - me, "t/duplex"));
      side[me].delta = d.sender.delta();
      // Receiver first (it only sends), then the sender role: neither party blocks the other.
      VEIL_RETURN_IF_ERROR(d.receiver.Extend(choices.data(), kN, side[me].t.data()));
      return d.sender.Extend(kN, side[me].q.data());
    };
  };
  RunPair(*world, party(0, c0), party(1, c1));
  ASSERT_NE(side[0].delta, side[1].delta);
  for (int64_t j = 0; j < kN; ++j) {
    // Direction s0: party 0 sends (q, Δ0), party 1 receives with choices c1; and vice versa.
    ASSERT_EQ(side[0].q[j], side[1].t[j] ^ (Bit(c1, j) ? side[0].delta : Block{})) << j;
    ASSERT_EQ(side[1].q[j], side[0].t[j] ^ (Bit(c0, j) ? side[1].delta : Block{})) << j;
  }
}

TEST(IknpTest, WrongSizeMessageFailsWithAlgorithmError) {
  auto w = link::test::MakeWorld(2);
  Status sender_status;
  auto f = std::async(std::launch::async, [&] {
    auto s = IknpCotSender::Setup(w[0].get(), 1, "t/size");
    sender_status = s.ok() ? s->Extend(256, std::vector<Block>(256).data()) : s.status();
  });
  auto r = IknpCotReceiver::Setup(w[1].get(), 0, "t/size");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(w[1]->Send(0, "t/size/u/0", Buffer(100)).ok());
  f.get();
  EXPECT_EQ(sender_status.code(), "unexpected_message_size");
}

// ---- KKRT OPRF (1-out-of-∞ OT with a 512-bit pseudorandom code) ----

int HammingDistance(const Block* a, const Block* b) {
  int d = 0;
  for (int g = 0; g < kKkrtCodeBlocks; ++g) {
    const Block x = a[g] ^ b[g];
    d += __builtin_popcountll(x.lo) + __builtin_popcountll(x.hi);
  }
  return d;
}

TEST(KkrtOprfTest, CodeWordsAreFarApart) {
  std::mt19937_64 rng(8);
  const auto x = RandomBlocks(rng, 2000);
  std::vector<Block> c(x.size() * kKkrtCodeBlocks);
  const Block key{rng(), rng()};
  KkrtCode(key, x.data(), static_cast<int64_t>(x.size()), c.data());
  int min_d = 512;
  for (size_t i = 0; i + 1 < x.size(); ++i) {
    min_d = std::min(min_d, HammingDistance(&c[i * 4], &c[(i + 1) * 4]));
  }
  // Random 512-bit words: distance ~ Binomial(512, 1/2); below 190 has probability < 2^-40.
  EXPECT_GT(min_d, 190);
  // Deterministic in (key, x); another key gives another code.
  std::vector<Block> again(4), other(4);
  KkrtCode(key, x.data(), 1, again.data());
  KkrtCode(Block{1, 2}, x.data(), 1, other.data());
  EXPECT_TRUE(std::equal(again.begin(), again.end(), c.begin()));
  EXPECT_GT(HammingDistance(again.data(), other.data()), 190);
}

TEST(KkrtOprfTest, ReceiverOutputEqualsSenderEvaluationOnlyOnItsInput) {
  auto w = link::test::MakeWorld(2);
  std::mt19937_64 rng(9);
  // Two extends: a partial 128-block, then more than one 16384-instance tile.
  const std::vector<int64_t> counts = {300, 20000};
  const int64_t total = 300 + 20000;
  const auto x = RandomBlocks(rng, total);
  const auto y = RandomBlocks(rng, total);  // other inputs
  std::vector<uint32_t> tweak(total);
  for (auto& t : tweak) t = static_cast<uint32_t>(rng() % 3);
  std::vector<Block> recv_out(total), same(total), other(total), other_tweak(total),
      other_slot(total);
  RunPair(
      w,
      [&](link::Context& ctx) -> Status {
        VEIL_ASSIGN_OR_RETURN(KkrtOprfSender s, KkrtOprfSender::Setup(&ctx, 1, "t/kkrt"));
        int64_t off = 0;
        for (int64_t c : counts) {
          VEIL_RETURN_IF_ERROR(s.Extend(c));
          EXPECT_EQ(s.base(), static_cast<uint64_t>(off));
          std::vector<int64_t> slot(c), shifted(c);
          std::vector<uint32_t> tw2(c);
          for (int64_t j = 0; j < c; ++j) {
            slot[j] = j;
            shifted[j] = (j + 1) % c;
            tw2[j] = tweak[off + j] + 1;
          }
          std::vector<Block> mx(c * 4), my(c * 4);
          s.Mask(x.data() + off, c, mx.data());
          s.Mask(y.data() + off, c, my.data());
          s.Evaluate(slot.data(), tweak.data() + off, mx.data(), c, same.data() + off);
          s.Evaluate(slot.data(), tweak.data() + off, my.data(), c, other.data() + off);
          s.Evaluate(slot.data(), tw2.data(), mx.data(), c, other_tweak.data() + off);
          s.Evaluate(shifted.data(), tweak.data() + off, mx.data(), c, other_slot.data() + off);
          off += c;
        }
        return Status();
      },
      [&](link::Context& ctx) -> Status {
        VEIL_ASSIGN_OR_RETURN(KkrtOprfReceiver r, KkrtOprfReceiver::Setup(&ctx, 0, "t/kkrt"));
        int64_t off = 0;
        for (int64_t c : counts) {
          VEIL_RETURN_IF_ERROR(
              r.Extend(x.data() + off, tweak.data() + off, c, recv_out.data() + off));
          off += c;
        }
        return Status();
      });
  for (int64_t j = 0; j < total; ++j) {
    ASSERT_EQ(recv_out[j], same[j]) << j;
    ASSERT_NE(recv_out[j], other[j]) << j;        // another input
    ASSERT_NE(recv_out[j], other_tweak[j]) << j;  // another tweak
    ASSERT_NE(recv_out[j], other_slot[j]) << j;   // another instance's key
  }
  // 64 bytes per instance, rounded up to 128 instances per extend, plus the base OT's A.
  EXPECT_EQ(w[1]->stats().bytes_sent, 64 * 128 * (3 + 157) + 32);
}

TEST(KkrtOprfTest, WrongSizeMatrixFailsWithAlgorithmError) {
  auto w = link::test::MakeWorld(2);
  Status sender_status;
  auto f = std::async(std::launch::async, [&] {
    auto s = KkrtOprfSender::Setup(w[0].get(), 1, "t/ksize");
    sender_status = s.ok() ? s->Extend(256) : s.status();
  });
  auto r = KkrtOprfReceiver::Setup(w[1].get(), 0, "t/ksize");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(w[1]->Send(0, "t/ksize/u/0", Buffer(100)).ok());
  f.get();
  EXPECT_EQ(sender_status.code(), "unexpected_message_size");
}

}  // namespace
}  // namespace veil::ot
