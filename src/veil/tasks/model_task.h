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

}  // namespace veil::tasks::model_task
