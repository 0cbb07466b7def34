// The task_config fields shared by the secure model tasks (ss_lr, ss_xgb and their predict
// tasks; python-worker.md §1.2), read once for all of them.
//
// Training: train_data {party: path} (exactly the sf_init parties), features (non-empty list),
// label, label_party (a party; the label must not also be a feature), model_output
// {party: path} (every party).
// Prediction: model_path {party: path} (every party), predict_data {party: path} (every party),
// output_path {party: path} (a non-empty subset), receiver_party (optional; when given it must be
// a party with an output_path; the default — the model's label_party — is checked at run time).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "veil/base/config_reader.h"
#include "veil/base/status.h"
#include "veil/link/context.h"

namespace veil::tasks::model_task {

struct TrainFields {
  std::map<std::string, std::string> train_data;
  std::vector<std::string> features;
  std::string label;
  std::string label_party;
  std::map<std::string, std::string> model_output;
};
void ReadTrainFields(ConfigReader& r, const std::vector<std::string>& parties, TrainFields* out);

struct PredictFields {
  std::map<std::string, std::string> model_path;
  std::map<std::string, std::string> predict_data;
  std::map<std::string, std::string> output_path;
  std::optional<std::string> receiver;
};
void ReadPredictFields(ConfigReader& r, const std::vector<std::string>& parties,
                       PredictFields* out);

// The receiver's prediction CSV (columns probability — the score — and prediction = 1 if
// score ≥ 0.5 else 0; one row per input row), written atomically by the receiver only (`scores`
// non-null exactly there); every party returns the receiver's outcome.
Status WritePredictions(link::Context& ctx, size_t receiver_rank, const std::string& tag,
                        const std::string& path, const double* scores, int64_t count);

}  // namespace veil::tasks::model_task
