// The veil binary's contract (SPEC §2): result JSON alone on stdout, one JSON error object on
// stderr with a non-zero exit code, events as JSON lines.
#include <filesystem>

#include "process_util.h"
#include <gtest/gtest.h>

namespace veil::systest {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("veil_cli_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string P(const std::string& name) { return (dir_ / name).string(); }
  fs::path dir_;
};

TEST_F(CliTest, LocalPsiPrintsOnlyTheResultOnStdout) {
  WriteFile(P("a.csv"), "id,x\n1,a\n2,b\n3,c\n");
  WriteFile(P("b.csv"), "uid,y\n3,z\n1,w\n9,q\n");
  json env = {{"task_id", "t"},
              {"subtask_id", "s"},
              {"execution_id", "e1"},
              {"sf_init_config", {{"parties", {"alice", "bob"}}, {"address", "local"}}},
              {"task_config",
               {{"task_type", "psi"},
                {"keys", {{"alice", {"id"}}, {"bob", {"uid"}}}},
                {"input_paths", {{"alice", P("a.csv")}, {"bob", P("b.csv")}}},
                {"output_paths", {{"alice", P("out/a.csv")}, {"bob", P("out/b.csv")}}},
                {"receiver", "alice"},
                {"broadcast_result", true}}}};
  WriteFile(P("env.json"), env.dump());
  auto r = RunProcess({VeilBin(), "run", P("env.json"), "--events", P("events.jsonl")}, P("run"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json result = json::parse(r.out);  // stdout is exactly one JSON document
  EXPECT_EQ(result["status"], "success");
  EXPECT_EQ(result["result"]["intersection_count"], 2);
  EXPECT_EQ(result["task_metadata"]["execution_id"], "e1");
  EXPECT_EQ(result["task_metadata"]["task_type"], "psi");
  EXPECT_GT(result["performance_metrics"]["bytes_sent"].get<int64_t>(), 0);
  EXPECT_EQ(ReadFile(P("out/a.csv")), "id,x\n1,a\n3,c\n");
  EXPECT_EQ(ReadFile(P("out/b.csv")), "uid,y\n1,w\n3,z\n");
  // Events: JSON lines, seq from 1, stages in the Python worker's order, one terminal event.
  std::vector<json> events;
  std::istringstream lines(ReadFile(P("events.jsonl")));
  for (std::string line; std::getline(lines, line);) events.push_back(json::parse(line));
  ASSERT_FALSE(events.empty());
  std::vector<std::string> stages;
  int terminal = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i]["seq"], i + 1);
    stages.push_back(events[i]["data"]["stage"]);
    if (events[i]["status"] != "RUNNING") ++terminal;
  }
  EXPECT_EQ(terminal, 1);
  EXPECT_EQ(stages.front(), "task_started");
  EXPECT_EQ(stages.back(), "task_completed");
  std::vector<std::string> skeleton = {"task_started",        "cluster_init",
                                       "cluster_initialized", "device_creation",
                                       "devices_initialized", "task_execution"};
  EXPECT_TRUE(std::equal(skeleton.begin(), skeleton.end(), stages.begin()));
}

TEST_F(CliTest, BadEnvelopeIsOneJsonErrorWithEveryProblem) {
  json env = {
      {"task_id", "t"},
      {"subtask_id", "s"},
      {"execution_id", "e1"},
      {"sf_init_config", {{"parties", {"alice", "bob"}}, {"address", "local"}}},
      {"task_config", {{"task_type", "psi"}, {"keys", "id"}, {"protocol", "BC22_PSI_2PC"}}}};
  WriteFile(P("env.json"), env.dump());
  auto r = RunProcess({VeilBin(), "run", P("env.json")}, P("run"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(r.out.empty()) << r.out;
  // The last stderr line is the error object (events come before it).
  std::string last = r.err.substr(r.err.rfind('\n', r.err.size() - 2) + 1);
  json err = json::parse(last)["error"];
  EXPECT_EQ(err["type"], "ParameterValidationError");
  std::set<std::string> paths;
  for (const auto& p : err["problems"]) paths.insert(p["path"]);
  EXPECT_TRUE(paths.count("task_config.keys"));
  EXPECT_TRUE(paths.count("task_config.protocol"));
  EXPECT_TRUE(paths.count("task_config.input_paths"));
  EXPECT_TRUE(paths.count("task_config.output_paths"));
}

TEST_F(CliTest, UnreadableOrInvalidJson) {
  auto r = RunProcess({VeilBin(), "run", P("missing.json")}, P("run"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(json::parse(r.err)["error"]["code"], "file_not_found");
  WriteFile(P("bad.json"), "{not json");
  r = RunProcess({VeilBin(), "run", P("bad.json")}, P("run2"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(json::parse(r.err)["error"]["code"], "invalid_json");
}

TEST_F(CliTest, Version) {
  auto r = RunProcess({VeilBin(), "version"}, P("v"));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(json::parse(r.out)["name"], "veil");
}

}  // namespace
}  // namespace veil::systest

namespace veil::systest {
namespace {

TEST(CliConfigTest, ConfigCheckListsEveryProblemAndPassesAGoodConfig) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("veil_cfg_" + std::to_string(::getpid()));
  fs::create_directories(dir / "data");
  const std::string bad = (dir / "bad.env").string(), good = (dir / "good.env").string();
  WriteFile(bad,
            "NODE_IP=not-an-ip\nMAX_CONCURRENT_TASKS=0\nSF_PORT_RANGE_START=19010\nSF_PORT_RANGE_"
            "END=19000\n");
  WriteFile(good, "NODE_ID=alice\nNODE_IP=127.0.0.1\nDATA_PATH=" + (dir / "data").string() + "\n");
  ::unsetenv("NODE_ID");
  ::unsetenv("NODE_IP");
  ::unsetenv("DATA_PATH");
  auto r = RunProcess({VeilBin(), "config", "check", "--env-file", bad, "--json"},
                      (dir / "bad").string());
  EXPECT_EQ(r.exit_code, 1);
  nlohmann::json report = nlohmann::json::parse(r.out);
  std::set<std::string> vars;
  for (const auto& p : report["problems"]) vars.insert(p["variable"]);
  for (const char* v : {"NODE_ID", "NODE_IP", "MAX_CONCURRENT_TASKS", "SF_PORT_RANGE_START"}) {
    EXPECT_TRUE(vars.count(v)) << v << "\n" << r.out;
  }
  auto ok = RunProcess({VeilBin(), "config", "check", "--env-file", good}, (dir / "good").string());
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace veil::systest
