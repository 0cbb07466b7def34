// task_type "table_statistics": per-column descriptive statistics of vertically partitioned CSV
// data, with pandas semantics as SecretFlow's table_statistics reports them (python-worker.md
// §1.2).
//
// Fields: input_data {party: path} (exactly the sf_init parties), output_report (one path),
// columns (optional; default: every column of every party), report_party (optional; default:
// the first party of sf_init_config). Unknown fields are rejected.
//
// Each party computes the statistics of its own columns; they are sent to report_party only,
// which writes the report JSON {column: {stat: value}} (columns in request order, or party by
// party in header order) atomically to output_report. No other party opens output_report.
// Statistics (pandas, missing cells skipped):
//   datatype ("int64" | "float64" | "object", as pandas.read_csv would infer), total_count,
//   count (non-missing), count_na, na_ratio, and for numeric columns min, max, mean, var (ddof 1,
//   pandas .var()), std (ddof 1), sem, skewness (pandas .skew(): bias-corrected G1, null below 3
//   values), kurtosis (pandas .kurt(): bias-corrected excess kurtosis, null below 4 values), q1 /
//   q2 / q3 (25/50/75 % linear quantiles), sum. Text columns get null for the numeric ones.
//   NaN and ±inf are written as null.
//
// Errors: unknown_column / duplicate_column (task_config.columns[i]), row_count_mismatch, file
// errors, ResultSaveError write_failed; every party fails with the same error.
//
// Reveals: to report_party, the statistics of every column; to all parties, column names (the
// placement exchange). Result (same at every party): output_report, num_columns, columns,
// parties, report_party.
#pragma once

#include "veil/tasks/task.h"

namespace veil::tasks {

TaskType TableStatisticsTaskType();

}  // namespace veil::tasks
