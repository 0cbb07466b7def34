#include "veil/worker/send.h"

#include <chrono>
#include <memory>
#include <thread>

#include "veil/base/random.h"
#include "veil/base/time.h"

namespace veil::worker {

namespace {

// The stored value if it is in a ready state, else nullopt.
StatusOr<std::optional<nlohmann::json>> ReadReady(RedisClient& redis, std::string_view task_id) {
  VEIL_ASSIGN_OR_RETURN(std::optional<std::string> value, redis.Get(ResultKey(task_id)));
  if (!value) return std::optional<nlohmann::json>();
  nlohmann::json meta = nlohmann::json::parse(*value, nullptr, /*allow_exceptions=*/false);
  if (!meta.is_object() || !IsReadyState(meta.value("status", ""))) {
    return std::optional<nlohmann::json>();
  }
  return std::optional<nlohmann::json>(std::move(meta));
}

Status Timeout(std::string_view task_id, int64_t timeout_ms) {
  return TimeoutError("result_timeout", "no result for task " + std::string(task_id) + " within " +
                                            std::to_string(timeout_ms) + " ms");
}

}  // namespace

bool IsReadyState(std::string_view state) {
  return state == kStateSuccess || state == kStateFailure || state == kStateRevoked;
}

StatusOr<nlohmann::json> WaitForResult(RedisClient& redis, std::string_view task_id,
                                       int64_t timeout_ms) {
  const auto deadline = SteadyClock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    VEIL_ASSIGN_OR_RETURN(std::optional<nlohmann::json> ready, ReadReady(redis, task_id));
    if (ready) return *ready;
    if (SteadyClock::now() >= deadline) return Timeout(task_id, timeout_ms);
    std::this_thread::sleep_for(std::chrono::milliseconds(kSendPollIntervalMs));
  }
}

StatusOr<SendOutcome> SendTask(RedisClient& redis, SendRequest request, int64_t wait_timeout_ms) {
  if (request.task_id.empty()) request.task_id = RandomUuid();
  SendOutcome out;
  out.task_id = request.task_id;
  std::unique_ptr<RedisSubscriber> subscriber;
  if (wait_timeout_ms > 0) {
    VEIL_ASSIGN_OR_RETURN(subscriber, redis.Subscribe({ResultKey(request.task_id)}));
  }
  VEIL_RETURN_IF_ERROR(
      redis.LPush(QueueKeyForPriority(request.queue, request.priority), EncodeTaskMessage(request))
          .status());
  if (wait_timeout_ms <= 0) return out;
  const auto deadline = SteadyClock::now() + std::chrono::milliseconds(wait_timeout_ms);
  for (;;) {
    VEIL_ASSIGN_OR_RETURN(std::optional<RedisMessage> message,
                          subscriber->Next(kSendPollIntervalMs));
    if (message) {
      nlohmann::json meta =
          nlohmann::json::parse(message->payload, nullptr, /*allow_exceptions=*/false);
      if (meta.is_object() && IsReadyState(meta.value("status", ""))) {
        out.result = std::move(meta);
        return out;
      }
      continue;
    }
    // No message within the interval: re-read the key (a PUBLISH may have been missed).
    VEIL_ASSIGN_OR_RETURN(std::optional<nlohmann::json> ready, ReadReady(redis, request.task_id));
    if (ready) {
      out.result = std::move(*ready);
      return out;
    }
    if (SteadyClock::now() >= deadline) return Timeout(request.task_id, wait_timeout_ms);
  }
}

}  // namespace veil::worker
