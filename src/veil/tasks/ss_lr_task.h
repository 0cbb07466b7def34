// task_type "ss_lr": SS-LR training on the SPU (ss_lr_model.h), with the Python worker's fields
// (python-worker.md §1.2) and SecretFlow's SSRegression parameters.
//
// Fields: train_data {party: path} (exactly the sf_init parties), features [str] (each at exactly
// one party), label (a column of label_party's file), label_party, model_output {party: path}
// (every party), params (optional): epochs 5, learning_rate 0.3, batch_size 32, sig_type "t1"
// (t1 | t3 | t5 | real, also SPU's mm1 / seg3 and SF's sr), reg_type "logistic" | "linear",
// penalty "l2" | "none" (SecretFlow's "None" too), l2_norm 0.1, and SecretFlow's eps 1e-3 (early
// stopping; 0 disables), decay_epoch, decay_rate (both or neither; rate in (0, 1)). Any other
// param is rejected by name. Needs spu_config.
//
// Inputs must be complete numeric columns (missing_value otherwise: run fillna first); with
// reg_type logistic the label must be 0/1 (label_not_binary).
//
// Model files (docs/MODELS.md), per party P = model_output[P]: `P` — this party's shares of the
// weights and bias; `P.meta.json` — {party, model_type "ss_sgd_secure", share_path, parties,
// features, features_by_party, label, label_party, reg_type "RegType.Logistic" | "RegType.Linear",
// sig_type "SigType.T1" …, training_params, secure_mode, created_at, spu, share_digest}.
//
// Reveals: column names and row counts; the early-stopping bit per epoch. Never the model.
// Result (every party): model_path, parties, features, label, label_party, secure_mode,
// weights_encrypted, params (the seven Python-worker keys + eps/decay), epochs_run,
// stopped_early.
#pragma once

#include "veil/tasks/task.h"

namespace veil::tasks {

inline constexpr char kSsLrModelType[] = "ss_sgd_secure";

TaskType SsLrTaskType();

}  // namespace veil::tasks
