#include "veil/worker/worker.h"

#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "veil/base/log.h"
#include "veil/base/random.h"
#include "veil/base/time.h"
#include "veil/runtime/envelope.h"
#include "veil/runtime/events.h"
#include "veil/runtime/executor.h"
#include "veil/worker/builtin_tasks.h"
#include "veil/worker/celery_codec.h"
#include "veil/worker/heartbeat.h"
#include "veil/worker/lease.h"
#include "veil/worker/queue.h"
#include "veil/worker/status_publisher.h"

namespace veil::worker {

namespace {

using nlohmann::json;

constexpr int64_t kMonitorTickMs = 50;
constexpr int64_t kPromoteIntervalMs = 250;
constexpr int64_t kMinFetchBlockMs = 50;
constexpr int64_t kFetchErrorBackoffMs = 500;
constexpr int kPromoteBatch = 100;
constexpr char kCeleryExceptionsModule[] = "celery.exceptions";
constexpr char kWorkerLostErrorType[] = "WorkerLostError";
constexpr char kStageCeleryTaskStarted[] = "celery_task_started";

std::string JsonStr(const json& obj, const char* key) {
  if (!obj.is_object()) return "";
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

uint64_t ToU64(const std::map<std::string, std::string>& m, const char* key) {
  auto it = m.find(key);
  if (it == m.end()) return 0;
  try {
    return std::stoull(it->second);
  } catch (const std::exception&) {
    return 0;
  }
}

// execute_task's task_params: args[0]; the legacy (task_request_id, task_params) signature too.
json ExecuteParams(const CeleryTaskMessage& m) {
  if (m.args.is_array() && m.args.size() >= 2 && m.args[0].is_string() && m.args[1].is_object()) {
    json p = m.args[1];
    if (!p.contains("execution_id") && !p.contains("task_request_id")) {
      p["execution_id"] = m.args[0];
    }
    return p;
  }
  if (m.args.is_array() && !m.args.empty()) return m.args[0];
  if (m.kwargs.is_object() && m.kwargs.contains("task_params")) return m.kwargs["task_params"];
  return json();
}

std::string SelfParty(const json& params) {
  const json sf = params.is_object() ? params.value("sf_init_config", json()) : json();
  std::string p = JsonStr(sf, "self_party");
  if (p.empty() && sf.is_object()) p = JsonStr(sf.value("cluster_config", json()), "self_party");
  return p;
}

runtime::EventIds IdsOf(const json& params) {
  runtime::EventIds ids;
  ids.execution_id = JsonStr(params, "execution_id");
  if (ids.execution_id.empty()) ids.execution_id = JsonStr(params, "task_request_id");
  if (ids.execution_id.empty()) ids.execution_id = "unknown";
  ids.task_id = JsonStr(params, "task_id");
  ids.subtask_id = JsonStr(params, "subtask_id");
  return ids;
}

enum class Owner { kNone, kRunner, kWatchdog };

}  // namespace

// One run of one message: its identity, limits, and the per-task event sink. The sink renumbers
// events (seq continues across retries and recovery) and holds the terminal event back so that
// FinishTask publishes it together with the result.
struct TaskRun : public runtime::EventSink {
  CeleryTaskMessage msg;
  std::string raw;
  bool execute = false;
  json params;
  runtime::EventIds ids;
  std::string task_type;
  std::string party;
  std::string started_at;
  SteadyClock::time_point start;
  std::optional<SteadyClock::time_point> soft_deadline;
  std::optional<SteadyClock::time_point> hard_deadline;
  double soft_limit_s = 0;
  double hard_limit_s = 0;
  bool soft_fired = false;  // monitor thread only
  bool hard_fired = false;  // monitor thread only
  std::shared_ptr<CancelToken> cancel = std::make_shared<CancelToken>();
  StatusPublisher* publisher = nullptr;
  std::string record_key;
  uint64_t seq_offset = 0;

  std::mutex mu;
  Owner owner = Owner::kNone;
  bool closed = false;
  uint64_t count = 0;
  std::optional<json> terminal;
  std::shared_future<Status> watchdog_finish;

  std::string Tag() const {
    std::string tag = "[";
    if (execute) tag += fmt::format("exec={} task={} ", ids.execution_id, ids.task_id);
    tag += "celery=" + msg.id;
    if (!party.empty()) tag += " party=" + party;
    return tag + "]";
  }

  void Publish(const json& event) override {
    std::lock_guard<std::mutex> lock(mu);
    if (closed) return;
    json e = event;
    e["seq"] = seq_offset + (++count);
    const std::string status = JsonStr(e, "status");
    if (status == "SUCCESS" || status == "FAILURE") {
      closed = true;
      if (owner == Owner::kNone) owner = Owner::kRunner;
      terminal = std::move(e);
      return;
    }
    publisher->Enqueue(std::move(e), record_key);
  }

