// The one parallel-loop helper of veil (STYLE habit 10). Algorithms call ParallelFor and never
// start threads of their own. Backed by oneTBB's shared arena, so in local mode several parties
// in one process share the cores instead of oversubscribing them.
#pragma once

#include <cstdint>
#include <functional>

namespace veil {

// Calls fn(begin, end) over disjoint chunks covering [0, n), at least `grain` items per chunk
// (except the last). Runs inline when n <= grain. Exceptions from fn propagate to the caller.
void ParallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

// Number of worker threads ParallelFor may use (the core count unless limited).
int ParallelismLevel();

}  // namespace veil
