// `veil worker` as a user runs it: the real binary against private redis-servers, driven by the
// stock Python Celery client (/usr/bin/python3 with Debian's python3-celery), `veil send` and
// `veil health`. Covers the SPEC §5 guarantees: Celery compatibility, status events, no lost
// task across kill -9 / Redis restarts, dead-lettering, time limits and the retry policy.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <thread>

#include "process_util.h"
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include "veil/worker/celery_codec.h"
#include "veil/worker/queue.h"
#include "veil/worker/redis_hiredis.h"
#include "veil/worker/redis_test_server.h"
#include "veil/worker/status_publisher.h"

namespace veil::systest {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;
using worker::RedisClient;
using worker::RedisTestServer;

constexpr char kPython[] = "/usr/bin/python3";

bool WaitFor(const std::function<bool()>& pred, int64_t timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return pred();
}

class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name)
      : path_(fs::temp_directory_path() /
              ("veil_wsys_" + name + "_" + std::to_string(::getpid()))) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string P(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

std::unique_ptr<RedisClient> Connect(const RedisTestServer& server) {
  auto c = worker::RedisHiredisClient::Connect(server.options());
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? std::move(*c) : nullptr;
}

// One `veil worker` child process with its own .env file.
class WorkerProcess {
 public:
  WorkerProcess(const ScratchDir& dir, std::string node_id, const RedisTestServer& redis,
                std::map<std::string, std::string> extra = {})
      : dir_(dir), node_id_(std::move(node_id)) {
    fs::create_directories(dir_.P(node_id_ + "_data"));
    std::map<std::string, std::string> env = {{"NODE_ID", node_id_},
                                              {"NODE_IP", "127.0.0.1"},
                                              {"REDIS_URL", redis.url()},
                                              {"DATA_PATH", data_path()},
                                              {"VEIL_LEASE_TTL_SECONDS", "2"},
                                              {"VEIL_LEASE_RENEW_SECONDS", "1"},
                                              {"VEIL_HEARTBEAT_INTERVAL_SECONDS", "1"},
                                              {"VEIL_SHUTDOWN_GRACE_SECONDS", "5"},
                                              {"LOG_LEVEL", "info"}};
    for (const auto& [k, v] : extra) env[k] = v;
    std::string text;
    for (const auto& [k, v] : env) text += k + "=" + v + "\n";
    env_file_ = dir_.P(node_id_ + ".env");
    WriteFile(env_file_, text);
    Start();
  }
  ~WorkerProcess() {
    if (pid_ > 0) Kill();
  }
  std::string data_path() const { return dir_.P(node_id_ + "_data"); }
  const std::string& env_file() const { return env_file_; }

  void Start() {
    ++starts_;
    pid_ = Spawn({VeilBin(), "worker", "--env-file", env_file_}, Log(".out"), Log(".err"));
  }
  // SIGTERM and wait; returns the exit code.
  int Stop() {
    ::kill(pid_, SIGTERM);
    ProcessResult r = Wait(pid_, Log(".out"), Log(".err"));
    pid_ = -1;
    stderr_ += r.err;
    return r.exit_code;
  }
  void Kill() {
    ::kill(pid_, SIGKILL);
    ProcessResult r = Wait(pid_, Log(".out"), Log(".err"));
    pid_ = -1;
    stderr_ += r.err;
  }
  std::string Logs() const { return stderr_ + ReadFile(Log(".err")); }

 private:
  std::string Log(const std::string& ext) const {
    return dir_.P(node_id_ + "_" + std::to_string(starts_) + ext);
  }
  const ScratchDir& dir_;
  std::string node_id_;
  std::string env_file_;
  int pid_ = -1;
  int starts_ = 0;
  std::string stderr_;
};

struct PythonRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

PythonRun RunPython(const ScratchDir& dir, const std::string& script, const json& input) {
  WriteFile(dir.P("script.py"), script);
  WriteFile(dir.P("input.json"), input.dump());
  ProcessResult r = RunProcess({kPython, dir.P("script.py"), dir.P("input.json")}, dir.P("py"));
  return {r.exit_code, r.out, r.err};
}

// Sends one task per entry of input["sends"] ({url, name, args, kwargs}) with the stock Celery
// client and prints one JSON line per send: {ok, result} or {ok: false, exc_type, exc}.
constexpr char kCeleryClientScript[] = R"py(
import json, sys
from celery import Celery
spec = json.load(open(sys.argv[1]))
pending = []
for s in spec["sends"]:
    app = Celery(broker=s["url"], backend=s["url"])
    r = app.send_task(s["name"], args=s.get("args", []), kwargs=s.get("kwargs", {}),
                      queue="secretflow_queue")
    pending.append(r)
for r in pending:
    try:
        print(json.dumps({"ok": True, "result": r.get(timeout=spec.get("timeout", 60))}))
    except Exception as e:
        print(json.dumps({"ok": False, "exc_type": type(e).__name__, "exc": str(e)}))
)py";

