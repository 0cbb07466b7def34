#include "veil/tasks/label_encoder_task.h"

#include <memory>

#include "veil/base/config_reader.h"
#include "veil/tasks/categories.h"
#include "veil/tasks/vertical.h"

namespace veil::tasks {

namespace {

using nlohmann::json;

constexpr char kName[] = "label_encoder";

vertical::TableTaskConfig ReadConfig(const json& cfg, const std::vector<std::string>& parties,
                                     Problems& problems) {
  ConfigReader r(cfg, "task_config", &problems);
  r.Accept("task_type");
  auto c = vertical::ReadTableTaskConfig(r, parties, Required::kYes);
  r.RejectUnknown();
  return c;
}

StatusOr<json> Run(PartyRun& run) {
  Problems problems;
  const auto cfg = ReadConfig(run.task_config, vertical::PartyNames(run.link), problems);
  VEIL_RETURN_IF_ERROR(problems.ToStatus());
  vertical::TransformSpec spec;
  spec.tag = kName;
  spec.keep_text = true;
  spec.fit = [](const data::ColumnTable& table,
                const data::Column& col) -> StatusOr<vertical::ColumnTransform> {
    VEIL_ASSIGN_OR_RETURN(Categories cats, Categories::Fit(table, col));
    auto shared = std::make_shared<Categories>(std::move(cats));
    vertical::ColumnTransform t;
    t.output_names = {col.name};
    json mapping = json::object();
    for (size_t i = 0; i < shared->size(); ++i) mapping[shared->names()[i]] = i;
    t.fitted = mapping;
    t.apply = [shared](int64_t row, std::string_view, std::string* out) {
      const int64_t code = shared->IndexOf(row);
      if (code < 0) {
        out->clear();
      } else {
        *out = std::to_string(code);
      }
    };
    return t;
  };
  VEIL_ASSIGN_OR_RETURN(vertical::TransformOutcome outcome, vertical::RunTransform(run, cfg, spec));
  return vertical::TransformResult(run, cfg, outcome, "encoded_columns", "mappings");
}

}  // namespace

TaskType LabelEncoderTaskType() {
  return vertical::TransformTaskType(kName, ReadConfig, Run, "mappings");
}

}  // namespace veil::tasks
