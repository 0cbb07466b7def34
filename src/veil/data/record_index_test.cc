#include "veil/data/record_index.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "veil/base/temp_dir.h"

namespace veil::data {
namespace {

TEST(RecordIndexTest, RoundTripAndEmpty) {
  auto dir = ScopedTempDir::Create();
  ASSERT_TRUE(dir.ok());
  const std::string path = (*dir)->path() + "/refs.bin";
  auto w = RecordIndexWriter::Create(path);
  ASSERT_TRUE(w.ok());
  for (int64_t i = 0; i < 100000; ++i) ASSERT_TRUE((*w)->Add({i * 10, i % 7 + 1}).ok());
  ASSERT_TRUE((*w)->Close().ok());
  auto idx = RecordIndex::Open(path);
  ASSERT_TRUE(idx.ok());
  EXPECT_EQ((*idx)->rows(), 100000);
  EXPECT_EQ((*idx)->Get(0), (RecordRef{0, 1}));
  EXPECT_EQ((*idx)->Get(99999), (RecordRef{999990, 99999 % 7 + 1}));

  auto w2 = RecordIndexWriter::Create(path + ".empty");
  ASSERT_TRUE((*w2)->Close().ok());
  auto empty = RecordIndex::Open(path + ".empty");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ((*empty)->rows(), 0);
  EXPECT_EQ(RecordIndex::Open(path + ".missing").status().code(), "temp_io");
}

TEST(ScopedTempDirTest, RemovedOnDestruction) {
  std::string p;
  {
    auto dir = ScopedTempDir::Create();
    ASSERT_TRUE(dir.ok());
    p = (*dir)->path();
    std::filesystem::create_directories(p + "/a/b");
    EXPECT_TRUE(std::filesystem::is_directory(p));
  }
  EXPECT_FALSE(std::filesystem::exists(p));
}

}  // namespace
}  // namespace veil::data
