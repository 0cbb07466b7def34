// Shared part of the evaluation tasks (biclassification_eval_task.h, regression_eval_task.h):
// config, gathering the label and prediction columns to the report party, the report file.
//
// Fields: prediction_data {party: path} (a non-empty subset of the sf_init parties: only the
// parties holding the label or prediction column need a file), label_column,
// prediction_column, output_report (one path), report_party (default: the first party of
// sf_init_config), plus the task's own extra fields.
//
// Flow: every party with a file looks for the two columns in its header; the found names are
// exchanged (names only); each column must be at exactly one party (ParameterValidationError
// unknown_column / duplicate_column at task_config.label_column / prediction_column). The
// holders read the column (numeric, finite, no missing cell: else non_numeric_value,
// non_finite_value, all_missing_column or missing_value) and send its values to report_party,
// which checks the lengths (row_count_mismatch), computes the metrics, writes {"metrics",
// "config", "parties"} to output_report and tells every party the outcome.
//
// Reveals: the label and prediction columns, row by row, to report_party (when they live
// elsewhere); the metrics to report_party only (the other parties' results carry
// "metrics": null).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "veil/base/config_reader.h"
#include "veil/tasks/task.h"

namespace veil::tasks {

struct EvalTaskType {
  std::string name;
  // Reads the task's own fields (and marks them known); adds problems; returns the report's
  // "config" extras.
  std::function<nlohmann::json(ConfigReader& r)> read_extra;
  // Computes the metrics at report_party. Errors are the task's data errors.
  std::function<StatusOr<nlohmann::json>(const std::vector<double>& label,
                                         const std::vector<double>& prediction,
                                         const nlohmann::json& extra)>
      metrics;
};

TaskType MakeEvalTaskType(EvalTaskType type);

}  // namespace veil::tasks
