// The worker's reliable queue on Redis (SPEC §5 "never loses a task"): key names, the fetch
// that moves a message from the kombu lists into the node's processing list, and the atomic
// (Lua) transitions that take it out again only once its outcome is stored.
//
//   kombu lists ── LMOVE/BLMOVE ──▶ veil:processing:<NODE_ID> ──▶ FinishTask (result + terminal
//   (producers LPUSH)                        │                     event + record, then LREM)
//                                            ├──▶ ParkMessage / ScheduleRetry ──▶ veil:delayed:<q>
//                                            │       (sorted set by due time) ──PromoteDue──▶ kombu
//                                            list ├──▶ DeadLetter ──▶ veil:dead_letter:<q> └──▶
//                                            RestoreMessage (shutdown) ──▶ front of the kombu list
//
// Every transition is one EVAL that first LREMs the message from the processing list and does
// the rest only when it was there, so each may be re-sent after a lost reply (they are called
// with RedisRetry::kIdempotent) and a crash between two steps cannot duplicate or lose a
// message. FinishTask instead guards on the task record (state "finished").
//
// Keys (per node; a node has its own Redis):
//   veil:processing:<NODE_ID>   list   messages fetched by this node and not yet finished
//   veil:delayed:<queue>        zset   raw messages scored by due time (ms since the epoch)
//   veil:dead_letter:<queue>    list   JSON {raw, error: {type, code, message}, node_id, at}
//   veil:task:<celery_id>       hash   the task record: state (received | started |
//                                      retry_pending | finished), task, execution_id, worker,
//                                      started_at, finished_at, attempt, last_seq (last status
//                                      event published), seq_base (seq before a retry),
//                                      terminal_emitted
//   veil:lease:<celery_id>      string the lease token of the worker instance running it
//
// Errors: the RedisClient's (NetworkError "redis_unavailable"/"redis_reply_lost", ...).
// Thread safety: free functions; the RedisClient passed in decides (see redis_client.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "veil/base/status.h"
#include "veil/worker/celery_codec.h"
#include "veil/worker/lua_fragments.h"
#include "veil/worker/redis_client.h"

namespace veil::worker {

inline constexpr std::string_view kProcessingKeyPrefix = "veil:processing:";
inline constexpr std::string_view kDelayedKeyPrefix = "veil:delayed:";
inline constexpr std::string_view kDeadLetterKeyPrefix = "veil:dead_letter:";
inline constexpr std::string_view kTaskRecordKeyPrefix = "veil:task:";
inline constexpr std::string_view kLeaseKeyPrefix = "veil:lease:";

// Task record states.
inline constexpr std::string_view kRecordReceived = "received";
inline constexpr std::string_view kRecordStarted = "started";
inline constexpr std::string_view kRecordRetryPending = "retry_pending";
inline constexpr std::string_view kRecordFinished = "finished";

std::string ProcessingKey(std::string_view node_id);
std::string DelayedKey(std::string_view queue);
std::string DeadLetterKey(std::string_view queue);
std::string TaskRecordKey(std::string_view celery_id);
std::string LeaseKey(std::string_view celery_id);

// Milliseconds since the Unix epoch (the delayed set's score).
int64_t EpochMs(TimePoint tp);

// Moves the next message of `queue` into `processing`: a non-blocking LMOVE (RIGHT → LEFT, FIFO
// like kombu's BRPOP) from each priority bucket in QueueKeysInPriorityOrder, then, when all are
// empty, BLMOVE from the base list waiting up to block_ms (> 0). nullopt when nothing arrived.
StatusOr<std::optional<std::string>> FetchMessage(RedisClient& redis, std::string_view queue,
                                                  std::string_view processing, int64_t block_ms);

// LREM processing 1 raw.
Status RemoveFromProcessing(RedisClient& redis, std::string_view processing, std::string_view raw);

// Moves `raw` from processing to the dead-letter list of `queue` as
// {raw, error: {type, code, message}, node_id, at}.
Status DeadLetter(RedisClient& redis, std::string_view processing, std::string_view queue,
                  std::string_view raw, const Status& error, std::string_view node_id);

// Moves `raw` from processing into the delayed set of `queue`, due at `due`.
Status ParkMessage(RedisClient& redis, std::string_view processing, std::string_view queue,
                   std::string_view raw, TimePoint due);

// Moves up to `limit` due messages of the delayed set back to their kombu list (LPUSH onto the
// list of their priority, like a new publish). Returns how many moved. A member that does not
// decode goes to the kombu base list, where the fetch dead-letters it.
StatusOr<int> PromoteDue(RedisClient& redis, std::string_view queue, TimePoint now, int limit);

// The due time of the earliest delayed message, if any.
StatusOr<std::optional<TimePoint>> NextDue(RedisClient& redis, std::string_view queue);

// Shutdown: moves a fetched-but-never-started message back to the front of its kombu list.
Status RestoreMessage(RedisClient& redis, std::string_view processing, std::string_view queue,
                      std::string_view raw);

// The end of a task: one atomic step, safe to re-send.
struct FinishRequest {
  std::string celery_id;
  std::string processing_key;
  std::string raw;           // the message as it sits in the processing list
  std::string result_json;   // celery-task-meta value; empty: no result (ignore_result)
  int64_t result_ttl_s = 0;  // 0: no expiry
  // The terminal status event (JSON text) with its seq; empty: none (non-execute tasks).
  std::string event_json;
  uint64_t event_seq = 0;
  std::string event_execution_id;
  std::string event_status;  // "SUCCESS" | "FAILURE"
  std::string lease_token;   // the lease is deleted when it still holds this token
  int64_t record_ttl_s = 0;  // EXPIRE of the task record (0: none)
  int64_t stream_max_len = 0;
};
// Stores the result unless a SUCCESS is already stored (and PUBLISHes it on its key's channel);
// publishes the terminal event (PUBLISH task_status_events, LPUSH task_status_queue, XADD
// task_status_stream) unless an event with that seq or a later one was already published for
// this task; marks the record finished (terminal_emitted 1 when an event is given) and LREMs the
// message from processing, both only the first time; releases the lease.
Status FinishTask(RedisClient& redis, const FinishRequest& request);

// A retry (SPEC §4.3): the message goes to the delayed set as `new_raw` (headers.retries + 1,
// headers.eta) and the record records the seq reached so far, the result backend gets RETRY,
// the lease is released. Only when `raw` was still in processing.
struct RetryRequest {
  std::string celery_id;
  std::string processing_key;
  std::string queue;
  std::string raw;
  std::string new_raw;
  TimePoint due;
  uint64_t seq_base = 0;
  std::string retry_result_json;
  int64_t result_ttl_s = 0;
  std::string lease_token;
};
Status ScheduleRetry(RedisClient& redis, const RetryRequest& request);

// The message to re-queue for a retry: `raw` with headers.retries = retries and headers.eta = eta
// (Python isoformat, like celery's Task.retry), and a fresh properties.delivery_tag. Errors:
// ParameterError when raw is not a JSON object.
StatusOr<std::string> WithRetry(std::string_view raw, int64_t retries, TimePoint eta);

// ---- Lua scripts (exposed for the fake's handlers, worker_scripts.h) -------------------------

// KEYS[1] processing, KEYS[2] destination list; ARGV[1] raw, ARGV[2] value to push,
// ARGV[3] "L" (LPUSH) or "R" (RPUSH). Pushes only when the LREM removed something.
inline constexpr std::string_view kMoveFromProcessingScript = R"lua(
local removed = redis.call('LREM', KEYS[1], 1, ARGV[1])
if removed > 0 then
  if ARGV[3] == 'R' then
    redis.call('RPUSH', KEYS[2], ARGV[2])
  else
    redis.call('LPUSH', KEYS[2], ARGV[2])
  end
end
return removed
)lua";