  // No more events (after RETRY).
  void Close() {
    std::lock_guard<std::mutex> lock(mu);
    closed = true;
  }
  uint64_t last_seq() {
    std::lock_guard<std::mutex> lock(mu);
    return seq_offset + count;
  }
  // The runner's claim on the outcome; false when the hard time limit already finished the task.
  bool ClaimForRunner() {
    std::lock_guard<std::mutex> lock(mu);
    if (owner == Owner::kWatchdog) return false;
    owner = Owner::kRunner;
    return true;
  }
  std::optional<json> TakeTerminal() {
    std::lock_guard<std::mutex> lock(mu);
    std::optional<json> t = std::move(terminal);
    terminal.reset();
    return t;
  }
};

namespace {

// A FAILURE task_failed event built by the worker itself (hard time limit, worker lost).
json BuildFailureEvent(const runtime::EventIds& ids, const std::string& node_id,
                       const Status& error, double execution_time_s, uint64_t seq,
                       const std::string& error_type_override) {
  runtime::StatusEvent ev;
  ev.execution_id = ids.execution_id;
  ev.task_id = ids.task_id;
  ev.subtask_id = ids.subtask_id;
  ev.status = runtime::EventStatus::kFailure;
  ev.timestamp = NowIso8601Utc();
  json data = runtime::FailureData(error, execution_time_s);
  data["stage"] = runtime::kStageTaskFailed;
  data["task_id"] = ids.task_id;
  data["subtask_id"] = ids.subtask_id;
  data["execution_id"] = ids.execution_id;
  if (!error_type_override.empty()) data["error_type"] = error_type_override;
  ev.data = std::move(data);
  ev.worker_container = node_id;
  ev.seq = seq;
  ev.event_id = RandomUuid();
  return ev.ToJson();
}

}  // namespace

class Worker::Impl {
 public:
  Impl(WorkerOptions options, std::unique_ptr<RedisClient> redis,
       std::unique_ptr<RedisClient> fetch_redis, std::unique_ptr<RedisClient> publisher_redis)
      : options_(std::move(options)),
        config_(options_.config),
        hostname_(options_.hostname.empty() ? config_.hostname() : options_.hostname),
        token_(fmt::format("{}:{}:{}", hostname_, ::getpid(), RandomUuid())),
        processing_key_(ProcessingKey(config_.node_id)),
        redis_(std::move(redis)),
        fetch_redis_(std::move(fetch_redis)),
        publisher_(std::move(publisher_redis),
                   StatusPublisherOptions{.stream_max_len = config_.status_stream_max_len}),
        leases_(redis_.get(), token_, config_.lease_ttl_s * 1000),
        heartbeat_(redis_.get(),
                   HeartbeatInfo{.node_id = config_.node_id,
                                 .node_ip = config_.node_ip,
                                 .hostname = hostname_,
                                 .version = options_.version,
                                 .queue = config_.queue,
                                 .max_concurrent_tasks = config_.max_concurrent_tasks,
                                 .interval_s = config_.heartbeat_interval_s},
                   [this] { return RunningTasks(); }) {
    runtime_.data_root = config_.data_path;
    if (config_.sf_ports.configured()) {
      runtime_.sf_port_range = runtime::PortRange{config_.sf_ports.start, config_.sf_ports.end};
    }
    if (config_.spu_ports.configured()) {
      runtime_.spu_port_range = runtime::PortRange{config_.spu_ports.start, config_.spu_ports.end};
    }
    runtime_.registry = options_.registry;
    recovery_interval_ms_ = options_.recovery_interval_ms > 0 ? options_.recovery_interval_ms
                                                              : config_.lease_renew_s * 1000;
  }

  ~Impl() { Shutdown(); }

  Status Start() {
    std::lock_guard<std::mutex> lock(lifecycle_mu_);
    if (started_) return Status();
    started_ = true;
    Log().info("veil worker {} (node {}, queue {}, {} slot(s), redis {}) starting", hostname_,
               config_.node_id, config_.queue, config_.max_concurrent_tasks, redis_->endpoint());
    heartbeat_.Start();
    for (int64_t i = 0; i < config_.max_concurrent_tasks; ++i) {
      runners_.emplace_back([this] { RunnerLoop(); });
    }
    monitor_ = std::thread([this] { MonitorLoop(); });
    fetcher_ = std::thread([this] { FetchLoop(); });
    return Status();
  }

  void Shutdown() {
    std::lock_guard<std::mutex> lock(lifecycle_mu_);
    if (!started_ || shut_down_) return;
    shut_down_ = true;
    Log().info("worker shutting down: no more fetching; {} task(s) running", RunningCount());
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_fetch_ = true;
    }
    cv_.notify_all();
    if (fetcher_.joinable()) fetcher_.join();
    const auto grace_end =
        SteadyClock::now() + std::chrono::seconds(std::max<int64_t>(0, config_.shutdown_grace_s));
    if (!WaitIdleUntil(grace_end)) {
      std::vector<std::shared_ptr<TaskRun>> runs = Snapshot();
      Log().warn("shutdown grace of {} s over: cancelling {} running task(s)",
                 config_.shutdown_grace_s, runs.size());
      for (const auto& run : runs) {
        run->cancel->Cancel(CancelledError(
            "worker_shutdown",
            fmt::format("the worker {} shut down before the task finished (grace period {} s)",
                        hostname_, config_.shutdown_grace_s)));
      }
      WaitIdleUntil(SteadyClock::now() + std::chrono::milliseconds(kShutdownCancelWaitMs));
    }
    const bool idle = RunningCount() == 0;
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_runners_ = true;
      stop_monitor_ = true;
    }
    cv_.notify_all();
    if (monitor_.joinable()) monitor_.join();
    for (auto& t : runners_) {
      if (!t.joinable()) continue;
      if (idle) {
        t.join();
      } else {
        t.detach();  // a task that ignores cancellation; the process is about to exit
      }
    }
    if (!idle) leaked_ = true;
    heartbeat_.Stop(/*remove_key=*/true);
    publisher_.Stop(kPublisherFlushTimeoutMs);
    if (options_.redis_abort) {
      options_.redis_abort->Cancel(CancelledError("worker_stopped", "the worker has stopped"));
    }
    Log().info("worker stopped (succeeded {}, failed {}, retried {}, dead-lettered {})",
               succeeded_.load(), failed_.load(), retried_.load(), dead_lettered_.load());
  }

