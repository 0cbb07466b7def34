// pearson_correlation and vif under secret sharing (SEMI2K 2/3 parties, ABY3; FM64 and FM128) on
// vertically split data, against numpy/pandas references computed in the test (1e-3), and their
// error cases.
#include <cmath>
#include <fstream>
#include <random>

#include <gtest/gtest.h>

#include "veil/tasks/data_task_test_util.h"
#include "veil/tasks/pearson_correlation_task.h"
#include "veil/tasks/vif_task.h"

namespace veil::tasks {
namespace {

using nlohmann::json;
using testing::DataTaskTest;

constexpr double kSecureTol = 1e-3;

constexpr char kReference[] = R"PY(
def compute(inp):
    df = pd.concat([read_csv(p) for p in inp["files"]], axis=1)[inp["columns"]]
    corr = df.corr(method="pearson")
    pearson = {a: {b: float(corr.loc[a, b]) for b in inp["columns"]} for a in inp["columns"]}
    X = df.to_numpy(dtype=float)
    vif = {}
    for j, c in enumerate(inp["columns"]):
        y = X[:, j]
        if np.all(y == y[0]):
            vif[c] = None
            continue
        keep = [k for k in range(X.shape[1]) if k != j and not np.all(X[:, k] == X[0, k])]
        A = np.column_stack([np.ones(len(y))] + [X[:, k] for k in keep])
        beta, *_ = np.linalg.lstsq(A, y, rcond=None)
        resid = y - A @ beta
        tss = (y - y.mean()) @ (y - y.mean())
        vif[c] = float(tss / (resid @ resid))
    return {"pearson": pearson, "vif": vif}
)PY";

json ReadJsonFile(const std::string& path) {
  std::ifstream f(path);
  return json::parse(f, nullptr, false);
}

void ExpectNearRel(const json& actual, const json& expected, const std::string& what) {
  if (expected.is_null()) {
    EXPECT_TRUE(actual.is_null()) << what << ": " << actual;
    return;
  }
  ASSERT_TRUE(actual.is_number()) << what << ": " << actual;
  const double a = actual.get<double>(), b = expected.get<double>();
  EXPECT_LE(std::fabs(a - b), kSecureTol * std::max(1.0, std::fabs(b))) << what;
}

class SecureStatsTest : public DataTaskTest {
 protected:
  // Correlated columns split over the parties: alice x1, x2; bob y1 (≈ x1), y2; carol z1
  // (≈ x2 + y2), z2 (constant when `with_constant`). Values formatted with 17 digits.
  json WriteCorrelated(const std::vector<std::string>& parties, size_t rows, uint64_t seed,
                       bool with_constant = false) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> g(0, 1);
    std::vector<std::vector<std::string>> a, b, c;
    auto fmt = [](double v) {
      char buf[40];
      std::snprintf(buf, sizeof buf, "%.17g", v);
      return std::string(buf);
    };
    for (size_t i = 0; i < rows; ++i) {
      const double x1 = 50 + 10 * g(rng), x2 = g(rng) * 0.01;
      const double y1 = 0.6 * x1 + 4 * g(rng), y2 = 1e4 + 300 * g(rng);
      const double z1 = 100 * x2 + 0.002 * y2 + 0.2 * g(rng);
      a.push_back({fmt(x1), fmt(x2)});
      b.push_back({fmt(y1), fmt(y2)});
      c.push_back({fmt(z1), with_constant ? "7" : fmt(g(rng))});
    }
    json files;
    files["alice"] = WriteCsv("alice.csv", {"x1", "x2"}, a);
    files["bob"] = WriteCsv("bob.csv", {"y1", "y2"}, b);
    if (parties.size() == 3) files["carol"] = WriteCsv("carol.csv", {"z1", "z2"}, c);
    return files;
  }

  json Reference(const json& files, const std::vector<std::string>& parties,
                 const std::vector<std::string>& columns) {
    json list = json::array();
    for (const auto& p : parties) list.push_back(files[p]);
    return testing::PythonReference(kReference, {{"files", list}, {"columns", columns}});
  }
};

using testing::SpuCase;
using testing::SpuCaseName;

class SecureStatsConformanceTest : public testing::WithSpuCase<SecureStatsTest> {};

TEST_P(SecureStatsConformanceTest, PearsonMatchesPandas) {
  const auto& parties = Parties();
  const json files = WriteCorrelated(parties, 300, 7 + GetParam().parties);
  std::vector<std::string> columns = {"y1", "x1", "x2", "y2"};
  if (parties.size() == 3) columns = {"z1", "x1", "y2", "z2", "x2", "y1"};
  const std::string report_party = parties.back();
  json cfg = {{"input_data", files},
              {"columns", columns},
              {"output_report", Path("pearson.json")},
              {"report_party", report_party}};
  const TaskType type = PearsonCorrelationTaskType();
  ASSERT_TRUE(testing::Validate(type, cfg, parties).ok());
  auto results = testing::RunParties(type, cfg, parties, Spu());
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ((*r)["num_columns"], columns.size());
    EXPECT_EQ((*r)["columns"], json(columns));
    EXPECT_EQ((*r)["report_party"], report_party);
    EXPECT_FALSE(r->contains("correlation_matrix"));  // as the Python worker: the file only
  }
  const json ref = Reference(files, parties, columns);
  const json report = ReadJsonFile(Path("pearson.json"));
  ASSERT_TRUE(report.is_object());
  for (const auto& a : columns) {
    for (const auto& b : columns) {
      ExpectNearRel(report[a][b], ref["pearson"][a][b], a + "," + b);
    }
  }
}

