// Clocks and timestamps. Wall-clock timestamps are ISO 8601 UTC with a "Z" suffix
// (the Python worker's naive local times are a known defect, python-worker.md §9.5).
#pragma once

#include <chrono>
#include <string>

namespace veil {

using SteadyClock = std::chrono::steady_clock;

// e.g. "2026-11-21T10:15:30.123456Z"
std::string NowIso8601Utc();
std::string ToIso8601Utc(std::chrono::system_clock::time_point tp);

// Seconds elapsed since `start` on the steady clock.
inline double SecondsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

}  // namespace veil
