// Celery protocol v2 on Redis, byte for byte: the task envelope a Python `send_task` LPUSHes,
// the queue keys kombu uses for priorities, and the result-backend values a stock Python
// `AsyncResult.get()` understands. Pure functions: no I/O, no global state. The wire format is
// documented in shared/reference/celery-redis-and-orchestration.md §1; every field here was
// checked against celery 5.2.6 / kombu 5.2.4 (the test suite runs the real Python libraries).
//
// Decoding (`DecodeTaskMessage`) is strict: anything that a Python worker would have to guess
// about (pickle, compression, protocol v1, a missing id) is refused with a ParameterError whose
// code names the problem, so the worker can log it and dead-letter the raw message:
//
//   code                 meaning
//   invalid_json         the envelope is not a JSON object
//   bad_content_type     content-type is not application/json (pickle/msgpack/yaml are refused)
//   bad_encoding         content-encoding is not utf-8, properties.body_encoding is not base64,
//                        or the decoded body is not UTF-8
//   bad_base64           the body is not valid base64
//   compressed_message   headers.compression is set
//   protocol_v1          no headers.task but a protocol-v1 body (task/id inside the body)
//   missing_header       headers.task or headers.id is missing (the message names which)
//   bad_header           a header has the wrong type or an unparseable timestamp
//   bad_body             the body is not JSON [args(list), kwargs(object), embed(object|null)]
//
// Encoding (`EncodeTaskMessage`) reproduces Python's bytes exactly (json.dumps separators,
// ensure_ascii, key order, celery's saferepr for argsrepr/kwargsrepr) when given the same ids.
//
// Result values: Python Celery's meta layout {"status", "result", "traceback", "children",
// "date_done", ["group_id"], ["parent_id"], "task_id"}. FAILURE/RETRY/REVOKED carry an
// exception record {"exc_type", "exc_message": [..], "exc_module"} that celery's
// `Backend.exception_to_python` turns into a raised exception. veil's error types map to it as
// follows (see `CeleryExceptionFor`):
//
//   veil ErrorType              exc_module           exc_type                  Python raises
//   ParameterValidationError    veil.errors          ParameterValidationError  synthesized class
//   ClusterInitError            veil.errors          ClusterInitError          synthesized class
//   DeviceConfigError           veil.errors          DeviceConfigError         synthesized class
//   NetworkError                veil.errors          NetworkError              synthesized class
//   ResourceError               veil.errors          ResourceError             synthesized class
//   AlgorithmError              veil.errors          AlgorithmError            synthesized class
//   ResultSaveError             veil.errors          ResultSaveError           synthesized class
//   TimeoutError                builtins             TimeoutError builtins.TimeoutError
//   CancelledError              celery.exceptions    TaskRevokedError          TaskRevokedError
//   InternalError               builtins             RuntimeError builtins.RuntimeError (unknown
//   task name)         celery.exceptions    NotRegistered             NotRegistered
//
// "Synthesized": celery looks the module up in sys.modules only (it never imports), finds no
// `veil.errors`, and creates `celery.exceptions.<exc_type>(Exception)` on the fly, so the
// client sees `type(e).__name__ == "ParameterValidationError"` and `str(e) == message` — the
// same class names the Python worker's utils.exceptions used. A Python client that wants real
// classes may register a module named `veil.errors` in sys.modules. The exception record also
// carries an extra key "veil_error" {type, code, message, stage, problems} that celery ignores
// and the web layer can read for the stable machine-readable code.
//
// Thread safety: every function is reentrant.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "veil/base/status.h"
#include "veil/worker/lua_fragments.h"

