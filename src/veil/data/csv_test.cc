#include "veil/data/csv.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace veil::data {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

}  // namespace

void PrintTo(const RecordRef& r, std::ostream* os) {
  *os << "{" << r.offset_bytes << ", " << r.length_bytes << "}";
}

namespace {

struct Row {
  std::vector<std::string> fields;
  RecordRef ref;
  int64_t line = 0;
};

class CsvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("veil_csv_test_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& content) {
    const std::string path = (dir_ / name).string();
    // Remove first: on ext4, truncating and rewriting a file forces a flush on close.
    fs::remove(path);
    std::ofstream out(path, std::ios::binary);
    out << content;
    return path;
  }

  static std::string Slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  // Reads every data row of `path`.
  static StatusOr<std::vector<Row>> ReadAll(const std::string& path, CsvOptions options = {},
                                            size_t batch_rows = 1000) {
    VEIL_ASSIGN_OR_RETURN(std::unique_ptr<CsvReader> reader, CsvReader::Open(path, options));
    std::vector<Row> rows;
    RowBatch batch;
    for (;;) {
      VEIL_ASSIGN_OR_RETURN(bool more, reader->NextBatch(batch_rows, &batch));
      if (!more) {
        if (!batch.empty()) return InternalError("test", "batch not empty at EOF");
        break;
      }
      if (batch.num_rows() > batch_rows) return InternalError("test", "batch too large");
      for (size_t r = 0; r < batch.num_rows(); ++r) {
        Row row;
        for (size_t c = 0; c < batch.num_columns(); ++c) {
          row.fields.emplace_back(batch.field(r, c));
        }
        row.ref = batch.record(r);
        row.line = batch.line(r);
        rows.push_back(std::move(row));
      }
    }
    if (reader->rows_read() != static_cast<int64_t>(rows.size())) {
      return InternalError("test", "rows_read mismatch");
    }
    return rows;
  }

  // Reads and expects failure; returns the status.
  static Status ReadError(const std::string& path, CsvOptions options = {}) {
    auto rows = ReadAll(path, options);
    if (rows.ok()) return InternalError("test", "expected an error");
    return rows.status();
  }

  static std::vector<std::vector<std::string>> Fields(const std::vector<Row>& rows) {
    std::vector<std::vector<std::string>> out;
    for (const Row& r : rows) out.push_back(r.fields);
    return out;
  }

  fs::path dir_;
};

using Table = std::vector<std::vector<std::string>>;

// ------------------------------------------------------------------------------------------
// Basic parsing

TEST_F(CsvTest, ReadsHeaderRowsOffsetsAndLines) {
  const std::string path = Write("a.csv", "id,name,age\n1,alice,30\n2,bob,41\n");
  auto reader = CsvReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_THAT((*reader)->header(), ElementsAre("id", "name", "age"));
  EXPECT_EQ((*reader)->num_columns(), 3u);
  EXPECT_EQ((*reader)->header_record(), (RecordRef{0, 12}));
  RowBatch batch;
  auto more = (*reader)->NextBatch(10, &batch);
  ASSERT_TRUE(more.ok());
  EXPECT_TRUE(*more);
  ASSERT_EQ(batch.num_rows(), 2u);
  EXPECT_EQ(batch.field(0, 1), "alice");
  EXPECT_EQ(batch.row(1)[2], "41");
  EXPECT_EQ(batch.row(1).size(), 3u);
  EXPECT_EQ(batch.offset_bytes(0), 12);
  EXPECT_EQ(batch.length_bytes(0), 11);
  EXPECT_EQ(batch.line(0), 2);
  EXPECT_EQ(batch.row(1).offset_bytes(), 23);
  EXPECT_EQ(batch.row(1).length_bytes(), 9);
  EXPECT_EQ(batch.row(1).line(), 3);
  more = (*reader)->NextBatch(10, &batch);
  ASSERT_TRUE(more.ok());
  EXPECT_FALSE(*more);
  EXPECT_TRUE(batch.empty());
  // Still false on further calls.
  more = (*reader)->NextBatch(10, &batch);
  ASSERT_TRUE(more.ok());
  EXPECT_FALSE(*more);
  EXPECT_EQ((*reader)->rows_read(), 2);
}

TEST_F(CsvTest, HeaderOnlyFileHasNoRows) {
  auto rows = ReadAll(Write("h.csv", "a,b\n"));
  ASSERT_TRUE(rows.ok());
  EXPECT_TRUE(rows->empty());
  rows = ReadAll(Write("h2.csv", "a,b"));
  ASSERT_TRUE(rows.ok());
  EXPECT_TRUE(rows->empty());
}

TEST_F(CsvTest, QuotedFieldsAndEscapedQuotes) {
  auto rows = ReadAll(Write("q.csv",
                            "a,b,c\n"
                            "\"x,y\",\"say \"\"hi\"\"\",plain\n"
                            "\"\"\"\",\"\"\"\"\"\",\"a\"\"\"\n"));
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(Fields(*rows), (Table{{"x,y", "say \"hi\"", "plain"}, {"\"", "\"\"", "a\""}}));
}