std::vector<json> JsonLines(const std::string& text) {
  std::vector<json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] == '{') out.push_back(json::parse(line));
  }
  return out;
}

json Meta(RedisClient& redis, const std::string& id) {
  auto v = redis.Get(worker::ResultKey(id));
  return v.ok() && *v ? json::parse(**v) : json();
}

json WaitReady(RedisClient& redis, const std::string& id, int64_t timeout_ms) {
  json meta;
  WaitFor(
      [&] {
        meta = Meta(redis, id);
        const std::string s = meta.is_object() ? meta.value("status", "") : "";
        return s == "SUCCESS" || s == "FAILURE" || s == "REVOKED";
      },
      timeout_ms);
  return meta;
}

// Status events of one execution from the list (oldest first) and from the stream.
std::vector<json> ListEvents(RedisClient& redis, const std::string& exec_id) {
  std::vector<json> out;
  auto list = redis.LRange(std::string(worker::kStatusList), 0, -1);
  if (!list.ok()) return out;
  for (auto it = list->rbegin(); it != list->rend(); ++it) {
    json e = json::parse(*it);
    if (e["execution_id"] == exec_id) out.push_back(e);
  }
  return out;
}
std::vector<json> StreamEvents(RedisClient& redis, const std::string& exec_id) {
  std::vector<json> out;
  auto entries = redis.XRange(std::string(worker::kStatusStream));
  if (!entries.ok()) return out;
  for (const auto& entry : *entries) {
    for (const auto& [k, v] : entry.fields) {
      if (k != "event") continue;
      json e = json::parse(v);
      if (e["execution_id"] == exec_id) out.push_back(e);
    }
  }
  return out;
}
int Terminals(const std::vector<json>& events) {
  int n = 0;
  for (const json& e : events) n += e["status"] == "SUCCESS" || e["status"] == "FAILURE";
  return n;
}

std::string Send(RedisClient& redis, worker::SendRequest req) {
  EXPECT_TRUE(
      redis.LPush(worker::QueueKeyForPriority(req.queue, req.priority), EncodeTaskMessage(req))
          .ok());
  return req.task_id;
}
std::string SendEnvelope(RedisClient& redis, const json& envelope, worker::SendRequest req = {}) {
  req.task = std::string(worker::kExecuteTaskName);
  if (req.task_id.empty()) req.task_id = "celery-" + envelope["execution_id"].get<std::string>();
  req.args = nlohmann::ordered_json::array({nlohmann::ordered_json::parse(envelope.dump())});
  return Send(redis, std::move(req));
}