namespace veil::worker {

using TimePoint = std::chrono::system_clock::time_point;

// ---- Names and defaults ---------------------------------------------------------------------

inline constexpr std::string_view kDefaultTaskQueue = "secretflow_queue";
// kombu's Redis transport: "<queue>\x06\x16<bucket>" for buckets 3, 6, 9; bucket 0 is "<queue>".
inline constexpr std::string_view kPriorityQueueSeparator = "\x06\x16";
inline constexpr int kMinPriority = 0;  // the most urgent on Redis
inline constexpr int kMaxPriority = 9;
inline constexpr std::string_view kResultKeyPrefix = "celery-task-meta-";
inline constexpr int64_t kDefaultResultExpiresSeconds = 86400;
// celery.app.amqp.AMQP.argsrepr_maxsize / kwargsrepr_maxsize.
inline constexpr size_t kArgsReprMaxChars = 1024;

// Celery task names served by the worker (python-worker.md §2.2).
inline constexpr std::string_view kExecuteTaskName = "tasks.secretflow.execute_task";
inline constexpr std::string_view kHelloTaskName = "tasks.secretflow.hello.hello_task";
inline constexpr std::string_view kPingTaskName = "tasks.secretflow.hello.ping_task";
inline constexpr std::string_view kEchoTaskName = "tasks.secretflow.hello.echo_task";
inline constexpr std::string_view kHealthCheckTaskName =
    "tasks.secretflow.health_check.health_check_task";

// celery.states.
inline constexpr std::string_view kStatePending = "PENDING";
inline constexpr std::string_view kStateStarted = "STARTED";
inline constexpr std::string_view kStateSuccess = "SUCCESS";
inline constexpr std::string_view kStateFailure = "FAILURE";
inline constexpr std::string_view kStateRetry = "RETRY";
inline constexpr std::string_view kStateRevoked = "REVOKED";

// ---- Decoding -------------------------------------------------------------------------------

// One task message as consumed from a queue list.
struct CeleryTaskMessage {
  std::string id;                     // headers.id (= properties.correlation_id); result key suffix
  std::string task;                   // headers.task: the registry name
  std::optional<std::string> shadow;  // headers.shadow: display name only
  nlohmann::json args = nlohmann::json::array();     // body[0]
  nlohmann::json kwargs = nlohmann::json::object();  // body[1]
  nlohmann::json embed;              // body[2]: {callbacks, errbacks, chain, chord} or null
  std::optional<TimePoint> eta;      // do not run before
  std::optional<TimePoint> expires;  // revoke (REVOKED "expired") when received after this
  int64_t retries = 0;
  // headers.timelimit is [hard, soft] (celery's docs say the opposite; the code does not).
  std::optional<double> hard_time_limit_s;
  std::optional<double> soft_time_limit_s;
  bool ignore_result = false;
  std::optional<std::string> root_id;
  std::optional<std::string> parent_id;
  std::optional<std::string> group;
  std::optional<int64_t> group_index;
  std::optional<std::string> origin;  // "<pid>@<host>" of the sender
  std::string lang;                   // "py" from Python senders
  // properties
  std::string delivery_tag;
  std::string reply_to;
  std::string exchange;      // delivery_info.exchange ("" for Celery's anonymous exchange)
  std::string routing_key;   // delivery_info.routing_key (= the queue for direct sends)
  int priority = 0;          // clamped to 0..9 like kombu
  bool redelivered = false;  // headers.redelivered or delivery_info.redelivered (kombu restore)
  std::string raw;           // the envelope exactly as received, for re-queueing and dead-lettering
};

// Parses one kombu Redis envelope (the string a producer LPUSHed). Errors: ParameterError with
// the codes listed at the top of this file and stage "celery_decode"; messages quote the
// offending field. Naive eta/expires timestamps are taken as UTC.
StatusOr<CeleryTaskMessage> DecodeTaskMessage(std::string_view raw);

// ---- Encoding -------------------------------------------------------------------------------

// What `Celery(...).send_task(task, args=..., kwargs=..., queue=...)` would send. Ids left empty
// are generated (random UUIDs; origin "gen<pid>@<hostname>" like celery's anon_nodename).
// args/kwargs are ordered JSON so that a caller's key order survives into the bytes.
struct SendRequest {
  std::string task;  // required
  nlohmann::ordered_json args = nlohmann::ordered_json::array();
  nlohmann::ordered_json kwargs = nlohmann::ordered_json::object();
  std::string queue = std::string(kDefaultTaskQueue);
  int priority = 0;  // 0..9 (clamped); 0 is the most urgent on Redis
  std::optional<TimePoint> eta;
  std::optional<TimePoint> expires;  // also sets properties.expiration (ms from `now`)
  std::optional<double> hard_time_limit_s;
  std::optional<double> soft_time_limit_s;
  int64_t retries = 0;
  bool ignore_result = false;
  std::string task_id;  // empty: random UUID
  std::string root_id;  // empty: task_id
  std::optional<std::string> parent_id;
  std::optional<std::string> group_id;
  std::optional<int64_t> group_index;
  std::optional<std::string> shadow;
  std::string origin;        // empty: "gen<pid>@<hostname>"
  std::string reply_to;      // empty: random UUID (only the rpc:// backend reads it)
  std::string delivery_tag;  // empty: random UUID
  std::string lang = "py";   // "py" keeps Python tooling (flower, inspect) happy
};

// The envelope bytes to LPUSH onto QueueKeyForPriority(req.queue, req.priority). `now` is used
// only for properties.expiration. Never fails: a non-list `args` is sent as [args] and a
// non-object `kwargs` as {} (callers validate their own input).
std::string EncodeTaskMessage(const SendRequest& req);
std::string EncodeTaskMessage(const SendRequest& req, TimePoint now);

// kombu's list key for a priority: 0–2 → queue, 3–5 → queue\x06\x163, 6–8 → …6, 9 → …9.
// Priorities outside 0..9 are clamped first.
std::string QueueKeyForPriority(std::string_view queue, int priority);
// The four list keys in the order kombu's BRPOP lists them (most urgent first).
std::vector<std::string> QueueKeysInPriorityOrder(std::string_view queue);

// ---- Result backend -------------------------------------------------------------------------

// "celery-task-meta-<task_id>".
std::string ResultKey(std::string_view task_id);

// The fields every result value carries besides status/result/traceback. Build it with
// designated initializers, e.g. ResultMeta{.task_id = msg.id, .parent_id = msg.parent_id}.
struct ResultMeta {
  std::string task_id;
  std::optional<std::string> parent_id;  // echoed from the message when present
  std::optional<std::string> group_id;
};

// An exception record as celery serializes it with the JSON serializer.
struct CeleryException {
  std::string exc_type;
  std::string exc_module;
  nlohmann::ordered_json exc_message = nlohmann::ordered_json::array();  // always a list
  nlohmann::ordered_json veil_error;  // null, or {type, code, message, stage, problems}
};

// The mapping documented at the top of this file; exc_message is [error.message()].
CeleryException CeleryExceptionFor(const Status& error);
// celery.exceptions.NotRegistered(task_name), as a Python worker stores for an unknown task.
CeleryException NotRegisteredException(std::string_view task_name);
// celery.exceptions.TaskRevokedError(reason), e.g. reason "revoked" or "expired".
CeleryException TaskRevokedException(std::string_view reason);
// A readable stand-in for Python's traceback text: type[code], stage, message, problems.
std::string FormatTraceback(const Status& error);

// Result JSON values (the exact bytes Python's Redis backend would SETEX). date_done is written
// as ISO 8601 with "+00:00" for the ready states and null otherwise, as celery does.
// `result` is ordered JSON so that a caller's key order survives; nlohmann::json converts.
std::string SuccessResultJson(const ResultMeta& meta, const nlohmann::ordered_json& result,
                              TimePoint date_done = std::chrono::system_clock::now());
std::string FailureResultJson(const ResultMeta& meta, const CeleryException& exc,
                              const std::optional<std::string>& traceback,
                              TimePoint date_done = std::chrono::system_clock::now());
// FAILURE for a veil error: CeleryExceptionFor + FormatTraceback.
std::string FailureResultJson(const ResultMeta& meta, const Status& error,
                              TimePoint date_done = std::chrono::system_clock::now());
// FAILURE NotRegistered(task_name), traceback null.
std::string NotRegisteredResultJson(const ResultMeta& meta, std::string_view task_name,
                                    TimePoint date_done = std::chrono::system_clock::now());
// STARTED {"pid", "hostname"} (task_track_started); date_done null.
std::string StartedResultJson(const ResultMeta& meta, int64_t pid, std::string_view hostname);
// RETRY with the exception that caused the retry; date_done null.
std::string RetryResultJson(const ResultMeta& meta, const Status& cause);
// REVOKED TaskRevokedError(reason), traceback null.
std::string RevokedResultJson(const ResultMeta& meta, std::string_view reason,
                              TimePoint date_done = std::chrono::system_clock::now());

// The value a Python-worker client gets from `AsyncResult.get()` for execute_task
// (python-worker.md §2.4): {task_id, subtask_id, execution_id, result: final_result,
// completed_at}. Store it with SuccessResultJson so that existing clients keep their
// `["result"]["result"]` extraction paths.
nlohmann::json PythonWorkerSuccessWrapper(std::string_view task_id, std::string_view subtask_id,
                                          std::string_view execution_id,
                                          const nlohmann::json& final_result,
                                          std::string_view completed_at);

// EVAL script: store a result unless the stored one is already SUCCESS (celery's guard against
// duplicate execution, done atomically here), then PUBLISH it on the key's channel so that a
// waiting `AsyncResult.get()` wakes up. KEYS[1] = result key, ARGV[1] = result JSON,
// ARGV[2] = TTL in seconds (<= 0: no expiry). Returns 1 if stored, 0 if SUCCESS was kept.
inline constexpr std::string_view kStoreResultScript = VEIL_LUA_STORE_RESULT_FN R"lua(
return store_result(KEYS[1], ARGV[1], ARGV[2])
)lua";

