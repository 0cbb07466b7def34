// Shared skeleton of the binning tasks (quantile_binning_task.h, equal_width_binning_task.h):
// config (input_data, output_data, columns required, n_bins), fitting bin edges per column at
// the party holding it, and the pandas assignment of values to right-closed bins
// (edges[k], edges[k+1]] → k, the first bin also holding edges[0] when `include_lowest`.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "veil/base/status.h"
#include "veil/tasks/task.h"

namespace veil::tasks {

inline constexpr int64_t kDefaultBins = 5;
inline constexpr int64_t kMaxBins = 100000;

struct BinningType {
  std::string task_name;     // e.g. "quantile_binning"
  std::string binning_type;  // result "binning_type", e.g. "quantile"
  bool include_lowest = false;
  // Bin edges (ascending, at least 2, or exactly 1 for a column with a single value, whose
  // values all go to bin 0) from the column's non-missing values, sorted ascending.
  std::function<std::vector<double>(const std::vector<double>& sorted, int64_t n_bins)> edges;
};

// The bin index of `v` for `edges` (pandas _bins_to_cuts with labels=False), or -1 outside.
int64_t BinIndex(const std::vector<double>& edges, double v, bool include_lowest);

TaskType MakeBinningTaskType(BinningType type);

}  // namespace veil::tasks
