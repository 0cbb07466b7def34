// task_type "quantile_binning": equal-frequency binning of numeric columns of vertically
// partitioned CSV data, with pandas.qcut(x, n_bins, labels=False, duplicates="drop") semantics
// (python-worker.md §1.2).
//
// Fields: input_data, output_data (exactly the sf_init parties), columns (required), n_bins
// (default 5, 2 ≤ n_bins ≤ 100000). Unknown fields are rejected.
//
// Per column (at its party): edges = numpy's linear quantiles of the non-missing values at
// linspace(0, 1, n_bins + 1), duplicates dropped (so a column may get fewer bins); bins are
// right-closed, the first includes the minimum; the output cell is the bin index 0..k-1,
// missing cells stay empty. A column with a single distinct value gets one bin: edges [v],
// every value → 0 (pandas would output all-missing there). Other columns are copied; row order
// is kept.
//
// Errors: unknown_column / duplicate_column, non_numeric_value (file, line, column),
// all_missing_column, non_finite_value, row_count_mismatch, file errors.
//
// Result: output_paths, parties, binned_columns, n_bins, binning_type "quantile",
// columns_by_party, bin_edges {column: {edges: [...], bins: k}} (own columns per party; merged
// in local mode), so the same binning can be applied later.
#pragma once

#include "veil/tasks/task.h"

namespace veil::tasks {

TaskType QuantileBinningTaskType();

}  // namespace veil::tasks
