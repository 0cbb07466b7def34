#include "veil/tasks/registry.h"

#include "veil/tasks/biclassification_eval_task.h"
#include "veil/tasks/equal_width_binning_task.h"
#include "veil/tasks/fillna_task.h"
#include "veil/tasks/label_encoder_task.h"
#include "veil/tasks/minmax_scaler_task.h"
#include "veil/tasks/onehot_encoder_task.h"
#include "veil/tasks/pearson_correlation_task.h"
#include "veil/tasks/psi_task.h"
#include "veil/tasks/quantile_binning_task.h"
#include "veil/tasks/regression_eval_task.h"
#include "veil/tasks/ss_lr_predict_task.h"
#include "veil/tasks/ss_lr_task.h"
#include "veil/tasks/ss_xgb_predict_task.h"
#include "veil/tasks/ss_xgb_task.h"
#include "veil/tasks/standard_scaler_task.h"
#include "veil/tasks/table_statistics_task.h"
#include "veil/tasks/vif_task.h"

namespace veil::tasks {

Status TaskRegistry::Register(TaskType type) {
  if (types_.count(type.name)) {
    return InternalError("duplicate_task_type", "task type '" + type.name + "' registered twice");
  }
  std::string name = type.name;
  types_.emplace(std::move(name), std::move(type));
  return Status();
}

const TaskType* TaskRegistry::Find(const std::string& name) const {
  auto it = types_.find(name);
  return it == types_.end() ? nullptr : &it->second;
}

std::vector<std::string> TaskRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& [n, t] : types_) out.push_back(n);
  return out;
}

namespace {
TaskRegistry* BuildBuiltins() {
  auto* r = new TaskRegistry();
  // Every built-in task type, in one place.
  (void)r->Register(PsiTaskType());
  (void)r->Register(StandardScalerTaskType());
  (void)r->Register(MinMaxScalerTaskType());
  (void)r->Register(LabelEncoderTaskType());
  (void)r->Register(OneHotEncoderTaskType());
  (void)r->Register(QuantileBinningTaskType());
  (void)r->Register(EqualWidthBinningTaskType());
  (void)r->Register(FillnaTaskType());
  (void)r->Register(TableStatisticsTaskType());
  (void)r->Register(PearsonCorrelationTaskType());
  (void)r->Register(VifTaskType());
  (void)r->Register(SsLrTaskType());
  (void)r->Register(SsLrPredictTaskType());
  (void)r->Register(BiClassificationEvalTaskType());
  (void)r->Register(RegressionEvalTaskType());
  (void)r->Register(SsXgbTaskType());
  (void)r->Register(SsXgbPredictTaskType());
  return r;
}
}  // namespace

const TaskRegistry& BuiltinRegistry() {
  static const TaskRegistry* registry = BuildBuiltins();
  return *registry;
}

}  // namespace veil::tasks