  bool leaked() const { return leaked_; }

  WorkerStats Stats() const {
    WorkerStats s;
    s.fetched = fetched_;
    s.succeeded = succeeded_;
    s.failed = failed_;
    s.retried = retried_;
    s.dead_lettered = dead_lettered_;
    s.revoked = revoked_;
    s.parked = parked_;
    s.worker_lost = worker_lost_;
    s.recovered = recovered_;
    return s;
  }

  json RunningTasks() const {
    json out = json::array();
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, run] : running_) {
      out.push_back({{"celery_id", id},
                     {"task_name", run->msg.task},
                     {"execution_id", run->execute ? json(run->ids.execution_id) : json()},
                     {"task_type", run->task_type.empty() ? json() : json(run->task_type)},
                     {"started_at", run->started_at}});
    }
    return out;
  }

  const std::string& token() const { return token_; }

 private:
  struct Admitted {
    CeleryTaskMessage msg;
    std::map<std::string, std::string> record;
  };

  // ---- bookkeeping -------------------------------------------------------------------------

  size_t RunningCount() const {
    std::lock_guard<std::mutex> lock(mu_);
    return running_.size();
  }

  std::vector<std::shared_ptr<TaskRun>> Snapshot() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::shared_ptr<TaskRun>> out;
    for (const auto& [id, run] : running_) out.push_back(run);
    return out;
  }

  bool WaitIdleUntil(SteadyClock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_until(lock, deadline, [&] { return running_.empty() && handoff_.empty(); });
  }

  bool SlotFreeLocked() const { return idle_runners_ > static_cast<int64_t>(handoff_.size()); }

  void Disown(const std::string& raw) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = owned_.find(raw);
    if (it != owned_.end()) owned_.erase(it);
  }

  // ---- fetcher -----------------------------------------------------------------------------

  void FetchLoop() {
    auto next_sweep = SteadyClock::now();
    auto next_promote = SteadyClock::now();
    std::optional<TimePoint> next_due;
    bool logged_error = false;
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stop_fetch_) break;
      }
      try {
        const auto now = SteadyClock::now();
        if (now >= next_sweep) {
          Sweep();
          next_sweep = now + std::chrono::milliseconds(recovery_interval_ms_);
        }
        if (now >= next_promote) {
          StatusOr<int> moved = PromoteDue(*fetch_redis_, config_.queue,
                                           std::chrono::system_clock::now(), kPromoteBatch);
          if (moved.ok() && *moved > 0) Log().debug("promoted {} delayed message(s)", *moved);
          StatusOr<std::optional<TimePoint>> due = NextDue(*fetch_redis_, config_.queue);
          next_due = due.ok() ? *due : std::nullopt;
          next_promote = now + std::chrono::milliseconds(kPromoteIntervalMs);
        }
        {
          std::unique_lock<std::mutex> lock(mu_);
          cv_.wait_for(lock, std::chrono::milliseconds(kPromoteIntervalMs),
                       [&] { return stop_fetch_ || SlotFreeLocked(); });
          if (stop_fetch_) break;
          if (!SlotFreeLocked()) continue;
        }
        int64_t block_ms = options_.fetch_block_ms;
        if (next_due) {
          const int64_t until_due = EpochMs(*next_due) - EpochMs(std::chrono::system_clock::now());
          block_ms = std::clamp<int64_t>(until_due, kMinFetchBlockMs, block_ms);
        }
        StatusOr<std::optional<std::string>> raw =
            FetchMessage(*fetch_redis_, config_.queue, processing_key_, block_ms);
        if (!raw.ok()) {
          if (!logged_error)
            Log().error("fetch from {} failed: {}", config_.queue, raw.status().ToString());
          logged_error = true;
          std::unique_lock<std::mutex> lock(mu_);
          cv_.wait_for(lock, std::chrono::milliseconds(kFetchErrorBackoffMs),
                       [&] { return stop_fetch_; });
          continue;
        }
        if (logged_error) Log().info("fetching from {} again", config_.queue);
        logged_error = false;
        if (*raw) {
          ++fetched_;
          Admit(**raw, /*recovered=*/false);
        }
      } catch (const std::exception& e) {
        Log().error("fetcher: unexpected exception: {}", e.what());
      }
    }
  }

  // Re-admits the messages of the processing list that this instance does not hold.
  void Sweep() {
    StatusOr<std::vector<std::string>> list = fetch_redis_->LRange(processing_key_, 0, -1);
    if (!list.ok()) {
      Log().warn("recovery sweep: {}", list.status().ToString());
      return;
    }
    std::multiset<std::string> mine;
    {
      std::lock_guard<std::mutex> lock(mu_);
      mine = owned_;
    }
    for (const std::string& raw : *list) {
      auto it = mine.find(raw);
      if (it != mine.end()) {
        mine.erase(it);
        continue;
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stop_fetch_) return;
      }
      Admit(raw, /*recovered=*/true);
    }
  }

  // Decides what happens to a message that sits in the processing list (see worker.h).
  void Admit(const std::string& raw, bool recovered) {
    StatusOr<CeleryTaskMessage> decoded = DecodeTaskMessage(raw);
    if (!decoded.ok()) {
      Log().error("malformed message dead-lettered to {}: {}", DeadLetterKey(config_.queue),
                  decoded.status().ToString());
      Status s = DeadLetter(*fetch_redis_, processing_key_, config_.queue, raw, decoded.status(),
                            config_.node_id);
      if (s.ok()) {
        ++dead_lettered_;
      } else {
        Log().error("dead-lettering failed (the message stays in {}): {}", processing_key_,
                    s.ToString());
      }
      return;
    }
    CeleryTaskMessage& msg = *decoded;
    const TimePoint now = std::chrono::system_clock::now();
    if (msg.expires && *msg.expires <= now) {
      Log().warn("[celery={}] {} expired at {}: REVOKED", msg.id, msg.task,
                 PythonIsoformatUtc(*msg.expires));
      FinishRequest req = BaseFinish(msg, raw);
      req.result_json = RevokedResultJson(Meta(msg), "expired");
      Status s = FinishTask(*fetch_redis_, req);
      if (s.ok())
        ++revoked_;
      else
        Log().error("[celery={}] storing REVOKED failed: {}", msg.id, s.ToString());
      return;
    }
    if (msg.eta && *msg.eta > now) {
      Status s = ParkMessage(*fetch_redis_, processing_key_, config_.queue, raw, *msg.eta);
      if (s.ok()) {
        ++parked_;
        Log().info("[celery={}] eta {}: parked in {}", msg.id, PythonIsoformatUtc(*msg.eta),
                   DelayedKey(config_.queue));
      } else {
        Log().error("[celery={}] parking failed: {}", msg.id, s.ToString());
      }
      return;
    }
    StatusOr<bool> lease = leases_.Acquire(msg.id);
    if (!lease.ok()) {
      Log().warn("[celery={}] lease not acquired ({}); retried by the recovery sweep", msg.id,
                 lease.status().ToString());
      return;
    }
    if (!*lease) {
      Log().info("[celery={}] lease held by another worker instance; not running it", msg.id);
      return;
    }
    StatusOr<std::map<std::string, std::string>> record =
        fetch_redis_->HGetAll(TaskRecordKey(msg.id));
    if (!record.ok()) {
      Log().warn("[celery={}] task record unreadable ({}); retried later", msg.id,
                 record.status().ToString());
      (void)leases_.Release(msg.id);
      return;
    }
    const std::string state = record->count("state") ? record->at("state") : "";
    if (state == kRecordFinished) {
      Log().info("[celery={}] already finished; removing the duplicate message", msg.id);
      (void)RemoveFromProcessing(*fetch_redis_, processing_key_, raw);
      (void)leases_.Release(msg.id);
      return;
    }
    if (state == kRecordStarted) {
      WorkerLost(msg, raw, *record);
      return;
    }
    const std::string id = msg.id;
    bool handed = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (SlotFreeLocked() && !stop_fetch_) {
        owned_.insert(raw);
        handoff_.push_back(std::make_shared<Admitted>(Admitted{std::move(msg), *record}));
        if (recovered) ++recovered_;
        handed = true;
      }
    }
    if (!handed) {
      (void)leases_.Release(id);  // no free slot (a recovered message): the next sweep retries
      return;
    }
    cv_.notify_all();
  }

  // A message whose previous run started and died (its lease expired): FAILURE WorkerLostError
  // and, for execute_task without a terminal event yet, its one terminal event.
  void WorkerLost(const CeleryTaskMessage& msg, const std::string& raw,
                  const std::map<std::string, std::string>& record) {
    const std::string worker = record.count("worker") ? record.at("worker") : "?";
    const Status error = InternalError(
        "worker_lost", fmt::format("Worker exited prematurely: the worker {} running task {} "
                                   "died before storing its outcome",
                                   worker, msg.id));
    CeleryException exc = CeleryExceptionFor(error);
    exc.exc_type = kWorkerLostErrorType;
    exc.exc_module = kCeleryExceptionsModule;
    exc.exc_message = nlohmann::ordered_json::array({error.message()});
    FinishRequest req = BaseFinish(msg, raw);
    req.result_json = FailureResultJson(Meta(msg), exc, FormatTraceback(error));
    runtime::EventIds ids = IdsOf(ExecuteParams(msg));
    if (record.count("execution_id") && !record.at("execution_id").empty()) {
      ids.execution_id = record.at("execution_id");
    }
    if (msg.task == kExecuteTaskName && ToU64(record, "terminal_emitted") == 0) {
      const uint64_t seq = std::max(ToU64(record, "last_seq"), ToU64(record, "seq_base")) + 1;
      req.event_json =
          BuildFailureEvent(ids, config_.node_id, error, 0.0, seq, kWorkerLostErrorType).dump();
      req.event_seq = seq;
      req.event_execution_id = ids.execution_id;
      req.event_status = "FAILURE";
    }
    Status s = FinishTask(*fetch_redis_, req);
    leases_.Forget(msg.id);
    if (s.ok()) {
      ++worker_lost_;
      ++failed_;
      Log().error("[exec={} celery={}] {} was running on {} which died: FAILURE WorkerLostError",
                  ids.execution_id, msg.id, msg.task, worker);
    } else {
      Log().error("[celery={}] storing WorkerLostError failed: {}", msg.id, s.ToString());
    }
  }

  // ---- runners -----------------------------------------------------------------------------

  void RunnerLoop() {
    for (;;) {
      std::shared_ptr<Admitted> adm;
      {
        std::unique_lock<std::mutex> lock(mu_);
        ++idle_runners_;
        cv_.notify_all();
        cv_.wait(lock, [&] { return stop_runners_ || !handoff_.empty(); });
        --idle_runners_;
        if (handoff_.empty()) return;
        adm = std::move(handoff_.front());
        handoff_.pop_front();
      }
      const std::string raw = adm->msg.raw;
      try {
        if (ShuttingDown()) {
          Status s = RestoreMessage(*redis_, processing_key_, config_.queue, raw);
          (void)leases_.Release(adm->msg.id);
          Log().info("[celery={}] not started before shutdown: back in {} ({})", adm->msg.id,
                     config_.queue, s.ok() ? "ok" : s.ToString());
        } else {
          RunTask(*adm);
        }
      } catch (const std::exception& e) {
        Log().error("[celery={}] unexpected exception in the runner: {}", adm->msg.id, e.what());
      }
      Disown(raw);
      cv_.notify_all();
    }
  }

  bool ShuttingDown() const {
    std::lock_guard<std::mutex> lock(mu_);
    return stop_fetch_;
  }

  ResultMeta Meta(const CeleryTaskMessage& m) const {
    return ResultMeta{.task_id = m.id, .parent_id = m.parent_id, .group_id = m.group};
  }

  FinishRequest BaseFinish(const CeleryTaskMessage& m, const std::string& raw) const {
    FinishRequest req;
    req.celery_id = m.id;
    req.processing_key = processing_key_;
    req.raw = raw;
    req.result_ttl_s = config_.result_expires_s;
    req.lease_token = token_;
    req.record_ttl_s = std::max<int64_t>(config_.result_expires_s, kTaskRecordTtlSeconds);
    req.stream_max_len = config_.status_stream_max_len;
    return req;
  }

  // Queues FinishTask behind the task's events and waits for it.
  Status Finish(TaskRun& run, FinishRequest req) {
    std::future<Status> done =
        publisher_.Submit([req = std::move(req)](RedisClient& r) { return FinishTask(r, req); });
    Status s = done.get();
    leases_.Forget(run.msg.id);
    if (!s.ok()) {
      Log().error("{} storing the outcome failed (the message stays in {} for recovery): {}",
                  run.Tag(), processing_key_, s.ToString());
    }
    return s;
  }

  void AttachTerminal(FinishRequest& req, TaskRun& run) {
    std::optional<json> terminal = run.TakeTerminal();
    if (!terminal) return;
    req.event_json = terminal->dump();
    req.event_seq = terminal->value("seq", uint64_t{0});
    req.event_execution_id = JsonStr(*terminal, "execution_id");
    req.event_status = JsonStr(*terminal, "status");
  }

  void RunTask(Admitted& adm) {
    auto run = std::make_shared<TaskRun>();
    run->msg = std::move(adm.msg);
    run->raw = run->msg.raw;
    run->execute = run->msg.task == kExecuteTaskName;
    run->publisher = &publisher_;
    run->record_key = TaskRecordKey(run->msg.id);
    run->start = SteadyClock::now();
    run->started_at = NowIso8601Utc();
    run->seq_offset = std::max(ToU64(adm.record, "last_seq"), ToU64(adm.record, "seq_base"));
    if (run->execute) {
      run->params = ExecuteParams(run->msg);
      run->ids = IdsOf(run->params);
      run->task_type = JsonStr(
          run->params.is_object() ? run->params.value("task_config", json()) : json(), "task_type");
      run->party = SelfParty(run->params);
    }
    run->hard_limit_s =
        run->msg.hard_time_limit_s.value_or(static_cast<double>(config_.task_time_limit_s));
    run->soft_limit_s =
        run->msg.soft_time_limit_s.value_or(static_cast<double>(config_.task_soft_time_limit_s));
    auto after = [&](double s) {
      return run->start + std::chrono::milliseconds(static_cast<int64_t>(s * 1000.0));
    };
    if (run->hard_limit_s > 0) run->hard_deadline = after(run->hard_limit_s);
    if (run->soft_limit_s > 0) run->soft_deadline = after(run->soft_limit_s);

    // The record says "started" before anything runs, so recovery can tell the two cases apart.
    Status s = redis_
                   ->HSet(run->record_key, {{"state", std::string(kRecordStarted)},
                                            {"task", run->msg.task},
                                            {"execution_id", run->ids.execution_id},
                                            {"worker", hostname_},
                                            {"started_at", run->started_at},
                                            {"attempt", std::to_string(run->msg.retries)}})
                   .status();
    if (s.ok()) s = redis_->Expire(run->record_key, kTaskRecordTtlSeconds).status();
    if (!s.ok()) {
      Log().error("{} cannot write the task record ({}); left for recovery", run->Tag(),
                  s.ToString());
      (void)leases_.Release(run->msg.id);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      running_[run->msg.id] = run;
    }
    Log().info("{} {} started (retry {}, soft/hard limit {}/{} s)", run->Tag(), run->msg.task,
               run->msg.retries, run->soft_limit_s, run->hard_limit_s);
    StatusOr<RedisReply> started =
        redis_->Eval(kStoreResultScript, {ResultKey(run->msg.id)},
                     {StartedResultJson(Meta(run->msg), ::getpid(), hostname_),
                      std::to_string(config_.result_expires_s)},
                     RedisRetry::kIdempotent);
    if (!started.ok())
      Log().warn("{} STARTED not stored: {}", run->Tag(), started.status().ToString());

    if (run->execute) {
      RunExecute(*run);
    } else if (IsBuiltinTask(run->msg.task)) {
      RunBuiltin(*run);
    } else {
      Log().error("{} unknown task name '{}': FAILURE NotRegistered", run->Tag(), run->msg.task);
      if (run->ClaimForRunner()) {
        FinishRequest req = BaseFinish(run->msg, run->raw);
        req.result_json = NotRegisteredResultJson(Meta(run->msg), run->msg.task);
        if (Finish(*run, std::move(req)).ok()) ++failed_;
      } else {
        WaitWatchdog(*run);
      }
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      running_.erase(run->msg.id);
    }
    cv_.notify_all();
  }

  void WaitWatchdog(TaskRun& run) {
    std::shared_future<Status> f;
    {
      std::lock_guard<std::mutex> lock(run.mu);
      f = run.watchdog_finish;
    }
    if (f.valid()) f.wait();
    Log().warn("{} finished after its hard time limit; its outcome is ignored", run.Tag());
  }

  void RunBuiltin(TaskRun& run) {
    BuiltinTaskContext ctx;
    ctx.config = &config_;
    ctx.hostname = hostname_;
    ctx.version = options_.version;
    ctx.redis = redis_.get();
    ctx.worker_details = [this] {
      return json{{"hostname", hostname_},
                  {"running_tasks", RunningCount()},
                  {"max_concurrent_tasks", config_.max_concurrent_tasks},
                  {"queue", config_.queue}};
    };
    ctx.cancel = run.cancel.get();
    StatusOr<json> result = InternalError("not_run", "not run");
    try {
      result = RunBuiltinTask(run.msg, ctx);
    } catch (const std::exception& e) {
      result = InternalError("unexpected_exception", e.what());
    }
    if (!run.ClaimForRunner()) return WaitWatchdog(run);
    FinishRequest req = BaseFinish(run.msg, run.raw);
    if (result.ok()) {
      if (!run.msg.ignore_result) req.result_json = SuccessResultJson(Meta(run.msg), *result);
    } else {
      req.result_json = FailureResultJson(Meta(run.msg), result.status());
    }
    if (Finish(run, std::move(req)).ok()) {
      result.ok() ? ++succeeded_ : ++failed_;
      Log().info("{} {} {} in {:.3f} s", run.Tag(), run.msg.task,
                 result.ok() ? "succeeded" : "failed: " + result.status().ToString(),
                 SecondsSince(run.start));
    }
  }

  void RunExecute(TaskRun& run) {
    runtime::EventEmitter emitter(&run, run.ids, config_.node_id);
    emitter.Running(kStageCeleryTaskStarted, std::nullopt,
                    {{"celery_task_id", run.msg.id},
                     {"task_type", run.task_type},
                     {"retry_count", run.msg.retries},
                     {"started_at", run.started_at}});
    runtime::ExecuteOptions ex;
    ex.emitter = &emitter;
    ex.emit_failure_event = false;
    ex.node_id = config_.node_id;
    ex.cancel = run.cancel;
    ex.registry = options_.registry;
    StatusOr<json> result = InternalError("not_run", "not run");
    try {
      result = runtime::ParseAndExecute(run.params, runtime_, ex);
    } catch (const std::exception& e) {
      result = InternalError("unexpected_exception", e.what());
    }
    if (!run.ClaimForRunner()) return WaitWatchdog(run);
    const double secs = SecondsSince(run.start);

    if (result.ok()) {
      json final_result = *result;
      final_result["celery_metadata"] = {
          {"celery_task_id", run.msg.id},
          {"celery_queue", run.msg.routing_key.empty() ? config_.queue : run.msg.routing_key},
          {"celery_exchange", run.msg.exchange},
          {"retry_count", run.msg.retries},
          {"celery_execution_time", secs},
          {"worker_hostname", hostname_},
          {"task_eta", run.msg.eta ? json(PythonIsoformatUtc(*run.msg.eta)) : json()}};
      const std::string completed_at = final_result.contains("task_metadata")
                                           ? JsonStr(final_result["task_metadata"], "completed_at")
                                           : NowIso8601Utc();
      FinishRequest req = BaseFinish(run.msg, run.raw);
      if (!run.msg.ignore_result) {
        req.result_json = SuccessResultJson(
            Meta(run.msg),
            PythonWorkerSuccessWrapper(run.ids.task_id, run.ids.subtask_id, run.ids.execution_id,
                                       final_result, completed_at));
      }
      AttachTerminal(req, run);
      if (Finish(run, std::move(req)).ok()) {
        ++succeeded_;
        Log().info("{} {} succeeded in {:.3f} s", run.Tag(), run.task_type, secs);
      }
      return;
    }

    const Status error = result.status();
    const int max_retries = error.type() == ErrorType::kNetwork    ? kMaxNetworkRetries
                            : error.type() == ErrorType::kResource ? kMaxResourceRetries
                                                                   : 0;
    if (IsRetryable(error.type()) && run.msg.retries < max_retries && !(run.cancel->cancelled())) {
      const int64_t delay_ms =
          error.type() == ErrorType::kNetwork
              ? options_.retry_backoff_ms * (int64_t{1} << std::min<int64_t>(run.msg.retries, 20))
              : options_.resource_retry_delay_ms;
      const TimePoint due = std::chrono::system_clock::now() + std::chrono::milliseconds(delay_ms);
      StatusOr<std::string> new_raw = WithRetry(run.raw, run.msg.retries + 1, due);
      if (new_raw.ok()) {
        emitter.Retry(error, static_cast<int>(run.msg.retries + 1), max_retries, ToIso8601Utc(due));
        run.Close();
        RetryRequest req;
        req.celery_id = run.msg.id;
        req.processing_key = processing_key_;
        req.queue = config_.queue;
        req.raw = run.raw;
        req.new_raw = *new_raw;
        req.due = due;
        req.seq_base = run.last_seq();
        req.retry_result_json = RetryResultJson(Meta(run.msg), error);
        req.result_ttl_s = config_.result_expires_s;
        req.lease_token = token_;
        std::future<Status> done = publisher_.Submit(
            [req = std::move(req)](RedisClient& r) { return ScheduleRetry(r, req); });
        Status s = done.get();
        leases_.Forget(run.msg.id);
        if (s.ok()) {
          ++retried_;
          Log().warn("{} {} failed ({}); retry {}/{} in {} ms", run.Tag(), run.task_type,
                     error.ToString(), run.msg.retries + 1, max_retries, delay_ms);
        } else {
          Log().error("{} scheduling the retry failed (left for recovery): {}", run.Tag(),
                      s.ToString());
        }
        return;
      }
    }
    emitter.Failure(error, secs);
    FinishRequest req = BaseFinish(run.msg, run.raw);
    req.result_json = FailureResultJson(Meta(run.msg), error);
    AttachTerminal(req, run);
    if (Finish(run, std::move(req)).ok()) {
      ++failed_;
      Log().error("{} {} failed (final) after {:.3f} s: {}", run.Tag(), run.task_type, secs,
                  error.ToString());
    }
  }

  // ---- monitor: time limits and leases ----------------------------------------------------

  void MonitorLoop() {
    auto next_renew = SteadyClock::now() + std::chrono::seconds(config_.lease_renew_s);
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_monitor_) {
      cv_.wait_for(lock, std::chrono::milliseconds(kMonitorTickMs), [&] { return stop_monitor_; });
      if (stop_monitor_) break;
      std::vector<std::shared_ptr<TaskRun>> runs;
      for (const auto& [id, run] : running_) runs.push_back(run);
      lock.unlock();
      try {
        const auto now = SteadyClock::now();
        for (const auto& run : runs) {
          if (!run->soft_fired && run->soft_deadline && now >= *run->soft_deadline &&
              (!run->hard_deadline || *run->soft_deadline < *run->hard_deadline)) {
            run->soft_fired = true;
            Log().warn("{} soft time limit ({} s) exceeded: cancelling", run->Tag(),
                       run->soft_limit_s);
            run->cancel->Cancel(TimeoutError(
                "soft_time_limit",
                fmt::format("SoftTimeLimitExceeded: the task exceeded its soft time limit of {} s",
                            run->soft_limit_s)));
          }
          if (!run->hard_fired && run->hard_deadline && now >= *run->hard_deadline) {
            run->hard_fired = true;
            HardLimit(run);
          }
        }
        if (now >= next_renew) {
          next_renew = now + std::chrono::seconds(config_.lease_renew_s);
          StatusOr<std::vector<std::string>> lost = leases_.RenewAll();
          if (!lost.ok()) {
            Log().warn("lease renewal failed: {}", lost.status().ToString());
          } else {
            for (const std::string& id : *lost) {
              for (const auto& run : runs) {
                if (run->msg.id != id) continue;
                Log().error("{} lost its lease to another worker: cancelling", run->Tag());
                run->cancel->Cancel(CancelledError(
                    "lease_lost", "the task's lease was taken over by another worker"));
              }
            }
          }
        }
      } catch (const std::exception& e) {
        Log().error("monitor: unexpected exception: {}", e.what());
      }
      lock.lock();
    }
  }

  void HardLimit(const std::shared_ptr<TaskRun>& run) {
    const Status error =
        TimeoutError("hard_time_limit",
                     fmt::format("TimeLimitExceeded: the task exceeded its hard time limit of {} s",
                                 run->hard_limit_s));
    std::lock_guard<std::mutex> lock(run->mu);
    if (run->owner != Owner::kNone) return;  // it finished just in time
    run->owner = Owner::kWatchdog;
    run->closed = true;
    Log().error("{} hard time limit ({} s) exceeded: FAILURE TimeLimitExceeded", run->Tag(),
                run->hard_limit_s);
    run->cancel->Cancel(error);
    CeleryException exc = CeleryExceptionFor(error);
    exc.exc_type = "TimeLimitExceeded";
    exc.exc_module = "billiard.exceptions";
    exc.exc_message = nlohmann::ordered_json::array({run->hard_limit_s});
    FinishRequest req = BaseFinish(run->msg, run->raw);
    req.result_json = FailureResultJson(Meta(run->msg), exc, FormatTraceback(error));
    if (run->execute) {
      const uint64_t seq = run->seq_offset + (++run->count);
      req.event_json =
          BuildFailureEvent(run->ids, config_.node_id, error, SecondsSince(run->start), seq, "")
              .dump();
      req.event_seq = seq;
      req.event_execution_id = run->ids.execution_id;
      req.event_status = "FAILURE";
    }
    ++failed_;
    run->watchdog_finish =
        publisher_.Submit([req = std::move(req)](RedisClient& r) { return FinishTask(r, req); })
            .share();
  }

  // ---- state -------------------------------------------------------------------------------

  WorkerOptions options_;
  const NodeConfig& config_;
  const std::string hostname_;
  const std::string token_;
  const std::string processing_key_;
  runtime::RuntimeOptions runtime_;
  int64_t recovery_interval_ms_ = 1000;
  std::unique_ptr<RedisClient> redis_;        // runners, monitor, heartbeat (serialized)
  std::unique_ptr<RedisClient> fetch_redis_;  // the fetcher only (blocking BLMOVE)
  StatusPublisher publisher_;                 // its own connection
  Leases leases_;
  Heartbeat heartbeat_;

  std::mutex lifecycle_mu_;
  bool started_ = false;
  bool shut_down_ = false;
  bool leaked_ = false;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Admitted>> handoff_;
  int64_t idle_runners_ = 0;
  std::map<std::string, std::shared_ptr<TaskRun>> running_;
  std::multiset<std::string> owned_;  // raw messages admitted by this instance, not yet done
  bool stop_fetch_ = false;
  bool stop_runners_ = false;
  bool stop_monitor_ = false;

  std::thread fetcher_;
  std::thread monitor_;
  std::vector<std::thread> runners_;

  std::atomic<uint64_t> fetched_{0}, succeeded_{0}, failed_{0}, retried_{0}, dead_lettered_{0},
      revoked_{0}, parked_{0}, worker_lost_{0}, recovered_{0};
};

