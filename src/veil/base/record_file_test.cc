#include "veil/base/record_file.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace veil {
namespace {

namespace fs = std::filesystem;

class RecordFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("veil_record_file_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::vector<std::string> ReadAll(const std::string& path) {
    std::vector<std::string> out;
    auto r = RecordFileReader::Open(path);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return out;
    while (true) {
      auto more = (*r)->Advance();
      EXPECT_TRUE(more.ok()) << more.status().ToString();
      if (!more.ok() || !*more) break;
      out.emplace_back((*r)->current());
    }
    return out;
  }

  fs::path dir_;
};

TEST_F(RecordFileTest, ReadsBackWhatWasWrittenInOrder) {
  const std::string path = (dir_ / "a.rec").string();
  // Empty records, embedded NULs and one record larger than the stdio buffer.
  const std::vector<std::string> in = {
      "", "a", std::string("x\0y", 3), "", std::string(kRecordFileIoBytes + 3, 'z'), "end"};
  auto w = RecordFileWriter::Create(path);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  for (const auto& rec : in) ASSERT_TRUE((*w)->Add(rec).ok());
  ASSERT_TRUE((*w)->Close().ok());
  EXPECT_EQ(ReadAll(path), in);
}

TEST_F(RecordFileTest, ManySmallRecordsAcrossBufferRefills) {
  const std::string path = (dir_ / "many.rec").string();
  std::vector<std::string> in;
  size_t bytes = 0;
  for (size_t i = 0; bytes < 3 * kRecordFileIoBytes; ++i) {
    in.push_back(std::string(i % 23, static_cast<char>('a' + i % 26)) + std::to_string(i));
    bytes += 4 + in.back().size();
  }
  auto w = RecordFileWriter::Create(path);
  ASSERT_TRUE(w.ok());
  for (const auto& rec : in) ASSERT_TRUE((*w)->Add(rec).ok());
  ASSERT_TRUE((*w)->Close().ok());
  EXPECT_EQ(fs::file_size(path), bytes);
  EXPECT_EQ(ReadAll(path), in);
}

TEST_F(RecordFileTest, EmptyFileHasNoRecords) {
  const std::string path = (dir_ / "empty.rec").string();
  auto w = RecordFileWriter::Create(path);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Close().ok());
  EXPECT_TRUE(ReadAll(path).empty());
}

TEST_F(RecordFileTest, ErrorsNameTheFile) {
  const std::string missing = (dir_ / "missing.rec").string();
  auto r = RecordFileReader::Open(missing);
  EXPECT_EQ(r.status().code(), "temp_io");
  EXPECT_NE(r.status().message().find(missing), std::string::npos);
  EXPECT_EQ(RecordFileWriter::Create((dir_ / "no_dir" / "x.rec").string()).status().code(),
            "temp_io");

  // A record cut short by a truncated file.
  const std::string cut = (dir_ / "cut.rec").string();
  {
    auto w = RecordFileWriter::Create(cut);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Add("0123456789").ok());
    ASSERT_TRUE((*w)->Close().ok());
  }
  fs::resize_file(cut, 4 + 5);
  auto t = RecordFileReader::Open(cut);
  ASSERT_TRUE(t.ok());
  auto more = (*t)->Advance();
  EXPECT_EQ(more.status().code(), "temp_io");
  EXPECT_NE(more.status().message().find(cut), std::string::npos);
}

}  // namespace
}  // namespace veil