TEST_F(CsvTest, EmbeddedNewlinesKeepLineNumbersRight) {
  const std::string content =
      "a,b\n"                     // line 1
      "1,\"two\nlines\"\n"        // lines 2-3
      "2,\"three\r\nlines\n\"\n"  // lines 4-6
      "3,x\n";                    // line 7
  const std::string path = Write("nl.csv", content);
  auto rows = ReadAll(path);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(Fields(*rows), (Table{{"1", "two\nlines"}, {"2", "three\r\nlines\n"}, {"3", "x"}}));
  EXPECT_EQ((*rows)[0].line, 2);
  EXPECT_EQ((*rows)[1].line, 4);
  EXPECT_EQ((*rows)[2].line, 7);
  // An error after the embedded newlines is located on the right physical line.
  Status s = ReadError(Write("nl_bad.csv", content + "4,y,z\n"));
  EXPECT_EQ(s.code(), "malformed_csv");
  EXPECT_THAT(s.message(), HasSubstr("line 8, column 3"));
}

TEST_F(CsvTest, CrlfLineEndings) {
  const std::string content = "a,b\r\n1,2\r\n\"x\r\ny\",3\r\n";
  const std::string path = Write("crlf.csv", content);
  auto rows = ReadAll(path);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(Fields(*rows), (Table{{"1", "2"}, {"x\r\ny", "3"}}));
  EXPECT_EQ((*rows)[0].ref, (RecordRef{5, 5}));
  EXPECT_EQ((*rows)[1].ref, (RecordRef{10, 10}));
  EXPECT_EQ((*rows)[1].line, 3);
}

TEST_F(CsvTest, LastRecordWithoutNewline) {
  auto rows = ReadAll(Write("nonl.csv", "a,b\n1,2\n3,4"));
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(Fields(*rows), (Table{{"1", "2"}, {"3", "4"}}));
  EXPECT_EQ((*rows)[1].ref, (RecordRef{8, 3}));

  rows = ReadAll(Write("nonl_q.csv", "a,b\n1,\"x\"\"\""));
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(Fields(*rows), (Table{{"1", "x\""}}));

  rows = ReadAll(Write("nonl_empty.csv", "a,b\n1,"));
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(Fields(*rows), (Table{{"1", ""}}));
}

TEST_F(CsvTest, SkipsUtf8Bom) {
  const std::string path = Write("bom.csv", "\xEF\xBB\xBFid,v\n1,2\n");
  auto reader = CsvReader::Open(path);
  ASSERT_TRUE(reader.ok());
  EXPECT_THAT((*reader)->header(), ElementsAre("id", "v"));
  EXPECT_EQ((*reader)->header_record(), (RecordRef{3, 5}));
  EXPECT_EQ((*reader)->ColumnIndex("id"), 0u);
  auto rows = ReadAll(path);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ((*rows)[0].ref, (RecordRef{8, 4}));
  // A BOM elsewhere is data.
  rows = ReadAll(Write("bom2.csv", "id,v\n\xEF\xBB\xBFx,2\n"));
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ((*rows)[0].fields[0], "\xEF\xBB\xBFx");
}

TEST_F(CsvTest, EmptyCells) {
  auto rows = ReadAll(Write("e.csv", "a,b,c\n,,\n\"\",\"\",\"\"\nx,,\"\"\n,y,\n"));
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(Fields(*rows), (Table{{"", "", ""}, {"", "", ""}, {"x", "", ""}, {"", "y", ""}}));
}

TEST_F(CsvTest, BlankLinesAreSkippedInMultiColumnFiles) {
  const std::string path = Write("blank.csv", "\n\r\na,b\n\n1,2\r\n\r\n\n3,4\n\n");
  auto rows = ReadAll(path);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(Fields(*rows), (Table{{"1", "2"}, {"3", "4"}}));
  EXPECT_EQ((*rows)[0].line, 5);
  EXPECT_EQ((*rows)[0].ref, (RecordRef{8, 5}));
  EXPECT_EQ((*rows)[1].line, 8);
  EXPECT_EQ((*rows)[1].ref, (RecordRef{16, 4}));
  auto reader = CsvReader::Open(path);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ((*reader)->header_record(), (RecordRef{3, 4}));
}

TEST_F(CsvTest, BlankLineInSingleColumnFileIsAnEmptyCell) {
  auto rows = ReadAll(Write("one.csv", "\nid\n1\n\n\"\"\n\r\n2"));
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(Fields(*rows), (Table{{"1"}, {""}, {""}, {""}, {"2"}}));
  EXPECT_EQ((*rows)[1].ref, (RecordRef{6, 1}));
  EXPECT_EQ((*rows)[1].line, 4);
  EXPECT_EQ((*rows)[3].ref, (RecordRef{10, 2}));
  EXPECT_EQ((*rows)[4].line, 7);
}

TEST_F(CsvTest, Unicode) {
  auto rows = ReadAll(Write("u.csv",
                            "名前,ключ,emoji\n"
                            "山田,значение,😀\n"
                            "\"é,ü\",\"ß\"\"ç\",\xF4\x8F\xBF\xBF\n"));
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(Fields(*rows), (Table{{"山田", "значение", "😀"}, {"é,ü", "ß\"ç", "\xF4\x8F\xBF\xBF"}}));
  auto reader = CsvReader::Open(dir_ / "u.csv");
  ASSERT_TRUE(reader.ok());
  EXPECT_THAT((*reader)->header(), ElementsAre("名前", "ключ", "emoji"));
  EXPECT_EQ((*reader)->ColumnIndex("ключ"), 1u);
}

