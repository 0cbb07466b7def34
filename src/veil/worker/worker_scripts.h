// The worker's Lua scripts as C++ handlers for RedisFake (which has no Lua), so the worker's
// unit tests run against the fake exactly the transitions a real Redis runs (queue.h, lease.h,
// status_publisher.h, celery_codec.h's kStoreResultScript). The system tests run the Lua itself.
//
// Thread safety: call before handing the fake to concurrent users.
#pragma once

#include "veil/worker/redis_fake.h"

namespace veil::worker {

// Registers a handler for every script the worker EVALs.
void RegisterWorkerScripts(RedisFake& fake);

}  // namespace veil::worker
