// task_type "regression_eval": regression metrics of a prediction column against a label
// column of vertically partitioned data (python-worker.md §1.2); the two columns may live at
// different parties. Fields, flow and what is revealed: evaluation.h (no own fields).
//
// Metrics (scikit-learn 1.x definitions):
//   mse, rmse = sqrt(mse), mae;
//   mape = mean(|y − ŷ| / max(|y|, eps)), eps = DBL_EPSILON (sklearn's
//          mean_absolute_percentage_error: a zero label gives a huge term, not an error);
//   r2_score = 1 − SS_res / SS_tot, and for a constant label 1 (perfect) or 0 (sklearn's
//          force_finite); explained_variance = 1 − Var(y − ŷ) / Var(y), same rule;
//   r2_score and explained_variance are null for fewer than 2 rows.
#pragma once

#include "veil/tasks/task.h"

namespace veil::tasks {

TaskType RegressionEvalTaskType();

}  // namespace veil::tasks
