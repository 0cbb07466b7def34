// task_type "label_encoder": replaces the values of the named columns of vertically
// partitioned CSV data by class codes, as scikit-learn's LabelEncoder (python-worker.md §1.2).
//
// Fields: input_data, output_data (exactly the sf_init parties), columns (required, non-empty).
// Unknown fields are rejected.
//
// Per column (at its party): classes = the sorted distinct values (categories.h: numeric
// columns by value, text by string), code = 0..k-1 in that order. Missing cells stay empty
// (they are no class). Other columns are copied; row order is kept.
//
// Errors: unknown_column / duplicate_column (task_config.columns[i]), all_missing_column,
// row_count_mismatch, file errors.
//
// Result: output_paths, parties, encoded_columns, columns_by_party, mappings {column: {class:
// code}} (own columns per party; merged in local mode), so the same encoding can be applied
// later. Reveals column names and row counts to all parties.
#pragma once

#include "veil/tasks/task.h"

namespace veil::tasks {

TaskType LabelEncoderTaskType();

}  // namespace veil::tasks