// A cluster-mode PSI envelope for `self` whose peer may never come.
json PsiEnvelope(const std::string& exec_id, const std::string& self, int port_alice, int port_bob,
                 const std::string& alice_csv, const std::string& bob_csv,
                 const std::string& out_dir, int64_t connect_timeout_ms) {
  auto addr = [](int p) { return "127.0.0.1:" + std::to_string(p); };
  return {{"task_id", "dag-" + exec_id},
          {"subtask_id", "psi-node"},
          {"execution_id", exec_id},
          {"sf_init_config",
           {{"parties",
             {{"alice", {{"address", addr(port_alice)}, {"listen_addr", addr(port_alice)}}},
              {"bob", {{"address", addr(port_bob)}, {"listen_addr", addr(port_bob)}}}}},
            {"self_party", self},
            {"connect_timeout_ms", connect_timeout_ms}}},
          {"task_config",
           {{"task_type", "psi"},
            {"keys", {{"alice", {"id"}}, {"bob", {"id"}}}},
            {"input_paths", {{"alice", alice_csv}, {"bob", bob_csv}}},
            {"output_paths",
             {{"alice", out_dir + "/out_alice.csv"}, {"bob", out_dir + "/out_bob.csv"}}},
            {"receiver", "alice"},
            {"broadcast_result", true},
            {"protocol", "ECDH_PSI_2PC"}}}};
}

class WorkerSystemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(access(kPython, X_OK), 0) << kPython << " is missing (python3-celery)";
  }
  std::unique_ptr<RedisTestServer> StartRedis(bool appendonly = false) {
    worker::RedisTestServerOptions options;
    options.appendonly = appendonly;
    auto s = RedisTestServer::Start(options);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }
};

// (1) + (2): Python Celery → two nodes, a cluster-mode PSI; events on channel, list and stream.
TEST_F(WorkerSystemTest, PythonCeleryRunsAClusterPsiOnTwoNodesWithOrderedEvents) {
  ScratchDir dir("cluster");
  auto redis_a = StartRedis(), redis_b = StartRedis();
  ASSERT_TRUE(redis_a && redis_b);
  WorkerProcess alice(dir, "alice", *redis_a), bob(dir, "bob", *redis_b);
  std::string a_csv = alice.data_path() + "/alice.csv", b_csv = bob.data_path() + "/bob.csv";
  std::string a = "id,age\n", b = "id,label\n";
  for (int i = 0; i < 200; ++i) a += "u" + std::to_string(i) + "," + std::to_string(i % 90) + "\n";
  for (int i = 100; i < 350; ++i) b += "u" + std::to_string(i) + "," + std::to_string(i % 2) + "\n";
  WriteFile(a_csv, a);
  WriteFile(b_csv, b);
  const int pa = FreePort(), pb = FreePort();
  json env_a = PsiEnvelope("exec-py-psi", "alice", pa, pb, a_csv, b_csv, alice.data_path(), 30000);
  json env_b = PsiEnvelope("exec-py-psi", "bob", pa, pb, a_csv, b_csv, bob.data_path(), 30000);
  env_b["task_config"]["output_paths"]["bob"] = bob.data_path() + "/out_bob.csv";

  auto ra = Connect(*redis_a);
  ASSERT_TRUE(ra);
  auto sub = ra->Subscribe({std::string(worker::kStatusChannel)});
  ASSERT_TRUE(sub.ok()) << sub.status().ToString();

  PythonRun py = RunPython(
      dir, kCeleryClientScript,
      {{"sends",
        {{{"url", redis_a->url()}, {"name", "tasks.secretflow.execute_task"}, {"args", {env_a}}},
         {{"url", redis_b->url()},
          {"name", "tasks.secretflow.execute_task"},
          {"args", {env_b}}}}}});
  ASSERT_EQ(py.exit_code, 0) << py.err << alice.Logs() << bob.Logs();
  std::vector<json> lines = JsonLines(py.out);
  ASSERT_EQ(lines.size(), 2u) << py.out << py.err;
  for (const json& line : lines) {
    ASSERT_TRUE(line["ok"].get<bool>()) << line.dump() << alice.Logs() << bob.Logs();
    const json& wrapper = line["result"];  // the Python worker's SUCCESS wrapper (§2.4)
    EXPECT_EQ(wrapper["execution_id"], "exec-py-psi");
    EXPECT_EQ(wrapper["subtask_id"], "psi-node");
    EXPECT_EQ(wrapper["result"]["status"], "success");
    EXPECT_EQ(wrapper["result"]["result"]["intersection_count"], 100) << wrapper.dump();
    EXPECT_TRUE(wrapper["result"].contains("celery_metadata"));
    EXPECT_FALSE(wrapper["completed_at"].get<std::string>().empty());
  }

  // Events: list and stream hold the same ordered sequence; the channel saw it too.
  std::vector<json> list;
  ASSERT_TRUE(WaitFor([&] { return Terminals(list = ListEvents(*ra, "exec-py-psi")) == 1; }, 5000));
  const std::vector<json> stream = StreamEvents(*ra, "exec-py-psi");
  std::vector<json> channel;
  while (true) {
    auto m = (*sub)->Next(100);
    if (!m.ok() || !*m) break;
    json e = json::parse((*m)->payload);
    if (e["execution_id"] == "exec-py-psi") channel.push_back(e);
  }
  for (const std::vector<json>* events :
       std::vector<const std::vector<json>*>{&list, &stream, &channel}) {
    ASSERT_GE(events->size(), 4u);
    for (size_t i = 0; i < events->size(); ++i) {
      EXPECT_EQ((*events)[i]["seq"].get<uint64_t>(), i + 1);
      EXPECT_EQ((*events)[i]["event_id"], list[i]["event_id"]);
    }
    EXPECT_EQ(Terminals(*events), 1);
    EXPECT_EQ(events->front()["data"]["stage"], "celery_task_started");
    EXPECT_EQ((*events)[1]["data"]["stage"], "task_started");
    EXPECT_EQ(events->back()["data"]["stage"], "task_completed");
    EXPECT_EQ(events->back()["status"], "SUCCESS");
    EXPECT_EQ(events->back()["worker_container"], "alice");
  }
  std::vector<std::string> stages;
  for (const json& e : list) stages.push_back(e["data"]["stage"]);
  for (const char* stage : {"cluster_init", "cluster_initialized", "device_creation",
                            "devices_initialized", "task_execution"}) {
    EXPECT_NE(std::find(stages.begin(), stages.end(), stage), stages.end()) << stage;
  }
  EXPECT_EQ(alice.Stop(), 0);
  EXPECT_EQ(bob.Stop(), 0);
}

