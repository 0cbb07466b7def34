#include <atomic>
#include <regex>
#include <set>

#include <gtest/gtest.h>

#include "veil/base/bytes.h"
#include "veil/base/parallel.h"
#include "veil/base/random.h"
#include "veil/base/scratch.h"
#include "veil/base/time.h"

namespace veil {
namespace {

TEST(BytesTest, RoundTripAndShortRead) {
  Buffer b;
  ByteWriter w(&b);
  w.U32(7);
  w.Str("hello");
  w.I64(-5);
  ByteReader r(b);
  uint32_t a;
  std::string s;
  int64_t c;
  ASSERT_TRUE(r.U32(&a) && r.Str(&s) && r.I64(&c));
  EXPECT_EQ(a, 7u);
  EXPECT_EQ(s, "hello");
  EXPECT_EQ(c, -5);
  uint8_t x;
  EXPECT_FALSE(r.U8(&x));
  Buffer bad = {10, 0, 0, 0, 'a'};  // claims 10 bytes, has 1
  ByteReader r2(bad);
  EXPECT_FALSE(r2.Str(&s));
}

TEST(TimeTest, IsoUtcFormat) {
  EXPECT_TRUE(
      std::regex_match(NowIso8601Utc(), std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)")));
  EXPECT_EQ(ToIso8601Utc(std::chrono::system_clock::time_point{}), "1970-01-01T00:00:00.000000Z");
}

TEST(RandomTest, UuidV4) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto u = RandomUuid();
    EXPECT_TRUE(std::regex_match(
        u, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")));
    seen.insert(u);
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(ParallelTest, CoversRangeExactlyOnce) {
  std::vector<std::atomic<int>> hits(10007);
  ParallelFor(10007, 100, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) hits[i]++;
  });
  for (auto& h : hits) EXPECT_EQ(h.load(), 1);
  int calls = 0;
  ParallelFor(0, 10, [&](int64_t, int64_t) { ++calls; });
  EXPECT_EQ(calls, 0);
}

TEST(ScratchArrayTest, SmallAndHugeArraysHoldWhatIsWritten) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{1000}, (kScratchHugePageBytes / 8) * 3 + 5}) {
    ScratchArray<uint64_t> a(n);
    EXPECT_EQ(a.size(), n);
    if (n >= kScratchHugePageBytes / 8) {
      EXPECT_EQ(reinterpret_cast<uintptr_t>(a.data()) % kScratchHugePageBytes, 0u);
    }
    for (size_t i = 0; i < n; ++i) a[i] = i * 7;
    ScratchArray<uint64_t> b(std::move(a));
    EXPECT_EQ(a.data(), nullptr);
    EXPECT_EQ(a.size(), 0u);
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(b[i], i * 7);
    ScratchArray<uint64_t> c(3);
    c = std::move(b);  // swaps: b now owns the 3 elements and frees them
    EXPECT_EQ(c.size(), n);
    EXPECT_EQ(b.size(), 3u);
  }
}

}  // namespace
}  // namespace veil
