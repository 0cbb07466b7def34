#include "veil/base/external_sort.h"

#include <algorithm>
#include <filesystem>
#include <random>

#include <gtest/gtest.h>

namespace veil {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> Drain(SortedStream& s) {
  std::vector<std::string> out;
  while (true) {
    auto r = s.Next();
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok() || !*r) break;
    out.emplace_back(**r);
  }
  return out;
}

class ExternalSortTest : public ::testing::TestWithParam<size_t> {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("veil_sort_" + std::to_string(::getpid()) + "_" + std::to_string(GetParam()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_P(ExternalSortTest, SortsLikeStdStableSortWithBoundedMemory) {
  std::mt19937_64 rng(GetParam());
  std::vector<std::string> in;
  for (int i = 0; i < 20000; ++i) {
    // Variable-length records; the first 2 bytes are the key, the rest identify the record so
    // stability can be checked.
    std::string key(2, '\0');
    key[0] = static_cast<char>(rng() % 7);
    key[1] = static_cast<char>(rng() % 256);
    in.push_back(key + std::to_string(i) + std::string(rng() % 20, 'x'));
  }
  auto less = [](std::string_view a, std::string_view b) {
    return a.substr(0, 2) < b.substr(0, 2);
  };
  auto sorter = ExternalSorter::Create({dir_.string(), GetParam()}, less);
  ASSERT_TRUE(sorter.ok());
  for (const auto& r : in) ASSERT_TRUE((*sorter)->Add(r).ok());
  auto expected = in;
  std::stable_sort(expected.begin(), expected.end(),
                   [&](const auto& a, const auto& b) { return less(a, b); });
  const size_t runs = (*sorter)->runs_written();
  auto stream = (*sorter)->Finish();
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  EXPECT_EQ(Drain(**stream), expected);
  if (GetParam() < 100000) {
    EXPECT_GT(runs, 1u);  // small budgets really spill to disk
  }
  stream->reset();
  sorter->reset();
  EXPECT_TRUE(fs::is_empty(dir_)) << "run files left behind";
}

// Bytewise order with BytewisePrefix: records shorter than, equal to and longer than 8 bytes,
// many sharing their first 8 bytes (so the fallback to `less` decides), some with zero bytes
// (the prefix's padding value).
TEST_P(ExternalSortTest, BytewisePrefixGivesBytewiseOrder) {
  std::mt19937_64 rng(GetParam() + 1);
  std::vector<std::string> in;
  for (int i = 0; i < 20000; ++i) {
    std::string r(rng() % 14, '\0');
    for (char& c : r) c = static_cast<char>(rng() % 3);  // 0, 1, 2: many ties and zero bytes
    in.push_back(r);
  }
  auto less = [](std::string_view a, std::string_view b) { return a < b; };
  auto sorter = ExternalSorter::Create({dir_.string(), GetParam()}, less, BytewisePrefix);
  ASSERT_TRUE(sorter.ok());
  for (const auto& r : in) ASSERT_TRUE((*sorter)->Add(r).ok());
  auto expected = in;
  std::stable_sort(expected.begin(), expected.end());
  auto stream = (*sorter)->Finish();
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  EXPECT_EQ(Drain(**stream), expected);
  EXPECT_EQ(BytewisePrefix(std::string("\x01\x02", 2)), 0x0102000000000000ULL);
  EXPECT_EQ(BytewisePrefix("abcdefghij"), BytewisePrefix("abcdefgh"));
}

// Budgets: everything in memory; a few runs; more runs than one merge pass takes.
INSTANTIATE_TEST_SUITE_P(Budgets, ExternalSortTest,
                         ::testing::Values(size_t{64} << 20, 100000, 4096));

TEST(ExternalSortEdgeTest, EmptyAndMissingDir) {
  auto sorter =
      ExternalSorter::Create({}, [](std::string_view a, std::string_view b) { return a < b; });
  ASSERT_TRUE(sorter.ok());
  auto stream = (*sorter)->Finish();
  ASSERT_TRUE(stream.ok());
  EXPECT_TRUE(Drain(**stream).empty());
  auto bad = ExternalSorter::Create({"/nonexistent/veil", 1 << 20},
                                    [](std::string_view, std::string_view) { return false; });
  EXPECT_EQ(bad.status().code(), "temp_io");
}

// Records larger than the run files' I/O buffer (1 MiB), mixed with small and empty ones, each
// in its own run.
TEST(ExternalSortEdgeTest, RecordsLargerThanTheIoBuffer) {
  std::vector<std::string> in = {
      std::string(3 << 20, 'c'),       "", "b", std::string(1 << 20, 'a'),
      std::string((1 << 20) + 5, 'b'), "a"};
  auto sorter = ExternalSorter::Create(
      {"", 4096}, [](std::string_view a, std::string_view b) { return a < b; }, BytewisePrefix);
  ASSERT_TRUE(sorter.ok());
  for (const auto& r : in) ASSERT_TRUE((*sorter)->Add(r).ok());
  EXPECT_GE((*sorter)->runs_written(), 3u);
  auto expected = in;
  std::sort(expected.begin(), expected.end());
  auto stream = (*sorter)->Finish();
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  EXPECT_EQ(Drain(**stream), expected);
}

}  // namespace
}  // namespace veil