// ---- Building blocks, exposed for tests and for other Python-facing writers ------------------

// Python's json.dumps(value) with default arguments: ", " and ": " separators, ensure_ascii
// (non-ASCII as \uXXXX, surrogate pairs above U+FFFF), floats as Python's repr. Non-finite
// floats become null; invalid UTF-8 becomes U+FFFD.
std::string PythonJsonDumps(const nlohmann::ordered_json& value);
std::string PythonJsonDumps(const nlohmann::json& value);
// Python's repr(float) ("0.1", "1e-05", "1e+16", "100.0").
std::string PythonFloatRepr(double value);
// celery.utils.saferepr.saferepr(value, max_chars) (maxlevels 3) for JSON values; used for the
// argsrepr/kwargsrepr headers. `as_tuple` renders a list with parentheses.
std::string CelerySafeRepr(const nlohmann::ordered_json& value, size_t max_chars,
                           bool as_tuple = false);
// datetime.isoformat() of a UTC time: "2026-11-21T22:05:08.420191+00:00", without the
// fraction when it is zero.
std::string PythonIsoformatUtc(TimePoint tp);
// ISO 8601 date-time: "YYYY-MM-DD[T ]HH:MM[:SS[.fraction]][Z|±HH:MM|±HHMM|±HH]". A naive
// value is taken as UTC. Errors: ParameterError "bad_timestamp".
StatusOr<TimePoint> ParseIso8601(std::string_view text);

}  // namespace veil::worker