// (3): kill -9 mid-task, restart: exactly one terminal event, FAILURE WorkerLostError, nothing
// left in the processing list.
TEST_F(WorkerSystemTest, KillDashNineMidTaskThenRestartGivesExactlyOneTerminalEvent) {
  ScratchDir dir("kill");
  auto server = StartRedis(/*appendonly=*/true);
  ASSERT_TRUE(server);
  auto redis = Connect(*server);
  WorkerProcess alice(dir, "alice", *server);
  WriteFile(alice.data_path() + "/alice.csv", "id\n1\n2\n");
  json env = PsiEnvelope("exec-kill", "alice", FreePort(), FreePort(),
                         alice.data_path() + "/alice.csv", "bob.csv", alice.data_path(), 60000);
  const std::string id = SendEnvelope(*redis, env);
  ASSERT_TRUE(WaitFor(
      [&] {
        auto s = redis->HGet(worker::TaskRecordKey(id), "state");
        return s.ok() && *s && **s == "started" && !ListEvents(*redis, "exec-kill").empty();
      },
      20000))
      << alice.Logs();
  alice.Kill();
  EXPECT_EQ(redis->LLen(worker::ProcessingKey("alice")).value(), 1);
  alice.Start();
  json meta = WaitReady(*redis, id, 20000);
  ASSERT_EQ(meta["status"], "FAILURE") << meta.dump() << alice.Logs();
  EXPECT_EQ(meta["result"]["exc_type"], "WorkerLostError");
  std::vector<json> events = ListEvents(*redis, "exec-kill");
  EXPECT_EQ(Terminals(events), 1);
  EXPECT_EQ(events.back()["data"]["error_type"], "WorkerLostError");
  for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i]["seq"].get<uint64_t>(), i + 1);
  EXPECT_EQ(Terminals(StreamEvents(*redis, "exec-kill")), 1);
  EXPECT_EQ(redis->LLen(worker::ProcessingKey("alice")).value(), 0);
  // And the restarted worker serves new work.
  worker::SendRequest ping;
  ping.task = std::string(worker::kPingTaskName);
  ping.task_id = "after-restart";
  Send(*redis, ping);
  EXPECT_EQ(WaitReady(*redis, "after-restart", 10000)["status"], "SUCCESS");
  EXPECT_EQ(alice.Stop(), 0);
}

