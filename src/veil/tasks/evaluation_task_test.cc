// biclassification_eval and regression_eval with label and prediction at different parties
// (2 and 3 parties) against scikit-learn, and their error cases.
#include <fstream>
#include <random>

#include <gtest/gtest.h>

#include "veil/data/columns.h"
#include "veil/tasks/biclassification_eval_task.h"
#include "veil/tasks/data_task_test_util.h"
#include "veil/tasks/regression_eval_task.h"

namespace veil::tasks {
namespace {

using nlohmann::json;
using testing::DataTaskTest;

constexpr char kEvalReference[] = R"PY(
import sklearn.metrics as m

def compute(inp):
    cols = {}
    for party, path in inp["files"].items():
        df = read_csv(path)
        for c in df.columns:
            cols[c] = df[c].to_numpy(dtype=float)
    y, p = cols[inp["label"]], cols[inp["prediction"]]
    if inp["kind"] == "regression":
        return {"mse": m.mean_squared_error(y, p),
                "rmse": math.sqrt(m.mean_squared_error(y, p)),
                "mae": m.mean_absolute_error(y, p),
                "mape": m.mean_absolute_percentage_error(y, p),
                "r2_score": m.r2_score(y, p),
                "explained_variance": m.explained_variance_score(y, p)}
    fpr, tpr, _ = m.roc_curve(y, p, drop_intermediate=False)
    pred = (p >= 0.5).astype(int)
    tn, fp, fn, tp = m.confusion_matrix(y, pred, labels=[0, 1]).ravel()
    order = np.argsort(p, kind="stable")
    buckets = []
    for part in np.array_split(order, inp["bucket_size"]):
        if len(part) == 0:
            continue
        pos = int(y[part].sum())
        buckets.append({"start_value": p[part[0]], "end_value": p[part[-1]], "total": len(part),
                        "positive": pos, "negative": len(part) - pos,
                        "positive_rate": pos / len(part)})
    return {"auc": m.roc_auc_score(y, p), "ks": float(np.max(np.abs(tpr - fpr))),
            "f1_score": m.f1_score(y, pred, zero_division=0),
            "precision": m.precision_score(y, pred, zero_division=0),
            "recall": m.recall_score(y, pred, zero_division=0),
            "accuracy": m.accuracy_score(y, pred),
            "confusion_matrix": {"true_positive": int(tp), "false_positive": int(fp),
                                 "true_negative": int(tn), "false_negative": int(fn)},
            "bucket_report": buckets}
)PY";

void CompareJson(const json& actual, const json& expected, const std::string& what) {
  if (expected.is_object()) {
    for (const auto& [k, v] : expected.items()) CompareJson(actual[k], v, what + "." + k);
  } else if (expected.is_array()) {
    ASSERT_EQ(actual.size(), expected.size()) << what;
    for (size_t i = 0; i < expected.size(); ++i) {
      CompareJson(actual[i], expected[i], what + "[" + std::to_string(i) + "]");
    }
  } else if (expected.is_number_integer()) {
    EXPECT_EQ(actual, expected) << what;
  } else {
    testing::ExpectNear(actual, expected, what);
  }
}

struct EvalCase {
  std::string kind;  // "binary" | "regression"
  size_t parties;
};

class EvalTest : public DataTaskTest, public ::testing::WithParamInterface<EvalCase> {};

TEST_P(EvalTest, MatchesScikitLearn) {
  const EvalCase c = GetParam();
  const auto& parties = c.parties == 2 ? testing::kTwoParties : testing::kThreeParties;
  std::mt19937_64 rng(41 + c.parties);
  std::uniform_real_distribution<double> u(0, 1);
  std::normal_distribution<double> noise(0, 2);
  const size_t rows = 173;
  std::vector<std::vector<std::string>> label_rows, pred_rows, other_rows;
  for (size_t i = 0; i < rows; ++i) {
    if (c.kind == "binary") {
      const bool y = u(rng) < 0.4;
      // Scores rounded to 2 decimals: many ties, also across classes.
      const double s =
          std::round(std::clamp(0.5 * u(rng) + (y ? 0.35 : 0.1), 0.0, 1.0) * 100) / 100;
      label_rows.push_back({y ? "1" : "0", std::to_string(i)});
      pred_rows.push_back({data::FormatDouble(s)});
    } else {
      const double y = std::round((u(rng) * 50 - 10) * 10) / 10;
      label_rows.push_back({data::FormatDouble(y), std::to_string(i)});
      pred_rows.push_back({data::FormatDouble(y + noise(rng))});
    }
    other_rows.push_back({std::to_string(i * 2)});
  }
  json files = json::object();
  // 2 parties: label at bob, prediction at alice, report at alice (default).
  // 3 parties: label at carol, prediction at bob, report at alice (holds neither; no file).
  const std::string label_party = c.parties == 2 ? "bob" : "carol";
  const std::string pred_party = c.parties == 2 ? "alice" : "bob";
  files[label_party] = WriteCsv("label.csv", {"y", "row"}, label_rows);
  files[pred_party] = WriteCsv("pred.csv", {"score"}, pred_rows);
  json cfg = {{"prediction_data", files},
              {"label_column", "y"},
              {"prediction_column", "score"},
              {"output_report", Path("eval/report.json")}};
  if (c.kind == "binary") cfg["bucket_size"] = 7;
  const TaskType type =
      c.kind == "binary" ? BiClassificationEvalTaskType() : RegressionEvalTaskType();
  ASSERT_TRUE(testing::Validate(type, cfg, parties).ok());
  auto results = testing::RunParties(type, cfg, parties);
  const json merged = testing::ExpectAllOk(type, cfg, results, parties);
  ASSERT_FALSE(merged.empty());
  EXPECT_EQ(merged["report_party"], "alice");
  for (size_t i = 1; i < results.size(); ++i) EXPECT_TRUE((*results[i])["metrics"].is_null());
  const json ref = testing::PythonReference(kEvalReference, {{"files", files},
                                                             {"label", "y"},
                                                             {"prediction", "score"},
                                                             {"kind", c.kind},
                                                             {"bucket_size", 7}});
  ASSERT_TRUE(ref.is_object());
  CompareJson(merged["metrics"], ref, "metrics");
  std::ifstream f(Path("eval/report.json"));
  const json report = json::parse(f, nullptr, false);
  ASSERT_TRUE(report.is_object());
  EXPECT_EQ(report["metrics"], merged["metrics"]);
  EXPECT_EQ(report["config"]["label_column"], "y");
  EXPECT_EQ(report["parties"], json(parties));
  if (c.kind == "binary") {
    EXPECT_EQ(report["config"]["bucket_size"], 7);
  }
}

INSTANTIATE_TEST_SUITE_P(Eval, EvalTest,
                         ::testing::Values(EvalCase{"binary", 2}, EvalCase{"binary", 3},
                                           EvalCase{"regression", 2}, EvalCase{"regression", 3}),
                         [](const auto& info) {
                           return info.param.kind + std::to_string(info.param.parties);
                         });

TEST_F(DataTaskTest, EvalEdgeCases) {
  // One class only: auc and ks null; constant label: r2 1 for a perfect fit.
  const std::string a = WriteCsv("a.csv", {"y", "p"}, {{"1", "0.2"}, {"1", "0.9"}, {"1", "0.7"}});
  json cfg = {{"prediction_data", {{"alice", a}}},
              {"label_column", "y"},
              {"prediction_column", "p"},
              {"output_report", Path("r.json")}};
  auto res = testing::RunParties(BiClassificationEvalTaskType(), cfg, testing::kTwoParties);
  ASSERT_TRUE(res[0].ok()) << res[0].status().ToString();
  EXPECT_TRUE((*res[0])["metrics"]["auc"].is_null());
  EXPECT_TRUE((*res[0])["metrics"]["ks"].is_null());
  EXPECT_EQ((*res[0])["metrics"]["recall"], 2.0 / 3);
  const std::string b = WriteCsv("b.csv", {"y", "p"}, {{"2", "2"}, {"2", "2"}});
  cfg["prediction_data"] = {{"bob", b}};
  res = testing::RunParties(RegressionEvalTaskType(), cfg, testing::kTwoParties);
  ASSERT_TRUE(res[0].ok()) << res[0].status().ToString();
  EXPECT_EQ((*res[0])["metrics"]["r2_score"], 1.0);
  EXPECT_EQ((*res[0])["metrics"]["mse"], 0.0);
}

TEST_F(DataTaskTest, EvalErrors) {
  const std::string a =
      WriteCsv("a.csv", {"y", "bad", "gap"}, {{"1", "1", "1"}, {"2", "x", ""}, {"0", "1", "1"}});
  const std::string b = WriteCsv("b.csv", {"p"}, {{"0.1"}, {"0.2"}, {"0.3"}});
  const std::string b_short = WriteCsv("b_short.csv", {"p"}, {{"0.1"}});
  json cfg = {{"prediction_data", {{"alice", a}, {"bob", b}}},
              {"label_column", "y"},
              {"prediction_column", "p"},
              {"output_report", Path("r.json")}};
  const auto& parties = testing::kTwoParties;
  (void)testing::ExpectAllFail(testing::RunParties(BiClassificationEvalTaskType(), cfg, parties),
                               ErrorType::kParameterValidation, "labels_not_binary");
  struct Case {
    std::string label, code;
  };
  for (const Case& c : {Case{"bad", "non_numeric_value"}, Case{"gap", "missing_value"},
                        Case{"zz", "unknown_column"}}) {
    SCOPED_TRACE(c.label);
    cfg["label_column"] = c.label;
    Status s = testing::ExpectAllFail(testing::RunParties(RegressionEvalTaskType(), cfg, parties),
                                      ErrorType::kParameterValidation, c.code);
    if (c.code == "unknown_column") {
      EXPECT_EQ(s.problems().at(0).path, "task_config.label_column");
    }
  }
  cfg["label_column"] = "y";
  cfg["prediction_data"]["bob"] = b_short;
  (void)testing::ExpectAllFail(testing::RunParties(RegressionEvalTaskType(), cfg, parties),
                               ErrorType::kParameterValidation, "row_count_mismatch");
  // y at both parties.
  cfg["prediction_data"]["bob"] =
      WriteCsv("b_dup.csv", {"y", "p"}, {{"1", "0.1"}, {"0", "0.2"}, {"1", "0.3"}});
  (void)testing::ExpectAllFail(testing::RunParties(RegressionEvalTaskType(), cfg, parties),
                               ErrorType::kParameterValidation, "duplicate_column");
  EXPECT_FALSE(std::filesystem::exists(Path("r.json")));
  // Validation.
  json v = {{"prediction_data", {{"eve", a}}},
            {"label_column", "y"},
            {"prediction_column", "y"},
            {"bucket_size", 0}};
  Status s = testing::Validate(BiClassificationEvalTaskType(), v, parties);
  std::set<std::string> got;
  for (const auto& p : s.problems()) got.insert(p.path + ":" + p.code);
  EXPECT_EQ(got, (std::set<std::string>{"task_config.prediction_data.eve:unknown_party",
                                        "task_config.output_report:missing_field",
                                        "task_config.prediction_column:invalid_value",
                                        "task_config.bucket_size:out_of_range"}))
      << s.ToString();
  v.erase("bucket_size");
  v["prediction_column"] = "p";
  v["output_report"] = "/r";
  v["prediction_data"] = {{"alice", a}};
  s = testing::Validate(RegressionEvalTaskType(), v, parties);
  EXPECT_TRUE(s.ok()) << s.ToString();
  v["bucket_size"] = 3;  // not a regression_eval field
  s = testing::Validate(RegressionEvalTaskType(), v, parties);
  EXPECT_TRUE(s.problems().size() == 1 && s.problems()[0].code == "unknown_field") << s.ToString();
}

}  // namespace
}  // namespace veil::tasks