TEST_F(CsvTest, InvalidUtf8) {
  struct Case {
    std::string bytes;
    const char* what;
  };
  const std::vector<Case> cases = {
      {"\xFF", "invalid lead byte"},
      {"\x80", "lone continuation byte"},
      {"\xC0\xAF", "overlong 2-byte"},
      {"\xE0\x80\xAF", "overlong 3-byte"},
      {"\xED\xA0\x80", "surrogate"},
      {"\xF4\x90\x80\x80", "above U+10FFFF"},
      {"\xE2\x82", "truncated before a delimiter"},
      {"\xC3(", "bad continuation"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const std::string path = Write("bad.csv", "a,b\nok,fine\nx,y" + c.bytes + ",z\n");
    Status s = ReadError(path);
    EXPECT_EQ(s.code(), "invalid_utf8");
    EXPECT_EQ(s.type(), ErrorType::kParameterValidation);
    EXPECT_THAT(s.message(), HasSubstr(path));
    EXPECT_THAT(s.message(), HasSubstr("line 3, column 2 (byte 4)"));
  }
  // Truncated sequence at end of file, inside quotes, in the header.
  Status s = ReadError(Write("t.csv", "a\n\xE2\x82"));
  EXPECT_EQ(s.code(), "invalid_utf8");
  EXPECT_THAT(s.message(), HasSubstr("line 2, column 1 (byte 1)"));
  s = ReadError(Write("tq.csv", "a,b\n1,\"x\ny\xFF\"\n"));
  EXPECT_EQ(s.code(), "invalid_utf8");
  EXPECT_THAT(s.message(), HasSubstr("line 3, column 2 (byte 2)"));
  s = CsvReader::Open(Write("th.csv", "a,\xFF\n")).status();
  EXPECT_EQ(s.code(), "invalid_utf8");
  EXPECT_THAT(s.message(), HasSubstr("line 1, column 2 (byte 3)"));
}

// ------------------------------------------------------------------------------------------
// Malformed input

TEST_F(CsvTest, WrongFieldCountNamesFileLineAndColumn) {
  const std::string path = Write("count.csv",
                                 "a,b,c\n"
                                 "1,2,3\n"
                                 "1,2,3\n"
                                 "\"x\ny\",2,3\n"
                                 "1,2,3\n"
                                 "1,2,3,4\n");
  Status s = ReadError(path);
  EXPECT_EQ(s.type(), ErrorType::kParameterValidation);
  EXPECT_EQ(s.code(), "malformed_csv");
  EXPECT_EQ(s.message(), path + ": line 7, column 4 (byte 7): expected 3 fields, got 4");

  s = ReadError(Write("few.csv", "a,b,c\n1,2,3\nx,y\n"));
  EXPECT_EQ(s.code(), "malformed_csv");
  EXPECT_THAT(s.message(),
              HasSubstr("few.csv: line 3, column 3 (byte 4): expected 3 fields, got 2"));

  s = ReadError(Write("few_eof.csv", "a,b\n1"));
  EXPECT_THAT(s.message(), HasSubstr("line 2, column 2 (byte 2): expected 2 fields, got 1"));

  // A single-column-looking blank line in a two-column file is skipped, but a space is data.
  s = ReadError(Write("space.csv", "a,b\n \n"));
  EXPECT_THAT(s.message(), HasSubstr("line 2, column 2 (byte 2): expected 2 fields, got 1"));
}

TEST_F(CsvTest, UnterminatedQuoteAtEof) {
  const std::string path = Write("unterminated.csv", "a,b\n1,2\n3,\"abc\ndef\n");
  Status s = ReadError(path);
  EXPECT_EQ(s.code(), "malformed_csv");
  EXPECT_EQ(s.message(), path +
                             ": line 3, column 2 (byte 3): unterminated quoted field: the quote "
                             "opened here is never closed");
  s = ReadError(Write("u2.csv", "a\n\""));
  EXPECT_EQ(s.code(), "malformed_csv");
  EXPECT_THAT(s.message(), HasSubstr("line 2, column 1 (byte 1): unterminated"));
}

TEST_F(CsvTest, QuoteInsideUnquotedField) {
  const std::string path = Write("q.csv", "a,b\n1,2\nab\"c,3\n");
  Status s = ReadError(path);
  EXPECT_EQ(s.code(), "malformed_csv");
  EXPECT_THAT(s.message(),
              HasSubstr(path + ": line 3, column 1 (byte 3): quote inside an unquoted"));
  s = ReadError(Write("q2.csv", "a,b\n1,x\"\n"));
  EXPECT_THAT(s.message(), HasSubstr("line 2, column 2 (byte 4)"));
}

TEST_F(CsvTest, CharactersAfterClosingQuote) {
  const std::string path = Write("after.csv", "a,b\n1,\"x\ny\"z\n");
  Status s = ReadError(path);
  EXPECT_EQ(s.code(), "malformed_csv");
  EXPECT_EQ(s.message(),
            path +
                ": line 3, column 2 (byte 3): unexpected character after the closing quote "
                "of a quoted field");
  s = ReadError(Write("after2.csv", "a,b\n\"x\" ,1\n"));
  EXPECT_THAT(s.message(), HasSubstr("line 2, column 1 (byte 4): unexpected character"));
}

TEST_F(CsvTest, BareCarriageReturn) {
  Status s = ReadError(Write("cr.csv", "a,b\n1,2\r3,4\n"));
  EXPECT_EQ(s.code(), "malformed_csv");
  EXPECT_THAT(s.message(), HasSubstr("line 2, column 2 (byte 4): carriage return not followed"));
  s = ReadError(Write("cr_eof.csv", "a,b\n1,2\r"));
  EXPECT_EQ(s.code(), "malformed_csv");
  s = ReadError(Write("cr_blank.csv", "a,b\n\r1,2\n"));
  EXPECT_THAT(s.message(), HasSubstr("line 2, column 1 (byte 1): carriage return"));
}

TEST_F(CsvTest, ErrorIsStickyAndEarlierRowsAreDelivered) {
  const std::string path = Write("sticky.csv", "a,b\n1,2\n3,4\n5\n6,7\n");
  auto reader = CsvReader::Open(path);
  ASSERT_TRUE(reader.ok());
  RowBatch batch;
  auto more = (*reader)->NextBatch(2, &batch);
  ASSERT_TRUE(more.ok());
  EXPECT_EQ(batch.num_rows(), 2u);
  more = (*reader)->NextBatch(2, &batch);
  ASSERT_FALSE(more.ok());
  EXPECT_EQ(more.status().code(), "malformed_csv");
  EXPECT_THAT(more.status().message(), HasSubstr("line 4"));
  EXPECT_TRUE(batch.empty());
  auto again = (*reader)->NextBatch(2, &batch);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().message(), more.status().message());
}

