// ss_xgb through the veil binary: training by two `veil run` processes over TCP, then
// prediction from the saved files in new processes — once in local mode (one process, both
// parties) and once by two new processes over TCP. Both must agree, only the receiver may write
// predictions, and training reports progress per tree.
#include <cmath>
#include <filesystem>
#include <random>
#include <sstream>

#include "process_util.h"
#include <gtest/gtest.h>

namespace veil::systest {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kTrees = 3;

class SsXgbSystemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("veil_xgb_sys_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    // alice: a, b, c; bob: d, e and the label y = [a + d > 0] with 10% flipped.
    std::mt19937_64 rng(5);
    std::normal_distribution<double> g(0, 1);
    std::uniform_real_distribution<double> u(0, 1);
    std::ostringstream alice, bob;
    alice << "a,b,c\n";
    bob << "d,e,y\n";
    for (int i = 0; i < 300; ++i) {
      const double a = g(rng), b = g(rng), c = g(rng), d = g(rng), e = g(rng);
      int y = a + d > 0 ? 1 : 0;
      if (u(rng) < 0.1) y = 1 - y;
      alice << a << "," << b << "," << c << "\n";
      bob << d << "," << e << "," << y << "\n";
    }
    WriteFile(P("alice.csv"), alice.str());
    WriteFile(P("bob.csv"), bob.str());
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string P(const std::string& n) { return (dir_ / n).string(); }

  json Spu() {
    return {{"cluster_def",
             {{"nodes",
               {{{"party", "alice"}, {"address", "127.0.0.1:1"}},
                {{"party", "bob"}, {"address", "127.0.0.1:2"}}}},
              {"runtime_config", {{"protocol", "SEMI2K"}, {"field", "FM64"}}}}}};
  }

  // Runs `task` as two cluster-mode processes; returns {alice, bob} results.
  std::pair<ProcessResult, ProcessResult> RunCluster(const json& task, const std::string& id) {
    const int pa = FreePort(), pb = FreePort();
    json parties = {{"alice", {{"address", "127.0.0.1:" + std::to_string(pa)}}},
                    {"bob", {{"address", "127.0.0.1:" + std::to_string(pb)}}}};
    for (const char* self : {"alice", "bob"}) {
      json env = {
          {"task_id", "t"},      {"subtask_id", "s"},
          {"execution_id", id},  {"sf_init_config", {{"parties", parties}, {"self_party", self}}},
          {"spu_config", Spu()}, {"task_config", task}};
      WriteFile(P(std::string(self) + ".json"), env.dump());
    }
    int a = Spawn({VeilBin(), "run", P("alice.json")}, P("a.out"), P("a.err"));
    int b = Spawn({VeilBin(), "run", P("bob.json")}, P("b.out"), P("b.err"));
    auto ra = Wait(a, P("a.out"), P("a.err"));
    auto rb = Wait(b, P("b.out"), P("b.err"));
    return {ra, rb};
  }

  std::vector<std::string> Lines(const std::string& path) {
    std::vector<std::string> out;
    std::istringstream in(ReadFile(path));
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }

  fs::path dir_;
};

TEST_F(SsXgbSystemTest, TrainOverTcpThenPredictInNewProcesses) {
  const json model = {{"alice", P("model/alice")}, {"bob", P("model/bob")}};
  const json train = {{"task_type", "ss_xgb"},
                      {"train_data", {{"alice", P("alice.csv")}, {"bob", P("bob.csv")}}},
                      {"features", {"a", "b", "c", "d", "e"}},
                      {"label", "y"},
                      {"label_party", "bob"},
                      {"model_output", model},
                      {"params", {{"num_boost_round", kTrees}, {"max_depth", 3}}}};
  auto [ta, tb] = RunCluster(train, "e-train");
  ASSERT_EQ(ta.exit_code, 0) << ta.out << ta.err;
  ASSERT_EQ(tb.exit_code, 0) << tb.out << tb.err;
  const json trained = json::parse(ta.out);
  EXPECT_EQ(trained["result"]["num_trees"], kTrees);
  EXPECT_EQ(trained["result"]["secure_mode"], true);
  // One computation_progress event per tree (status events are JSON lines on stderr).
  int tree_events = 0;
  std::istringstream events(ta.err);
  for (std::string line; std::getline(events, line);) {
    const json e = json::parse(line, nullptr, false);
    if (e.is_object() && e.dump().find("\"phase\":\"tree\"") != std::string::npos) ++tree_events;
  }
  EXPECT_EQ(tree_events, kTrees) << ta.err;
  EXPECT_TRUE(fs::exists(P("model/alice.meta.json")));
  EXPECT_TRUE(fs::exists(P("model/bob.weight_2.share")));
  EXPECT_FALSE(fs::exists(P("model/alice")));

  json predict = {{"task_type", "ss_xgb_predict"},
                  {"model_path", model},
                  {"predict_data", {{"alice", P("alice.csv")}, {"bob", P("bob.csv")}}},
                  {"output_path", {{"alice", P("pred_alice.csv")}, {"bob", P("pred_tcp.csv")}}}};
  auto [pa, pb] = RunCluster(predict, "e-predict");
  ASSERT_EQ(pa.exit_code, 0) << pa.out << pa.err;
  ASSERT_EQ(pb.exit_code, 0) << pb.out << pb.err;
  const json ra = json::parse(pa.out)["result"];
  EXPECT_EQ(ra["receiver_party"], "bob");
  EXPECT_EQ(ra["num_predictions"], 300);
  EXPECT_FALSE(ra.contains("probability"));
  EXPECT_FALSE(fs::exists(P("pred_alice.csv")));  // alice is not the receiver

  // The same model loaded by one local-mode process.
  predict["output_path"] = {{"bob", P("pred_local.csv")}};
  json env = {{"task_id", "t"},
              {"subtask_id", "s"},
              {"execution_id", "e-local"},
              {"sf_init_config", {{"parties", {"alice", "bob"}}, {"address", "local"}}},
              {"spu_config", Spu()},
              {"task_config", predict}};
  WriteFile(P("local.json"), env.dump());
  auto rl = Wait(Spawn({VeilBin(), "run", P("local.json")}, P("l.out"), P("l.err")), P("l.out"),
                 P("l.err"));
  ASSERT_EQ(rl.exit_code, 0) << rl.out << rl.err;

  const auto tcp = Lines(P("pred_tcp.csv")), local = Lines(P("pred_local.csv"));
  ASSERT_EQ(tcp.size(), 301u);
  ASSERT_EQ(local.size(), 301u);
  EXPECT_EQ(tcp[0], "probability,prediction");
  int agree = 0, correct = 0;
  const auto labels = Lines(P("bob.csv"));
  for (size_t i = 1; i < tcp.size(); ++i) {
    const double a = std::stod(tcp[i]), b = std::stod(local[i]);
    EXPECT_NEAR(a, b, 1e-4) << "row " << i;
    agree += tcp[i].back() == local[i].back();
    correct += tcp[i].back() == labels[i].back();
  }
  EXPECT_GE(agree, 299);    // a probability within 1e-4 of 0.5 may flip
  EXPECT_GE(correct, 240);  // the model learnt y ≈ [a + d > 0] (10% label noise)
}

}  // namespace
}  // namespace veil::systest