// ---- Worker ----------------------------------------------------------------------------------

StatusOr<std::unique_ptr<Worker>> Worker::Create(WorkerOptions options,
                                                 std::unique_ptr<RedisClient> redis) {
  if (!redis) return InternalError("no_redis", "Worker::Create needs a Redis client");
  if (options.config.node_id.empty()) {
    return ParameterError("missing_field", "NODE_ID is required");
  }
  if (options.config.max_concurrent_tasks < 1) {
    return ParameterError("out_of_range", "MAX_CONCURRENT_TASKS must be >= 1");
  }
  if (options.config.lease_ttl_s < 1 || options.config.lease_renew_s < 1) {
    return ParameterError("out_of_range", "lease TTL and renew interval must be >= 1 s");
  }
  VEIL_RETURN_IF_ERROR(redis->Ping());
  VEIL_ASSIGN_OR_RETURN(std::unique_ptr<RedisClient> fetch_redis, redis->NewConnection());
  VEIL_ASSIGN_OR_RETURN(std::unique_ptr<RedisClient> publisher_redis, redis->NewConnection());
  return std::unique_ptr<Worker>(new Worker(std::make_unique<Impl>(
      std::move(options), std::move(redis), std::move(fetch_redis), std::move(publisher_redis))));
}

Worker::Worker(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Worker::~Worker() {
  if (!impl_) return;
  impl_->Shutdown();
  if (impl_->leaked()) (void)impl_.release();  // detached runner threads still reference it
}

Status Worker::Start() { return impl_->Start(); }
void Worker::Shutdown() { impl_->Shutdown(); }

Status Worker::Run(const CancelToken& stop) {
  VEIL_RETURN_IF_ERROR(Start());
  while (!stop.cancelled()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  Shutdown();
  return Status();
}

WorkerStats Worker::stats() const { return impl_->Stats(); }
nlohmann::json Worker::RunningTasks() const { return impl_->RunningTasks(); }
const std::string& Worker::token() const { return impl_->token(); }

}  // namespace veil::worker
