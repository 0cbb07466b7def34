// Data tasks through the veil binary: local mode and cluster mode over TCP, each party touching
// only its own files.
#include <cmath>
#include <filesystem>
#include <sstream>
#include <thread>

#include "process_util.h"
#include <gtest/gtest.h>

namespace veil::systest {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class DataTasksSystemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("veil_data_sys_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    WriteFile(P("alice.csv"), "age,income\n20,1000\n30,3000\n40,5000\n");
    WriteFile(P("bob.csv"), "score\n1.5\n2.5\n3.5\n");
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string P(const std::string& n) { return (dir_ / n).string(); }
  fs::path dir_;
};

TEST_F(DataTasksSystemTest, StandardScalerInLocalMode) {
  json env = {{"task_id", "t"},
              {"subtask_id", "s"},
              {"execution_id", "e-scale"},
              {"sf_init_config", {{"parties", {"alice", "bob"}}, {"address", "local"}}},
              {"task_config",
               {{"task_type", "standard_scaler"},
                {"input_data", {{"alice", P("alice.csv")}, {"bob", P("bob.csv")}}},
                {"output_data", {{"alice", P("out/a.csv")}, {"bob", P("out/b.csv")}}},
                {"columns", {"age", "score"}}}}};
  WriteFile(P("env.json"), env.dump());
  auto r = RunProcess({VeilBin(), "run", P("env.json"), "--events", P("ev.jsonl")}, P("run"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json res = json::parse(r.out);
  EXPECT_EQ(res["status"], "success");
  // Population std of (20,30,40) is sqrt(200/3); scaled age = (x - 30) / 8.1649658...
  const std::string a = ReadFile(P("out/a.csv"));
  EXPECT_NE(a.find("age,income"), std::string::npos);
  EXPECT_NE(a.find("-1.224744871391589"), std::string::npos) << a;
  EXPECT_NE(a.find(",3000"), std::string::npos) << a;  // income untouched
  EXPECT_NE(ReadFile(P("out/b.csv")).find("1.224744871391589"), std::string::npos);
}

TEST_F(DataTasksSystemTest, TableStatisticsInClusterModeOverTcp) {
  json task = {{"task_type", "table_statistics"},
               {"input_data", {{"alice", P("alice.csv")}, {"bob", P("bob.csv")}}},
               {"output_report", P("report.json")}};
  auto r = RunTwoParties(VeilBin(), dir_.string(), "e-stats", task);
  ASSERT_EQ(r.alice.exit_code, 0) << r.alice.err;
  ASSERT_EQ(r.bob.exit_code, 0) << r.bob.err;
  // The report is written by the report party (alice by default) and holds both parties' columns.
  json report = json::parse(ReadFile(P("report.json")));
  ASSERT_TRUE(report.contains("age") && report.contains("score")) << report.dump();
  EXPECT_DOUBLE_EQ(report["age"]["mean"].get<double>(), 30.0);
  EXPECT_DOUBLE_EQ(report["score"]["sum"].get<double>(), 7.5);
}

// pearson_correlation and vif over TCP, each party a `veil run` process with the SPU built from
// spu_config; the report is written by bob (report_party), who is the only one to learn it.
TEST_F(DataTasksSystemTest, SecretSharedStatisticsInClusterModeOverTcp) {
  // age and score are perfectly correlated (score = age/10 - 0.5); income is not quite.
  WriteFile(P("alice.csv"), "age,income\n20,1000\n30,3500\n40,5000\n50,5500\n");
  WriteFile(P("bob.csv"), "score\n1.5\n2.5\n3.5\n4.5\n");
  json spu = {{"cluster_def",
               {{"nodes",
                 {{{"party", "alice"}, {"address", "127.0.0.1:1"}},
                  {{"party", "bob"}, {"address", "127.0.0.1:2"}}}},
                {"runtime_config", {{"protocol", "SEMI2K"}, {"field", "FM128"}}}}}};
  for (const std::string type : {"pearson_correlation", "vif"}) {
    SCOPED_TRACE(type);
    json task = {{"task_type", type},
                 {"input_data", {{"alice", P("alice.csv")}, {"bob", P("bob.csv")}}},
                 {"columns", {"age", "score", "income"}},
                 {"output_report", P(type + ".json")},
                 {"report_party", "bob"}};
    auto r = RunTwoParties(VeilBin(), dir_.string(), "e-" + type, task, spu);
    ASSERT_EQ(r.alice.exit_code, 0) << r.alice.err;
    ASSERT_EQ(r.bob.exit_code, 0) << r.bob.err;
    json res = json::parse(r.alice.out);
    EXPECT_EQ(res["task_metadata"]["devices_used"].back(), "spu");
    json report = json::parse(ReadFile(P(type + ".json")));
    if (type == "pearson_correlation") {
      EXPECT_NEAR(report["age"]["score"].get<double>(), 1.0, 1e-4);
      // numpy.corrcoef([20,30,40,50], [1000,3500,5000,5500])[0,1]
      EXPECT_NEAR(report["age"]["income"].get<double>(), 0.9583148474999099, 1e-4);
    } else {
      // age and score are collinear: saturated, severe.
      EXPECT_EQ(res["result"]["saturated_columns"], json({"age", "score"}));
      EXPECT_EQ(report["diagnosis"]["age"], "严重共线性");
      EXPECT_TRUE(report["vif_values"]["income"].is_number());
    }
  }
}

// ss_lr trained by two veil processes over TCP; ss_lr_predict, in two new processes, loads the
// shares and reveals the scores to bob only; a second predict run gives the same scores.
TEST_F(DataTasksSystemTest, SsLrTrainThenPredictInNewProcesses) {
  std::string a = "u,w\n", b = "v,y\n";
  for (int i = 0; i < 200; ++i) {
    const double u = std::sin(i * 1.7) * 2, w = std::cos(i * 0.3), v = std::sin(i * 0.9 + 1);
    a += std::to_string(u) + "," + std::to_string(w) + "\n";
    b += std::to_string(v) + "," + (u + v > 0.2 ? "1" : "0") + "\n";
  }
  WriteFile(P("alice.csv"), a);
  WriteFile(P("bob.csv"), b);
  json spu = {{"cluster_def",
               {{"nodes",
                 {{{"party", "alice"}, {"address", "127.0.0.1:1"}},
                  {{"party", "bob"}, {"address", "127.0.0.1:2"}}}},
                {"runtime_config", {{"protocol", "SEMI2K"}, {"field", "FM64"}}}}}};
  auto run_pair = [&](const json& task, const std::string& id) {
    auto r = RunTwoParties(VeilBin(), dir_.string(), id, task, spu);
    EXPECT_EQ(r.alice.exit_code, 0) << r.alice.err;
    EXPECT_EQ(r.bob.exit_code, 0) << r.bob.err;
    return json::parse(r.alice.out, nullptr, false);
  };
  json data = {{"alice", P("alice.csv")}, {"bob", P("bob.csv")}};
  json models = {{"alice", P("m/alice")}, {"bob", P("m/bob")}};
  json train = run_pair({{"task_type", "ss_lr"},
                         {"train_data", data},
                         {"features", {"u", "w", "v"}},
                         {"label", "y"},
                         {"label_party", "bob"},
                         {"model_output", models},
                         {"params", {{"epochs", 8}, {"batch_size", 16}}}},
                        "e-train");
  ASSERT_EQ(train["status"], "success") << train.dump();
  std::vector<std::string> runs;
  for (const std::string out : {"p1.csv", "p2.csv"}) {
    json res = run_pair({{"task_type", "ss_lr_predict"},
                         {"model_path", models},
                         {"predict_data", data},
                         {"output_path", {{"bob", P(out)}}}},
                        "e-" + out);
    ASSERT_EQ(res["status"], "success") << res.dump();
    EXPECT_EQ(res["result"]["receiver_party"], "bob");
    EXPECT_EQ(res["result"]["num_predictions"], 200);
    runs.push_back(ReadFile(P(out)));
  }
  // The same model predicts the same scores (up to the 1-ulp truncation noise), and they fit.
  std::istringstream s1(runs[0]), s2(runs[1]), labels(b);
  std::string l1, l2, lb;
  std::getline(s1, l1);
  std::getline(s2, l2);
  std::getline(labels, lb);
  int rows = 0, correct = 0;
  while (std::getline(s1, l1) && std::getline(s2, l2) && std::getline(labels, lb)) {
    const double p1 = std::stod(l1), p2 = std::stod(l2);
    EXPECT_NEAR(p1, p2, 1e-4);
    correct += (p1 >= 0.5) == (lb.back() == '1');
    ++rows;
  }
  EXPECT_EQ(rows, 200);
  EXPECT_GT(correct, 170);
}

}  // namespace
}  // namespace veil::systest
