// task_type "equal_width_binning": equal-width binning of numeric columns of vertically
// partitioned CSV data, with pandas.cut(x, n_bins, labels=False) semantics (python-worker.md
// §1.2).
//
// Fields: input_data, output_data (exactly the sf_init parties), columns (required), n_bins
// (default 5, 2 ≤ n_bins ≤ 100000). Unknown fields are rejected.
//
// Per column (at its party): edges = linspace(min, max, n_bins + 1) with the lowest edge moved
// down by 0.1 % of the range (pandas' adjustment, so the minimum falls in bin 0); a constant
// column v gets linspace(v − 0.1 %·|v|, v + 0.1 %·|v|) (±0.001 for v = 0), as pandas does, so
// its values land in the middle bin. Bins are right-closed; the output cell is the bin index
// 0..n_bins-1, missing cells stay empty. Other columns are copied; row order is kept.
//
// Errors: unknown_column / duplicate_column, non_numeric_value, all_missing_column,
// non_finite_value (pandas refuses infinite data too), row_count_mismatch, file errors.
//
// Result: output_paths, parties, binned_columns, n_bins, binning_type "equal_width",
// columns_by_party, bin_edges {column: {edges: [...], bins: n_bins}} (own columns per party;
// merged in local mode).
#pragma once

#include "veil/tasks/task.h"

namespace veil::tasks {

TaskType EqualWidthBinningTaskType();

}  // namespace veil::tasks
