// The worker daemon against the in-memory Redis (RedisFake + the scripts' C++ twins): queue
// consumption, dead-lettering, recovery, leases, execute_task events and results, the retry
// policy, time limits, eta/expires and shutdown. The system tests (tests/worker_system_test.cc)
// repeat the important paths with a real redis-server, the real binary and Python Celery.
#include "veil/worker/worker.h"

#include <chrono>
#include <functional>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "veil/base/time.h"
#include "veil/worker/celery_codec.h"
#include "veil/worker/heartbeat.h"
#include "veil/worker/queue.h"
#include "veil/worker/redis_fake.h"
#include "veil/worker/status_publisher.h"
#include "veil/worker/worker_scripts.h"

namespace veil::worker {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

// Task types for these tests: "ok" returns at once; "block" waits for cancellation; "stubborn"
// ignores cancellation for 1.5 s and then succeeds; "netfail" fails with a NetworkError;
// "resfail" with a ResourceError.
const tasks::TaskRegistry& TestRegistry() {
  static const tasks::TaskRegistry* registry = [] {
    auto* r = new tasks::TaskRegistry();
    auto add = [&](const std::string& name, std::function<StatusOr<json>(tasks::PartyRun&)> run) {
      tasks::TaskType t;
      t.name = name;
      t.run = std::move(run);
      (void)r->Register(std::move(t));
    };
    add("ok", [](tasks::PartyRun& run) -> StatusOr<json> {
      return json{{"party", run.link.self_name()}, {"answer", 42}};
    });
    add("block", [](tasks::PartyRun& run) -> StatusOr<json> {
      while (!run.link.cancel()->cancelled()) std::this_thread::sleep_for(milliseconds(5));
      return run.link.cancel()->reason();
    });
    add("stubborn", [](tasks::PartyRun&) -> StatusOr<json> {
      std::this_thread::sleep_for(milliseconds(1500));
      return json{{"late", true}};
    });
    add("netfail", [](tasks::PartyRun&) -> StatusOr<json> {
      return NetworkError("peer_unreachable", "peer bob is unreachable");
    });
    add("resfail", [](tasks::PartyRun&) -> StatusOr<json> {
      return ResourceError("port_busy", "port 1234 is busy");
    });
    return r;
  }();
  return *registry;
}

json Envelope(const std::string& exec_id, const std::string& task_type) {
  return {{"task_id", "dag-1"},
          {"subtask_id", "node-1"},
          {"execution_id", exec_id},
          {"sf_init_config", {{"parties", {"alice", "bob"}}, {"address", "local"}}},
          {"task_config", {{"task_type", task_type}}}};
}

bool WaitFor(const std::function<bool()>& pred, int64_t timeout_ms = 10000) {
  const auto deadline = SteadyClock::now() + milliseconds(timeout_ms);
  while (SteadyClock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return pred();
}

class WorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RegisterWorkerScripts(fake_);
    redis_ = std::move(fake_.NewConnection().value());
    config_.node_id = "alice";
    config_.node_ip = "127.0.0.1";
    config_.max_concurrent_tasks = 2;
    config_.lease_ttl_s = 2;
    config_.lease_renew_s = 1;
    config_.shutdown_grace_s = 5;
    config_.heartbeat_interval_s = 1;
  }
  void TearDown() override {
    if (worker_) worker_->Shutdown();
  }

  void StartWorker() {
    WorkerOptions options;
    options.config = config_;
    options.version = "test";
    options.registry = &TestRegistry();
    options.retry_backoff_ms = 10;
    options.resource_retry_delay_ms = 10;
    options.fetch_block_ms = 100;
    options.recovery_interval_ms = 200;
    auto w = Worker::Create(std::move(options), std::move(fake_.NewConnection().value()));
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    worker_ = std::move(*w);
    ASSERT_TRUE(worker_->Start().ok());
  }