TEST_F(CsvTest, RejectsZeroBatchSize) {
  auto reader = CsvReader::Open(Write("z.csv", "a\n1\n"));
  ASSERT_TRUE(reader.ok());
  RowBatch batch;
  auto more = (*reader)->NextBatch(0, &batch);
  ASSERT_FALSE(more.ok());
  EXPECT_EQ(more.status().type(), ErrorType::kInternal);
}

// ------------------------------------------------------------------------------------------
// Header and file errors

TEST_F(CsvTest, HeaderErrors) {
  Status s = CsvReader::Open(Write("dup.csv", "id,name,id\n1,2,3\n")).status();
  EXPECT_EQ(s.code(), "bad_header");
  EXPECT_THAT(s.message(), HasSubstr("dup.csv"));
  EXPECT_THAT(s.message(), HasSubstr("'id' appears twice"));
  s = CsvReader::Open(Write("emptyname.csv", "id,,x\n")).status();
  EXPECT_EQ(s.code(), "bad_header");
  EXPECT_THAT(s.message(), HasSubstr("column 2"));
  s = CsvReader::Open(Write("emptyname1.csv", "\"\"\n1\n")).status();
  EXPECT_EQ(s.code(), "bad_header");
  s = CsvReader::Open(Write("badquote.csv", "a,\"b\n")).status();
  EXPECT_EQ(s.code(), "malformed_csv");
}

TEST_F(CsvTest, EmptyFile) {
  for (const char* content : {"", "\xEF\xBB\xBF", "\n\n\r\n"}) {
    Status s = CsvReader::Open(Write("empty.csv", content)).status();
    EXPECT_EQ(s.code(), "empty_file");
    EXPECT_EQ(s.type(), ErrorType::kParameterValidation);
    EXPECT_THAT(s.message(), HasSubstr("empty.csv"));
  }
}

TEST_F(CsvTest, FileNotFoundAndDirectory) {
  const std::string missing = (dir_ / "nope.csv").string();
  Status s = CsvReader::Open(missing).status();
  EXPECT_EQ(s.code(), "file_not_found");
  EXPECT_THAT(s.message(), HasSubstr(missing));
  EXPECT_EQ(CsvRowFile::Open(missing).status().code(), "file_not_found");
  EXPECT_EQ(CountRows(missing).status().code(), "file_not_found");
  s = CsvReader::Open(dir_.string()).status();
  EXPECT_EQ(s.code(), "file_unreadable");
  EXPECT_THAT(s.message(), HasSubstr(dir_.string()));
}

TEST_F(CsvTest, ColumnLookup) {
  auto reader = CsvReader::Open(Write("cols.csv", "id,name,Age\n"));
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ((*reader)->ColumnIndex("name"), 1u);
  EXPECT_EQ((*reader)->ColumnIndex("age"), std::nullopt);  // case-sensitive
  auto cols = (*reader)->ResolveColumns({"Age", "id"});
  ASSERT_TRUE(cols.ok());
  EXPECT_THAT(*cols, ElementsAre(2u, 0u));
  auto bad = (*reader)->ResolveColumns({"id", "x", "y"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), "unknown_column");
  EXPECT_EQ(bad.status().type(), ErrorType::kParameterValidation);
  EXPECT_THAT(bad.status().message(), HasSubstr("cols.csv"));
  EXPECT_THAT(bad.status().message(), HasSubstr("'x', 'y'"));
  EXPECT_THAT(bad.status().message(), HasSubstr("'id', 'name', 'Age'"));
  bad = (*reader)->ResolveColumns({"zz"});
  EXPECT_THAT(bad.status().message(), HasSubstr("no column 'zz'"));
}

TEST_F(CsvTest, CountRows) {
  auto n = CountRows(Write("count.csv", "a,b\n1,2\n\n3,\"4\n5\"\n6,7"));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 3);
  EXPECT_EQ(CountRows(Write("bad.csv", "a,b\n1\n")).status().code(), "malformed_csv");
}

