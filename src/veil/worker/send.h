// `veil send`: push a Celery protocol v2 message the way Python's `send_task` does, and
// optionally wait for its result the way `AsyncResult.get()` does (subscribe to the result key's
// channel before sending, and re-read the key so a missed PUBLISH never hangs the wait).
//
//   SendRequest req{.task = std::string(kExecuteTaskName), .args = {envelope}};
//   VEIL_ASSIGN_OR_RETURN(SendOutcome out, SendTask(redis, req, /*wait_timeout_ms=*/60000));
//
// Thread safety: reentrant; the RedisClient decides about concurrent use.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "veil/base/status.h"
#include "veil/worker/celery_codec.h"
#include "veil/worker/redis_client.h"

namespace veil::worker {

inline constexpr int64_t kSendPollIntervalMs = 250;

struct SendOutcome {
  std::string task_id;
  // The stored result value (celery-task-meta JSON) when waited for and ready.
  std::optional<nlohmann::json> result;
  bool success() const { return result && result->value("status", "") == kStateSuccess; }
};

// Whether a stored state is final (SUCCESS, FAILURE, REVOKED).
bool IsReadyState(std::string_view state);

// LPUSHes EncodeTaskMessage(request) onto the list of its queue and priority. With
// wait_timeout_ms > 0, waits for a ready state. Errors: the RedisClient's; TimeoutError
// "result_timeout" when no ready state arrived in time (the task id is in the message).
StatusOr<SendOutcome> SendTask(RedisClient& redis, SendRequest request, int64_t wait_timeout_ms);

// Waits for a ready result of `task_id` (no subscription: polls every kSendPollIntervalMs).
StatusOr<nlohmann::json> WaitForResult(RedisClient& redis, std::string_view task_id,
                                       int64_t timeout_ms);

}  // namespace veil::worker