  std::string Send(SendRequest req) {
    if (req.task_id.empty()) req.task_id = "celery-" + std::to_string(++ids_);
    EXPECT_TRUE(
        redis_->LPush(QueueKeyForPriority(req.queue, req.priority), EncodeTaskMessage(req)).ok());
    return req.task_id;
  }
  std::string SendExecute(const json& envelope, SendRequest req = {}) {
    req.task = std::string(kExecuteTaskName);
    req.args = nlohmann::ordered_json::array({nlohmann::ordered_json::parse(envelope.dump())});
    return Send(std::move(req));
  }
  std::string SendNamed(std::string_view task) {
    SendRequest req;
    req.task = std::string(task);
    return Send(std::move(req));
  }

  // The stored result once it is ready (SUCCESS/FAILURE/REVOKED), else null after the timeout.
  json Result(const std::string& id, int64_t timeout_ms = 10000) {
    json meta;
    WaitFor(
        [&] {
          auto v = redis_->Get(ResultKey(id));
          if (!v.ok() || !*v) return false;
          meta = json::parse(**v);
          const std::string s = meta.value("status", "");
          return s == "SUCCESS" || s == "FAILURE" || s == "REVOKED";
        },
        timeout_ms);
    return meta;
  }

  // Events of one execution from the status list (oldest first).
  std::vector<json> Events(const std::string& exec_id) {
    std::vector<json> out;
    auto list = redis_->LRange(std::string(kStatusList), 0, -1);
    EXPECT_TRUE(list.ok());
    for (auto it = list->rbegin(); it != list->rend(); ++it) {
      json e = json::parse(*it);
      if (e["execution_id"] == exec_id) out.push_back(e);
    }
    return out;
  }
  static int Terminals(const std::vector<json>& events) {
    int n = 0;
    for (const json& e : events) n += e["status"] == "SUCCESS" || e["status"] == "FAILURE";
    return n;
  }
  static void ExpectSeqs(const std::vector<json>& events) {
    for (size_t i = 0; i < events.size(); ++i) {
      EXPECT_EQ(events[i]["seq"].get<uint64_t>(), i + 1) << events[i].dump();
    }
  }
  int64_t ProcessingLen() { return redis_->LLen(ProcessingKey("alice")).value(); }

  RedisFake fake_;
  std::unique_ptr<RedisClient> redis_;
  NodeConfig config_;
  std::unique_ptr<Worker> worker_;
  int ids_ = 0;
};

TEST_F(WorkerTest, PingEchoHelloHealthAndNotRegistered) {
  StartWorker();
  const std::string ping = SendNamed(kPingTaskName);
  SendRequest echo;
  echo.task = std::string(kEchoTaskName);
  echo.kwargs = {{"data", {1, 2, 3}}};
  const std::string echo_id = Send(echo);
  SendRequest hello;
  hello.task = std::string(kHelloTaskName);
  hello.kwargs = {{"name", "veil"}};
  const std::string hello_id = Send(hello);
  const std::string health = SendNamed(kHealthCheckTaskName);
  const std::string unknown = SendNamed("tasks.secretflow.no_such_task");

  json r = Result(ping);
  EXPECT_EQ(r["status"], "SUCCESS");
  EXPECT_EQ(r["result"]["task_name"], "ping_task");
  EXPECT_EQ(r["result"]["status"], "healthy");
  r = Result(echo_id);
  EXPECT_EQ(r["result"]["echoed_data"], json({1, 2, 3}));
  EXPECT_EQ(r["result"]["data_type"], "list");
  EXPECT_EQ(r["result"]["data_length"], 3);
  r = Result(hello_id);
  EXPECT_EQ(r["result"]["greeting_target"], "veil");
  r = Result(health);
  EXPECT_EQ(r["result"]["overall_status"], "healthy");
  EXPECT_EQ(r["result"]["components"]["redis"]["status"], "healthy");
  EXPECT_EQ(r["result"]["node_info"]["node_id"], "alice");
  r = Result(unknown);
  EXPECT_EQ(r["status"], "FAILURE");
  EXPECT_EQ(r["result"]["exc_type"], "NotRegistered");
  EXPECT_EQ(r["result"]["exc_module"], "celery.exceptions");

  EXPECT_TRUE(WaitFor([&] { return ProcessingLen() == 0; }));
  EXPECT_FALSE(redis_->Exists(LeaseKey(ping)).value());
  EXPECT_EQ(redis_->HGet(TaskRecordKey(ping), "state").value(), "finished");
  // The heartbeat names the node.
  auto hb = ReadHeartbeat(*redis_, "alice");
  ASSERT_TRUE(hb.ok() && *hb);
  EXPECT_EQ((**hb)["node_id"], "alice");
  EXPECT_EQ((**hb)["max_concurrent_tasks"], 2);
}