// ------------------------------------------------------------------------------------------
// Streaming across chunk boundaries

// Cells exercising every parser path; mixed to create records straddling read chunks.
std::string RandomCell(std::mt19937_64& rng) {
  static const std::vector<std::string> kPool = {"",
                                                 "0",
                                                 "12345",
                                                 "abc",
                                                 "a,b",
                                                 "\"",
                                                 "say \"hi\"",
                                                 "x\ny",
                                                 "\r\n",
                                                 "trail\r",
                                                 " spaced ",
                                                 "é",
                                                 "😀",
                                                 "山田",
                                                 "ß\"\n,",
                                                 ",",
                                                 "\n",
                                                 "\"\"",
                                                 "long-value-long-value-long-value-long-value"};
  std::string cell = kPool[rng() % kPool.size()];
  if (rng() % 8 == 0) cell += kPool[rng() % kPool.size()];
  return cell;
}

TEST_F(CsvTest, WriterRoundTripAcrossChunkSizesAndBatchSizes) {
  std::mt19937_64 rng(42);
  const std::vector<std::string> header = {"id", "x,y", "q\"uote", "ünï"};
  Table expected;
  const std::string path = (dir_ / "rt.csv").string();
  {
    auto writer = CsvWriter::Create(path, header);
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    for (int i = 0; i < 500; ++i) {
      std::vector<std::string> row = {std::to_string(i), RandomCell(rng), RandomCell(rng),
                                      RandomCell(rng)};
      if (i % 97 == 0) row = {"", "", "", ""};
      std::vector<std::string_view> views(row.begin(), row.end());
      ASSERT_TRUE((*writer)->WriteRow(views).ok());
      expected.push_back(row);
    }
    ASSERT_TRUE((*writer)->Finish().ok());
    EXPECT_EQ((*writer)->rows_written(), 500);
  }
  const std::string content = Slurp(path);
  for (size_t chunk : {1, 2, 3, 5, 7, 16, 63, 4096, 1 << 20}) {
    for (size_t batch_rows : {1, 3, 1000}) {
      SCOPED_TRACE("chunk " + std::to_string(chunk) + " batch " + std::to_string(batch_rows));
      auto reader = CsvReader::Open(path, {.read_chunk_bytes = chunk});
      ASSERT_TRUE(reader.ok()) << reader.status().ToString();
      EXPECT_EQ((*reader)->header(), header);
      auto rows = ReadAll(path, {.read_chunk_bytes = chunk}, batch_rows);
      ASSERT_TRUE(rows.ok()) << rows.status().ToString();
      ASSERT_EQ(Fields(*rows), expected);
      // Records tile the file exactly: header, then each record right after the previous one.
      int64_t offset = (*reader)->header_record().length_bytes;
      int64_t line = 2;
      for (const Row& r : *rows) {
        ASSERT_EQ(r.ref.offset_bytes, offset);
        ASSERT_EQ(r.line, line);
        const std::string raw = content.substr(r.ref.offset_bytes, r.ref.length_bytes);
        line += std::count(raw.begin(), raw.end(), '\n');
        offset += r.ref.length_bytes;
      }
      EXPECT_EQ(offset, static_cast<int64_t>(content.size()));
    }
  }
}

// Random CSV-ish bytes (valid or not): every chunk size must give the same rows, offsets and
// lines, or exactly the same error, as one big buffer.
TEST_F(CsvTest, RandomInputIsIndependentOfChunkSize) {
  static const std::vector<std::string> kAlphabet = {
      "a",    "1",   ",", ",", "\"", "\"", "\r", "\n", "\n", "\r\n", "\xC3\xA9", "\xF0\x9F\x98\x80",
      "\xE2", "\xFF"};
  std::mt19937_64 rng(7);
  int ok_count = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    std::string content = (iter % 2) ? "a,b\n" : "a\n";
    const size_t len = rng() % 40;
    for (size_t i = 0; i < len; ++i) {
      // Mostly printable / structural bytes, rarely the invalid ones.
      const size_t pick = rng() % (rng() % 10 == 0 ? kAlphabet.size() : kAlphabet.size() - 2);
      content += kAlphabet[pick];
    }
    const std::string path = Write("fuzz.csv", content);
    auto reference = ReadAll(path);
    if (reference.ok()) ++ok_count;
    for (size_t chunk : {1, 2, 3, 5}) {
      for (size_t batch_rows : {1, 2}) {
        auto got = ReadAll(path, {.read_chunk_bytes = chunk}, batch_rows);
        ASSERT_EQ(got.ok(), reference.ok()) << "content: " << ::testing::PrintToString(content);
        if (!got.ok()) {
          ASSERT_EQ(got.status().message(), reference.status().message());
          continue;
        }
        ASSERT_EQ(got->size(), reference->size());
        for (size_t r = 0; r < got->size(); ++r) {
          ASSERT_EQ((*got)[r].fields, (*reference)[r].fields);
          ASSERT_EQ((*got)[r].ref, (*reference)[r].ref);
          ASSERT_EQ((*got)[r].line, (*reference)[r].line);
        }
      }
    }
  }
  EXPECT_GT(ok_count, 100);  // the generator does produce valid files too
}

