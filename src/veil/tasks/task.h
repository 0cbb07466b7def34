// The task contract: every task type (SPEC §4.5) is one TaskType value registered in the
// registry (registry.h). The runtime drives each through the same skeleton:
//
//   validate (structural + logical + security, before any traffic)
//   → connect links → exchange and compare the peer-config digest → ready barrier
//   → run (phases report progress through PartyRun::progress) → finalize (result JSON)
//
// A task never sees the envelope or the transport; it gets a PartyRun with its party's link
// context, the task_config and the static facts of the execution (TaskEnv).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "veil/base/cancel.h"
#include "veil/base/problems.h"
#include "veil/base/status.h"
#include "veil/link/context.h"

namespace veil::mpc {
class SpuDevice;
}  // namespace veil::mpc

namespace veil::tasks {

// Facts about the execution known before any network traffic.
struct TaskEnv {
  std::vector<std::string> parties;       // from sf_init_config, in rank order
  std::optional<std::string> self_party;  // cluster mode: this process's party; local: nullopt
  std::string data_root;                  // DATA_PATH; empty = paths unrestricted
  bool has_spu = false;                   // spu_config present and enabled
  bool has_heu = false;
};

// Progress reported by a running task: a stage name, a fraction in [0, 1] of the task's own
// work, and free-form data. Forwarded as RUNNING status events (stage names in python-worker §3
// for the skeleton; tasks use "computation_progress" for their own phases).
using ProgressFn =
    std::function<void(const std::string& stage, double progress, nlohmann::json data)>;

// One party's run of a task.
struct PartyRun {
  link::Context& link;
  const nlohmann::json& task_config;
  const TaskEnv& env;
  ProgressFn progress;
  // This party's SPU when the task type needs_spu (built by the runtime from spu_config during
  // device_creation, spanning every party in rank order); nullptr otherwise.
  mpc::SpuDevice* spu = nullptr;
};

// A path field of task_config that the runtime checks against DATA_PATH (security layer) and
// that only the owning party touches.
struct PathField {
  std::string name;  // e.g. "input_paths"
  bool party_keyed;  // {party: path} (true) or a single string (false)
  bool is_output;    // written (parent directories created) vs read (must exist)
};

struct TaskType {
  std::string name;
  // Structural and logical checks of task_config (paths under "task_config."). Adds every
  // problem found; must not touch files or the network.
  std::function<void(const nlohmann::json& task_config, const TaskEnv& env, Problems& problems)>
      validate;
  // Path fields, checked by the runtime (inside DATA_PATH, no escape, inputs exist for the own
  // party only).
  std::vector<PathField> path_fields;
  // The part of task_config all parties must agree on. Its digest is compared across parties
  // before the run; a mismatch fails fast instead of deadlocking mid-protocol.
  std::function<nlohmann::json(const nlohmann::json& task_config)> peer_config;
  // Runs one party's share of the task; returns that party's result.
  std::function<StatusOr<nlohmann::json>(PartyRun& run)> run;
  // Local mode (all parties in one process): combines per-party results into the task result.
  // Default: the first party's result.
  std::function<nlohmann::json(const std::map<std::string, nlohmann::json>& by_party,
                               const nlohmann::json& task_config)>
      merge;
  bool needs_spu = false;
  bool needs_heu = false;
};

}  // namespace veil::tasks