TEST_F(WorkerTest, ExecuteTaskSuccessEventsAndWrapper) {
  StartWorker();
  const std::string id = SendExecute(Envelope("exec-ok", "ok"));
  json r = Result(id);
  ASSERT_EQ(r["status"], "SUCCESS") << r.dump();
  const json& wrapper = r["result"];
  EXPECT_EQ(wrapper["task_id"], "dag-1");
  EXPECT_EQ(wrapper["subtask_id"], "node-1");
  EXPECT_EQ(wrapper["execution_id"], "exec-ok");
  EXPECT_EQ(wrapper["result"]["status"], "success");
  EXPECT_EQ(wrapper["result"]["celery_metadata"]["celery_task_id"], id);
  EXPECT_EQ(wrapper["result"]["celery_metadata"]["worker_hostname"], "alice@127.0.0.1");
  EXPECT_EQ(wrapper["result"]["celery_metadata"]["retry_count"], 0);

  std::vector<json> events;
  ASSERT_TRUE(WaitFor([&] {
    events = Events("exec-ok");
    return Terminals(events) == 1;
  }));
  ExpectSeqs(events);
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events.front()["data"]["stage"], "celery_task_started");
  EXPECT_EQ(events.front()["data"]["celery_task_id"], id);
  EXPECT_EQ(events[1]["data"]["stage"], "task_started");
  EXPECT_EQ(events.back()["status"], "SUCCESS");
  EXPECT_EQ(events.back()["data"]["stage"], "task_completed");
  EXPECT_EQ(events.back()["worker_container"], "alice");
  // The same events, in the same order, on the stream.
  auto stream = redis_->XRange(std::string(kStatusStream)).value();
  std::vector<uint64_t> seqs;
  for (const auto& entry : stream) {
    for (const auto& [k, v] : entry.fields) {
      if (k == "event" && json::parse(v)["execution_id"] == "exec-ok") {
        seqs.push_back(json::parse(v)["seq"]);
      }
    }
  }
  ASSERT_EQ(seqs.size(), events.size());
  for (size_t i = 0; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], i + 1);
}

TEST_F(WorkerTest, MalformedMessagesGoToTheDeadLetterListAndTheWorkerKeepsServing) {
  StartWorker();
  ASSERT_TRUE(redis_->LPush("secretflow_queue", "{not json").ok());
  SendRequest req;
  req.task = std::string(kPingTaskName);
  req.task_id = "x";
  json good = json::parse(EncodeTaskMessage(req));
  json bad_b64 = good;
  bad_b64["body"] = "!!!not base64!!!";
  json pickle = good;
  pickle["content-type"] = "application/x-python-serialize";
  json no_id = good;
  no_id["headers"].erase("id");
  for (const json& m : {bad_b64, pickle, no_id}) {
    ASSERT_TRUE(redis_->LPush("secretflow_queue", m.dump()).ok());
  }
  const std::string ping = SendNamed(kPingTaskName);
  EXPECT_EQ(Result(ping)["status"], "SUCCESS");
  auto dead = redis_->LRange(DeadLetterKey("secretflow_queue"), 0, -1).value();
  ASSERT_EQ(dead.size(), 4u);
  std::set<std::string> codes;
  for (const auto& d : dead) {
    json entry = json::parse(d);
    EXPECT_EQ(entry["node_id"], "alice");
    EXPECT_FALSE(entry["raw"].get<std::string>().empty());
    codes.insert(entry["error"]["code"].get<std::string>());
  }
  EXPECT_EQ(codes, (std::set<std::string>{"invalid_json", "bad_base64", "bad_content_type",
                                          "missing_header"}));
  EXPECT_EQ(ProcessingLen(), 0);
}