// (4) + `veil send --wait` + `veil health`.
TEST_F(WorkerSystemTest, GarbageIsDeadLetteredAndTheWorkerKeepsServing) {
  ScratchDir dir("garbage");
  auto server = StartRedis();
  ASSERT_TRUE(server);
  auto redis = Connect(*server);
  // No worker yet: unhealthy.
  WriteFile(dir.P("h.env"), "NODE_ID=alice\nNODE_IP=127.0.0.1\nREDIS_URL=" + server->url() +
                                "\nDATA_PATH=" + dir.P("") + "\n");
  ProcessResult h = RunProcess({VeilBin(), "health", "--env-file", dir.P("h.env")}, dir.P("h0"));
  EXPECT_EQ(h.exit_code, 1) << h.out << h.err;
  EXPECT_EQ(json::parse(h.out)["redis"]["reachable"], true);

  WorkerProcess alice(dir, "alice", *server);
  ASSERT_TRUE(redis->LPush("secretflow_queue", "{definitely not json").ok());
  worker::SendRequest req;
  req.task = std::string(worker::kPingTaskName);
  req.task_id = "template";
  json good = json::parse(EncodeTaskMessage(req));
  json bad_b64 = good, pickle = good, no_id = good;
  bad_b64["body"] = "%%%";
  pickle["content-type"] = "application/x-python-serialize";
  no_id["headers"].erase("id");
  for (const json& m : {bad_b64, pickle, no_id})
    ASSERT_TRUE(redis->LPush("secretflow_queue", m.dump()).ok());

  ProcessResult sent = RunProcess({VeilBin(), "send", "--redis", server->url(), "--task",
                                   std::string(worker::kPingTaskName), "--wait", "--timeout", "30"},
                                  dir.P("send"));
  ASSERT_EQ(sent.exit_code, 0) << sent.out << sent.err << alice.Logs();
  json meta = json::parse(sent.out);
  EXPECT_EQ(meta["status"], "SUCCESS");
  EXPECT_EQ(meta["result"]["task_name"], "ping_task");
  auto dead = redis->LRange(worker::DeadLetterKey("secretflow_queue"), 0, -1).value();
  ASSERT_EQ(dead.size(), 4u);
  std::set<std::string> codes;
  for (const auto& d : dead) codes.insert(json::parse(d)["error"]["code"].get<std::string>());
  EXPECT_EQ(codes, (std::set<std::string>{"invalid_json", "bad_base64", "bad_content_type",
                                          "missing_header"}));

  // `veil send` of a bad envelope: FAILURE, exit 1.
  WriteFile(dir.P("bad.json"), R"({"task_id":"t","subtask_id":"s","execution_id":"e-bad",
    "sf_init_config":{"parties":["alice","bob"],"address":"local"},"task_config":{"task_type":"psi"}})");
  sent = RunProcess(
      {VeilBin(), "send", "--redis", server->url(), dir.P("bad.json"), "--wait", "--timeout", "30"},
      dir.P("send2"));
  EXPECT_EQ(sent.exit_code, 1) << sent.out << sent.err;
  EXPECT_EQ(json::parse(sent.out)["result"]["exc_type"], "ParameterValidationError");

  // Healthy while the worker runs (its heartbeat is fresh); unhealthy after it stopped.
  ASSERT_TRUE(WaitFor([&] { return redis->Exists("veil:node:alice").value(); }, 5000));
  h = RunProcess({VeilBin(), "health", "--env-file", alice.env_file()}, dir.P("h1"));
  EXPECT_EQ(h.exit_code, 0) << h.out << h.err;
  json report = json::parse(h.out);
  EXPECT_EQ(report["healthy"], true);
  EXPECT_EQ(report["heartbeat"]["node_id"], "alice");
  EXPECT_EQ(alice.Stop(), 0);
  h = RunProcess({VeilBin(), "health", "--env-file", alice.env_file()}, dir.P("h2"));
  EXPECT_EQ(h.exit_code, 1) << h.out;
  ASSERT_TRUE(server->Stop().ok());
  h = RunProcess({VeilBin(), "health", "--env-file", alice.env_file()}, dir.P("h3"));
  EXPECT_EQ(h.exit_code, 1) << h.out;
  EXPECT_EQ(json::parse(h.out)["redis"]["reachable"], false);
}

