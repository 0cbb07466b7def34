// label_encoder and onehot_encoder on vertically split data (2 and 3 parties) against
// scikit-learn, and their error cases.
#include <gtest/gtest.h>

#include "veil/tasks/data_task_test_util.h"
#include "veil/tasks/label_encoder_task.h"
#include "veil/tasks/onehot_encoder_task.h"

namespace veil::tasks {
namespace {

using nlohmann::json;
using testing::DataTaskTest;

constexpr char kEncoderReference[] = R"PY(
from sklearn.preprocessing import LabelEncoder, OneHotEncoder

def name(v, numeric, integral):
    if not numeric:
        return str(v)
    return str(int(v)) if integral else repr(float(v))

def compute(inp):
    out = {}
    for party, path in inp["files"].items():
        df = read_csv(path)
        for c in [c for c in inp["columns"] if c in df.columns]:
            s = df[c]
            present = s.notna().to_numpy()
            if inp["kind"] == "label":
                enc = LabelEncoder().fit(s[present])
                codes = [None] * len(s)
                for i, v in zip(np.flatnonzero(present), enc.transform(s[present])):
                    codes[i] = int(v)
                numeric = pd.api.types.is_numeric_dtype(s)
                integral = numeric and bool((s[present] == np.floor(s[present])).all())
                out[c] = {"codes": codes,
                          "keys": [name(v, numeric, integral) for v in enc.classes_]}
            else:
                enc = OneHotEncoder(drop=inp["drop"], sparse_output=False)
                enc.fit(df.loc[present, [c]])
                names = list(enc.get_feature_names_out([c]))
                m = enc.transform(df.loc[present, [c]])
                cols = {n: [None] * len(s) for n in names}
                for k, i in enumerate(np.flatnonzero(present)):
                    for j, n in enumerate(names):
                        cols[n][i] = str(int(m[k, j]))
                out[c] = {"names": names, "cols": cols}
    return out
)PY";

struct EncoderCase {
  std::string kind;  // "label" | "onehot"
  size_t parties;
  std::string drop = "none";
};

class EncoderTest : public DataTaskTest, public ::testing::WithParamInterface<EncoderCase> {};

TEST_P(EncoderTest, MatchesScikitLearn) {
  const EncoderCase c = GetParam();
  const auto& parties = c.parties == 2 ? testing::kTwoParties : testing::kThreeParties;
  const json files = WriteDataset(parties, 83, 5 + c.parties);
  const json columns = c.parties == 2
                           ? json{"b_cat", "a_int", "b_const"}
                           : json{"c_label", "b_cat", "a_int", "b_const", "c_int", "a_float"};
  json cfg = {{"input_data", files}, {"output_data", Outputs(parties)}, {"columns", columns}};
  if (c.kind == "onehot" && c.drop != "none") cfg["drop"] = c.drop;
  const TaskType type = c.kind == "label" ? LabelEncoderTaskType() : OneHotEncoderTaskType();
  ASSERT_TRUE(testing::Validate(type, cfg, parties).ok());
  const json merged =
      testing::ExpectAllOk(type, cfg, testing::RunParties(type, cfg, parties), parties);
  ASSERT_FALSE(merged.empty());
  EXPECT_EQ(merged["encoded_columns"], columns);
  const json ref = testing::PythonReference(
      kEncoderReference, {{"files", files},
                          {"columns", columns},
                          {"kind", c.kind},
                          {"drop", c.drop == "none" ? json(nullptr) : json(c.drop)}});
  ASSERT_TRUE(ref.is_object());
  std::map<std::string, testing::Csv> outputs;
  for (const auto& p : parties) outputs[p] = testing::ReadCsv(Path("out_" + p + ".csv"));
  auto find = [&](const std::string& col) -> const testing::Csv* {
    for (const auto& [p, csv] : outputs) {
      if (std::find(csv.header.begin(), csv.header.end(), col) != csv.header.end()) return &csv;
    }
    ADD_FAILURE() << "no output holds " << col;
    return nullptr;
  };
  for (const auto& [col, r] : ref.items()) {
    if (c.kind == "label") {
      json keys = json::array();
      for (const auto& [k, v] : merged["mappings"][col].items()) keys.push_back(k);
      // json objects iterate in key order; compare as sets of (name, code).
      for (size_t i = 0; i < r["keys"].size(); ++i) {
        EXPECT_EQ(merged["mappings"][col][r["keys"][i].get<std::string>()], i) << col;
      }
      EXPECT_EQ(merged["mappings"][col].size(), r["keys"].size()) << col;
      const testing::Csv* csv = find(col);
      if (!csv) continue;
      const auto cells = csv->Column(col);
      for (size_t i = 0; i < cells.size(); ++i) {
        EXPECT_EQ(cells[i], r["codes"][i].is_null() ? "" : std::to_string(r["codes"][i].get<int>()))
            << col << " row " << i;
      }
    } else {
      EXPECT_EQ(merged["categories"][col]["output_columns"], r["names"]) << col;
      for (const auto& [name, values] : r["cols"].items()) {
        const testing::Csv* csv = find(name);
        if (!csv) continue;
        testing::ExpectColumnNear(csv->Column(name), values, name);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Encoders, EncoderTest,
    ::testing::Values(EncoderCase{"label", 2}, EncoderCase{"label", 3}, EncoderCase{"onehot", 2},
                      EncoderCase{"onehot", 3, "first"}, EncoderCase{"onehot", 3, "if_binary"}),
    [](const auto& info) {
      return info.param.kind + std::to_string(info.param.parties) + "_" + info.param.drop;
    });

TEST_F(DataTaskTest, OneHotKeepsColumnPlaceAndMissingness) {
  const std::string a = WriteCsv("a.csv", {"id", "color", "n"},
                                 {{"1", "red", "10"}, {"2", "", "20"}, {"3", "blue", "30"}});
  const std::string b = WriteCsv("b.csv", {"y"}, {{"1"}, {"0"}, {"1"}});
  json cfg = {{"input_data", {{"alice", a}, {"bob", b}}},
              {"output_data", Outputs(testing::kTwoParties)},
              {"columns", {"color"}}};
  auto res = testing::RunParties(OneHotEncoderTaskType(), cfg, testing::kTwoParties);
  ASSERT_TRUE(res[0].ok()) << res[0].status().ToString();
  const auto out = testing::ReadCsv(Path("out_alice.csv"));
  EXPECT_EQ(out.header, (std::vector<std::string>{"id", "color_blue", "color_red", "n"}));
  EXPECT_EQ(out.rows, (std::vector<std::vector<std::string>>{
                          {"1", "0", "1", "10"}, {"2", "", "", "20"}, {"3", "1", "0", "30"}}));
  // bob holds no encoded column: his output is a copy.
  EXPECT_EQ(testing::ReadCsv(Path("out_bob.csv")).rows, testing::ReadCsv(b).rows);
}

TEST_F(DataTaskTest, EncoderErrors) {
  const std::string a = WriteCsv("a.csv", {"c", "c_x", "m"}, {{"x", "1", ""}, {"y", "2", "NA"}});
  const std::string b = WriteCsv("b.csv", {"y"}, {{"1"}, {"0"}});
  json cfg = {{"input_data", {{"alice", a}, {"bob", b}}},
              {"output_data", Outputs(testing::kTwoParties)},
              {"columns", {"c"}}};
  (void)testing::ExpectAllFail(
      testing::RunParties(OneHotEncoderTaskType(), cfg, testing::kTwoParties),
      ErrorType::kParameterValidation, "column_name_collision");
  cfg["columns"] = {"m"};
  for (const TaskType& t : {LabelEncoderTaskType(), OneHotEncoderTaskType()}) {
    (void)testing::ExpectAllFail(testing::RunParties(t, cfg, testing::kTwoParties),
                                 ErrorType::kParameterValidation, "all_missing_column");
  }
  cfg["columns"] = {"y", "zz"};
  Status s =
      testing::ExpectAllFail(testing::RunParties(LabelEncoderTaskType(), cfg, testing::kTwoParties),
                             ErrorType::kParameterValidation, "unknown_column");
  EXPECT_EQ(s.problems().at(0).path, "task_config.columns[1]");
  // Validation: columns required, drop enum.
  json v = {{"input_data", {{"alice", "/a"}, {"bob", "/b"}}},
            {"output_data", {{"alice", "/c"}, {"bob", "/d"}}}};
  s = testing::Validate(LabelEncoderTaskType(), v, testing::kTwoParties);
  EXPECT_TRUE(s.problems().size() == 1 && s.problems()[0].path == "task_config.columns" &&
              s.problems()[0].code == "missing_field")
      << s.ToString();
  v["columns"] = {"x"};
  v["drop"] = "last";
  s = testing::Validate(OneHotEncoderTaskType(), v, testing::kTwoParties);
  EXPECT_TRUE(s.problems().size() == 1 && s.problems()[0].path == "task_config.drop" &&
              s.problems()[0].code == "invalid_value")
      << s.ToString();
}

}  // namespace
}  // namespace veil::tasks
