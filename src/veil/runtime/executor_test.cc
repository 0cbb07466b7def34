#include "veil/runtime/executor.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "veil/base/random.h"
#include "veil/link/test_util.h"
#include "veil/runtime/test_tasks.h"

namespace veil::runtime {
namespace {

using nlohmann::json;
using std::chrono::steady_clock;

RuntimeOptions Opts() {
  RuntimeOptions o;
  o.registry = &testing::FakeRegistry();
  return o;
}

ExecuteOptions ExecOpts(EventSink* sink) {
  ExecuteOptions o;
  o.events = sink;
  o.node_id = "node-test";
  o.registry = &testing::FakeRegistry();
  return o;
}

json LocalEnvelope(std::vector<std::string> parties = {"alice", "bob"}) {
  json values = json::object();
  int v = 1;
  for (const auto& p : parties) values[p] = v++;
  return {
      {"task_id", "t1"},
      {"subtask_id", "s1"},
      {"execution_id", "e1"},
      {"sf_init_config", {{"parties", parties}, {"address", "local"}, {"recv_timeout_ms", 60'000}}},
      {"task_config", {{"task_type", "sum"}, {"values", values}}}};
}

Envelope Parse(const json& e) {
  auto r = ParseEnvelope(e, Opts());
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : Envelope{};
}

std::vector<json> Terminal(const MemorySink& sink) {
  std::vector<json> out;
  for (const auto& e : sink.events()) {
    if (e["status"] == "SUCCESS" || e["status"] == "FAILURE") out.push_back(e);
  }
  return out;
}

void ExpectSkeletonStages(const MemorySink& sink, const std::string& terminal) {
  const std::vector<std::string> skeleton = {"task_started",        "cluster_init",
                                             "cluster_initialized", "device_creation",
                                             "devices_initialized", "task_execution"};
  auto stages = sink.stages();
  ASSERT_GT(stages.size(), skeleton.size());
  for (size_t i = 0; i < skeleton.size(); ++i) EXPECT_EQ(stages[i], skeleton[i]) << i;
  for (size_t i = skeleton.size(); i + 1 < stages.size(); ++i) {
    EXPECT_EQ(stages[i], "computation_progress") << i;
  }
  EXPECT_EQ(stages.back(), terminal);
  auto events = sink.events();
  for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i]["seq"], i + 1);
}

// ---- local mode -----------------------------------------------------------------------------

TEST(ExecutorLocalTest, TwoPartiesRunTheSkeletonAndReturnTheResult) {
  MemorySink sink;
  auto r = Execute(Parse(LocalEnvelope()), ExecOpts(&sink));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const json& out = *r;
  EXPECT_EQ(out["status"], "success");
  EXPECT_EQ(out["result"]["sum"], 3);
  EXPECT_EQ(out["result"]["parties"], json({"alice", "bob"}));

  const json& m = out["performance_metrics"];
  for (const char* k : {"total_execution_time", "cluster_init_time", "device_init_time",
                        "algorithm_exec_time", "overhead_time", "cluster_init_percentage",
                        "device_init_percentage", "algorithm_exec_percentage"}) {
    ASSERT_TRUE(m.contains(k)) << k;
    EXPECT_GE(m[k].get<double>(), 0.0) << k;
  }
  EXPECT_GT(m["bytes_sent"].get<uint64_t>(), 0u);
  EXPECT_EQ(m["bytes_sent"], m["bytes_received"]);  // everything stays inside the world
  EXPECT_GT(m["rounds"].get<uint64_t>(), 0u);
  EXPECT_GT(m["per_party"]["alice"]["bytes_sent"].get<uint64_t>(), 0u);
  EXPECT_GT(m["per_party"]["bob"]["messages_sent"].get<uint64_t>(), 0u);

  const json& md = out["task_metadata"];
  EXPECT_EQ(md["task_id"], "t1");
  EXPECT_EQ(md["subtask_id"], "s1");
  EXPECT_EQ(md["execution_id"], "e1");
  EXPECT_EQ(md["task_type"], "sum");
  EXPECT_EQ(md["mode"], "local");
  EXPECT_EQ(md["devices_used"], json({"pyu:alice", "pyu:bob"}));
  EXPECT_TRUE(md["started_at"].get<std::string>().ends_with("Z"));
  EXPECT_TRUE(md["completed_at"].get<std::string>().ends_with("Z"));

  ExpectSkeletonStages(sink, "task_completed");
  auto events = sink.events();
  EXPECT_EQ(events[0]["data"]["progress"], 0.0);
  EXPECT_EQ(events[0]["data"]["task_type"], "sum");
  EXPECT_TRUE(events[0]["data"].contains("started_at"));
  EXPECT_EQ(events[1]["data"]["progress"], 0.1);
  EXPECT_EQ(events[2]["data"]["progress"], 0.2);
  EXPECT_TRUE(events[2]["data"].contains("cluster_init_time"));
  EXPECT_EQ(events[3]["data"]["progress"], 0.3);
  EXPECT_EQ(events[4]["data"]["progress"], 0.4);
  EXPECT_EQ(events[4]["data"]["initialized_devices"], json({"pyu:alice", "pyu:bob"}));
  EXPECT_TRUE(events[4]["data"].contains("device_init_time"));
  EXPECT_EQ(events[5]["data"]["progress"], 0.5);
  EXPECT_EQ(events[5]["data"]["task_type"], "sum");
  // Task progress: 2 per party, mapped into [0.5, 0.95], raw value kept, party named.
  int progress_events = 0;
  for (const auto& e : events) {
    if (e["data"]["stage"] != "computation_progress") continue;
    ++progress_events;
    const double raw = e["data"]["task_progress"];
    EXPECT_DOUBLE_EQ(e["data"]["progress"].get<double>(), 0.5 + 0.45 * raw);
    EXPECT_TRUE(e["party"] == "alice" || e["party"] == "bob");
  }
  EXPECT_EQ(progress_events, 4);
  const json& done = events.back();
  EXPECT_EQ(done["status"], "SUCCESS");
  EXPECT_EQ(done["data"]["progress"], 1.0);
  EXPECT_EQ(done["data"]["result"], out["result"]);
  EXPECT_EQ(done["data"]["performance_metrics"], out["performance_metrics"]);
  EXPECT_EQ(done["data"]["completed_at"], md["completed_at"]);
  EXPECT_EQ(done["worker_container"], "node-test");
  EXPECT_EQ(Terminal(sink).size(), 1u);
}

TEST(ExecutorLocalTest, ThreePartiesWithSpuDevice) {
  json e = LocalEnvelope({"alice", "bob", "carol"});
  e["spu_config"] = {{"cluster_def",
                      {{"nodes",
                        {{{"party", "alice"}, {"address", "127.0.0.1:1"}},
                         {{"party", "bob"}, {"address", "127.0.0.1:2"}},
                         {{"party", "carol"}, {"address", "127.0.0.1:3"}}}},
                       {"runtime_config", {{"protocol", "ABY3"}, {"field", "FM64"}}}}}};
  MemorySink sink;
  auto r = Execute(Parse(e), ExecOpts(&sink));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["result"]["sum"], 6);
  EXPECT_EQ((*r)["task_metadata"]["devices_used"],
            json({"pyu:alice", "pyu:bob", "pyu:carol", "spu"}));
  EXPECT_EQ((*r)["performance_metrics"]["per_party"].size(), 3u);
  ExpectSkeletonStages(sink, "task_completed");
}

json SpuConfigFor(const std::vector<std::string>& parties, const std::string& protocol,
                  const std::string& field) {
  json nodes = json::array();
  int port = 1;
  for (const auto& p : parties) {
    nodes.push_back({{"party", p}, {"address", "127.0.0.1:" + std::to_string(port++)}});
  }
  return {{"cluster_def",
           {{"nodes", nodes}, {"runtime_config", {{"protocol", protocol}, {"field", field}}}}}};
}

TEST(ExecutorLocalTest, SpuTaskRunsOnTheDeviceBuiltFromSpuConfig) {
  struct Case {
    std::vector<std::string> parties;
    std::string protocol, field;
    double product;
  };
  for (const Case& c : {Case{{"alice", "bob"}, "SEMI2K", "FM128", 2.0},
                        Case{{"alice", "bob", "carol"}, "ABY3", "FM64", 6.0},
                        Case{{"alice", "bob", "carol"}, "SEMI2K", "FM64", 6.0},
                        Case{{"alice", "bob"}, "CHEETAH", "FM64", 2.0}}) {
    SCOPED_TRACE(c.protocol + "/" + c.field);
    json e = LocalEnvelope(c.parties);
    e["task_config"] = {{"task_type", "spu_product"}};
    e["spu_config"] = SpuConfigFor(c.parties, c.protocol, c.field);
    MemorySink sink;
    auto r = Execute(Parse(e), ExecOpts(&sink));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_NEAR((*r)["result"]["product"].get<double>(), c.product, 1e-4);
    EXPECT_EQ((*r)["result"]["protocol"], c.protocol);
    EXPECT_EQ((*r)["task_metadata"]["devices_used"].back(), "spu");
    EXPECT_GE((*r)["performance_metrics"]["device_init_time"].get<double>(), 0.0);
    bool saw_devices = false;
    for (const auto& ev : sink.events()) {
      if (ev["data"].value("stage", "") == "devices_initialized") {
        saw_devices = true;
        EXPECT_TRUE(ev["data"].contains("device_init_time"));
      }
    }
    EXPECT_TRUE(saw_devices);
  }
}

TEST(ExecutorLocalTest, SpuMustSpanEveryPartyOfAnSpuTask) {
  json e = LocalEnvelope({"alice", "bob", "carol"});
  e["task_config"] = {{"task_type", "spu_product"}};
  e["spu_config"] = SpuConfigFor({"alice", "bob"}, "SEMI2K", "FM64");
  auto env = ParseEnvelope(e, Opts());
  ASSERT_FALSE(env.ok());
  EXPECT_NE(env.status().ToString().find("spu_parties_mismatch"), std::string::npos)
      << env.status().ToString();
}

TEST(ExecutorLocalTest, FailingPartyReportsRootCauseAndNobodyHangs) {
  json e = LocalEnvelope();
  e["task_config"]["fail_party"] = "bob";
  e["task_config"]["fail_delay_ms"] = 200;  // alice is already blocked in its receive
  MemorySink sink;
  const auto start = steady_clock::now();
  auto r = Execute(Parse(e), ExecOpts(&sink));
  EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(10));  // recv timeout is 60 s
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().type(), ErrorType::kAlgorithm);
  EXPECT_EQ(r.status().code(), "boom");
  EXPECT_EQ(r.status().stage(), "task_execution");
  ExpectSkeletonStages(sink, "task_failed");
  auto terminal = Terminal(sink);
  ASSERT_EQ(terminal.size(), 1u);
  EXPECT_EQ(terminal[0]["status"], "FAILURE");
  EXPECT_EQ(terminal[0]["data"]["error_code"], "boom");
  EXPECT_EQ(terminal[0]["data"]["error_type"], "AlgorithmError");
  EXPECT_EQ(terminal[0]["data"]["error_stage"], "task_execution");
  EXPECT_NE(terminal[0]["data"]["error"].get<std::string>().find("bob"), std::string::npos);
  EXPECT_TRUE(terminal[0]["data"].contains("execution_time"));
  EXPECT_TRUE(terminal[0]["data"].contains("failed_at"));
}

