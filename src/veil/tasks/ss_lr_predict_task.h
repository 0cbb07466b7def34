// task_type "ss_lr_predict": scores of an SS-LR model (ss_lr_task.h) on new vertically split
// data, revealed to the receiver only (python-worker.md §1.2).
//
// Fields: model_path {party: path} (every party: its own share file; the meta is
// `<path>.meta.json`), predict_data {party: path}, output_path {party: path} (must contain the
// receiver), receiver_party (default: the model's label_party). Needs spu_config with the
// configuration the model was trained under (protocol, field, fraction bits, parties).
//
// Each party loads only its own meta and shares; the parties first check that their metas
// describe the same model (model_mismatch otherwise) and that every party loaded its shares (a
// missing or corrupt file fails every party with that party's error: model_file_missing,
// model_file_corrupt, model_type_mismatch, model_spu_mismatch — docs/MODELS.md). Features are
// taken by name from predict_data as the meta's features_by_party assigns them.
//
// Output (receiver only, atomically): CSV with columns probability (the score: sigmoid for
// logistic models, the linear prediction otherwise) and prediction (1 if score ≥ 0.5 else 0),
// one row per input row, no id column. Other parties write nothing and learn nothing.
// Result (every party): output_path, receiver_party, num_predictions, secure_mode.
#pragma once

#include "veil/tasks/task.h"

namespace veil::tasks {

TaskType SsLrPredictTaskType();

}  // namespace veil::tasks
