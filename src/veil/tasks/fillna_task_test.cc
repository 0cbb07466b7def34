// fillna on vertically split data (2 and 3 parties) against pandas, and its error cases.
#include "veil/tasks/fillna_task.h"

#include <gtest/gtest.h>

#include "veil/tasks/data_task_test_util.h"

namespace veil::tasks {
namespace {

using nlohmann::json;
using testing::DataTaskTest;

constexpr char kFillnaReference[] = R"PY(
def compute(inp):
    out = {}
    for party, path in inp["files"].items():
        df = read_csv(path)
        for c in [c for c in inp["columns"] if c in df.columns]:
            s = df[c]
            st = inp["strategy"]
            if st == "mean":
                v = s.mean()
            elif st == "median":
                v = s.median()
            elif st == "mode":
                v = s.mode()[0]
            else:
                v = inp["fill_value"]
            if isinstance(v, np.generic):
                v = v.item()
            out[c] = {"value": v, "missing": s.isna().tolist()}
    return out
)PY";

struct FillCase {
  std::string strategy;
  size_t parties;
};

class FillnaTest : public DataTaskTest, public ::testing::WithParamInterface<FillCase> {};

TEST_P(FillnaTest, MatchesPandas) {
  const FillCase c = GetParam();
  const auto& parties = c.parties == 2 ? testing::kTwoParties : testing::kThreeParties;
  const json files = WriteDataset(parties, 97, 23 + c.parties);
  json columns =
      c.parties == 2 ? json{"b_float", "a_float"} : json{"c_float", "a_float", "b_float", "a_int"};
  if (c.strategy == "mode" || c.strategy == "constant") columns.push_back("b_cat");
  json cfg = {{"input_data", files},
              {"output_data", Outputs(parties)},
              {"columns", columns},
              {"strategy", c.strategy}};
  if (c.strategy == "constant") cfg["fill_value"] = -1.25;
  const TaskType type = FillnaTaskType();
  ASSERT_TRUE(testing::Validate(type, cfg, parties).ok());
  const json merged =
      testing::ExpectAllOk(type, cfg, testing::RunParties(type, cfg, parties), parties);
  ASSERT_FALSE(merged.empty());
  EXPECT_EQ(merged["filled_columns"], columns);
  EXPECT_EQ(merged["strategy"], c.strategy);
  const json ref = testing::PythonReference(
      kFillnaReference,
      {{"files", files}, {"columns", columns}, {"strategy", c.strategy}, {"fill_value", -1.25}});
  ASSERT_TRUE(ref.is_object());
  for (const auto& [col, r] : ref.items()) {
    const json& value = r["value"];
    if (value.is_string()) {
      EXPECT_EQ(merged["fill_values"][col], value) << col;
    } else {
      testing::ExpectNear(merged["fill_values"][col], value, col);
    }
    for (const auto& p : parties) {
      const auto out = testing::ReadCsv(Path("out_" + p + ".csv"));
      const auto in = testing::ReadCsv(files[p].get<std::string>());
      EXPECT_EQ(out.header, in.header);
      if (std::find(out.header.begin(), out.header.end(), col) == out.header.end()) continue;
      const auto got = out.Column(col), orig = in.Column(col);
      ASSERT_EQ(got.size(), r["missing"].size());
      for (size_t i = 0; i < got.size(); ++i) {
        if (!r["missing"][i].get<bool>()) {
          EXPECT_EQ(got[i], orig[i]) << col << " row " << i;
        } else if (value.is_string()) {
          EXPECT_EQ(got[i], value.get<std::string>()) << col << " row " << i;
        } else {
          testing::ExpectNear(json(std::stod(got[i])), value, col + " row " + std::to_string(i));
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Fillna, FillnaTest,
                         ::testing::Values(FillCase{"mean", 2}, FillCase{"median", 3},
                                           FillCase{"mode", 2}, FillCase{"mode", 3},
                                           FillCase{"constant", 3}),
                         [](const auto& info) {
                           return info.param.strategy + std::to_string(info.param.parties);
                         });

TEST_F(DataTaskTest, FillnaErrors) {
  const std::string a = WriteCsv("a.csv", {"t", "m", "x"}, {{"u", "", "1"}, {"v", "NA", "2"}});
  const std::string b = WriteCsv("b.csv", {"y"}, {{"1"}, {"2"}});
  json cfg = {{"input_data", {{"alice", a}, {"bob", b}}},
              {"output_data", Outputs(testing::kTwoParties)}};
  struct Case {
    std::string strategy, column, code;
  };
  for (const Case& c :
       {Case{"mean", "t", "non_numeric_value"}, Case{"median", "m", "all_missing_column"},
        Case{"mode", "m", "all_missing_column"}, Case{"mean", "zz", "unknown_column"}}) {
    SCOPED_TRACE(c.strategy + " " + c.column);
    cfg["strategy"] = c.strategy;
    cfg["columns"] = {"y", c.column};
    (void)testing::ExpectAllFail(testing::RunParties(FillnaTaskType(), cfg, testing::kTwoParties),
                                 ErrorType::kParameterValidation, c.code);
  }
  // constant fills an all-missing column.
  cfg["strategy"] = "constant";
  cfg["fill_value"] = "none";
  cfg["columns"] = {"m"};
  auto res = testing::RunParties(FillnaTaskType(), cfg, testing::kTwoParties);
  ASSERT_TRUE(res[0].ok()) << res[0].status().ToString();
  EXPECT_EQ(testing::ReadCsv(Path("out_alice.csv")).Column("m"),
            (std::vector<std::string>{"none", "none"}));
  // Validation.
  struct VCase {
    json patch;
    std::string path, code;
  };
  for (const VCase& c :
       {VCase{{{"fill_value", nullptr}}, "task_config.fill_value", "missing_field"},
        VCase{{{"fill_value", "NA"}}, "task_config.fill_value", "invalid_value"},
        VCase{{{"fill_value", {1}}}, "task_config.fill_value", "wrong_type"},
        VCase{{{"strategy", "max"}}, "task_config.strategy", "invalid_value"}}) {
    json v = cfg;
    v.update(c.patch);
    Status s = testing::Validate(FillnaTaskType(), v, testing::kTwoParties);
    EXPECT_TRUE(s.problems().size() == 1 && s.problems()[0].path == c.path &&
                s.problems()[0].code == c.code)
        << c.patch.dump() << " → " << s.ToString();
  }
}

}  // namespace
}  // namespace veil::tasks
