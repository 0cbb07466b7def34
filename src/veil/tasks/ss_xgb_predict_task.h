// task_type "ss_xgb_predict": predictions of an SS-XGB model (ss_xgb_task.h) loaded from each
// party's own files, in a new process and on an SPU with the configuration and parties of the
// training (SecretFlow's XgbModel.predict(to_pyu=receiver); python-worker.md §1.2).
//
// Fields: model_path {party: path} (every party: the model_output of the training),
// predict_data {party: path} (every party; each party's features are taken by the names stored
// in its meta), output_path {party: path} (must contain the receiver), receiver_party (default:
// the label_party stored in the meta).
//
// Loading checks (every party fails alike, with the first failing party's error): missing meta,
// tree or share file → ParameterValidationError model_file_missing; a file that does not match
// its digest in the meta or is malformed → model_file_corrupt; a meta of another model type
// (e.g. an ss_lr model) → model_type_mismatch; files of another training or another party set →
// model_mismatch; an SPU other than the training's → DeviceConfigError model_spu_mismatch.
//
// Reveals: the predictions to receiver_party only (RevealTo; the other parties receive no
// message carrying them); the row count to every party. The model stays secret.
// Output (receiver only): CSV with columns probability (the sr-sigmoid probability for
// logistic, the raw score for linear) and prediction (int(probability >= 0.5), also for linear,
// as the Python worker does); one row per input row.
// Result (every party): output_path, receiver_party, num_predictions, secure_mode: true.
#pragma once

#include "veil/tasks/task.h"

namespace veil::tasks {

TaskType SsXgbPredictTaskType();

}  // namespace veil::tasks