TEST_P(SecureStatsConformanceTest, VifMatchesOlsDefinition) {
  const auto& parties = Parties();
  const json files = WriteCorrelated(parties, 400, 17 + GetParam().parties);
  std::vector<std::string> columns = {"x1", "y1", "x2", "y2"};
  if (parties.size() == 3) columns = {"x1", "z1", "y1", "x2", "y2", "z2"};
  json cfg = {{"input_data", files}, {"columns", columns}, {"output_report", Path("vif.json")}};
  const TaskType type = VifTaskType();
  auto results = testing::RunParties(type, cfg, parties, Spu());
  const json ref = Reference(files, parties, columns);
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    for (const auto& c : columns) ExpectNearRel((*r)["vif_values"][c], ref["vif"][c], c);
    EXPECT_EQ((*r)["saturated_columns"], json::array());
  }
  // Collinearity is strong in the 3-party data (z1 ≈ 100·x2 + 0.002·y2).
  if (parties.size() == 3) {
    ASSERT_GT(ref["vif"]["z1"].get<double>(), 10.0);
    EXPECT_EQ((*results[0])["diagnosis"]["z1"], "严重共线性");
  }
  const json report = ReadJsonFile(Path("vif.json"));
  ASSERT_TRUE(report.is_object());
  EXPECT_EQ(report["vif_values"], (*results[0])["vif_values"]);
  EXPECT_EQ(report["columns"], json(columns));
  EXPECT_EQ(report["parties"], json(parties));
  for (const auto& c : columns) {
    const double v = report["vif_values"][c].get<double>();
    const std::string want = v > 10 ? "严重共线性" : v > 5 ? "中度共线性" : "无共线性问题";
    EXPECT_EQ(report["diagnosis"][c], want) << c;
  }
}

INSTANTIATE_TEST_SUITE_P(Spu, SecureStatsConformanceTest,
                         ::testing::Values(SpuCase{2, "SEMI2K", mpc::FieldType::kFM64},
                                           SpuCase{2, "SEMI2K", mpc::FieldType::kFM128},
                                           SpuCase{2, "CHEETAH", mpc::FieldType::kFM64},
                                           SpuCase{3, "SEMI2K", mpc::FieldType::kFM64},
                                           SpuCase{3, "ABY3", mpc::FieldType::kFM64},
                                           SpuCase{3, "ABY3", mpc::FieldType::kFM128}),
                         SpuCaseName);

TEST_F(SecureStatsTest, ConstantColumnHasNoCorrelationAndNoVif) {
  const auto& parties = testing::kThreeParties;
  const json files = WriteCorrelated(parties, 200, 5, /*with_constant=*/true);
  const std::vector<std::string> columns = {"x1", "z2", "y1", "z1"};
  json cfg = {{"input_data", files}, {"columns", columns}, {"output_report", Path("p.json")}};
  auto pr = testing::RunParties(PearsonCorrelationTaskType(), cfg, parties);
  ASSERT_TRUE(pr[0].ok()) << pr[0].status().ToString();
  EXPECT_EQ((*pr[0])["constant_columns"], json({"z2"}));
  const json ref = Reference(files, parties, columns);
  const json report = ReadJsonFile(Path("p.json"));
  for (const auto& a : columns) {
    for (const auto& b : columns) ExpectNearRel(report[a][b], ref["pearson"][a][b], a + "," + b);
  }
  EXPECT_TRUE(report["z2"]["z2"].is_null());

  cfg["output_report"] = Path("v.json");
  auto vr = testing::RunParties(VifTaskType(), cfg, parties);
  ASSERT_TRUE(vr[0].ok()) << vr[0].status().ToString();
  EXPECT_TRUE((*vr[0])["vif_values"]["z2"].is_null());
  EXPECT_EQ((*vr[0])["diagnosis"]["z2"], "无法计算");
  for (const auto& c : {"x1", "y1", "z1"})
    ExpectNearRel((*vr[0])["vif_values"][c], ref["vif"][c], c);
}

