// task_type "minmax_scaler": scales numeric columns of vertically partitioned CSV data to a
// range, with scikit-learn MinMaxScaler semantics (python-worker.md §1.2).
//
// Fields: input_data, output_data (exactly the sf_init parties), columns (optional; default:
// every numeric column holding at least one number), feature_range [min, max] (default [0, 1];
// two numbers, min < max). Unknown fields are rejected.
//
// Per column: data_min / data_max over the non-missing cells; scale = (max - min) / range,
// where a range below 10·eps counts as 1 (sklearn's _handle_zeros_in_scale), so a constant
// column maps to `min`; output = x · scale + (min - data_min · scale), exactly sklearn's
// arithmetic. Missing cells stay empty; other columns are copied; row order is kept.
//
// Errors: as standard_scaler (unknown_column, duplicate_column, non_numeric_value,
// all_missing_column, non_finite_value, row_count_mismatch).
//
// Result: output_paths, parties, scaled_columns, feature_range, columns_by_party, statistics
// {column: {data_min, data_max, scale, min}} (own columns per party; merged in local mode).
#pragma once

#include "veil/tasks/task.h"

namespace veil::tasks {

TaskType MinMaxScalerTaskType();

}  // namespace veil::tasks
