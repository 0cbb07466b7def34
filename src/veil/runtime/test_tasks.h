// Fake task types for the runtime tests (test-only; linked into veil_runtime_test).
//
//  "sum"        every party AllGathers its int from task_config.values[party]; result
//               {"sum", "party"}; merge {"sum", "parties"}. Knobs in task_config:
//               fail_party (that party's run fails with AlgorithmError "boom" before sending),
//               spin_party (that party computes until cancelled, polling link.cancel()),
//               fail_delay_ms (the failing party waits this long first),
//               throw_party (that party's run throws std::runtime_error "kaboom").
//  "files"      path fields input_paths (party-keyed input), output_paths (party-keyed output),
//               report_path (single output); run returns the paths it received.
//  "spu_task"   needs_spu; "heu_task" needs_heu (run returns {}).
//  "drifting"   like "sum" but peer_config returns a different document on every call, so the
//               parties' digests differ.
#pragma once

#include "veil/tasks/registry.h"

namespace veil::runtime::testing {

const tasks::TaskRegistry& FakeRegistry();

}  // namespace veil::runtime::testing