TEST_F(SecureStatsTest, PerfectCollinearityIsReportedAsSaturated) {
  // bob's w = 2·u − v exactly: R is singular and statsmodels reports an infinite VIF.
  std::mt19937_64 rng(3);
  std::normal_distribution<double> g(0, 1);
  std::vector<std::vector<std::string>> a, b;
  for (int i = 0; i < 100; ++i) {
    const int u = static_cast<int>(std::lround(10 * g(rng)));
    const int v = static_cast<int>(std::lround(10 * g(rng)));
    a.push_back({std::to_string(u), std::to_string(v)});
    b.push_back({std::to_string(2 * u - v), std::to_string(g(rng))});
  }
  json files = {{"alice", WriteCsv("a.csv", {"u", "v"}, a)},
                {"bob", WriteCsv("b.csv", {"w", "noise"}, b)}};
  json cfg = {{"input_data", files},
              {"columns", {"u", "v", "w", "noise"}},
              {"output_report", Path("v.json")}};
  auto r = testing::RunParties(VifTaskType(), cfg, testing::kTwoParties);
  ASSERT_TRUE(r[0].ok()) << r[0].status().ToString();
  EXPECT_EQ((*r[0])["saturated_columns"], json({"u", "v", "w"}));
  for (const auto& c : {"u", "v", "w"}) {
    EXPECT_TRUE((*r[0])["vif_values"][c].is_null()) << c;
    EXPECT_EQ((*r[0])["diagnosis"][c], "严重共线性") << c;
  }
  EXPECT_NEAR((*r[0])["vif_values"]["noise"].get<double>(), 1.0, 0.1);
}

TEST_F(SecureStatsTest, BadInputsFailEveryPartyWithTheRightError) {
  const auto& parties = testing::kTwoParties;
  const json good = WriteCorrelated(parties, 50, 1);
  struct Case {
    std::string name;
    json alice_file;  // null = the good file
    std::vector<std::string> columns;
    std::string code;
  };
  const std::string text = WriteCsv("text.csv", {"x1", "x2"}, {{"1", "a"}, {"2", "b"}});
  const std::string missing = WriteCsv("missing.csv", {"x1", "x2"}, {{"1", "2"}, {"", "3"}});
  const std::string all_missing = WriteCsv("allmiss.csv", {"x1", "x2"}, {{"1", ""}, {"2", ""}});
  const std::string empty = WriteText("empty.csv", "");
  const std::string header_only = WriteText("header.csv", "x1,x2\n");
  const std::string short_file = WriteCsv("short.csv", {"x1", "x2"}, {{"1", "2"}, {"3", "5"}});
  for (const Case& c : {Case{"unknown column", nullptr, {"x1", "nope"}, "unknown_column"},
                        Case{"non-numeric", text, {"x2", "y1"}, "non_numeric_value"},
                        Case{"missing cell", missing, {"x1", "y1"}, "missing_value"},
                        Case{"all missing", all_missing, {"x2", "y1"}, "all_missing_column"},
                        Case{"empty file", empty, {"x1", "y1"}, "empty_file"},
                        Case{"header only", header_only, {"x1", "y1"}, "all_missing_column"},
                        Case{"row counts", short_file, {"x1", "y1"}, "row_count_mismatch"}}) {
    SCOPED_TRACE(c.name);
    json files = good;
    if (!c.alice_file.is_null()) files["alice"] = c.alice_file;
    for (const TaskType& type : {PearsonCorrelationTaskType(), VifTaskType()}) {
      json cfg = {{"input_data", files}, {"columns", c.columns}, {"output_report", Path("r.json")}};
      auto results = testing::RunParties(type, cfg, parties);
      const Status s = testing::ExpectAllFail(results, ErrorType::kParameterValidation, c.code);
      EXPECT_FALSE(std::ifstream(Path("r.json")).good()) << "no report on failure";
    }
  }
}

TEST_F(SecureStatsTest, ValidationNeedsColumnsAndAReportPath) {
  const json files = WriteCorrelated(testing::kTwoParties, 10, 1);
  for (const TaskType& type : {PearsonCorrelationTaskType(), VifTaskType()}) {
    EXPECT_TRUE(type.needs_spu);
    Status s = testing::Validate(type, {{"input_data", files}, {"output_report", "r.json"}},
                                 testing::kTwoParties);
    EXPECT_NE(s.ToString().find("task_config.columns"), std::string::npos) << s.ToString();
    s = testing::Validate(type, {{"input_data", files}, {"columns", json::array()}},
                          testing::kTwoParties);
    EXPECT_NE(s.ToString().find("empty_value"), std::string::npos) << s.ToString();
    EXPECT_NE(s.ToString().find("output_report"), std::string::npos) << s.ToString();
    s = testing::Validate(type,
                          {{"input_data", files},
                           {"columns", {"x1", "x1"}},
                           {"output_report", "r.json"},
                           {"report_party", "mallory"}},
                          testing::kTwoParties);
    EXPECT_NE(s.ToString().find("listed twice"), std::string::npos) << s.ToString();
    EXPECT_NE(s.ToString().find("unknown_party"), std::string::npos) << s.ToString();
  }
}

}  // namespace
}  // namespace veil::tasks
