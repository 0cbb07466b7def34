// Status events (python-worker.md §3, SPEC §5): what a running execution tells the outside world.
//
// An event is one JSON object with the Python worker's fields
//   {execution_id, task_id, subtask_id, status: RUNNING|SUCCESS|FAILURE|RETRY,
//    timestamp (ISO 8601 UTC, "Z"), data: {stage, progress?, task_id, subtask_id, execution_id,
//    ...stage extras}, worker_container, task_name: "tasks.secretflow.execute_task"}
// plus veil's `seq` (per execution, from 1, strictly increasing), `event_id` (UUID v4: an
// idempotency key for consumers that see an event twice) and `party` when the event comes from
// one party's run.
//
// EventSink is where events go (stderr JSON lines, a file, Redis in the worker, memory in tests);
// EventEmitter builds the events of one execution and enforces the terminal rule: exactly one
// SUCCESS or FAILURE, after which every event is dropped (and logged).
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "veil/base/status.h"

namespace veil::runtime {

// worker_container when no NODE_ID is configured (the Python default was "secretflow-worker").
inline constexpr char kDefaultNodeId[] = "veil-local";
// The Celery task name every execute event carries (python-worker.md §3).
inline constexpr char kExecuteTaskName[] = "tasks.secretflow.execute_task";

enum class EventStatus { kRunning, kSuccess, kFailure, kRetry };
// "RUNNING", "SUCCESS", "FAILURE", "RETRY".
std::string_view EventStatusName(EventStatus status);
inline bool IsTerminal(EventStatus s) {
  return s == EventStatus::kSuccess || s == EventStatus::kFailure;
}

struct StatusEvent {
  std::string execution_id;
  std::string task_id;
  std::string subtask_id;
  EventStatus status = EventStatus::kRunning;
  std::string timestamp;         // ISO 8601 UTC with "Z"
  nlohmann::json data;           // {stage, progress?, ids..., extras}
  std::string worker_container;  // node id
  std::string task_name = kExecuteTaskName;
  uint64_t seq = 0;
  std::string event_id;
  std::optional<std::string> party;

  nlohmann::json ToJson() const;
};

// Receives published events. Publish must be thread-safe and must not throw; a sink that cannot
// deliver (disk full, Redis down) logs and drops, it never fails the task.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void Publish(const nlohmann::json& event) = 0;
};

// One compact JSON object per line, flushed after each line.
class JsonLinesSink : public EventSink {
 public:
  // Writes to `out` (e.g. stderr); not owned, must outlive the sink.
  explicit JsonLinesSink(std::FILE* out) : out_(out), owned_(false) {}
  // Opens `path` for appending (created if missing). Fails with ResourceError "open_failed".
  static StatusOr<std::unique_ptr<JsonLinesSink>> Open(const std::string& path);
  ~JsonLinesSink() override;
  JsonLinesSink(const JsonLinesSink&) = delete;
  JsonLinesSink& operator=(const JsonLinesSink&) = delete;

  void Publish(const nlohmann::json& event) override;

 private:
  JsonLinesSink(std::FILE* out, bool owned) : out_(out), owned_(owned) {}
  std::mutex mu_;
  std::FILE* out_;
  bool owned_;
};

// Keeps every event in memory (tests, and the CLI when it wants to inspect events).
class MemorySink : public EventSink {
 public:
  void Publish(const nlohmann::json& event) override;
  std::vector<nlohmann::json> events() const;
  // The data.stage of every event, in publish order.
  std::vector<std::string> stages() const;

 private:
  mutable std::mutex mu_;
  std::vector<nlohmann::json> events_;
};

// Forwards each event to every added sink, in the order added. Sinks are not owned.
class FanOutSink : public EventSink {
 public:
  FanOutSink() = default;
  explicit FanOutSink(std::vector<EventSink*> sinks) : sinks_(std::move(sinks)) {}
  void Add(EventSink* sink);
  void Publish(const nlohmann::json& event) override;

 private:
  std::mutex mu_;
  std::vector<EventSink*> sinks_;
};

// The ids every event of one execution carries.
struct EventIds {
  std::string execution_id;
  std::string task_id;
  std::string subtask_id;
};

// Builds and publishes the events of ONE execution. Thread-safe: seq numbers are assigned and
// events published under one lock, so a sink sees them in seq order.
// Data passes through RedactSecrets before it is published.
class EventEmitter {
 public:
  // `sink` may be null (events are built, numbered and dropped). Not owned.
  EventEmitter(EventSink* sink, EventIds ids, std::string worker_container = kDefaultNodeId);
  EventEmitter(const EventEmitter&) = delete;
  EventEmitter& operator=(const EventEmitter&) = delete;

  // Publishes an event with data = {stage, progress (if set), ids..., extra...}. Returns false
  // (and logs) if it was dropped because a terminal event was already emitted.
  bool Emit(EventStatus status, const std::string& stage, std::optional<double> progress,
            nlohmann::json extra = nlohmann::json::object(),
            std::optional<std::string> party = std::nullopt);
  bool Running(const std::string& stage, std::optional<double> progress,
               nlohmann::json extra = nlohmann::json::object(),
               std::optional<std::string> party = std::nullopt) {
    return Emit(EventStatus::kRunning, stage, progress, std::move(extra), std::move(party));
  }
  // SUCCESS "task_completed", progress 1.0.
  bool Success(nlohmann::json extra);
  // FAILURE "task_failed" with FailureData(error, execution_time_s).
  bool Failure(const Status& error, double execution_time_s);
  // RETRY "task_retrying": {retry_count, max_retries, error, error_type, error_code,
  // next_retry_at}.
  bool Retry(const Status& error, int retry_count, int max_retries,
             const std::string& next_retry_at);

  bool terminal_emitted() const;
  uint64_t last_seq() const;
  const EventIds& ids() const { return ids_; }
  const std::string& worker_container() const { return worker_container_; }

 private:
  EventSink* sink_;
  EventIds ids_;
  std::string worker_container_;
  mutable std::mutex mu_;
  uint64_t seq_ = 0;
  bool terminal_ = false;
};

// The task_failed extras of `error`: {error (message), error_type, error_code, error_stage (where
// it failed: Status::stage()), execution_time (s), failed_at, problems? [{path, code, message}]}.
// data.stage itself is the event's stage, "task_failed".
nlohmann::json FailureData(const Status& error, double execution_time_s);

}  // namespace veil::runtime