// KEYS[1] processing, KEYS[2] delayed zset; ARGV[1] raw, ARGV[2] score, ARGV[3] member.
inline constexpr std::string_view kParkScript = R"lua(
local removed = redis.call('LREM', KEYS[1], 1, ARGV[1])
if removed > 0 then
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
end
return removed
)lua";

// KEYS[1] delayed zset, KEYS[2] kombu list; ARGV[1] member.
inline constexpr std::string_view kPromoteScript = R"lua(
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
if removed > 0 then
  redis.call('LPUSH', KEYS[2], ARGV[1])
end
return removed
)lua";

// KEYS: 1 result key, 2 record, 3 processing, 4 lease, 5 status list, 6 status stream.
// ARGV: 1 result json ('' = none), 2 result ttl, 3 raw, 4 lease token, 5 event json ('' = none),
// 6 event seq, 7 status channel, 8 stream maxlen, 9 finished_at, 10 execution_id,
// 11 event status, 12 record ttl.
inline constexpr std::string_view kFinishScript =
    VEIL_LUA_STORE_RESULT_FN VEIL_LUA_PUBLISH_EVENT_FN R"lua(
if ARGV[1] ~= '' then store_result(KEYS[1], ARGV[1], ARGV[2]) end
if ARGV[5] ~= '' then
  publish_event(KEYS[5], KEYS[6], KEYS[2], ARGV[7], ARGV[5], ARGV[6], ARGV[8], ARGV[10], ARGV[11])
end
if redis.call('HGET', KEYS[2], 'state') ~= 'finished' then
  redis.call('LREM', KEYS[3], 1, ARGV[3])
  local emitted = '0'
  if ARGV[5] ~= '' then emitted = '1' end
  redis.call('HSET', KEYS[2], 'state', 'finished', 'finished_at', ARGV[9],
             'terminal_emitted', emitted)
end
local rttl = math.floor(tonumber(ARGV[12]) or 0)
if rttl > 0 then redis.call('EXPIRE', KEYS[2], rttl) end
if redis.call('GET', KEYS[4]) == ARGV[4] then redis.call('DEL', KEYS[4]) end
return 1
)lua";

// KEYS: 1 processing, 2 delayed zset, 3 record, 4 lease, 5 result key.
// ARGV: 1 raw, 2 score, 3 new raw, 4 seq_base, 5 lease token, 6 RETRY result json, 7 ttl.
inline constexpr std::string_view kRetryScript = VEIL_LUA_STORE_RESULT_FN R"lua(
local removed = redis.call('LREM', KEYS[1], 1, ARGV[1])
if removed > 0 then
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
  redis.call('HSET', KEYS[3], 'state', 'retry_pending', 'seq_base', ARGV[4])
  if ARGV[6] ~= '' then store_result(KEYS[5], ARGV[6], ARGV[7]) end
end
if redis.call('GET', KEYS[4]) == ARGV[5] then redis.call('DEL', KEYS[4]) end
return removed
)lua";

}  // namespace veil::worker