// (5): a Redis restart mid-task loses nothing.
TEST_F(WorkerSystemTest, RedisRestartMidTaskLosesNothing) {
  ScratchDir dir("restart");
  auto server = StartRedis(/*appendonly=*/true);
  ASSERT_TRUE(server);
  auto redis = Connect(*server);
  WorkerProcess alice(dir, "alice", *server);
  worker::SendRequest hello;
  hello.task = std::string(worker::kHelloTaskName);
  hello.task_id = "hello-across-restart";
  hello.kwargs = {{"name", "restart"}};
  Send(*redis, hello);
  ASSERT_TRUE(WaitFor(
      [&] {
        auto s = redis->HGet(worker::TaskRecordKey(hello.task_id), "state");
        return s.ok() && *s && **s == "started";
      },
      10000));
  ASSERT_TRUE(server->Restart().ok());
  json meta = WaitReady(*redis, hello.task_id, 20000);
  ASSERT_EQ(meta["status"], "SUCCESS") << meta.dump() << alice.Logs();
  EXPECT_EQ(meta["result"]["greeting_target"], "restart");
  EXPECT_TRUE(
      WaitFor([&] { return redis->LLen(worker::ProcessingKey("alice")).value() == 0; }, 5000));
  // A task sent after the restart runs too (the fetcher reconnected).
  worker::SendRequest ping;
  ping.task = std::string(worker::kPingTaskName);
  ping.task_id = "after-redis-restart";
  Send(*redis, ping);
  EXPECT_EQ(WaitReady(*redis, ping.task_id, 20000)["status"], "SUCCESS") << alice.Logs();
  EXPECT_EQ(alice.Stop(), 0);
}

