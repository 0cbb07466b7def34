// standard_scaler and minmax_scaler on vertically split data (2 and 3 parties) against
// scikit-learn, and their error cases.
#include <gtest/gtest.h>

#include "veil/tasks/data_task_test_util.h"
#include "veil/tasks/minmax_scaler_task.h"
#include "veil/tasks/standard_scaler_task.h"

namespace veil::tasks {
namespace {

using nlohmann::json;
using testing::DataTaskTest;

constexpr char kScalerReference[] = R"PY(
import sklearn.preprocessing

def compute(inp):
    out = {"order": [], "columns": {}}
    for party, path in inp["files"].items():
        df = read_csv(path)
        if inp["columns"] is None:
            here = [c for c in df.columns
                    if pd.api.types.is_numeric_dtype(df[c]) and df[c].notna().any()]
        else:
            here = [c for c in inp["columns"] if c in df.columns]
        for c in here:
            x = df[[c]].astype(float)
            if inp["kind"] == "standard":
                s = sklearn.preprocessing.StandardScaler(with_mean=inp["with_mean"],
                                                         with_std=inp["with_std"])
                y = s.fit_transform(x).ravel()
                fitted = {"mean": s.mean_[0],
                          "scale": None if s.scale_ is None else s.scale_[0]}
                if s.var_ is not None:
                    fitted["var"] = s.var_[0]
            else:
                s = sklearn.preprocessing.MinMaxScaler(feature_range=tuple(inp["range"]))
                y = s.fit_transform(x).ravel()
                fitted = {"data_min": s.data_min_[0], "data_max": s.data_max_[0],
                          "scale": s.scale_[0], "min": s.min_[0]}
            out["order"].append(c)
            out["columns"][c] = {"values": y, "fitted": fitted}
    return out
)PY";

struct ScalerCase {
  std::string kind;  // "standard" | "minmax"
  size_t parties;
  bool default_columns;
  bool with_mean = true;
  bool with_std = true;
  std::vector<double> range = {0, 1};
};

class ScalerTest : public DataTaskTest, public ::testing::WithParamInterface<ScalerCase> {};

TEST_P(ScalerTest, MatchesScikitLearn) {
  const ScalerCase c = GetParam();
  const auto& parties = c.parties == 2 ? testing::kTwoParties : testing::kThreeParties;
  const json files = WriteDataset(parties, 157, 11 + c.parties);
  json cfg = {{"task_type", c.kind == "standard" ? "standard_scaler" : "minmax_scaler"},
              {"input_data", files},
              {"output_data", Outputs(parties)}};
  json columns = nullptr;
  if (!c.default_columns) {
    columns = c.parties == 2 ? json{"b_float", "a_float", "b_const"}
                             : json{"c_float", "a_int", "b_float", "b_const"};
    cfg["columns"] = columns;
  }
  if (c.kind == "standard") {
    cfg["with_mean"] = c.with_mean;
    cfg["with_std"] = c.with_std;
  } else {
    cfg["feature_range"] = c.range;
  }
  const TaskType type = c.kind == "standard" ? StandardScalerTaskType() : MinMaxScalerTaskType();
  ASSERT_TRUE(testing::Validate(type, cfg, parties).ok());
  auto results = testing::RunParties(type, cfg, parties);
  const json merged = testing::ExpectAllOk(type, cfg, results, parties);
  ASSERT_FALSE(merged.empty());
  const json ref = testing::PythonReference(kScalerReference, {{"files", files},
                                                               {"columns", columns},
                                                               {"kind", c.kind},
                                                               {"with_mean", c.with_mean},
                                                               {"with_std", c.with_std},
                                                               {"range", c.range}});
  ASSERT_TRUE(ref.is_object());
  if (c.default_columns) {
    EXPECT_EQ(merged["scaled_columns"], ref["order"]);
  } else {
    EXPECT_EQ(merged["scaled_columns"], columns);
  }
  EXPECT_EQ(merged["parties"], json(parties));
  for (const auto& [col, r] : ref["columns"].items()) {
    // Find the party holding the column and compare its output.
    bool seen = false;
    for (const auto& p : parties) {
      const auto out = testing::ReadCsv(merged["output_paths"][p].get<std::string>());
      const auto in = testing::ReadCsv(files[p].get<std::string>());
      EXPECT_EQ(out.header, in.header);
      if (std::find(out.header.begin(), out.header.end(), col) == out.header.end()) continue;
      seen = true;
      testing::ExpectColumnNear(out.Column(col), r["values"], col);
    }
    EXPECT_TRUE(seen) << col;
    for (const auto& [k, v] : r["fitted"].items()) {
      testing::ExpectNear(merged["statistics"][col][k], v, col + "." + k);
    }
  }
  // Unselected columns are copied byte for byte.
  const auto out = testing::ReadCsv(merged["output_paths"]["alice"].get<std::string>());
  const auto in = testing::ReadCsv(files["alice"].get<std::string>());
  EXPECT_EQ(out.Column("id"), in.Column("id"));
}

INSTANTIATE_TEST_SUITE_P(Scalers, ScalerTest,
                         ::testing::Values(ScalerCase{"standard", 2, true},
                                           ScalerCase{"standard", 3, false},
                                           ScalerCase{"standard", 3, true, false, true},
                                           ScalerCase{"standard", 2, false, true, false},
                                           ScalerCase{"minmax", 2, true},
                                           ScalerCase{"minmax", 3, false, true, true, {-2, 5}}),
                         [](const auto& info) {
                           const ScalerCase& c = info.param;
                           return c.kind + std::to_string(c.parties) +
                                  (c.default_columns ? "_all" : "_named") +
                                  (c.with_mean ? "" : "_nomean") + (c.with_std ? "" : "_nostd");
                         });

TEST_F(DataTaskTest, ScalerConstantColumnLikeScikitLearn) {
  // b_const is constant: standard → 0 (scale 1), minmax → feature_range min.
  const json files = WriteDataset(testing::kTwoParties, 20, 3);
  json cfg = {{"input_data", files},
              {"output_data", Outputs(testing::kTwoParties)},
              {"columns", {"b_const"}}};
  auto std_res = testing::RunParties(StandardScalerTaskType(), cfg, testing::kTwoParties);
  ASSERT_TRUE(std_res[1].ok()) << std_res[1].status().ToString();
  EXPECT_EQ((*std_res[1])["statistics"]["b_const"]["scale"], 1.0);
  for (const auto& v : testing::ReadCsv(Path("out_bob.csv")).Column("b_const")) EXPECT_EQ(v, "0");
  cfg["feature_range"] = {-1, 1};
  auto mm_res = testing::RunParties(MinMaxScalerTaskType(), cfg, testing::kTwoParties);
  ASSERT_TRUE(mm_res[1].ok()) << mm_res[1].status().ToString();
  for (const auto& v : testing::ReadCsv(Path("out_bob.csv")).Column("b_const")) EXPECT_EQ(v, "-1");
}

TEST_F(DataTaskTest, ScalerColumnAtNoPartyFailsEveryParty) {
  const json files = WriteDataset(testing::kThreeParties, 10, 1);
  json cfg = {{"input_data", files},
              {"output_data", Outputs(testing::kThreeParties)},
              {"columns", {"a_float", "nope", "c_int"}}};
  auto res = testing::RunParties(StandardScalerTaskType(), cfg, testing::kThreeParties);
  Status s = testing::ExpectAllFail(res, ErrorType::kParameterValidation, "unknown_column");
  ASSERT_EQ(s.problems().size(), 1u);
  EXPECT_EQ(s.problems()[0].path, "task_config.columns[1]");
  EXPECT_NE(s.message().find("'nope'"), std::string::npos);
}

TEST_F(DataTaskTest, ScalerColumnAtTwoPartiesFails) {
  const std::string a = WriteCsv("a.csv", {"x", "y"}, {{"1", "2"}, {"3", "4"}});
  const std::string b = WriteCsv("b.csv", {"x", "z"}, {{"1", "2"}, {"3", "4"}});
  json cfg = {{"input_data", {{"alice", a}, {"bob", b}}},
              {"output_data", Outputs(testing::kTwoParties)}};
  cfg["columns"] = {"x"};
  auto res = testing::RunParties(MinMaxScalerTaskType(), cfg, testing::kTwoParties);
  Status s = testing::ExpectAllFail(res, ErrorType::kParameterValidation, "duplicate_column");
  EXPECT_EQ(s.problems().at(0).path, "task_config.columns[0]");
  // Default selection: x is numeric at both parties.
  cfg.erase("columns");
  res = testing::RunParties(MinMaxScalerTaskType(), cfg, testing::kTwoParties);
  (void)testing::ExpectAllFail(res, ErrorType::kParameterValidation, "duplicate_column");
}

TEST_F(DataTaskTest, ScalerNonNumericCellNamesFileLineAndColumn) {
  const std::string a = WriteCsv("a.csv", {"x"}, {{"1"}, {"2"}, {"abc"}});
  const std::string b = WriteCsv("b.csv", {"y"}, {{"1"}, {"2"}, {"3"}});
  json cfg = {{"input_data", {{"alice", a}, {"bob", b}}},
              {"output_data", Outputs(testing::kTwoParties)},
              {"columns", {"x", "y"}}};
  auto res = testing::RunParties(StandardScalerTaskType(), cfg, testing::kTwoParties);
  Status s = testing::ExpectAllFail(res, ErrorType::kParameterValidation, "non_numeric_value");
  EXPECT_NE(s.message().find(a + " line 4, column 'x': 'abc'"), std::string::npos) << s.message();
  EXPECT_FALSE(std::filesystem::exists(Path("out_bob.csv")));  // nobody wrote anything
}

TEST_F(DataTaskTest, ScalerDataErrors) {
  const std::string ok = WriteCsv("ok.csv", {"y"}, {{"1"}, {"2"}});
  const std::string empty = WriteText("empty.csv", "");
  const std::string missing = WriteCsv("missing.csv", {"x"}, {{""}, {"NA"}});
  const std::string inf = WriteCsv("inf.csv", {"x"}, {{"1"}, {"inf"}});
  const std::string short_file = WriteCsv("short.csv", {"x"}, {{"1"}});
  struct Case {
    std::string file;
    std::string code;
  };
  for (const Case& c : {Case{empty, "empty_file"}, Case{missing, "all_missing_column"},
                        Case{inf, "non_finite_value"}, Case{short_file, "row_count_mismatch"},
                        Case{Path("absent.csv"), "file_not_found"}}) {
    json cfg = {{"input_data", {{"alice", c.file}, {"bob", ok}}},
                {"output_data", Outputs(testing::kTwoParties)},
                {"columns", {"x", "y"}}};
    if (c.code == "empty_file" || c.code == "file_not_found") cfg["columns"] = {"y"};
    for (const TaskType& type : {StandardScalerTaskType(), MinMaxScalerTaskType()}) {
      SCOPED_TRACE(c.code + " " + type.name);
      auto res = testing::RunParties(type, cfg, testing::kTwoParties);
      (void)testing::ExpectAllFail(res, ErrorType::kParameterValidation, c.code);
    }
  }
}

TEST_F(DataTaskTest, ScalerValidation) {
  const auto& parties = testing::kTwoParties;
  json base = {{"task_type", "minmax_scaler"},
               {"input_data", {{"alice", "/a"}, {"bob", "/b"}}},
               {"output_data", {{"alice", "/oa"}, {"bob", "/ob"}}}};
  ASSERT_TRUE(testing::Validate(MinMaxScalerTaskType(), base, parties).ok());
  struct Case {
    json patch;
    std::string path, code;
  };
  const std::vector<Case> cases = {
      {{{"feature_range", {1, 0}}}, "task_config.feature_range", "invalid_value"},
      {{{"feature_range", {1}}}, "task_config.feature_range", "wrong_type"},
      {{{"feature_range", {0, "a"}}}, "task_config.feature_range[1]", "wrong_type"},
      {{{"columns", {"a", 3}}}, "task_config.columns[1]", "wrong_type"},
      {{{"columns", json::array()}}, "task_config.columns", "empty_value"},
      {{{"bogus", 1}}, "task_config.bogus", "unknown_field"},
      {{{"input_data", {{"alice", "/a"}}}}, "task_config.input_data", "party_mismatch"},
      {{{"output_data", {{"alice", "/oa"}, {"bob", "/ob"}, {"eve", "/e"}}}},
       "task_config.output_data.eve",
       "unknown_party"},
      {{{"output_data", {{"alice", "/a"}, {"bob", "/ob"}}}},
       "task_config.output_data.alice",
       "output_overwrites_input"},
  };
  for (const Case& c : cases) {
    json cfg = base;
    cfg.update(c.patch);
    Status s = testing::Validate(MinMaxScalerTaskType(), cfg, parties);
    ASSERT_FALSE(s.ok()) << c.patch.dump();
    EXPECT_EQ(s.type(), ErrorType::kParameterValidation);
    bool found = false;
    for (const auto& p : s.problems()) found |= p.path == c.path && p.code == c.code;
    EXPECT_TRUE(found) << c.patch.dump() << " → " << s.ToString();
  }
  json cfg = base;
  cfg["with_mean"] = "yes";
  Status s = testing::Validate(StandardScalerTaskType(), cfg, parties);
  ASSERT_EQ(s.problems().size(), 1u) << s.ToString();
  EXPECT_EQ(s.problems()[0].path, "task_config.with_mean");
  EXPECT_EQ(s.problems()[0].code, "wrong_type");
}

}  // namespace
}  // namespace veil::tasks
