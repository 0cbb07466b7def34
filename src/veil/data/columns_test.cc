#include "veil/data/columns.h"

#include <cmath>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace veil::data {
namespace {

namespace fs = std::filesystem;

TEST(ParseCellTest, ClassifiesLikePandas) {
  double v = 0;
  EXPECT_EQ(ParseCell("", &v), CellKind::kMissing);
  EXPECT_EQ(ParseCell("NA", &v), CellKind::kMissing);
  EXPECT_EQ(ParseCell("nan", &v), CellKind::kMissing);
  EXPECT_EQ(ParseCell("#N/A", &v), CellKind::kMissing);
  EXPECT_EQ(ParseCell("1.5", &v), CellKind::kNumber);
  EXPECT_EQ(v, 1.5);
  EXPECT_EQ(ParseCell(" -2e3 ", &v), CellKind::kNumber);
  EXPECT_EQ(v, -2000);
  EXPECT_EQ(ParseCell("+.5", &v), CellKind::kNumber);
  EXPECT_EQ(v, 0.5);
  EXPECT_EQ(ParseCell("-Infinity", &v), CellKind::kNumber);
  EXPECT_TRUE(std::isinf(v) && v < 0);
  EXPECT_EQ(ParseCell("abc", &v), CellKind::kText);
  EXPECT_EQ(ParseCell("0x10", &v), CellKind::kText);
  EXPECT_EQ(ParseCell("1,000", &v), CellKind::kText);
  EXPECT_EQ(ParseCell("  ", &v), CellKind::kText);
  EXPECT_EQ(ParseCell("None", &v), CellKind::kText);  // not a pandas 1.5 NA string
}

TEST(FormatTest, ShortestRoundTripAndPythonRepr) {
  EXPECT_EQ(FormatDouble(0.1), "0.1");
  EXPECT_EQ(FormatDouble(2.0), "2");
  EXPECT_EQ(FormatDouble(-0.0), "0");
  EXPECT_EQ(std::stod(FormatDouble(1.0 / 3)), 1.0 / 3);
  EXPECT_EQ(FormatPythonFloat(2.0), "2.0");
  EXPECT_EQ(FormatPythonFloat(-2.5), "-2.5");
  EXPECT_EQ(FormatPythonFloat(0.0001), "0.0001");
  EXPECT_EQ(FormatPythonFloat(1e-5), "1e-05");
  EXPECT_EQ(FormatPythonFloat(1e16), "1e+16");
  EXPECT_EQ(FormatPythonFloat(123456789012345.0), "123456789012345.0");
  EXPECT_EQ(FormatPythonFloat(1.25e-7), "1.25e-07");
}

TEST(ReadColumnsTest, ReadsSelectedColumnsAndRewrites) {
  const fs::path dir = fs::temp_directory_path() / ("veil_columns_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string in = (dir / "in.csv").string();
  std::ofstream(in) << "id,x,s\nA,1,u\nB,,v\nC,2.5,w\nD,oops,x\n";
  auto t = ReadColumns(in, {"x", "s"}, true);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->rows, 4);
  const Column& x = t->columns[0];
  EXPECT_EQ(x.missing, 1);
  EXPECT_EQ(x.numbers, 2);
  EXPECT_FALSE(x.numeric());
  EXPECT_EQ(x.first_text_line, 5);
  Status err = NonNumericError(in, x);
  EXPECT_EQ(err.code(), "non_numeric_value");
  EXPECT_NE(err.message().find("line 5, column 'x': 'oops'"), std::string::npos);
  EXPECT_EQ(t->columns[1].text[2], "w");
  EXPECT_EQ(ReadColumns(in, {"nope"}, false).status().code(), "unknown_column");

  const std::string out = (dir / "out.csv").string();
  ASSERT_TRUE(RewriteCsv(in, out, {"id", "n"},
                         [](int64_t row, const RowBatch::Row& r, std::vector<std::string>* o) {
                           (*o)[0] = std::string(r[0]);
                           (*o)[1] = std::to_string(row);
                           return Status();
                         })
                  .ok());
  std::ifstream f(out);
  std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_EQ(all, "id,n\nA,0\nB,1\nC,2\nD,3\n");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace veil::data