TEST_F(WorkerTest, RecoveryRunsAMessageThatWasFetchedButNeverStarted) {
  SendRequest req;
  req.task = std::string(kPingTaskName);
  req.task_id = "fetched-not-started";
  ASSERT_TRUE(redis_->LPush(ProcessingKey("alice"), EncodeTaskMessage(req)).ok());
  StartWorker();
  EXPECT_EQ(Result("fetched-not-started")["status"], "SUCCESS");
  EXPECT_TRUE(WaitFor([&] { return ProcessingLen() == 0; }));
  EXPECT_EQ(worker_->stats().recovered, 1u);
}

TEST_F(WorkerTest, RecoveryFailsAStartedTaskWithWorkerLostErrorAndOneTerminalEvent) {
  SendRequest req;
  req.task = std::string(kExecuteTaskName);
  req.task_id = "died-mid-task";
  req.args = nlohmann::ordered_json::array(
      {nlohmann::ordered_json::parse(Envelope("exec-lost", "block").dump())});
  ASSERT_TRUE(redis_->LPush(ProcessingKey("alice"), EncodeTaskMessage(req)).ok());
  ASSERT_TRUE(redis_
                  ->HSet(TaskRecordKey("died-mid-task"), {{"state", "started"},
                                                          {"execution_id", "exec-lost"},
                                                          {"worker", "old@host"},
                                                          {"last_seq", "3"}})
                  .ok());
  StartWorker();
  json r = Result("died-mid-task");
  ASSERT_EQ(r["status"], "FAILURE");
  EXPECT_EQ(r["result"]["exc_type"], "WorkerLostError");
  EXPECT_EQ(r["result"]["exc_module"], "celery.exceptions");
  std::vector<json> events;
  ASSERT_TRUE(WaitFor([&] {
    events = Events("exec-lost");
    return !events.empty();
  }));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["seq"], 4);  // continues after the dead run's last published event
  EXPECT_EQ(events[0]["status"], "FAILURE");
  EXPECT_EQ(events[0]["data"]["stage"], "task_failed");
  EXPECT_EQ(events[0]["data"]["error_type"], "WorkerLostError");
  EXPECT_EQ(ProcessingLen(), 0);
  EXPECT_EQ(worker_->stats().worker_lost, 1u);
  // A second sweep finds nothing more to do: still one terminal event.
  std::this_thread::sleep_for(milliseconds(500));
  EXPECT_EQ(Events("exec-lost").size(), 1u);
}

TEST_F(WorkerTest, RecoveryDropsAnAlreadyFinishedMessage) {
  SendRequest req;
  req.task = std::string(kPingTaskName);
  req.task_id = "already-done";
  ASSERT_TRUE(redis_->LPush(ProcessingKey("alice"), EncodeTaskMessage(req)).ok());
  ASSERT_TRUE(redis_->HSet(TaskRecordKey("already-done"), "state", "finished").ok());
  StartWorker();
  EXPECT_TRUE(WaitFor([&] { return ProcessingLen() == 0; }));
  EXPECT_FALSE(redis_->Exists(ResultKey("already-done")).value());  // not run again
}

