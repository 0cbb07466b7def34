// quantile_binning and equal_width_binning on vertically split data (2 and 3 parties) against
// pandas qcut / cut, and their error cases.
#include <gtest/gtest.h>

#include "veil/tasks/binning.h"
#include "veil/tasks/data_task_test_util.h"
#include "veil/tasks/equal_width_binning_task.h"
#include "veil/tasks/quantile_binning_task.h"

namespace veil::tasks {
namespace {

using nlohmann::json;
using testing::DataTaskTest;

constexpr char kBinningReference[] = R"PY(
def compute(inp):
    out = {}
    for party, path in inp["files"].items():
        df = read_csv(path)
        for c in [c for c in inp["columns"] if c in df.columns]:
            s = df[c].astype(float)
            if inp["kind"] == "quantile":
                codes, edges = pd.qcut(s, inp["n_bins"], labels=False, duplicates="drop",
                                       retbins=True)
            else:
                codes, edges = pd.cut(s, inp["n_bins"], labels=False, retbins=True)
            out[c] = {"codes": [None if pd.isna(v) else str(int(v)) for v in codes],
                      "edges": list(edges)}
    return out
)PY";

struct BinningCase {
  std::string kind;  // "quantile" | "equal_width"
  size_t parties;
  int64_t n_bins;
};

class BinningTest : public DataTaskTest, public ::testing::WithParamInterface<BinningCase> {};

TEST_P(BinningTest, MatchesPandas) {
  const BinningCase c = GetParam();
  const auto& parties = c.parties == 2 ? testing::kTwoParties : testing::kThreeParties;
  const json files = WriteDataset(parties, 211, 17 + c.parties + c.n_bins);
  json columns = c.parties == 2 ? json{"b_float", "a_int", "a_float"}
                                : json{"c_float", "a_int", "b_float", "c_int", "a_float"};
  if (c.kind == "equal_width") columns.push_back("b_const");
  json cfg = {{"input_data", files},
              {"output_data", Outputs(parties)},
              {"columns", columns},
              {"n_bins", c.n_bins}};
  const TaskType type =
      c.kind == "quantile" ? QuantileBinningTaskType() : EqualWidthBinningTaskType();
  ASSERT_TRUE(testing::Validate(type, cfg, parties).ok());
  const json merged =
      testing::ExpectAllOk(type, cfg, testing::RunParties(type, cfg, parties), parties);
  ASSERT_FALSE(merged.empty());
  EXPECT_EQ(merged["binned_columns"], columns);
  EXPECT_EQ(merged["binning_type"], c.kind);
  EXPECT_EQ(merged["n_bins"], c.n_bins);
  const json ref = testing::PythonReference(
      kBinningReference,
      {{"files", files}, {"columns", columns}, {"kind", c.kind}, {"n_bins", c.n_bins}});
  ASSERT_TRUE(ref.is_object());
  for (const auto& [col, r] : ref.items()) {
    const json& edges = merged["bin_edges"][col]["edges"];
    ASSERT_EQ(edges.size(), r["edges"].size()) << col << " " << edges.dump();
    for (size_t i = 0; i < edges.size(); ++i) {
      testing::ExpectNear(edges[i], r["edges"][i], col + " edge " + std::to_string(i));
    }
    for (const auto& p : parties) {
      const auto out = testing::ReadCsv(Path("out_" + p + ".csv"));
      if (std::find(out.header.begin(), out.header.end(), col) == out.header.end()) continue;
      testing::ExpectColumnNear(out.Column(col), r["codes"], col);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Binning, BinningTest,
                         ::testing::Values(BinningCase{"quantile", 2, 5},
                                           BinningCase{"quantile", 3, 7},
                                           BinningCase{"equal_width", 2, 4},
                                           BinningCase{"equal_width", 3, 6}),
                         [](const auto& info) {
                           return info.param.kind + std::to_string(info.param.parties) + "_" +
                                  std::to_string(info.param.n_bins);
                         });

TEST(BinIndexTest, RightClosedBins) {
  const std::vector<double> e = {0, 1, 2, 3};
  EXPECT_EQ(BinIndex(e, 0, true), 0);
  EXPECT_EQ(BinIndex(e, 0, false), -1);
  EXPECT_EQ(BinIndex(e, 1, false), 0);
  EXPECT_EQ(BinIndex(e, 1.5, false), 1);
  EXPECT_EQ(BinIndex(e, 3, false), 2);
  EXPECT_EQ(BinIndex(e, 3.5, false), -1);
  EXPECT_EQ(BinIndex({4}, 4, true), 0);
}

TEST_F(DataTaskTest, QuantileBinningOfConstantColumnIsOneBin) {
  const std::string a = WriteCsv("a.csv", {"k", "x"}, {{"7", "1"}, {"", "2"}, {"7", "3"}});
  const std::string b = WriteCsv("b.csv", {"y"}, {{"1"}, {"2"}, {"3"}});
  json cfg = {{"input_data", {{"alice", a}, {"bob", b}}},
              {"output_data", Outputs(testing::kTwoParties)},
              {"columns", {"k", "y"}},
              {"n_bins", 3}};
  const json merged = testing::ExpectAllOk(
      QuantileBinningTaskType(), cfg,
      testing::RunParties(QuantileBinningTaskType(), cfg, testing::kTwoParties),
      testing::kTwoParties);
  EXPECT_EQ(merged["bin_edges"]["k"], (json{{"edges", {7.0}}, {"bins", 1}}));
  EXPECT_EQ(testing::ReadCsv(Path("out_alice.csv")).Column("k"),
            (std::vector<std::string>{"0", "", "0"}));
  EXPECT_EQ(testing::ReadCsv(Path("out_bob.csv")).Column("y"),
            (std::vector<std::string>{"0", "1", "2"}));
}

TEST_F(DataTaskTest, BinningErrors) {
  const std::string a = WriteCsv("a.csv", {"t", "m", "i"}, {{"1", "", "1"}, {"x", "NA", "-inf"}});
  const std::string b = WriteCsv("b.csv", {"y"}, {{"1"}, {"2"}});
  json cfg = {{"input_data", {{"alice", a}, {"bob", b}}},
              {"output_data", Outputs(testing::kTwoParties)}};
  struct Case {
    std::string column, code;
  };
  for (const TaskType& type : {QuantileBinningTaskType(), EqualWidthBinningTaskType()}) {
    for (const Case& c : {Case{"t", "non_numeric_value"}, Case{"m", "all_missing_column"},
                          Case{"i", "non_finite_value"}, Case{"q", "unknown_column"}}) {
      SCOPED_TRACE(type.name + " " + c.column);
      cfg["columns"] = {"y", c.column};
      Status s = testing::ExpectAllFail(testing::RunParties(type, cfg, testing::kTwoParties),
                                        ErrorType::kParameterValidation, c.code);
      if (c.code == "non_numeric_value") {
        EXPECT_NE(s.message().find(a + " line 3, column 't': 'x'"), std::string::npos)
            << s.message();
      }
    }
    json v = cfg;
    v["n_bins"] = 1;
    Status s = testing::Validate(type, v, testing::kTwoParties);
    EXPECT_TRUE(s.problems().size() == 1 && s.problems()[0].path == "task_config.n_bins" &&
                s.problems()[0].code == "out_of_range")
        << s.ToString();
    v["n_bins"] = 2.5;
    s = testing::Validate(type, v, testing::kTwoParties);
    EXPECT_TRUE(s.problems().size() == 1 && s.problems()[0].code == "wrong_type") << s.ToString();
    v.erase("n_bins");
    v.erase("columns");
    s = testing::Validate(type, v, testing::kTwoParties);
    EXPECT_TRUE(s.problems().size() == 1 && s.problems()[0].path == "task_config.columns")
        << s.ToString();
  }
}

}  // namespace
}  // namespace veil::tasks
