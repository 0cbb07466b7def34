// task_type "pearson_correlation": the Pearson correlation matrix of vertically partitioned
// numeric columns, computed on the SPU as SecretFlow's SSVertPearsonR does (python-worker.md
// §1.2): each party standardises its own columns, Zᵀ·Z is computed under MPC and revealed —
// to report_party only (secure_stats.h).
//
// Fields: input_data {party: path}, columns (required), output_report, report_party (veil
// extension, default the first party). Needs spu_config (SEMI2K, ABY3 or REF2K over every party).
//
// Report (written by report_party, atomically): {col_i: {col_j: r_ij}} in requested order, with
// r_ii = 1. A constant column has no defined correlation: its row and column are null (pandas
// gives NaN) and it is listed in the result's "constant_columns".
// Precision: |r − r_exact| ≲ 2^-(f−2) (f = fxp_fraction_bits: about 1e-5 with FM64/18); entries
// are clamped to [−1, 1]. A revealed entry outside [−1.01, 1.01] can only come from a truncation
// wrap (probability about 2^(f+2−k) per entry), and the product is recomputed.
//
// Result (same at every party): output_report, num_columns, columns, parties, report_party,
// constant_columns. The matrix is not in the result, as in the Python worker.
#pragma once

#include "veil/tasks/task.h"

namespace veil::tasks {

TaskType PearsonCorrelationTaskType();

}  // namespace veil::tasks