TEST(ExecutorLocalTest, FailureCancelsAPartyThatIsComputing) {
  json e = LocalEnvelope({"alice", "bob", "carol"});
  e["task_config"]["fail_party"] = "bob";
  e["task_config"]["fail_delay_ms"] = 100;
  e["task_config"]["spin_party"] = "carol";  // polls its cancel token, never receives
  MemorySink sink;
  const auto start = steady_clock::now();
  auto r = Execute(Parse(e), ExecOpts(&sink));
  EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(10));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), "boom");
  EXPECT_EQ(Terminal(sink).size(), 1u);
}

TEST(ExecutorLocalTest, ExceptionsBecomeTypedFailures) {
  json e = LocalEnvelope();
  e["task_config"]["throw_party"] = "alice";
  MemorySink sink;
  auto r = Execute(Parse(e), ExecOpts(&sink));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().type(), ErrorType::kInternal);
  EXPECT_NE(r.status().message().find("kaboom"), std::string::npos);
  EXPECT_EQ(Terminal(sink).size(), 1u);
}

TEST(ExecutorLocalTest, PeerConfigMismatchFailsBeforeTheRun) {
  json e = LocalEnvelope();
  e["task_config"]["task_type"] = "drifting";  // peer_config differs on every call
  MemorySink sink;
  auto r = Execute(Parse(e), ExecOpts(&sink));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().type(), ErrorType::kParameterValidation);
  EXPECT_EQ(r.status().code(), "peer_config_mismatch");
  EXPECT_EQ(r.status().stage(), "cluster_init");
  ASSERT_EQ(r.status().problems().size(), 1u);
  const auto& p = r.status().problems()[0];
  EXPECT_TRUE(p.path == "peer_config.alice" || p.path == "peer_config.bob") << p.path;
  EXPECT_EQ(p.code, "peer_config_mismatch");
  for (const auto& s : sink.stages()) EXPECT_NE(s, "task_execution");
  EXPECT_EQ(sink.stages().back(), "task_failed");
}

