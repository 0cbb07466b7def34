// The Celery tasks besides execute_task (python-worker.md §2.2, §5.3), with the Python worker's
// result shapes:
//   tasks.secretflow.hello.hello_task(name="SecretFlow")   sleeps 1 s (cancellable)
//   tasks.secretflow.hello.ping_task()
//   tasks.secretflow.hello.echo_task(data)
//   tasks.secretflow.health_check.health_check_task()      components redis + worker (veil has
//                                                           no Celery to inspect)
// Arguments come from kwargs or, positionally, from args.
//
// Thread safety: reentrant; BuiltinTaskContext members must stay valid during the call.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "veil/base/cancel.h"
#include "veil/base/status.h"
#include "veil/worker/celery_codec.h"
#include "veil/worker/node_config.h"
#include "veil/worker/redis_client.h"

namespace veil::worker {

inline constexpr int64_t kHelloSleepMs = 1000;

struct BuiltinTaskContext {
  const NodeConfig* config = nullptr;
  std::string hostname;
  std::string version;
  RedisClient* redis = nullptr;  // health check: PING + INFO
  // health check: the worker component's details ({running_tasks, max_concurrent_tasks, ...}).
  std::function<nlohmann::json()> worker_details;
  const CancelToken* cancel = nullptr;  // hello's sleep stops early when cancelled
};

// Whether `task_name` is one of the four tasks above.
bool IsBuiltinTask(std::string_view task_name);

// Runs one of them. Errors: the cancel token's reason (hello), ParameterError "missing_argument"
// (echo without data).
StatusOr<nlohmann::json> RunBuiltinTask(const CeleryTaskMessage& message,
                                        const BuiltinTaskContext& context);

}  // namespace veil::worker
