// Test helper shared by the task test binaries: runs every party of a task in one process.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "veil/base/status.h"
#include "veil/mpc/protocol.h"
#include "veil/tasks/task.h"

namespace veil::tasks::testing {

// Runs `type` for every party over an in-memory world (parties in rank order, one thread each).
// A failing party aborts its links, so the others fail fast with its cause instead of waiting for
// the receive timeout. A task that needs_spu gets an SPU device per party built from `spu`
// (default SEMI2K, FM64). Returns each party's result.
std::vector<StatusOr<nlohmann::json>> RunParties(const TaskType& type, const nlohmann::json& cfg,
                                                 const std::vector<std::string>& parties,
                                                 const mpc::RuntimeConfig& spu = {});

}  // namespace veil::tasks::testing
