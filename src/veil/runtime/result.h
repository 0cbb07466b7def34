// Result and error JSON shapes shared by the CLI and the worker (SPEC §2, §4.4).
#pragma once

#include <nlohmann/json.hpp>

#include "veil/base/status.h"

namespace veil::runtime {

// {"error": {"type", "code", "message", "stage", "problems": [{path, code, message}]}} — the one
// line `veil` prints on stderr when a command fails. `problems` is always present (possibly
// empty); messages pass through RedactString. An OK status yields {"error": null}.
nlohmann::json ErrorToJson(const Status& status);

}  // namespace veil::runtime
