// task_type "fillna": fills missing cells of the named columns of vertically partitioned CSV
// data (python-worker.md §1.2), like pandas fillna with a per-column statistic.
//
// Fields: input_data, output_data (exactly the sf_init parties), columns (required), strategy
// ("mean" (default) | "median" | "mode" | "constant"), fill_value (a number or a non-missing
// string; required for "constant", ignored otherwise). Unknown fields are rejected.
//
// Missing = the empty cell and pandas' NA strings (data/columns.h). Per column (at its party):
//   mean    the mean of the non-missing values (numeric columns only);
//   median  pandas median (the mean of the two middle values for an even count);
//   mode    the most frequent value, the smallest on ties (pandas mode()[0]); numeric columns
//           compare by value, text columns by string;
//   constant fill_value.
// Only missing cells change: every other cell is copied byte for byte (pandas would rewrite
// numbers, e.g. "1" → "1.0"); fill values are written as the shortest text that reads back
// exactly. Row order is kept.
//
// Errors: unknown_column / duplicate_column, non_numeric_value (mean, median), non_finite_value
// (mean, median), all_missing_column (mean, median, mode: nothing to compute from),
// row_count_mismatch, file errors.
//
// Result: output_paths, parties, filled_columns, strategy, columns_by_party, fill_values
// {column: value used} (own columns per party; merged in local mode).
#pragma once

#include "veil/tasks/task.h"

namespace veil::tasks {

TaskType FillnaTaskType();

}  // namespace veil::tasks
