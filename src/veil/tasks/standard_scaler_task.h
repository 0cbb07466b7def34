// task_type "standard_scaler": z-score scaling of numeric columns of vertically partitioned CSV
// data (python-worker.md §1.2), with scikit-learn StandardScaler semantics.
//
// Fields: input_data {party: path}, output_data {party: path} (both: exactly the sf_init
// parties), columns (optional; default: every numeric column holding at least one number, at
// every party), with_mean (true), with_std (true). Unknown fields are rejected.
//
// Per column (at the party holding it): mean and population variance (ddof = 0) over the
// non-missing cells; scale = sqrt(var), or 1 for a (near-)constant column (sklearn's
// _is_constant_feature bound), so a constant column becomes 0 with with_mean. Output cell =
// (x - mean) / scale (without with_mean: x / scale; without with_std: x - mean). Missing cells
// stay empty. Other columns are copied unchanged; row order is kept.
//
// Errors: a named column at no party / at two parties (ParameterValidationError
// unknown_column / duplicate_column, path task_config.columns[i]); non_numeric_value (file,
// line, column), all_missing_column, non_finite_value, row_count_mismatch.
//
// Result: output_paths, parties, scaled_columns (all parties' columns), with_mean, with_std,
// columns_by_party, statistics {column: {mean, var, scale}} (a party's result holds its own
// columns only; local mode merges them). Reveals column names and row counts to all parties.
#pragma once

#include "veil/tasks/task.h"

namespace veil::tasks {

TaskType StandardScalerTaskType();

}  // namespace veil::tasks