TEST_F(CsvTest, FileLargerThanBufferWithDefaultOptions) {
  // ~3 MiB of records, some with quoted multi-line cells, so records straddle the 1 MiB
  // chunk boundaries; tiny batches.
  std::string content = "k,v\n";
  std::vector<std::pair<std::string, std::string>> expected;
  for (int i = 0; content.size() < (size_t{3} << 20) + 12345; ++i) {
    std::string key = std::to_string(i * 7919);
    std::string value = (i % 5 == 0) ? "multi\nline,\"" + std::to_string(i) : "v" + key;
    expected.emplace_back(key, value);
    content += key + ",";
    if (i % 5 == 0) {
      content += "\"multi\nline,\"\"" + std::to_string(i) + "\"";
    } else {
      content += value;
    }
    content += (i % 2) ? "\r\n" : "\n";
  }
  const std::string path = Write("big.csv", content);
  auto reader = CsvReader::Open(path);
  ASSERT_TRUE(reader.ok());
  RowBatch batch;
  size_t n = 0;
  int64_t line = 2;
  for (;;) {
    auto more = (*reader)->NextBatch(7, &batch);
    ASSERT_TRUE(more.ok()) << more.status().ToString();
    if (!*more) break;
    for (size_t r = 0; r < batch.num_rows(); ++r, ++n) {
      ASSERT_LT(n, expected.size());
      ASSERT_EQ(batch.field(r, 0), expected[n].first);
      ASSERT_EQ(batch.field(r, 1), expected[n].second);
      ASSERT_EQ(batch.line(r), line);
      line += (n % 5 == 0) ? 2 : 1;
    }
  }
  EXPECT_EQ(n, expected.size());
  auto count = CountRows(path);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, static_cast<int64_t>(expected.size()));
}

TEST_F(CsvTest, RecordLongerThanChunkGrowsBufferUpToLimit) {
  const std::string big(100000, 'x');
  const std::string path = Write("long.csv", "a,b\n1,\"" + big + "\"\n2," + big + "\n3,4\n");
  auto rows = ReadAll(path, {.read_chunk_bytes = 1000});
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0].fields[1], big);
  EXPECT_EQ((*rows)[1].fields[1], big);
  EXPECT_EQ((*rows)[2].fields[1], "4");

  Status s = ReadError(path, {.read_chunk_bytes = 1000, .max_record_bytes = 50000});
  EXPECT_EQ(s.code(), "record_too_large");
  EXPECT_THAT(s.message(), HasSubstr("line 2"));
  // The limit also applies when the record fits in the buffer.
  s = ReadError(path, {.read_chunk_bytes = 1 << 20, .max_record_bytes = 50000});
  EXPECT_EQ(s.code(), "record_too_large");
  // Runaway quote: bounded by the limit, not the file.
  s = ReadError(Write("runaway.csv", "a\n\"" + big + big),
                {.read_chunk_bytes = 64, .max_record_bytes = 4096});
  EXPECT_EQ(s.code(), "record_too_large");
}

// ------------------------------------------------------------------------------------------
// Raw record access

TEST_F(CsvTest, RawRecordsRoundTripThroughOffsets) {
  const std::string content =
      "\xEF\xBB\xBFid,v\r\n"
      "1,\"a\"\"b\"\r\n"
      "\n"
      "2,\"multi\nline\"\n"
      "3,plain\n"
      "4,last";
  const std::string path = Write("raw.csv", content);
  auto rows = ReadAll(path, {.read_chunk_bytes = 3});
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 4u);
  auto file = CsvRowFile::Open(path);
  ASSERT_TRUE(file.ok());
  EXPECT_EQ((*file)->size_bytes(), static_cast<int64_t>(content.size()));
  for (const Row& r : *rows) {
    std::string raw;
    ASSERT_TRUE((*file)->AppendRecord(r.ref, &raw).ok());
    EXPECT_EQ(raw, content.substr(r.ref.offset_bytes, r.ref.length_bytes));
  }
  std::string raw;
  ASSERT_TRUE((*file)->AppendRecord((*rows)[0].ref, &raw).ok());
  EXPECT_EQ(raw, "1,\"a\"\"b\"\r\n");
  raw.clear();
  ASSERT_TRUE((*file)->AppendRecord((*rows)[3].ref, &raw).ok());
  EXPECT_EQ(raw, "4,last");

  // Out of order, duplicated, via one call (coalesced reads).
  std::vector<RecordRef> refs = {(*rows)[2].ref, (*rows)[0].ref, (*rows)[2].ref, (*rows)[3].ref,
                                 (*rows)[1].ref};
  raw.clear();
  ASSERT_TRUE((*file)->AppendRecords(refs, &raw).ok());
  EXPECT_EQ(raw, "3,plain\n1,\"a\"\"b\"\r\n3,plain\n4,last2,\"multi\nline\"\n");

  // Copy into a writer: quoting and line endings are preserved, missing newline added, and
  // the output parses back to the same cells.
  const std::string out_path = (dir_ / "out" / "copy.csv").string();
  auto writer = CsvWriter::Create(out_path, {"id", "v"});
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*file)->CopyRecords(refs, writer->get()).ok());
  ASSERT_TRUE((*writer)->WriteEmptyRow().ok());
  ASSERT_TRUE((*writer)->Finish().ok());
  EXPECT_EQ(Slurp(out_path),
            "id,v\n3,plain\n1,\"a\"\"b\"\r\n3,plain\n4,last\n2,\"multi\nline\"\n,\n");
  auto back = ReadAll(out_path);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(Fields(*back), (Table{{"3", "plain"},
                                  {"1", "a\"b"},
                                  {"3", "plain"},
                                  {"4", "last"},
                                  {"2", "multi\nline"},
                                  {"", ""}}));
}

