// task_type "vif": variance inflation factors of vertically partitioned numeric columns,
// computed on the SPU as SecretFlow's SSVertVIF does (python-worker.md §1.2). VIF_j is the j-th
// diagonal entry of R⁻¹, R the correlation matrix (= 1 / (1 − R²_j) of the OLS regression of
// column j on the others with an intercept, statsmodels' definition).
//
// Protocol: R = Zᵀ·Z stays secret-shared (secure_stats.h); its inverse is computed under MPC by
// Newton–Schulz iteration (Schulz 1933; Pan & Schreiber, "An improved Newton iteration for the
// generalized inverse of a matrix", SIAM J. Sci. Stat. Comput. 1991):
//     X₀ = I / (p + 1),   X_{t+1} = X_t · (2I − R_ε · X_t),   R_ε = R + ε·I,
// which converges for every symmetric positive definite R_ε since the eigenvalues of R_ε·X₀ lie
// in (0, 1]; the error contracts as e_{t+1} = e_t², so ⌈log2((f + 2)·ln 2·(p + 1)/ε)⌉ + 1
// iterations (public: they depend on p and the field only) reach fixed-point precision for any
// R. The ridge ε (2^-16 with FM64, 2^-24 with FM128 — both ≤ 2^-(f−2)) keeps every
// intermediate inside the ring even for a singular R; one Neumann step
// X + ε·X² removes its first-order bias, leaving a relative error of about (ε·VIF)².
// Only diag(X) is opened (to every party: the values are the task's result).
//
// Report (report_party writes it): {"vif_values": {col: v|null}, "diagnosis": {col: …},
// "columns": [...], "parties": [...]}, diagnosis "严重共线性" (VIF > 10), "中度共线性" (> 5),
// "无共线性问题", or "无法计算" when the VIF is undefined (a constant column: null). A VIF at or
// above the ring's resolution limit 1/(16ε) (4096 with FM64, ≈1e6 with FM128: perfect or
// near-perfect collinearity, where statsmodels reports inf or a huge number) is null with
// diagnosis "严重共线性", and listed in "saturated_columns".
// Values are clamped to ≥ 1 (rounding can leave a VIF of 1 a hair below).
// Precision: relative error ≲ 1e-3 for VIF below ~1000 with FM64/18, far better with FM128.
// Opened values outside [0.99, 2/ε] can only come from a truncation wrap; the computation is
// then repeated with fresh randomness (secure_stats::kSecureStatsAttempts).
//
// Result (same at every party): output_report, vif_values, diagnosis, num_columns, columns,
// parties, report_party, constant_columns, saturated_columns.
#pragma once

#include "veil/tasks/task.h"

namespace veil::tasks {

TaskType VifTaskType();

}  // namespace veil::tasks
