// Silent VOLE between two parties of one process over the in-memory link, and once over TCP:
// C = B + A·Δ for every element, random and chosen A, one and several chunks, message sizes.
#include "veil/ot/silent_vole.h"

#include <future>
#include <random>
#include <set>
#include <vector>

#include <gtest/gtest.h>

#include "veil/link/test_util.h"
#include "veil/ot/gf128.h"
#include "veil/ot/ot_test_util.h"

namespace veil::ot {
namespace {

using testing::RunPair;
using testing::World;

struct VoleRun {
  Block delta;
  std::vector<Block> a, b, c;
};

// Party 0 is the sender, party 1 the receiver; `sizes` are successive calls on one instance.
// With `chosen`, the receiver's A is given (random per element) and Send/Receive are used.
VoleRun RunVole(World& w, const std::vector<int64_t>& sizes, bool chosen, int64_t max_chunk) {
  int64_t total = 0;
  for (int64_t s : sizes) total += s;
  VoleRun r;
  r.a.resize(total);
  r.b.resize(total);
  r.c.resize(total);
  if (chosen) {
    std::mt19937_64 rng(41);
    for (auto& v : r.a) v = Block{rng(), rng()};
  }
  RunPair(
      w,
      [&](link::Context& ctx) -> Status {
        VEIL_ASSIGN_OR_RETURN(SilentVoleSender s,
                              SilentVoleSender::Setup(&ctx, 1, "t/vole", max_chunk));
        r.delta = s.delta();
        int64_t off = 0;
        for (int64_t n : sizes) {
          VEIL_RETURN_IF_ERROR(chosen ? s.Send(n, r.b.data() + off)
                                      : s.SendRandom(n, r.b.data() + off));
          off += n;
        }
        return Status();
      },
      [&](link::Context& ctx) -> Status {
        VEIL_ASSIGN_OR_RETURN(SilentVoleReceiver v,
                              SilentVoleReceiver::Setup(&ctx, 0, "t/vole", max_chunk));
        int64_t off = 0;
        for (int64_t n : sizes) {
          VEIL_RETURN_IF_ERROR(chosen ? v.Receive(n, r.a.data() + off, r.c.data() + off)
                                      : v.ReceiveRandom(n, r.a.data() + off, r.c.data() + off));
          off += n;
        }
        return Status();
      });
  return r;
}

void ExpectRelation(const VoleRun& r) {
  ASSERT_NE(r.delta, Block{});
  for (size_t j = 0; j < r.c.size(); ++j) {
    ASSERT_EQ(r.c[j], r.b[j] ^ Gf128Mul(r.a[j], r.delta)) << j;
  }
}

// Pseudorandom-looking outputs: no zeros, almost no repeats.
void ExpectSpread(const std::vector<Block>& v) {
  std::set<std::pair<uint64_t, uint64_t>> seen;
  for (const Block& x : v) {
    ASSERT_NE(x, Block{});
    seen.insert({x.lo, x.hi});
  }
  EXPECT_EQ(seen.size(), v.size());
}

// Bytes the sender sends: the IKNP base-OT receiver's points (32 B each) plus the PPRF
// corrections 16·t'·(2d + 1) of every chunk.
uint64_t SenderBytes(const std::vector<int64_t>& chunks) {
  uint64_t bytes = 128 * 32;
  for (int64_t m : chunks) {
    const VoleChunkShape s = VoleShapeFor(m);
    bytes += 16 * static_cast<uint64_t>(s.trees) * (2 * s.depth + 1);
  }
  return bytes;
}

TEST(SilentVoleTest, ShapesMeetTheCodeAndNoiseParameters) {
  for (int64_t m : {int64_t{1}, int64_t{100}, int64_t{4096}, int64_t{1} << 20, int64_t{1363149},
                    kVoleMaxChunkOutputs}) {
    const VoleChunkShape s = VoleShapeFor(m);
    EXPECT_GE(s.inputs(), kVoleCodeExpansion * m) << m;
    EXPECT_GE(s.trees, kVoleMinNoiseWeight) << m;
    EXPECT_GE(s.depth, 1) << m;
    if (m >= 4096) {
      EXPECT_LT(s.trees, 2 * kVoleMinNoiseWeight) << m;  // not much more noise than needed
      EXPECT_LT(s.inputs(), kVoleCodeExpansion * m + (int64_t{1} << s.depth)) << m;
    }
  }
}

TEST(SilentVoleTest, RandomVoleRelationHoldsForSmallAndMediumSizes) {
  auto w = link::test::MakeWorld(2);
  const std::vector<int64_t> sizes = {1, 1000, 200000};
  const VoleRun r = RunVole(w, sizes, /*chosen=*/false, kVoleMaxChunkOutputs);
  ExpectRelation(r);
  ExpectSpread(r.a);
  ExpectSpread(r.b);
  EXPECT_EQ(w[0]->stats().bytes_sent, SenderBytes(sizes));
}

TEST(SilentVoleTest, SeveralChunksAndChosenA) {
  auto w = link::test::MakeWorld(2);
  // 70001 outputs in chunks of at most 20000: 4 chunks of 17501 (the last 17498).
  const VoleRun r = RunVole(w, {70001}, /*chosen=*/true, 20000);
  ExpectRelation(r);
  EXPECT_EQ(w[0]->stats().bytes_sent, SenderBytes({17501, 17501, 17501, 17498}));
  // The receiver's chosen A survives (Run drew it from rng(41)).
  std::mt19937_64 rng(41);
  EXPECT_EQ(r.a[0], (Block{rng(), rng()}));
}

TEST(SilentVoleTest, ChosenVoleOverTcp) {
  auto world = link::test::MakeTcpWorld(2);
  ASSERT_TRUE(world.ok()) << world.status().ToString();
  const VoleRun r = RunVole(*world, {50000}, /*chosen=*/true, kVoleMaxChunkOutputs);
  ExpectRelation(r);
}

TEST(SilentVoleTest, WrongSizeCorrectionFailsWithAlgorithmError) {
  auto w = link::test::MakeWorld(2);
  Status sender_status;
  auto fs = std::async(std::launch::async, [&] {
    auto s = SilentVoleSender::Setup(w[0].get(), 1, "t/bad");
    if (!s.ok()) return s.status();
    std::vector<Block> b(100);
    return s->Send(100, b.data());
  });
  auto r = SilentVoleReceiver::Setup(w[1].get(), 0, "t/bad");
  ASSERT_TRUE(r.ok());
  std::vector<Block> a(100), c(100);
  ASSERT_TRUE(r->ReceiveRandom(100, a.data(), c.data()).ok());
  // One correction short.
  ASSERT_TRUE(w[1]->Send(0, "t/bad/derand/1", Buffer(99 * 16)).ok());
  sender_status = fs.get();
  EXPECT_FALSE(sender_status.ok());
  EXPECT_EQ(sender_status.code(), "unexpected_message_size") << sender_status.ToString();
  EXPECT_FALSE(SilentVoleSender::Setup(w[0].get(), 1, "t/x", 0).ok());
}

}  // namespace
}  // namespace veil::ot