TEST_F(CsvTest, RawRecordsManyAndFarApart) {
  // Enough records that reads coalesce, split at the size cap and skip large gaps.
  std::string content = "k,v\n";
  for (int i = 0; i < 60000; ++i) {
    content += std::to_string(i) + "," + std::string(i % 50, 'p') + "\n";
  }
  const std::string path = Write("many.csv", content);
  auto rows = ReadAll(path, {}, 4096);
  ASSERT_TRUE(rows.ok());
  std::vector<RecordRef> refs;
  std::string expected;
  for (size_t i = 0; i < rows->size(); i += (i % 3 == 0 ? 1 : 997)) {
    refs.push_back((*rows)[i].ref);
    expected += content.substr((*rows)[i].ref.offset_bytes, (*rows)[i].ref.length_bytes);
  }
  for (const Row& r : *rows) {  // all of them, sequential
    refs.push_back(r.ref);
    expected += content.substr(r.ref.offset_bytes, r.ref.length_bytes);
  }
  auto file = CsvRowFile::Open(path);
  ASSERT_TRUE(file.ok());
  std::string raw;
  ASSERT_TRUE((*file)->AppendRecords(refs, &raw).ok());
  EXPECT_EQ(raw, expected);
}

TEST_F(CsvTest, RawRecordOutOfRange) {
  const std::string path = Write("r.csv", "a\n1\n");
  auto file = CsvRowFile::Open(path);
  ASSERT_TRUE(file.ok());
  std::string raw;
  raw = "kept";
  Status s = (*file)->AppendRecord({2, 10}, &raw);
  EXPECT_EQ(raw, "kept");
  EXPECT_EQ(s.code(), "file_unreadable");
  EXPECT_THAT(s.message(), HasSubstr(path));
  s = (*file)->AppendRecord({-1, 1}, &raw);
  EXPECT_EQ(s.type(), ErrorType::kInternal);
  EXPECT_TRUE((*file)->AppendRecord({2, 0}, &raw).ok());
}

// ------------------------------------------------------------------------------------------
// Writer

TEST_F(CsvTest, WriterQuoting) {
  const std::string path = (dir_ / "w.csv").string();
  auto writer = CsvWriter::Create(path, {"a", "b,c", "d"});
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->WriteRow({"plain", "with,comma", "with\"quote"}).ok());
  ASSERT_TRUE((*writer)->WriteRow({"cr\r", "lf\n", " spaces "}).ok());
  ASSERT_TRUE((*writer)->WriteRow({"", "", ""}).ok());
  ASSERT_TRUE((*writer)->WriteRow({"\"", "é", ""}).ok());
  ASSERT_TRUE((*writer)->Finish().ok());
  EXPECT_EQ(Slurp(path),
            "a,\"b,c\",d\n"
            "plain,\"with,comma\",\"with\"\"quote\"\n"
            "\"cr\r\",\"lf\n\", spaces \n"
            ",,\n"
            "\"\"\"\",é,\n");
  auto rows = ReadAll(path);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(Fields(*rows), (Table{{"plain", "with,comma", "with\"quote"},
                                  {"cr\r", "lf\n", " spaces "},
                                  {"", "", ""},
                                  {"\"", "é", ""}}));
}

TEST_F(CsvTest, WriterSingleColumnNeverWritesBlankLines) {
  const std::string path = (dir_ / "one.csv").string();
  auto writer = CsvWriter::Create(path, {"id"});
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->WriteRow({""}).ok());
  ASSERT_TRUE((*writer)->WriteRow({"x"}).ok());
  ASSERT_TRUE((*writer)->WriteEmptyRow().ok());
  ASSERT_TRUE((*writer)->WriteRaw("y").ok());
  ASSERT_TRUE((*writer)->WriteRaw("\n").ok());
  ASSERT_TRUE((*writer)->WriteRaw("\"z\"\r\n").ok());
  ASSERT_TRUE((*writer)->Finish().ok());
  EXPECT_EQ(Slurp(path), "id\n\"\"\nx\n\"\"\ny\n\"\"\n\"z\"\r\n");
  auto rows = ReadAll(path);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(Fields(*rows), (Table{{""}, {"x"}, {""}, {"y"}, {""}, {"z"}}));
}

TEST_F(CsvTest, WriterQuotesLeadingBomInFirstHeaderCell) {
  const std::string path = (dir_ / "bom.csv").string();
  auto writer = CsvWriter::Create(path, {"\xEF\xBB\xBFid", "v"});
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Finish().ok());
  auto reader = CsvReader::Open(path);
  ASSERT_TRUE(reader.ok());
  EXPECT_THAT((*reader)->header(), ElementsAre("\xEF\xBB\xBFid", "v"));
}

