// table_statistics on vertically split data (2 and 3 parties) against pandas, and its error
// cases.
#include "veil/tasks/table_statistics_task.h"

#include <fstream>

#include <gtest/gtest.h>

#include "veil/tasks/data_task_test_util.h"

namespace veil::tasks {
namespace {

using nlohmann::json;
using testing::DataTaskTest;

constexpr char kStatsReference[] = R"PY(
def compute(inp):
    out = {}
    for party, path in inp["files"].items():
        df = read_csv(path)
        for c in df.columns:
            s = df[c]
            r = {"datatype": str(s.dtype), "total_count": len(s), "count": int(s.count()),
                 "count_na": int(s.isna().sum()), "na_ratio": float(s.isna().mean())}
            if pd.api.types.is_numeric_dtype(s):
                r.update(min=s.min(), max=s.max(), mean=s.mean(), var=s.var(), std=s.std(),
                         sem=s.sem(), skewness=s.skew(), kurtosis=s.kurt(),
                         q1=s.quantile(0.25), q2=s.quantile(0.5), q3=s.quantile(0.75),
                         sum=s.sum())
            else:
                for k in ["min", "max", "mean", "var", "std", "sem", "skewness", "kurtosis",
                          "q1", "q2", "q3", "sum"]:
                    r[k] = None
            out[c] = r
    return out
)PY";

json ReadJsonFile(const std::string& path) {
  std::ifstream f(path);
  return json::parse(f, nullptr, false);
}

struct StatsCase {
  size_t parties;
  bool named;
  std::string report_party;  // "" = default
};

class TableStatisticsTest : public DataTaskTest, public ::testing::WithParamInterface<StatsCase> {};

TEST_P(TableStatisticsTest, MatchesPandas) {
  const StatsCase c = GetParam();
  const auto& parties = c.parties == 2 ? testing::kTwoParties : testing::kThreeParties;
  const json files = WriteDataset(parties, 131, 31 + c.parties);
  json cfg = {{"input_data", files}, {"output_report", Path("report/stats.json")}};
  json columns = c.parties == 2 ? json{"b_float", "id", "a_int", "b_cat"}
                                : json{"c_float", "b_const", "a_float", "c_label", "b_cat"};
  if (c.named) cfg["columns"] = columns;
  if (!c.report_party.empty()) cfg["report_party"] = c.report_party;
  const TaskType type = TableStatisticsTaskType();
  ASSERT_TRUE(testing::Validate(type, cfg, parties).ok());
  auto results = testing::RunParties(type, cfg, parties);
  for (size_t i = 0; i < results.size(); ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].status().ToString();
    EXPECT_EQ((*results[i])["report_party"], c.report_party.empty() ? "alice" : c.report_party);
    EXPECT_EQ((*results[i])["output_report"], Path("report/stats.json"));
  }
  const json ref = testing::PythonReference(kStatsReference, {{"files", files}});
  ASSERT_TRUE(ref.is_object());
  const json report = ReadJsonFile(Path("report/stats.json"));
  ASSERT_TRUE(report.is_object());
  std::vector<std::string> expected_columns;
  if (c.named) {
    expected_columns = columns.get<std::vector<std::string>>();
  } else {
    for (const auto& p : parties) {
      for (const auto& h : testing::ReadCsv(files[p].get<std::string>()).header) {
        expected_columns.push_back(h);
      }
    }
  }
  EXPECT_EQ((*results[0])["columns"], json(expected_columns));
  EXPECT_EQ((*results[0])["num_columns"], expected_columns.size());
  EXPECT_EQ(report.size(), expected_columns.size());
  for (const auto& col : expected_columns) {
    ASSERT_TRUE(report.contains(col)) << col;
    for (const auto& [k, v] : ref[col].items()) {
      if (v.is_string() || v.is_number_integer()) {
        EXPECT_EQ(report[col][k], v) << col << "." << k;
      } else {
        testing::ExpectNear(report[col][k], v, col + "." + k);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Stats, TableStatisticsTest,
                         ::testing::Values(StatsCase{2, false, ""}, StatsCase{2, true, "bob"},
                                           StatsCase{3, true, ""}, StatsCase{3, false, "carol"}),
                         [](const auto& info) {
                           return std::to_string(info.param.parties) +
                                  (info.param.named ? "_named" : "_all") + "_" +
                                  (info.param.report_party.empty() ? "default"
                                                                   : info.param.report_party);
                         });

TEST_F(DataTaskTest, TableStatisticsSmallAndDegenerateColumns) {
  // Fewer than 4 values: kurtosis null; fewer than 3: skewness null; 1 value: var null; an
  // all-missing column: count 0, numeric stats null, sum 0; inf: mean inf → null.
  const std::string a = WriteCsv("a.csv", {"one", "three", "none", "inf"},
                                 {{"5", "1", "", "1"}, {"", "2", "NA", "inf"}, {"", "4", "", "2"}});
  const std::string b = WriteCsv("b.csv", {"t"}, {{"x"}, {""}, {"y"}});
  json cfg = {{"input_data", {{"alice", a}, {"bob", b}}},
              {"output_report", Path("r.json")},
              {"report_party", "bob"}};
  auto res = testing::RunParties(TableStatisticsTaskType(), cfg, testing::kTwoParties);
  ASSERT_TRUE(res[0].ok()) << res[0].status().ToString();
  const json r = ReadJsonFile(Path("r.json"));
  EXPECT_EQ(r["one"]["count"], 1);
  EXPECT_TRUE(r["one"]["var"].is_null());
  EXPECT_EQ(r["one"]["q2"], 5.0);
  EXPECT_TRUE(r["three"]["kurtosis"].is_null());
  EXPECT_TRUE(r["three"]["skewness"].is_number());
  EXPECT_EQ(r["none"]["count"], 0);
  EXPECT_EQ(r["none"]["datatype"], "float64");
  EXPECT_TRUE(r["none"]["mean"].is_null());
  EXPECT_EQ(r["none"]["sum"], 0.0);
  EXPECT_TRUE(r["inf"]["mean"].is_null());
  EXPECT_EQ(r["inf"]["min"], 1.0);
  EXPECT_EQ(r["t"]["datatype"], "object");
  EXPECT_EQ(r["t"]["count_na"], 1);
  EXPECT_TRUE(r["t"]["mean"].is_null());
}

TEST_F(DataTaskTest, TableStatisticsErrors) {
  const std::string a = WriteCsv("a.csv", {"x", "y"}, {{"1", "2"}, {"3", "4"}});
  const std::string b = WriteCsv("b.csv", {"z"}, {{"1"}, {"2"}});
  const std::string b_short = WriteCsv("b_short.csv", {"z"}, {{"1"}});
  const std::string b_dup = WriteCsv("b_dup.csv", {"x"}, {{"1"}, {"2"}});
  json cfg = {{"input_data", {{"alice", a}, {"bob", b}}}, {"output_report", Path("r.json")}};
  cfg["columns"] = {"x", "nope"};
  Status s = testing::ExpectAllFail(
      testing::RunParties(TableStatisticsTaskType(), cfg, testing::kTwoParties),
      ErrorType::kParameterValidation, "unknown_column");
  EXPECT_EQ(s.problems().at(0).path, "task_config.columns[1]");
  cfg.erase("columns");
  cfg["input_data"]["bob"] = b_short;
  (void)testing::ExpectAllFail(
      testing::RunParties(TableStatisticsTaskType(), cfg, testing::kTwoParties),
      ErrorType::kParameterValidation, "row_count_mismatch");
  cfg["input_data"]["bob"] = b_dup;
  (void)testing::ExpectAllFail(
      testing::RunParties(TableStatisticsTaskType(), cfg, testing::kTwoParties),
      ErrorType::kParameterValidation, "duplicate_column");
  cfg["input_data"]["bob"] = WriteText("empty.csv", "");
  (void)testing::ExpectAllFail(
      testing::RunParties(TableStatisticsTaskType(), cfg, testing::kTwoParties),
      ErrorType::kParameterValidation, "empty_file");
  EXPECT_FALSE(std::filesystem::exists(Path("r.json")));
  // Validation.
  json v = {{"input_data", {{"alice", a}, {"bob", b}}}, {"report_party", "eve"}, {"x", 1}};
  s = testing::Validate(TableStatisticsTaskType(), v, testing::kTwoParties);
  std::set<std::string> got;
  for (const auto& p : s.problems()) got.insert(p.path + ":" + p.code);
  EXPECT_EQ(got, (std::set<std::string>{"task_config.output_report:missing_field",
                                        "task_config.report_party:unknown_party",
                                        "task_config.x:unknown_field"}))
      << s.ToString();
}

}  // namespace
}  // namespace veil::tasks