TEST(ExecutorLocalTest, CallerCancellationStopsTheRun) {
  json e = LocalEnvelope();
  e["task_config"]["spin_party"] = "alice";  // alice computes; bob waits for alice
  auto cancel = std::make_shared<CancelToken>();
  MemorySink sink;
  ExecuteOptions o = ExecOpts(&sink);
  o.cancel = cancel;
  std::thread killer([cancel] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    cancel->Cancel(TimeoutError("soft_time_limit", "task soft time limit exceeded"));
  });
  const auto start = steady_clock::now();
  auto r = Execute(Parse(e), o);
  killer.join();
  EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(10));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().type(), ErrorType::kTimeout);
  EXPECT_EQ(r.status().code(), "soft_time_limit");
  EXPECT_FALSE(cancel->Check().ok());
  EXPECT_EQ(Terminal(sink).size(), 1u);
}

TEST(ExecutorLocalTest, AlreadyCancelledNeverRuns) {
  auto cancel = std::make_shared<CancelToken>();
  cancel->Cancel(CancelledError("shutdown", "worker is stopping"));
  MemorySink sink;
  ExecuteOptions o = ExecOpts(&sink);
  o.cancel = cancel;
  auto r = Execute(Parse(LocalEnvelope()), o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), "shutdown");
  for (const auto& s : sink.stages()) EXPECT_NE(s, "task_execution");
}