TEST_F(CsvTest, WriterIsAtomic) {
  const std::string path = (dir_ / "sub" / "dir" / "out.csv").string();
  auto temp_files = [&] {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(fs::path(path).parent_path())) {
      names.push_back(e.path().filename().string());
    }
    return names;
  };
  {
    auto writer = CsvWriter::Create(path, {"a", "b"});
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    ASSERT_TRUE((*writer)->WriteRow({"1", "2"}).ok());
    EXPECT_FALSE(fs::exists(path));
    auto names = temp_files();
    ASSERT_EQ(names.size(), 1u);
    EXPECT_THAT(names[0], ::testing::StartsWith(".out.csv.tmp-"));
    ASSERT_TRUE((*writer)->Finish().ok());
    EXPECT_TRUE(fs::exists(path));
    EXPECT_THAT(temp_files(), ElementsAre("out.csv"));
    EXPECT_EQ(Slurp(path), "a,b\n1,2\n");
    // Anything after Finish is a caller bug.
    Status s = (*writer)->WriteRow({"3", "4"});
    EXPECT_EQ(s.type(), ErrorType::kInternal);
    EXPECT_EQ((*writer)->Finish().type(), ErrorType::kInternal);
  }
  EXPECT_EQ(Slurp(path), "a,b\n1,2\n");
  // Abandoned writer: temp removed, existing output untouched.
  {
    auto writer = CsvWriter::Create(path, {"a", "b"});
    ASSERT_TRUE(writer.ok());
    for (int i = 0; i < 200000; ++i) ASSERT_TRUE((*writer)->WriteRow({"xxxx", "yyyy"}).ok());
    EXPECT_EQ(temp_files().size(), 2u);
  }
  EXPECT_THAT(temp_files(), ElementsAre("out.csv"));
  EXPECT_EQ(Slurp(path), "a,b\n1,2\n");
}

TEST_F(CsvTest, WriterErrors) {
  const std::string path = (dir_ / "e.csv").string();
  EXPECT_EQ(CsvWriter::Create(path, {}).status().code(), "bad_header");
  EXPECT_EQ(CsvWriter::Create(path, {"a", ""}).status().code(), "bad_header");
  Status s = CsvWriter::Create(path, {"a", "b", "a"}).status();
  EXPECT_EQ(s.code(), "bad_header");
  EXPECT_THAT(s.message(), HasSubstr("'a'"));
  EXPECT_FALSE(fs::exists(path));

  auto writer = CsvWriter::Create(path, {"a", "b"});
  ASSERT_TRUE(writer.ok());
  s = (*writer)->WriteRow({"1"});
  EXPECT_EQ(s.type(), ErrorType::kInternal);
  EXPECT_EQ(s.code(), "field_count_mismatch");
  writer->reset();
  EXPECT_FALSE(fs::exists(path));

  // Parent "directory" is a regular file.
  const std::string blocker = Write("blocker", "x");
  s = CsvWriter::Create(blocker + "/out.csv", {"a"}).status();
  EXPECT_EQ(s.type(), ErrorType::kResultSave);
  EXPECT_EQ(s.code(), "write_failed");
  EXPECT_THAT(s.message(), HasSubstr(blocker));

  // Final path is a directory: rename fails at Finish, temp cleaned up.
  const std::string dir_target = (dir_ / "target").string();
  fs::create_directories(fs::path(dir_target) / "inner");
  auto w2 = CsvWriter::Create(dir_target, {"a"});
  ASSERT_TRUE(w2.ok());
  s = (*w2)->Finish();
  EXPECT_EQ(s.code(), "write_failed");
  EXPECT_THAT(s.message(), HasSubstr(dir_target));
  EXPECT_EQ((*w2)->WriteEmptyRow().code(), "write_failed");  // sticky
  w2->reset();
  for (const auto& e : fs::directory_iterator(dir_)) {
    EXPECT_THAT(e.path().filename().string(), ::testing::Not(HasSubstr(".tmp-")));
  }
}

// ------------------------------------------------------------------------------------------
// Throughput (run explicitly: --gtest_also_run_disabled_tests --gtest_filter=*Speed*)

TEST_F(CsvTest, DISABLED_ParseSpeed) {
  const std::string path = (dir_ / "speed.csv").string();
  {
    std::string content = "id,a,b,c\n";
    content.reserve(size_t{210} << 20);
    std::mt19937_64 rng(1);
    char line[128];
    while (content.size() < (size_t{200} << 20)) {
      const int n =
          std::snprintf(line, sizeof line, "%llu,%u,%u,id_%08llx\n",
                        static_cast<unsigned long long>(rng() % 100000000000ULL),
                        static_cast<unsigned>(rng() % 1000000), static_cast<unsigned>(rng() % 1000),
                        static_cast<unsigned long long>(rng() & 0xffffffffULL));
      content.append(line, n);
    }
    std::ofstream(path, std::ios::binary) << content;
  }
  const double mb = static_cast<double>(fs::file_size(path)) / 1e6;
  for (int rep = 0; rep < 3; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    auto reader = CsvReader::Open(path);
    ASSERT_TRUE(reader.ok());
    RowBatch batch;
    size_t checksum = 0;
    for (;;) {
      auto more = (*reader)->NextBatch(65536, &batch);
      ASSERT_TRUE(more.ok());
      if (!*more) break;
      for (size_t r = 0; r < batch.num_rows(); ++r) checksum += batch.field(r, 3).size();
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("parsed %.1f MB, %lld rows in %.3f s: %.0f MB/s (checksum %zu)\n", mb,
                static_cast<long long>((*reader)->rows_read()), s, mb / s, checksum);
  }
}

}  // namespace
}  // namespace veil::data
