#include "veil/worker/queue.h"

#include <limits>

#include <nlohmann/json.hpp>

#include "veil/base/random.h"
#include "veil/base/time.h"
#include "veil/worker/status_publisher.h"

namespace veil::worker {

namespace {

std::string Cat(std::string_view a, std::string_view b) {
  std::string s(a);
  s += b;
  return s;
}

StatusOr<int64_t> IntReply(const StatusOr<RedisReply>& reply) {
  if (!reply.ok()) return reply.status();
  if (reply->type != RedisReply::Type::kInteger) {
    return InternalError("redis_bad_reply", "script returned " + reply->DebugString());
  }
  return reply->integer;
}

}  // namespace

std::string ProcessingKey(std::string_view node_id) { return Cat(kProcessingKeyPrefix, node_id); }
std::string DelayedKey(std::string_view queue) { return Cat(kDelayedKeyPrefix, queue); }
std::string DeadLetterKey(std::string_view queue) { return Cat(kDeadLetterKeyPrefix, queue); }
std::string TaskRecordKey(std::string_view celery_id) {
  return Cat(kTaskRecordKeyPrefix, celery_id);
}
std::string LeaseKey(std::string_view celery_id) { return Cat(kLeaseKeyPrefix, celery_id); }

int64_t EpochMs(TimePoint tp) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(tp.time_since_epoch()).count();
}

StatusOr<std::optional<std::string>> FetchMessage(RedisClient& redis, std::string_view queue,
                                                  std::string_view processing, int64_t block_ms) {
  const std::vector<std::string> keys = QueueKeysInPriorityOrder(queue);
  for (const std::string& key : keys) {
    VEIL_ASSIGN_OR_RETURN(std::optional<std::string> raw,
                          redis.LMove(key, processing, RedisListEnd::kRight, RedisListEnd::kLeft));
    if (raw) return raw;
  }
  // kombu's bucket 0 is the base list: wait there; other buckets are checked on the next round.
  return redis.BLMove(queue, processing, RedisListEnd::kRight, RedisListEnd::kLeft, block_ms);
}

Status RemoveFromProcessing(RedisClient& redis, std::string_view processing, std::string_view raw) {
  return redis.LRem(processing, 1, raw).status();
}

Status DeadLetter(RedisClient& redis, std::string_view processing, std::string_view queue,
                  std::string_view raw, const Status& error, std::string_view node_id) {
  nlohmann::json entry = {{"raw", std::string(raw)},
                          {"error",
                           {{"type", std::string(error.type_name())},
                            {"code", error.code()},
                            {"message", error.message()}}},
                          {"node_id", std::string(node_id)},
                          {"at", NowIso8601Utc()}};
  std::string value;
  try {
    value = entry.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } catch (const std::exception&) {
    value = "{}";
  }
  return redis
      .Eval(kMoveFromProcessingScript, {std::string(processing), DeadLetterKey(queue)},
            {std::string(raw), value, "L"}, RedisRetry::kIdempotent)
      .status();
}

Status ParkMessage(RedisClient& redis, std::string_view processing, std::string_view queue,
                   std::string_view raw, TimePoint due) {
  return redis
      .Eval(kParkScript, {std::string(processing), DelayedKey(queue)},
            {std::string(raw), std::to_string(EpochMs(due)), std::string(raw)},
            RedisRetry::kIdempotent)
      .status();
}

StatusOr<int> PromoteDue(RedisClient& redis, std::string_view queue, TimePoint now, int limit) {
  const std::string delayed = DelayedKey(queue);
  VEIL_ASSIGN_OR_RETURN(std::vector<RedisScoredMember> due,
                        redis.ZRangeByScore(delayed, -std::numeric_limits<double>::infinity(),
                                            static_cast<double>(EpochMs(now)), limit));
  int moved = 0;
  for (const RedisScoredMember& m : due) {
    std::string target(queue);
    StatusOr<CeleryTaskMessage> msg = DecodeTaskMessage(m.member);
    if (msg.ok()) target = QueueKeyForPriority(queue, msg->priority);
    VEIL_ASSIGN_OR_RETURN(int64_t n, IntReply(redis.Eval(kPromoteScript, {delayed, target},
                                                         {m.member}, RedisRetry::kIdempotent)));
    moved += static_cast<int>(n);
  }
  return moved;
}

StatusOr<std::optional<TimePoint>> NextDue(RedisClient& redis, std::string_view queue) {
  VEIL_ASSIGN_OR_RETURN(
      std::vector<RedisScoredMember> first,
      redis.ZRangeByScore(DelayedKey(queue), -std::numeric_limits<double>::infinity(),
                          std::numeric_limits<double>::infinity(), 1));
  if (first.empty()) return std::optional<TimePoint>();
  return std::optional<TimePoint>(
      TimePoint(std::chrono::milliseconds(static_cast<int64_t>(first.front().score))));
}

Status RestoreMessage(RedisClient& redis, std::string_view processing, std::string_view queue,
                      std::string_view raw) {
  std::string target(queue);
  StatusOr<CeleryTaskMessage> msg = DecodeTaskMessage(raw);
  if (msg.ok()) target = QueueKeyForPriority(queue, msg->priority);
  return redis
      .Eval(kMoveFromProcessingScript, {std::string(processing), target},
            {std::string(raw), std::string(raw), "R"}, RedisRetry::kIdempotent)
      .status();
}

Status FinishTask(RedisClient& redis, const FinishRequest& r) {
  return redis
      .Eval(kFinishScript,
            {ResultKey(r.celery_id), TaskRecordKey(r.celery_id), r.processing_key,
             LeaseKey(r.celery_id), std::string(kStatusList), std::string(kStatusStream)},
            {r.result_json, std::to_string(r.result_ttl_s), r.raw, r.lease_token, r.event_json,
             std::to_string(r.event_seq), std::string(kStatusChannel),
             std::to_string(r.stream_max_len), NowIso8601Utc(), r.event_execution_id,
             r.event_status, std::to_string(r.record_ttl_s)},
            RedisRetry::kIdempotent)
      .status();
}

Status ScheduleRetry(RedisClient& redis, const RetryRequest& r) {
  return redis
      .Eval(kRetryScript,
            {r.processing_key, DelayedKey(r.queue), TaskRecordKey(r.celery_id),
             LeaseKey(r.celery_id), ResultKey(r.celery_id)},
            {r.raw, std::to_string(EpochMs(r.due)), r.new_raw, std::to_string(r.seq_base),
             r.lease_token, r.retry_result_json, std::to_string(r.result_ttl_s)},
            RedisRetry::kIdempotent)
      .status();
}

StatusOr<std::string> WithRetry(std::string_view raw, int64_t retries, TimePoint eta) {
  nlohmann::ordered_json envelope;
  try {
    envelope = nlohmann::ordered_json::parse(raw);
  } catch (const std::exception& e) {
    return ParameterError("invalid_json", std::string("message is not JSON: ") + e.what());
  }
  if (!envelope.is_object() || !envelope.contains("headers") || !envelope["headers"].is_object()) {
    return ParameterError("invalid_json", "message has no headers object");
  }
  envelope["headers"]["retries"] = retries;
  envelope["headers"]["eta"] = PythonIsoformatUtc(eta);
  if (envelope.contains("properties") && envelope["properties"].is_object()) {
    envelope["properties"]["delivery_tag"] = RandomUuid();
  }
  return PythonJsonDumps(envelope);
}

}  // namespace veil::worker