TEST(ExecutorLocalTest, CallerDecidesAboutRetry) {
  json e = LocalEnvelope();
  e["task_config"]["fail_party"] = "alice";
  MemorySink sink;
  EventEmitter em(&sink, {"e1", "t1", "s1"}, "node-test");
  em.Running("celery_task_started", std::nullopt);
  ExecuteOptions o = ExecOpts(nullptr);
  o.emitter = &em;
  o.emit_failure_event = false;
  auto r = Execute(Parse(e), o);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Terminal(sink).empty());
  EXPECT_FALSE(em.terminal_emitted());
  ASSERT_TRUE(em.Retry(r.status(), 1, 3, "soon"));
  auto events = sink.events();
  EXPECT_EQ(events.front()["data"]["stage"], "celery_task_started");
  EXPECT_EQ(events.back()["data"]["stage"], "task_retrying");
  for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i]["seq"], i + 1);
}

TEST(ExecutorLocalTest, UnknownTaskTypeInExecuteRegistry) {
  Envelope env = Parse(LocalEnvelope());
  tasks::TaskRegistry empty;
  MemorySink sink;
  ExecuteOptions o = ExecOpts(&sink);
  o.registry = &empty;
  auto r = Execute(env, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), "unknown_task_type");
  EXPECT_EQ(r.status().stage(), "validation");
  EXPECT_EQ(sink.stages(), (std::vector<std::string>{"task_failed"}));
}