TEST_F(WorkerTest, ATaskWhoseLeaseIsHeldElsewhereIsNotRunUntilTheLeaseIsGone) {
  ASSERT_TRUE(redis_->Set(LeaseKey("leased"), "another-worker-token").ok());
  StartWorker();
  SendRequest req;
  req.task = std::string(kPingTaskName);
  req.task_id = "leased";
  Send(req);
  std::this_thread::sleep_for(milliseconds(600));
  EXPECT_FALSE(redis_->Exists(ResultKey("leased")).value());
  EXPECT_EQ(ProcessingLen(), 1);
  ASSERT_TRUE(redis_->Del(LeaseKey("leased")).ok());  // the other holder's lease expired
  EXPECT_EQ(Result("leased")["status"], "SUCCESS");
}

TEST_F(WorkerTest, NetworkErrorsAreRetriedThreeTimesThenFailOnce) {
  StartWorker();
  const std::string id = SendExecute(Envelope("exec-net", "netfail"));
  json r = Result(id);
  ASSERT_EQ(r["status"], "FAILURE") << r.dump();
  EXPECT_EQ(r["result"]["exc_type"], "NetworkError");
  std::vector<json> events;
  ASSERT_TRUE(WaitFor([&] {
    events = Events("exec-net");
    return Terminals(events) == 1;
  }));
  ExpectSeqs(events);
  int retries = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    if (events[i]["status"] != "RETRY") continue;
    ++retries;
    EXPECT_EQ(events[i]["data"]["stage"], "task_retrying");
    EXPECT_EQ(events[i]["data"]["retry_count"], retries);
    EXPECT_EQ(events[i]["data"]["max_retries"], kMaxNetworkRetries);
    ASSERT_LT(i + 1, events.size());
    EXPECT_EQ(events[i + 1]["data"]["stage"], "celery_task_started");  // the next attempt
    EXPECT_EQ(events[i + 1]["data"]["retry_count"], retries);
  }
  EXPECT_EQ(retries, kMaxNetworkRetries);
  EXPECT_EQ(events.back()["status"], "FAILURE");
  EXPECT_EQ(events.back()["data"]["error_type"], "NetworkError");
  EXPECT_EQ(worker_->stats().retried, 3u);
  EXPECT_EQ(ProcessingLen(), 0);
  EXPECT_EQ(redis_->ZRangeByScore(DelayedKey("secretflow_queue"), -1e300, 1e300).value().size(),
            0u);
}

TEST_F(WorkerTest, ResourceErrorsAreRetriedFiveTimesAndValidationErrorsNever) {
  StartWorker();
  const std::string res = SendExecute(Envelope("exec-res", "resfail"));
  json bad = Envelope("exec-bad", "ok");
  bad["task_config"]["task_type"] = "no_such_type";
  const std::string invalid = SendExecute(bad);
  json r = Result(invalid);
  EXPECT_EQ(r["result"]["exc_type"], "ParameterValidationError");
  r = Result(res);
  EXPECT_EQ(r["result"]["exc_type"], "ResourceError");
  std::vector<json> events;
  ASSERT_TRUE(WaitFor([&] { return Terminals(events = Events("exec-res")) == 1; }));
  int retries = 0;
  for (const json& e : events) retries += e["status"] == "RETRY";
  EXPECT_EQ(retries, kMaxResourceRetries);
  events = Events("exec-bad");
  for (const json& e : events) EXPECT_NE(e["status"], "RETRY");
  EXPECT_EQ(Terminals(events), 1);
}

TEST_F(WorkerTest, SoftTimeLimitCancelsTheTask) {
  StartWorker();
  SendRequest req;
  req.soft_time_limit_s = 0.3;
  req.hard_time_limit_s = 30;
  const std::string id = SendExecute(Envelope("exec-soft", "block"), req);
  json r = Result(id);
  ASSERT_EQ(r["status"], "FAILURE") << r.dump();
  EXPECT_EQ(r["result"]["exc_type"], "TimeoutError");
  EXPECT_EQ(r["result"]["veil_error"]["code"], "soft_time_limit");
  std::vector<json> events;
  ASSERT_TRUE(WaitFor([&] { return Terminals(events = Events("exec-soft")) == 1; }));
  EXPECT_EQ(events.back()["data"]["error_type"], "TimeoutError");
  ExpectSeqs(events);
}

