// Cluster mode: one `veil run` process per party, linked over TCP on 127.0.0.1, each with its
// own envelope (the two cluster shapes of sf_init_config), one party starting late.
#include <filesystem>
#include <random>
#include <set>
#include <thread>

#include "process_util.h"
#include <gtest/gtest.h>

namespace veil::systest {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class ClusterPsiProtocolTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ClusterPsiProtocolTest, TwoProcessesOverTcpWithALatePeer) {
  const std::string protocol = GetParam();
  fs::path dir =
      fs::temp_directory_path() / ("veil_cluster_" + protocol + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto P = [&](const std::string& n) { return (dir / n).string(); };

  // Random ids with a known overlap.
  std::mt19937_64 rng(7);
  std::set<std::string> a_ids, b_ids;
  std::string a = "id,age\n", b = "uid,label\n";
  for (int i = 0; i < 3000; ++i) {
    std::string id = "u" + std::to_string(rng() % 5000);
    if (a_ids.insert(id).second) a += id + "," + std::to_string(i % 90) + "\n";
  }
  for (int i = 0; i < 3000; ++i) {
    std::string id = "u" + std::to_string(rng() % 5000);
    if (b_ids.insert(id).second) b += id + "," + std::to_string(i % 2) + "\n";
  }
  size_t expected = 0;
  for (const auto& id : a_ids) expected += b_ids.count(id);
  WriteFile(P("alice.csv"), a);
  WriteFile(P("bob.csv"), b);

  const int pa = FreePort(), pb = FreePort();
  json task = {{"task_type", "psi"},
               {"keys", {{"alice", {"id"}}, {"bob", {"uid"}}}},
               {"input_paths", {{"alice", P("alice.csv")}, {"bob", P("bob.csv")}}},
               {"output_paths", {{"alice", P("out_alice.csv")}, {"bob", P("out_bob.csv")}}},
               {"receiver", "alice"},
               {"broadcast_result", true},
               {"protocol", protocol},
               {"sort", true}};
  json parties = {{"alice",
                   {{"address", "127.0.0.1:" + std::to_string(pa)},
                    {"listen_addr", "127.0.0.1:" + std::to_string(pa)}}},
                  {"bob",
                   {{"address", "127.0.0.1:" + std::to_string(pb)},
                    {"listen_addr", "127.0.0.1:" + std::to_string(pb)}}}};
  // alice: the documented cluster shape; bob: the SecretFlow cluster_config shape.
  json env_a = {{"task_id", "t"},
                {"subtask_id", "s"},
                {"execution_id", "exec-cluster-1"},
                {"sf_init_config",
                 {{"parties", parties}, {"self_party", "alice"}, {"connect_timeout_ms", 20000}}},
                {"task_config", task}};
  json env_b = {{"task_id", "t"},
                {"subtask_id", "s"},
                {"execution_id", "exec-cluster-1"},
                {"sf_init_config",
                 {{"address", "127.0.0.1:9999"},
                  {"cluster_config", {{"parties", parties}, {"self_party", "bob"}}},
                  {"connect_timeout_ms", 20000}}},
                {"task_config", task}};
  WriteFile(P("alice.json"), env_a.dump());
  WriteFile(P("bob.json"), env_b.dump());

  int alice = Spawn({VeilBin(), "run", P("alice.json"), "--events", P("alice_events.jsonl")},
                    P("a.out"), P("a.err"));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // bob starts late
  int bob = Spawn({VeilBin(), "run", P("bob.json"), "--events", P("bob_events.jsonl")}, P("b.out"),
                  P("b.err"));
  auto ra = Wait(alice, P("a.out"), P("a.err"));
  auto rb = Wait(bob, P("b.out"), P("b.err"));
  ASSERT_EQ(ra.exit_code, 0) << ra.err;
  ASSERT_EQ(rb.exit_code, 0) << rb.err;
  json res_a = json::parse(ra.out), res_b = json::parse(rb.out);
  EXPECT_EQ(res_a["result"]["intersection_count"], expected);
  EXPECT_EQ(res_b["result"]["intersection_count"], expected);
  EXPECT_EQ(res_a["result"]["psi_protocol"], protocol);
  EXPECT_GT(res_a["performance_metrics"]["bytes_received"].get<int64_t>(), 0);

  // Both outputs hold the intersection, sorted and row-aligned.
  std::istringstream oa(ReadFile(P("out_alice.csv"))), ob(ReadFile(P("out_bob.csv")));
  std::string la, lb;
  std::getline(oa, la);
  std::getline(ob, lb);
  EXPECT_EQ(la, "id,age");
  EXPECT_EQ(lb, "uid,label");
  size_t rows = 0;
  std::string prev;
  while (std::getline(oa, la)) {
    ASSERT_TRUE(static_cast<bool>(std::getline(ob, lb)));
    std::string ka = la.substr(0, la.find(',')), kb = lb.substr(0, lb.find(','));
    EXPECT_EQ(ka, kb);
    EXPECT_TRUE(a_ids.count(ka) && b_ids.count(ka));
    EXPECT_LT(prev, ka);
    prev = ka;
    ++rows;
  }
  EXPECT_FALSE(static_cast<bool>(std::getline(ob, lb)));
  EXPECT_EQ(rows, expected);
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Protocols, ClusterPsiProtocolTest,
                         ::testing::Values("ECDH_PSI_2PC", "KKRT_PSI_2PC", "PROTOCOL_RR22"));

TEST(ClusterPsiTest, MissingPeerFailsWithNetworkErrorNamingIt) {
  fs::path dir = fs::temp_directory_path() / ("veil_cluster_miss_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto P = [&](const std::string& n) { return (dir / n).string(); };
  WriteFile(P("alice.csv"), "id\n1\n");
  const int pa = FreePort(), pb = FreePort();
  json env = {{"task_id", "t"},
              {"subtask_id", "s"},
              {"execution_id", "exec-miss"},
              {"sf_init_config",
               {{"parties",
                 {{"alice", {{"address", "127.0.0.1:" + std::to_string(pa)}}},
                  {"bob", {{"address", "127.0.0.1:" + std::to_string(pb)}}}}},
                {"self_party", "alice"},
                {"connect_timeout_ms", 1500}}},
              {"task_config",
               {{"task_type", "psi"},
                {"keys", {{"alice", {"id"}}, {"bob", {"id"}}}},
                {"input_paths", {{"alice", P("alice.csv")}, {"bob", P("bob.csv")}}},
                {"output_paths", {{"alice", P("o_a.csv")}, {"bob", P("o_b.csv")}}}}}};
  WriteFile(P("alice.json"), env.dump());
  auto start = std::chrono::steady_clock::now();
  auto r = RunProcess({VeilBin(), "run", P("alice.json")}, P("run"));
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_NE(r.exit_code, 0);
  EXPECT_LT(secs, 10.0);
  std::string last = r.err.substr(r.err.rfind('\n', r.err.size() - 2) + 1);
  json err = json::parse(last)["error"];
  EXPECT_EQ(err["type"], "NetworkError");
  EXPECT_NE(err["message"].get<std::string>().find("bob"), std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace veil::systest
