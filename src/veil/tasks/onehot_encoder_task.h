// task_type "onehot_encoder": one-hot encodes the named columns of vertically partitioned CSV
// data, as scikit-learn's OneHotEncoder(sparse_output=False, drop=…) (python-worker.md §1.2).
//
// Fields: input_data, output_data (exactly the sf_init parties), columns (required), drop
// (null/absent or "none": keep all; "first": drop each column's first category; "if_binary":
// drop the first category of columns with exactly two). Unknown fields are rejected.
//
// Per column (at its party): categories = the sorted distinct values (categories.h); the column
// is replaced, in place, by one column per kept category named "{column}_{category}", holding
// 1 where the row has that category and 0 elsewhere. A missing cell gives empty cells in all of
// the column's new columns (missingness is kept, not a category). A new name equal to another
// column of the file is ParameterError "column_name_collision". Row order is kept.
//
// Errors: unknown_column / duplicate_column, all_missing_column, column_name_collision,
// row_count_mismatch, file errors.
//
// Result: output_paths, parties, encoded_columns, drop, columns_by_party, categories {column:
// {categories: [...], dropped: category|null, output_columns: [...]}} (own columns per party;
// merged in local mode).
#pragma once

#include "veil/tasks/task.h"

namespace veil::tasks {

TaskType OneHotEncoderTaskType();

}  // namespace veil::tasks
