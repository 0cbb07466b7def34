// The executor: runs one validated envelope through the task skeleton (STYLE habit 7)
//
//   task_started → cluster_init: build links (local: in-memory world of every party; cluster:
//   TCP for self_party), connect, compare the peer-config digest, ready barrier
//   → cluster_initialized → device_creation → devices_initialized → task_execution: run the
//   task (local: every party on its own thread; cluster: this node's party), forwarding its
//   progress → task_completed (SUCCESS) | task_failed (FAILURE)
//
// emitting the Python worker's RUNNING stages (python-worker.md §3) with their progress values
// and extras, and returns the SPEC §4.4 result:
//   {"status": "success", "result": <task result>,
//    "performance_metrics": {total_execution_time, cluster_init_time, device_init_time,
//       algorithm_exec_time, overhead_time (s, 4 dp), cluster_init_percentage,
//       device_init_percentage, algorithm_exec_percentage, overhead_percentage (1 dp),
//       bytes_sent, bytes_received, rounds, messages_sent (summed over this process's parties;
//       the skeleton's digest and barrier messages included),
//       per_party: {name: {bytes_sent, bytes_received, rounds, messages_sent}}},
//    "task_metadata": {task_id, subtask_id, execution_id, task_type, mode ("local"|"cluster"),
//       parties, self_party (cluster), started_at, completed_at, devices_used}}
//
// Failures: Execute returns the Status of the FIRST real error, tagged with the stage where it
// happened (Status::stage(): "validation", "cluster_init", "device_creation", "task_execution",
// "task_completed"), after emitting one FAILURE task_failed event. In local mode a failing
// party's links are closed and the execution's cancel token is cancelled, so the other parties
// stop at their next receive instead of hanging; their secondary errors (peer_lost,
// peer_failed) are never reported in place of the root cause. Exceptions never escape.
// Links (and sockets) are closed before Execute returns and before the terminal event is
// published, so a consumer that sees SUCCESS/FAILURE may reuse the ports.
//
// Thread safety: Execute may run concurrently for different envelopes; all state is per call.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "veil/base/cancel.h"
#include "veil/base/status.h"
#include "veil/link/context.h"
#include "veil/runtime/envelope.h"
#include "veil/runtime/events.h"
#include "veil/tasks/registry.h"
#include "veil/tasks/task.h"

namespace veil::runtime {

// Version of veil's execution protocol (skeleton messages, digest document). Part of the peer
// config digest, so nodes of different protocol versions refuse each other before any work.
inline constexpr int kPeerProtocolVersion = 1;

// Stage names (python-worker.md §3) and the stage tags of errors.
inline constexpr char kStageValidation[] = "validation";
inline constexpr char kStageTaskStarted[] = "task_started";
inline constexpr char kStageClusterInit[] = "cluster_init";
inline constexpr char kStageClusterInitialized[] = "cluster_initialized";
inline constexpr char kStageDeviceCreation[] = "device_creation";
inline constexpr char kStageDevicesInitialized[] = "devices_initialized";
inline constexpr char kStageTaskExecution[] = "task_execution";
inline constexpr char kStageTaskCompleted[] = "task_completed";
inline constexpr char kStageTaskFailed[] = "task_failed";

// Progress of the skeleton stages, and the band [kTaskProgressStart, kTaskProgressStart +
// kTaskProgressSpan] into which a task's own progress p ∈ [0, 1] is mapped.
inline constexpr double kTaskProgressStart = 0.5;
inline constexpr double kTaskProgressSpan = 0.45;

// Error code of the secondary error the other local parties see when one party fails.
using link::kPeerFailedCode;  // a peer aborted (link/transport.h)

struct ExecuteOptions {
  // Where events go when `emitter` is null (null: events are dropped). Not owned.
  EventSink* events = nullptr;
  // Optional emitter shared with the caller (the worker emits celery_task_started before and
  // RETRY / task_failed_final after, continuing the same seq). Not owned.
  EventEmitter* emitter = nullptr;
  // false: on failure Execute emits no terminal event; the caller decides between RETRY and a
  // final FAILURE (SPEC §5: "RETRY precedes a retry; FAILURE only when final").
  bool emit_failure_event = true;
  // worker_container of the events (NODE_ID).
  std::string node_id = kDefaultNodeId;
  // Cancels the execution (time limit, shutdown); its reason becomes the error. May be null.
  std::shared_ptr<CancelToken> cancel;
  // Task types; nullptr = tasks::BuiltinRegistry(). Must hold envelope.task_type.
  const tasks::TaskRegistry* registry = nullptr;
};

// Runs `envelope` (already validated by ParseEnvelope). See the file comment.
StatusOr<nlohmann::json> Execute(const Envelope& envelope, const ExecuteOptions& options);

// ParseEnvelope + Execute. A validation failure is reported like any other failure: one FAILURE
// task_failed event (stage "validation"; execution_id "unknown" if the envelope has none) and
// the ParameterValidationError. options.registry defaults to runtime_options.registry.
StatusOr<nlohmann::json> ParseAndExecute(const nlohmann::json& envelope,
                                         const RuntimeOptions& runtime_options,
                                         const ExecuteOptions& options);

// ---- peer config digest (exposed for tests and diagnostics) ------------------------------

// What every party of the execution must agree on: {protocol_version, task_type, parties (rank
// order), peer_config: TaskType::peer_config(task_config) (null without one), spu: {protocol,
// field, runtime_config} when the task needs SPU (else null)}.
nlohmann::json PeerConfigDocument(const Envelope& envelope, const tasks::TaskType& type);
// Lower-case hex SHA-256 of the canonical JSON of `document` (keys sorted, compact).
std::string PeerConfigDigest(const nlohmann::json& document);
// AllGathers `digest_hex` over `ctx` and compares. On a difference: ParameterValidationError
// "peer_config_mismatch" naming every party whose digest differs from this party's, with one
// problem per such party at path "peer_config.<party>".
Status CheckPeerConfig(link::Context& ctx, const std::string& digest_hex);

}  // namespace veil::runtime
