#include "veil/tasks/onehot_encoder_task.h"

#include <memory>

#include "veil/base/config_reader.h"
#include "veil/tasks/categories.h"
#include "veil/tasks/vertical.h"

namespace veil::tasks {

namespace {

using nlohmann::json;

constexpr char kName[] = "onehot_encoder";
const std::vector<std::string> kDropChoices = {"none", "first", "if_binary"};

struct Config {
  vertical::TableTaskConfig table;
  std::string drop = "none";
};

Config ReadConfig(const json& cfg, const std::vector<std::string>& parties, Problems& problems) {
  Config c;
  ConfigReader r(cfg, "task_config", &problems);
  r.Accept("task_type");
  c.table = vertical::ReadTableTaskConfig(r, parties, Required::kYes);
  c.drop = r.Enum("drop", Required::kNo, kDropChoices).value_or("none");
  r.RejectUnknown();
  return c;
}

StatusOr<json> Run(PartyRun& run) {
  Problems problems;
  const Config cfg = ReadConfig(run.task_config, vertical::PartyNames(run.link), problems);
  VEIL_RETURN_IF_ERROR(problems.ToStatus());
  vertical::TransformSpec spec;
  spec.tag = kName;
  spec.keep_text = true;
  spec.fit = [&](const data::ColumnTable& table,
                 const data::Column& col) -> StatusOr<vertical::ColumnTransform> {
    VEIL_ASSIGN_OR_RETURN(Categories cats, Categories::Fit(table, col));
    auto shared = std::make_shared<Categories>(std::move(cats));
    const bool drop_first = cfg.drop == "first" || (cfg.drop == "if_binary" && shared->size() == 2);
    const size_t first_kept = drop_first ? 1 : 0;
    vertical::ColumnTransform t;
    for (size_t i = first_kept; i < shared->size(); ++i) {
      t.output_names.push_back(col.name + "_" + shared->names()[i]);
    }
    t.fitted = {{"categories", shared->names()},
                {"dropped", drop_first ? json(shared->names()[0]) : json(nullptr)},
                {"output_columns", t.output_names}};
    const size_t width = t.output_names.size();
    t.apply = [shared, first_kept, width](int64_t row, std::string_view, std::string* out) {
      const int64_t code = shared->IndexOf(row);
      for (size_t i = 0; i < width; ++i) {
        if (code < 0) {
          out[i].clear();
        } else {
          out[i] = static_cast<size_t>(code) == i + first_kept ? "1" : "0";
        }
      }
    };
    return t;
  };
  VEIL_ASSIGN_OR_RETURN(vertical::TransformOutcome outcome,
                        vertical::RunTransform(run, cfg.table, spec));
  json result = vertical::TransformResult(run, cfg.table, outcome, "encoded_columns", "categories");
  result["drop"] = cfg.drop == "none" ? json(nullptr) : json(cfg.drop);
  return result;
}

}  // namespace

TaskType OneHotEncoderTaskType() {
  return vertical::TransformTaskType(kName, ReadConfig, Run, "categories");
}

}  // namespace veil::tasks
