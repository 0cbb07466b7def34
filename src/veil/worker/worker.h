// `veil worker` (SPEC §5): a Celery-compatible node daemon on Redis that never loses a task.
//
//   VEIL_ASSIGN_OR_RETURN(auto redis, RedisHiredisClient::Connect(config.redis));
//   VEIL_ASSIGN_OR_RETURN(auto worker, Worker::Create({.config = config}, std::move(redis)));
//   VEIL_RETURN_IF_ERROR(worker->Run(*stop_token));   // until SIGTERM; then a graceful shutdown
//
// Threads (each with its own Redis connection where it blocks):
//  - fetcher: when a run slot is free (MAX_CONCURRENT_TASKS runners, prefetch 1) it moves the next
//    message from the kombu lists into `veil:processing:<NODE_ID>` (queue.h FetchMessage) and
//    admits it: malformed → dead-letter list; `expires` passed → REVOKED; `eta` in the future →
//    the delayed set; otherwise it takes the task's lease (lease.h) and reads the task record.
//    It also promotes due delayed messages (it is the scheduler) and runs the recovery sweep at
//    start-up and every VEIL_LEASE_RENEW_SECONDS: every message of the processing list that this
//    instance does not hold and whose lease is free is admitted again; its record decides:
//    finished → LREM; started (the previous run died) → FAILURE WorkerLostError
//    (celery.exceptions) with its one terminal task_failed event; never started → run.
//  - runners: record "started", STARTED in the result backend ({pid, hostname}), then
//      execute_task: RUNNING celery_task_started, runtime::ParseAndExecute through the same
//        emitter (seq continues), then SUCCESS = PythonWorkerSuccessWrapper(... final_result +
//        celery_metadata ...) or the SPEC §4.3 retry policy: NetworkError → exponential backoff,
//        at most 3 retries; ResourceError → a delayed retry, at most 5; anything else final.
//        A retry emits RETRY task_retrying and re-queues the message (headers.retries + 1, eta)
//        into the delayed set; a final failure stores FAILURE and emits FAILURE task_failed.
//      hello/ping/echo/health_check: builtin_tasks.h; unknown names: FAILURE NotRegistered.
//    The outcome is stored by one atomic FinishTask (result + terminal event + record + LREM +
//    lease release), queued behind the task's earlier events on the status publisher, so events
//    stay in seq order and a crash at any point leaves exactly one terminal event.
//  - monitor: time limits (headers.timelimit [hard, soft] override TASK_TIME_LIMIT /
//    TASK_SOFT_TIME_LIMIT): soft → the task's CancelToken gets TimeoutError "soft_time_limit"
//    (links close, FAILURE TimeoutError); hard → if still running, FAILURE TimeLimitExceeded
//    (TimeoutError "hard_time_limit") with its terminal event at once, the task is cancelled and
//    its later completion ignored. Also renews the leases every VEIL_LEASE_RENEW_SECONDS.
//  - heartbeat (heartbeat.h) and the status publisher (status_publisher.h).
//
// Shutdown (SIGTERM): stop fetching; running tasks get VEIL_SHUTDOWN_GRACE_SECONDS to finish,
// then are cancelled (they end FAILURE CancelledError "worker_shutdown"); events are flushed.
// Messages never fetched stay queued; a message fetched but not yet started goes back to the
// front of its list. Redis outages: the client reconnects (redis_client.h); messages leave the
// processing list only after their outcome is stored, so nothing is lost.
//
// Errors: Create fails on a bad configuration or when Redis cannot be reached (the client's
// errors). Task errors never escape: every exception becomes a FAILURE of that task.
// Thread safety: Start/Shutdown/Run from one thread; stats() and RunningTasks() from any.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "veil/base/cancel.h"
#include "veil/base/status.h"
#include "veil/tasks/registry.h"
#include "veil/worker/node_config.h"
#include "veil/worker/redis_client.h"

namespace veil::worker {

inline constexpr int kMaxNetworkRetries = 3;
inline constexpr int kMaxResourceRetries = 5;
// NetworkError retry n (0-based) waits kDefaultRetryBackoffMs · 2^n; ResourceError retries wait
// kDefaultResourceRetryDelayMs. VEIL_RETRY_BACKOFF_MS (read by the CLI) sets both (tests).
inline constexpr int64_t kDefaultRetryBackoffMs = 2000;
inline constexpr int64_t kDefaultResourceRetryDelayMs = 5000;
inline constexpr int64_t kFetchBlockMs = 1000;
inline constexpr int64_t kShutdownCancelWaitMs = 15000;
inline constexpr int64_t kPublisherFlushTimeoutMs = 5000;
// The task record outlives the result by this much (recovery needs it while the message waits).
inline constexpr int64_t kTaskRecordTtlSeconds = 7 * 86400;

struct WorkerOptions {
  NodeConfig config;
  std::string version = "0.0.0";
  std::string hostname;  // the Celery worker hostname; empty: config.hostname()
  int64_t retry_backoff_ms = kDefaultRetryBackoffMs;
  int64_t resource_retry_delay_ms = kDefaultResourceRetryDelayMs;
  int64_t fetch_block_ms = kFetchBlockMs;
  int64_t recovery_interval_ms = 0;  // 0: VEIL_LEASE_RENEW_SECONDS
  // Task types; nullptr = tasks::BuiltinRegistry(). Not owned.
  const tasks::TaskRegistry* registry = nullptr;
  // Cancelled when the shutdown gives up on Redis (so reconnect loops end). May be null.
  std::shared_ptr<CancelToken> redis_abort;
};

struct WorkerStats {
  uint64_t fetched = 0;
  uint64_t succeeded = 0;
  uint64_t failed = 0;
  uint64_t retried = 0;
  uint64_t dead_lettered = 0;
  uint64_t revoked = 0;
  uint64_t parked = 0;
  uint64_t worker_lost = 0;  // recovered as WorkerLostError
  uint64_t recovered = 0;    // re-admitted by the recovery sweep
};

class Worker {
 public:
  // `redis` is the main connection; the worker opens more with NewConnection().
  static StatusOr<std::unique_ptr<Worker>> Create(WorkerOptions options,
                                                  std::unique_ptr<RedisClient> redis);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  Status Start();
  // Graceful stop (see the file comment). Idempotent.
  void Shutdown();
  // Start, wait until `stop` is cancelled, Shutdown.
  Status Run(const CancelToken& stop);

  WorkerStats stats() const;
  // [{celery_id, task_name, execution_id, task_type, started_at}]
  nlohmann::json RunningTasks() const;
  // This instance's lease token.
  const std::string& token() const;

  class Impl;

 private:
  explicit Worker(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace veil::worker
