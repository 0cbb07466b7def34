// Logging: spdlog to stderr, human-readable by default. stdout is reserved for results
// (SPEC §2), so nothing here ever writes to stdout.
#pragma once

#include <memory>
#include <string_view>

#include <spdlog/spdlog.h>

namespace veil {

// The process-wide logger ("veil"), created on first use, writing to stderr.
spdlog::logger& Log();
// level: trace|debug|info|warn|error|off. Unknown names leave the level unchanged.
void SetLogLevel(std::string_view level);

}  // namespace veil