TEST(ParseAndExecuteTest, InvalidEnvelopeEmitsOneFailure) {
  json e = LocalEnvelope();
  e["task_config"]["values"].erase("bob");
  e["sf_init_config"]["recv_timeout_ms"] = -1;
  MemorySink sink;
  ExecuteOptions o = ExecOpts(&sink);
  o.registry = nullptr;  // taken from RuntimeOptions
  auto r = ParseAndExecute(e, Opts(), o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().type(), ErrorType::kParameterValidation);
  EXPECT_EQ(r.status().stage(), "validation");
  EXPECT_EQ(r.status().problems().size(), 2u);
  auto events = sink.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["status"], "FAILURE");
  EXPECT_EQ(events[0]["execution_id"], "e1");
  EXPECT_EQ(events[0]["data"]["error_stage"], "validation");
  EXPECT_EQ(events[0]["data"]["problems"].size(), 2u);

  MemorySink sink2;
  auto r2 = ParseAndExecute(json{{"task_config", 1}}, Opts(), ExecOpts(&sink2));
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(sink2.events().at(0)["execution_id"], "unknown");

  MemorySink sink3;
  auto ok = ParseAndExecute(LocalEnvelope(), Opts(), ExecOpts(&sink3));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(sink3.stages().back(), "task_completed");
}

// ---- peer config digest ---------------------------------------------------------------------

TEST(PeerConfigTest, DocumentAndDigest) {
  Envelope env = Parse(LocalEnvelope());
  const tasks::TaskType& sum = *testing::FakeRegistry().Find("sum");
  json doc = PeerConfigDocument(env, sum);
  EXPECT_EQ(doc["protocol_version"], kPeerProtocolVersion);
  EXPECT_EQ(doc["task_type"], "sum");
  EXPECT_EQ(doc["parties"], json({"alice", "bob"}));
  EXPECT_EQ(doc["peer_config"]["values"]["bob"], 2);
  EXPECT_TRUE(doc["spu"].is_null());  // sum does not need SPU
  const std::string d = PeerConfigDigest(doc);
  EXPECT_EQ(d.size(), 64u);
  EXPECT_EQ(d, PeerConfigDigest(json::parse(doc.dump())));  // canonical
  json other = doc;
  other["peer_config"]["values"]["bob"] = 3;
  EXPECT_NE(d, PeerConfigDigest(other));
  // SHA-256 known answer: the digest of the canonical text "{}".
  EXPECT_EQ(PeerConfigDigest(json::object()),
            "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");

  json spu_env = LocalEnvelope();
  spu_env["task_config"] = {{"task_type", "spu_task"}};
  spu_env["spu_config"] = {{"cluster_def",
                            {{"nodes",
                              {{{"party", "alice"}, {"address", "127.0.0.1:1"}},
                               {{"party", "bob"}, {"address", "127.0.0.1:2"}}}},
                             {"runtime_config", {{"protocol", "SEMI2K"}, {"field", "FM128"}}}}}};
  json spu_doc = PeerConfigDocument(Parse(spu_env), *testing::FakeRegistry().Find("spu_task"));
  EXPECT_EQ(spu_doc["spu"]["protocol"], "SEMI2K");
  EXPECT_EQ(spu_doc["spu"]["field"], "FM128");
}

