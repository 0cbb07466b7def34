// task_type "biclassification_eval": binary classification metrics of a score column against a
// 0/1 label column of vertically partitioned data (python-worker.md §1.2); the two columns may
// live at different parties. Shared fields, flow and what is revealed: evaluation.h. Own
// field: bucket_size (default 10, 1..100000).
//
// Metrics (report "metrics", report party's result "metrics"):
//   auc        exact ROC AUC with ties counted half (= sklearn roc_auc_score); null when the
//              labels hold one class only
//   ks         max |TPR − FPR| over every score threshold (sklearn roc_curve); null likewise
//   precision, recall, f1_score, accuracy, confusion_matrix {true_positive, false_positive,
//              true_negative, false_negative}: predicted positive = score ≥ 0.5; precision /
//              recall / f1 are 0 where undefined (sklearn's zero_division default)
//   total_samples, positive_samples, negative_samples
//   bucket_report: the rows sorted by score (stable) and cut into bucket_size equal-frequency
//              buckets (numpy.array_split sizes; empty buckets left out), each {start_value,
//              end_value, total, positive, negative, positive_rate}
// Errors: labels other than 0/1: ParameterError "labels_not_binary"; plus evaluation.h's.
#pragma once

#include "veil/tasks/task.h"

namespace veil::tasks {

TaskType BiClassificationEvalTaskType();

}  // namespace veil::tasks