// (6) + (7): time limits and the retry policy, with PSI runs whose peer never comes.
TEST_F(WorkerSystemTest, TimeLimitsAndNetworkRetriesEndWithOneTerminalEvent) {
  ScratchDir dir("limits");
  auto server = StartRedis();
  ASSERT_TRUE(server);
  auto redis = Connect(*server);
  WorkerProcess alice(dir, "alice", *server,
                      {{"VEIL_RETRY_BACKOFF_MS", "50"}, {"MAX_CONCURRENT_TASKS", "3"}});
  const std::string csv = alice.data_path() + "/alice.csv";
  WriteFile(csv, "id\n1\n2\n");
  auto envelope = [&](const std::string& exec, int64_t connect_timeout_ms) {
    return PsiEnvelope(exec, "alice", FreePort(), FreePort(), csv, "bob.csv", alice.data_path(),
                       connect_timeout_ms);
  };
  worker::SendRequest soft;
  soft.hard_time_limit_s = 60;
  soft.soft_time_limit_s = 1;
  const std::string soft_id = SendEnvelope(*redis, envelope("exec-soft", 60000), soft);
  worker::SendRequest hard;
  hard.hard_time_limit_s = 1;
  const std::string hard_id = SendEnvelope(*redis, envelope("exec-hard", 60000), hard);
  const std::string net_id = SendEnvelope(*redis, envelope("exec-net", 300));

  json meta = WaitReady(*redis, soft_id, 20000);
  ASSERT_EQ(meta["status"], "FAILURE") << meta.dump() << alice.Logs();
  EXPECT_EQ(meta["result"]["exc_type"], "TimeoutError");
  EXPECT_EQ(meta["result"]["veil_error"]["code"], "soft_time_limit");
  meta = WaitReady(*redis, hard_id, 20000);
  ASSERT_EQ(meta["status"], "FAILURE") << meta.dump();
  EXPECT_EQ(meta["result"]["exc_type"], "TimeLimitExceeded");
  EXPECT_EQ(meta["result"]["veil_error"]["code"], "hard_time_limit");
  meta = WaitReady(*redis, net_id, 30000);
  ASSERT_EQ(meta["status"], "FAILURE") << meta.dump() << alice.Logs();
  EXPECT_EQ(meta["result"]["exc_type"], "NetworkError");

  std::this_thread::sleep_for(milliseconds(300));  // nothing more may arrive
  for (const char* exec : {"exec-soft", "exec-hard", "exec-net"}) {
    std::vector<json> events = ListEvents(*redis, exec);
    EXPECT_EQ(Terminals(events), 1) << exec;
    EXPECT_EQ(events.back()["status"], "FAILURE") << exec;
    for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i]["seq"].get<uint64_t>(), i + 1);
  }
  std::vector<json> net = ListEvents(*redis, "exec-net");
  int retries = 0;
  for (const json& e : net) {
    if (e["status"] != "RETRY") continue;
    ++retries;
    EXPECT_EQ(e["data"]["stage"], "task_retrying");
    EXPECT_EQ(e["data"]["retry_count"], retries);
  }
  EXPECT_EQ(retries, 3);
  EXPECT_EQ(net.back()["data"]["error_type"], "NetworkError");
  EXPECT_EQ(alice.Stop(), 0);
}

// (7) the other task names through Python. (Ping throughput and LPUSH → start latency are
// measured by bench/worker_bench.cc.)
TEST_F(WorkerSystemTest, PythonSeesBuiltinTasksAndNotRegistered) {
  ScratchDir dir("python");
  auto server = StartRedis();
  ASSERT_TRUE(server);
  auto redis = Connect(*server);
  WorkerProcess alice(dir, "alice", *server);
  const std::string url = server->url();
  PythonRun py = RunPython(
      dir, kCeleryClientScript,
      {{"sends",
        {{{"url", url}, {"name", "tasks.secretflow.hello.ping_task"}},
         {{"url", url}, {"name", "tasks.secretflow.hello.echo_task"}, {"args", {{{"k", "v"}}}}},
         {{"url", url},
          {"name", "tasks.secretflow.hello.hello_task"},
          {"kwargs", {{"name", "py"}}}},
         {{"url", url}, {"name", "tasks.secretflow.health_check.health_check_task"}},
         {{"url", url}, {"name", "tasks.secretflow.not_there"}}}}});
  ASSERT_EQ(py.exit_code, 0) << py.err;
  std::vector<json> lines = JsonLines(py.out);
  ASSERT_EQ(lines.size(), 5u) << py.out << py.err;
  EXPECT_EQ(lines[0]["result"]["task_name"], "ping_task");
  EXPECT_EQ(lines[1]["result"]["echoed_data"], json({{"k", "v"}}));
  EXPECT_EQ(lines[1]["result"]["data_type"], "dict");
  EXPECT_EQ(lines[2]["result"]["greeting_target"], "py");
  EXPECT_EQ(lines[3]["result"]["overall_status"], "healthy");
  EXPECT_EQ(lines[4]["ok"], false);
  EXPECT_EQ(lines[4]["exc_type"], "NotRegistered") << lines[4].dump();

  EXPECT_EQ(alice.Stop(), 0);
}

}  // namespace
}  // namespace veil::systest