TEST(PeerConfigTest, CheckNamesThePartiesThatDiffer) {
  auto world = link::test::MakeWorld(3);
  std::vector<Status> results(3);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < 3; ++i) {
    threads.emplace_back([&, i] {
      results[i] = CheckPeerConfig(*world[i], i == 2 ? std::string(64, 'b') : std::string(64, 'a'));
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_FALSE(results[0].ok());
  EXPECT_EQ(results[0].type(), ErrorType::kParameterValidation);
  EXPECT_EQ(results[0].code(), "peer_config_mismatch");
  ASSERT_EQ(results[0].problems().size(), 1u);
  EXPECT_EQ(results[0].problems()[0].path, "peer_config.p2");
  EXPECT_NE(results[0].message().find("p2"), std::string::npos);
  ASSERT_EQ(results[2].problems().size(), 2u);
  EXPECT_EQ(results[2].problems()[0].path, "peer_config.p0");
  EXPECT_EQ(results[2].problems()[1].path, "peer_config.p1");

  auto same = link::test::MakeWorld(2);
  std::thread t([&] { EXPECT_TRUE(CheckPeerConfig(*same[1], "x").ok()); });
  EXPECT_TRUE(CheckPeerConfig(*same[0], "x").ok());
  t.join();
}

// ---- cluster mode over TCP ------------------------------------------------------------------

json ClusterEnvelope(const std::string& self, uint16_t alice_port, uint16_t bob_port) {
  json e = LocalEnvelope();
  e["sf_init_config"] = {{"address", "127.0.0.1:7701"},
                         {"cluster_config",
                          {{"parties",
                            {{"alice", {{"address", "127.0.0.1:" + std::to_string(alice_port)}}},
                             {"bob", {{"address", "127.0.0.1:" + std::to_string(bob_port)}}}}},
                           {"self_party", self}}},
                         {"connect_timeout_ms", 10'000},
                         {"recv_timeout_ms", 20'000},
                         {"connect_retry_interval_ms", 20}};
  return e;
}

struct ClusterRun {
  StatusOr<json> result = InternalError("not_run", "");
  MemorySink sink;
};

// Runs alice and bob as two "nodes" (threads), each with its own envelope.
void RunCluster(const std::function<void(json&, const std::string&)>& edit, ClusterRun* alice,
                ClusterRun* bob) {
  const uint16_t pa = link::test::PickFreePort(), pb = link::test::PickFreePort();
  auto run = [&](const std::string& self, ClusterRun* out) {
    json e = ClusterEnvelope(self, pa, pb);
    edit(e, self);
    auto env = ParseEnvelope(e, Opts());
    if (!env.ok()) {
      out->result = env.status();
      return;
    }
    ExecuteOptions o = ExecOpts(&out->sink);
    o.node_id = "node-" + self;
    out->result = Execute(*env, o);
  };
  std::thread ta(run, "alice", alice);
  std::thread tb(run, "bob", bob);
  ta.join();
  tb.join();
}

TEST(ExecutorClusterTest, TwoNodesOverTcp) {
  ClusterRun alice, bob;
  RunCluster([](json&, const std::string&) {}, &alice, &bob);
  ASSERT_TRUE(alice.result.ok()) << alice.result.status().ToString();
  ASSERT_TRUE(bob.result.ok()) << bob.result.status().ToString();
  EXPECT_EQ((*alice.result)["result"]["sum"], 3);
  EXPECT_EQ((*alice.result)["result"]["party"], "alice");
  EXPECT_EQ((*bob.result)["result"]["party"], "bob");
  const json& md = (*alice.result)["task_metadata"];
  EXPECT_EQ(md["mode"], "cluster");
  EXPECT_EQ(md["self_party"], "alice");
  const json& m = (*alice.result)["performance_metrics"];
  EXPECT_GT(m["bytes_sent"].get<uint64_t>(), 0u);
  EXPECT_EQ(m["per_party"].size(), 1u);
  EXPECT_TRUE(m["per_party"].contains("alice"));
  ExpectSkeletonStages(alice.sink, "task_completed");
  ExpectSkeletonStages(bob.sink, "task_completed");
  EXPECT_EQ(alice.sink.events().back()["worker_container"], "node-alice");
}

TEST(ExecutorClusterTest, FailingPeerDoesNotHangTheOther) {
  ClusterRun alice, bob;
  const auto start = steady_clock::now();
  RunCluster([](json& e, const std::string&) { e["task_config"]["fail_party"] = "bob"; }, &alice,
             &bob);
  EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(15));  // recv timeout is 20 s
  ASSERT_FALSE(bob.result.ok());
  EXPECT_EQ(bob.result.status().code(), "boom");
  ASSERT_FALSE(alice.result.ok());
  // alice learns bob's own cause (abort notice), with its type: an AlgorithmError is not retried.
  EXPECT_EQ(alice.result.status().type(), ErrorType::kAlgorithm);
  EXPECT_EQ(alice.result.status().code(), "peer_failed");
  EXPECT_NE(alice.result.status().message().find("bob"), std::string::npos);
  EXPECT_EQ(alice.result.status().stage(), "task_execution");
  EXPECT_EQ(Terminal(alice.sink).size(), 1u);
  EXPECT_EQ(Terminal(bob.sink).size(), 1u);
}

TEST(ExecutorClusterTest, PeerConfigMismatchAcrossNodes) {
  ClusterRun alice, bob;
  RunCluster(
      [](json& e, const std::string& self) {
        if (self == "bob") e["task_config"]["values"]["alice"] = 100;  // bob disagrees
      },
      &alice, &bob);
  ASSERT_FALSE(alice.result.ok());
  EXPECT_EQ(alice.result.status().code(), "peer_config_mismatch");
  EXPECT_EQ(alice.result.status().stage(), "cluster_init");
  ASSERT_EQ(alice.result.status().problems().size(), 1u);
  EXPECT_EQ(alice.result.status().problems()[0].path, "peer_config.bob");
  ASSERT_FALSE(bob.result.ok());
  EXPECT_EQ(bob.result.status().code(), "peer_config_mismatch");
  EXPECT_EQ(bob.result.status().problems()[0].path, "peer_config.alice");
}

TEST(ExecutorClusterTest, MissingPeerFailsWithinTheConnectTimeout) {
  const uint16_t pa = link::test::PickFreePort(), pb = link::test::PickFreePort();
  json e = ClusterEnvelope("alice", pa, pb);
  e["sf_init_config"]["connect_timeout_ms"] = 500;
  MemorySink sink;
  const auto start = steady_clock::now();
  auto r = Execute(Parse(e), ExecOpts(&sink));
  EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(10));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().type(), ErrorType::kNetwork);
  EXPECT_EQ(r.status().stage(), "cluster_init");
  EXPECT_NE(r.status().message().find("bob"), std::string::npos) << r.status().message();
  EXPECT_EQ(sink.stages().back(), "task_failed");
}

// ---- the real PSI task through the built-in registry ------------------------------------------

class BuiltinPsiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() / ("veil_runtime_psi_" + RandomUuid());
    std::filesystem::create_directories(root_);
    std::ofstream(root_ / "alice.csv") << "id,a\n1,x\n2,y\n3,z\n";
    std::ofstream(root_ / "bob.csv") << "uid,b\n4,r\n3,q\n2,p\n";
    opts_.data_root = root_.string();  // registry: the built-in one
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  static json PsiConfig() {
    return {{"task_type", "psi"},
            {"keys", {{"alice", {"id"}}, {"bob", {"uid"}}}},
            {"input_paths", {{"alice", "alice.csv"}, {"bob", "bob.csv"}}},
            {"output_paths", {{"alice", "out/alice.csv"}, {"bob", "out/bob.csv"}}},
            {"receiver", "alice"},
            {"broadcast_result", true}};
  }
  std::filesystem::path root_;
  RuntimeOptions opts_;
};