TEST_F(WorkerTest, HardTimeLimitFailsAtOnceAndTheLateCompletionIsIgnored) {
  StartWorker();
  SendRequest req;
  req.hard_time_limit_s = 0.3;
  const std::string id = SendExecute(Envelope("exec-hard", "stubborn"), req);
  json r = Result(id, 1400);  // well before the task itself would end (1.5 s)
  ASSERT_EQ(r["status"], "FAILURE") << r.dump();
  EXPECT_EQ(r["result"]["exc_type"], "TimeLimitExceeded");
  EXPECT_EQ(r["result"]["veil_error"]["code"], "hard_time_limit");
  // Let the task finish on its own: nothing changes.
  ASSERT_TRUE(WaitFor([&] { return worker_->RunningTasks().empty(); }));
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(Result(id)["result"]["exc_type"], "TimeLimitExceeded");
  std::vector<json> events = Events("exec-hard");
  EXPECT_EQ(Terminals(events), 1);
  EXPECT_EQ(events.back()["status"], "FAILURE");
  EXPECT_EQ(events.back()["data"]["error_code"], "hard_time_limit");
  ExpectSeqs(events);
  EXPECT_EQ(ProcessingLen(), 0);
}

TEST_F(WorkerTest, ExpiredMessagesAreRevokedAndEtaMessagesWait) {
  StartWorker();
  SendRequest expired;
  expired.task = std::string(kPingTaskName);
  expired.expires = std::chrono::system_clock::now() - std::chrono::seconds(1);
  const std::string expired_id = Send(expired);
  SendRequest later;
  later.task = std::string(kPingTaskName);
  const auto eta = std::chrono::system_clock::now() + milliseconds(700);
  later.eta = eta;
  const std::string later_id = Send(later);
  json r = Result(expired_id);
  EXPECT_EQ(r["status"], "REVOKED");
  EXPECT_EQ(r["result"]["exc_type"], "TaskRevokedError");
  r = Result(later_id);
  EXPECT_EQ(r["status"], "SUCCESS");
  EXPECT_GE(std::chrono::system_clock::now(), eta);
  EXPECT_EQ(worker_->stats().parked, 1u);
}

TEST_F(WorkerTest, ShutdownCancelsTasksAfterTheGracePeriod) {
  config_.shutdown_grace_s = 0;
  StartWorker();
  const std::string id = SendExecute(Envelope("exec-shutdown", "block"));
  ASSERT_TRUE(WaitFor([&] { return worker_->RunningTasks().size() == 1; }));
  worker_->Shutdown();
  json r = Result(id, 100);
  ASSERT_EQ(r["status"], "FAILURE") << r.dump();
  EXPECT_EQ(r["result"]["veil_error"]["code"], "worker_shutdown");
  EXPECT_EQ(Terminals(Events("exec-shutdown")), 1);
  // The heartbeat key is gone after a clean shutdown.
  EXPECT_FALSE(ReadHeartbeat(*redis_, "alice").value().has_value());
  EXPECT_EQ(ProcessingLen(), 0);
}

TEST_F(WorkerTest, AnOutageDelaysEventsAndResultsButLosesNothing) {
  fake_.set_outage_wait_ms(0);
  StartWorker();
  SendRequest hello;
  hello.task = std::string(kHelloTaskName);
  const std::string id = Send(hello);
  ASSERT_TRUE(WaitFor([&] { return worker_->RunningTasks().size() == 1; }));
  fake_.SetDown(true);
  std::this_thread::sleep_for(milliseconds(1500));  // hello ends while Redis is down
  fake_.SetDown(false);
  EXPECT_EQ(Result(id)["status"], "SUCCESS");
  EXPECT_TRUE(WaitFor([&] { return ProcessingLen() == 0; }));
  EXPECT_EQ(Result(SendNamed(kPingTaskName))["status"], "SUCCESS");
}

}  // namespace
}  // namespace veil::worker
