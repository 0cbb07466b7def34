#include "veil/tasks/minmax_scaler_task.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "veil/base/config_reader.h"
#include "veil/tasks/vertical.h"

namespace veil::tasks {

namespace {

using nlohmann::json;

constexpr char kName[] = "minmax_scaler";
constexpr double kDefaultRangeMin = 0.0;
constexpr double kDefaultRangeMax = 1.0;

struct Config {
  vertical::TableTaskConfig table;
  double range_min = kDefaultRangeMin;
  double range_max = kDefaultRangeMax;
};

Config ReadConfig(const json& cfg, const std::vector<std::string>& parties, Problems& problems) {
  Config c;
  ConfigReader r(cfg, "task_config", &problems);
  r.Accept("task_type");
  c.table = vertical::ReadTableTaskConfig(r, parties, Required::kNo);
  if (const json* range = r.Raw("feature_range", Required::kNo)) {
    const std::string path = r.PathOf("feature_range");
    if (!range->is_array() || range->size() != 2) {
      problems.Add(path, "wrong_type",
                   "must be a list of two numbers [min, max], got " + JsonTypeName(*range));
    } else {
      bool ok = true;
      for (size_t i = 0; i < 2; ++i) {
        const json& v = (*range)[i];
        if (!v.is_number() || !std::isfinite(v.get<double>())) {
          problems.Add(fmt::format("{}[{}]", path, i), "wrong_type",
                       "must be a finite number, got " + JsonTypeName(v));
          ok = false;
        }
      }
      if (ok) {
        c.range_min = (*range)[0].get<double>();
        c.range_max = (*range)[1].get<double>();
        if (!(c.range_min < c.range_max)) {
          problems.Add(
              path, "invalid_value",
              fmt::format("min must be smaller than max, got [{}, {}]", c.range_min, c.range_max));
        }
      }
    }
  }
  r.RejectUnknown();
  return c;
}

StatusOr<json> Run(PartyRun& run) {
  Problems problems;
  const Config cfg = ReadConfig(run.task_config, vertical::PartyNames(run.link), problems);
  VEIL_RETURN_IF_ERROR(problems.ToStatus());
  vertical::TransformSpec spec;
  spec.tag = kName;
  spec.default_select = [](const data::Column& c) { return c.has_numbers(); };
  spec.fit = [&](const data::ColumnTable& table,
                 const data::Column& col) -> StatusOr<vertical::ColumnTransform> {
    VEIL_RETURN_IF_ERROR(vertical::RequireFiniteNumbers(table, col));
    double lo = std::numeric_limits<double>::infinity();
    double hi = -lo;
    for (double v : col.values) {
      if (std::isnan(v)) continue;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    double range = hi - lo;
    if (range < 10 * std::numeric_limits<double>::epsilon()) range = 1.0;
    const double scale = (cfg.range_max - cfg.range_min) / range;
    const double min = cfg.range_min - lo * scale;
    vertical::ColumnTransform t;
    t.output_names = {col.name};
    const std::vector<double>* values = &col.values;
    t.apply = [values, scale, min](int64_t row, std::string_view, std::string* out) {
      double v = (*values)[row];
      if (std::isnan(v)) {
        out->clear();
        return;
      }
      v *= scale;
      v += min;
      *out = data::FormatDouble(v);
    };
    t.fitted = {{"data_min", lo}, {"data_max", hi}, {"scale", scale}, {"min", min}};
    return t;
  };
  VEIL_ASSIGN_OR_RETURN(vertical::TransformOutcome outcome,
                        vertical::RunTransform(run, cfg.table, spec));
  json result = vertical::TransformResult(run, cfg.table, outcome, "scaled_columns", "statistics");
  result["feature_range"] = {cfg.range_min, cfg.range_max};
  return result;
}

}  // namespace

TaskType MinMaxScalerTaskType() {
  return vertical::TransformTaskType(kName, ReadConfig, Run, "statistics");
}

}  // namespace veil::tasks