TEST_F(BuiltinPsiTest, LocalModeEndToEnd) {
  json e = LocalEnvelope();
  e["task_config"] = PsiConfig();
  MemorySink sink;
  ExecuteOptions o;
  o.events = &sink;
  auto r = ParseAndExecute(e, opts_, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["result"]["intersection_count"], 2);
  EXPECT_EQ((*r)["task_metadata"]["task_type"], "psi");
  EXPECT_GT((*r)["performance_metrics"]["bytes_sent"].get<uint64_t>(), 0u);
  EXPECT_TRUE(std::filesystem::exists(root_ / "out" / "alice.csv"));
  EXPECT_TRUE(std::filesystem::exists(root_ / "out" / "bob.csv"));
  ExpectSkeletonStages(sink, "task_completed");
}

TEST_F(BuiltinPsiTest, ClusterModeEndToEnd) {
  const uint16_t pa = link::test::PickFreePort(), pb = link::test::PickFreePort();
  ClusterRun alice, bob;
  auto run = [&](const std::string& self, ClusterRun* out) {
    json e = ClusterEnvelope(self, pa, pb);
    e["task_config"] = PsiConfig();
    ExecuteOptions o;
    o.events = &out->sink;
    out->result = ParseAndExecute(e, opts_, o);
  };
  std::thread ta(run, "alice", &alice);
  std::thread tb(run, "bob", &bob);
  ta.join();
  tb.join();
  ASSERT_TRUE(alice.result.ok()) << alice.result.status().ToString();
  ASSERT_TRUE(bob.result.ok()) << bob.result.status().ToString();
  EXPECT_EQ((*alice.result)["result"]["intersection_count"], 2);
  EXPECT_EQ((*bob.result)["result"]["intersection_count"], 2);
  EXPECT_TRUE(std::filesystem::exists(root_ / "out" / "alice.csv"));
  EXPECT_TRUE(std::filesystem::exists(root_ / "out" / "bob.csv"));
}

}  // namespace
}  // namespace veil::runtime
