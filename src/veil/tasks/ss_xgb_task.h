// task_type "ss_xgb": SS-XGB training on vertically partitioned data (SecretFlow's
// ss_xgb_v.Xgb(spu).train; python-worker.md §1.2). The algorithm, its security model and what it
// reveals: ss_xgb_model.h.
//
// Fields: train_data {party: path} (every sf_init party), features (non-empty list, each a
// column of exactly one party's file), label (a column of label_party's file, 0/1 for
// logistic), label_party, model_output {party: path} (every party), params (optional object:
// num_boost_round, max_depth, learning_rate, objective, reg_lambda, subsample,
// colsample_by_tree, sketch_eps, base_score, seed; unknown keys and out-of-range values are
// ParameterValidationErrors, where the Python worker ignores unknown keys).
// Features and label must be complete numeric columns (missing_value otherwise: run fillna).
//
// Files of party P (model_output[P] = M), format in docs/MODELS.md: M.meta.json,
// M.tree_<i>.json (P's view of tree i: every node's owner, P's own splits' feature and
// threshold) and M.weight_<i>.share (P's shares of tree i's leaf weights, model_store.h).
// Nothing is written at M itself. Each party writes only its own files.
//
// Progress: computation_progress {"phase": "tree", "tree": i, "num_trees"} after every tree.
// Result (every party): model_output, num_trees, secure_mode: true, training_params, parties,
// features, label, label_party.
#pragma once

#include <string>
#include <vector>

#include "veil/base/status.h"
#include "veil/tasks/ss_xgb_model.h"
#include "veil/tasks/task.h"

namespace veil::tasks {

TaskType SsXgbTaskType();

namespace ss_xgb {

// Reads `names` from this party's file `path` as complete finite numeric columns
// (vertical::RequireFiniteNumbers, plus ParameterError "missing_value" for a missing cell).
StatusOr<OwnFeatures> ReadOwnFeatures(const std::string& path,
                                      const std::vector<std::string>& names);

// The file names of party model path `base`.
std::string MetaPath(const std::string& base);
std::string TreePath(const std::string& base, int64_t tree);
std::string WeightPath(const std::string& base, int64_t tree);

}  // namespace ss_xgb
}  // namespace veil::tasks
