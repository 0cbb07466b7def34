#include "veil/tasks/standard_scaler_task.h"

#include <cmath>
#include <limits>

#include "veil/base/config_reader.h"
#include "veil/tasks/vertical.h"

namespace veil::tasks {

namespace {

using nlohmann::json;

constexpr char kName[] = "standard_scaler";

struct Config {
  vertical::TableTaskConfig table;
  bool with_mean = true;
  bool with_std = true;
};

Config ReadConfig(const json& cfg, const std::vector<std::string>& parties, Problems& problems) {
  Config c;
  ConfigReader r(cfg, "task_config", &problems);
  r.Accept("task_type");
  c.table = vertical::ReadTableTaskConfig(r, parties, Required::kNo);
  c.with_mean = r.Bool("with_mean", true);
  c.with_std = r.Bool("with_std", true);
  r.RejectUnknown();
  return c;
}

struct Fit {
  double mean = 0;
  double var = 0;
  double scale = 1;
};

// sklearn's _incremental_mean_and_var from zero samples (the corrected two-pass algorithm)
// and _is_constant_feature.
Fit FitColumn(const std::vector<double>& values) {
  double sum = 0;
  int64_t n = 0;
  for (double v : values) {
    if (!std::isnan(v)) {
      sum += v;
      ++n;
    }
  }
  Fit f;
  f.mean = sum / static_cast<double>(n);
  double correction = 0, squares = 0;
  for (double v : values) {
    if (std::isnan(v)) continue;
    const double d = v - f.mean;
    correction += d;
    squares += d * d;
  }
  f.var = (squares - correction * correction / static_cast<double>(n)) / static_cast<double>(n);
  const double eps = std::numeric_limits<double>::epsilon();
  const double nd = static_cast<double>(n);
  const double upper_bound = nd * eps * f.var + (nd * f.mean * eps) * (nd * f.mean * eps);
  f.scale = f.var <= upper_bound ? 1.0 : std::sqrt(f.var);
  return f;
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
    const Fit f = FitColumn(col.values);
    vertical::ColumnTransform t;
    t.output_names = {col.name};
    const double mean = cfg.with_mean ? f.mean : 0.0;
    const double scale = cfg.with_std ? f.scale : 1.0;
    const std::vector<double>* values = &col.values;
    t.apply = [values, mean, scale, with_mean = cfg.with_mean, with_std = cfg.with_std](
                  int64_t row, std::string_view, std::string* out) {
      double v = (*values)[row];
      if (std::isnan(v)) {
        out->clear();
        return;
      }
      if (with_mean) v -= mean;
      if (with_std) v /= scale;
      *out = data::FormatDouble(v);
    };
    t.fitted = {{"mean", f.mean},
                {"var", f.var},
                {"scale", cfg.with_std ? json(f.scale) : json(nullptr)},
                {"count", col.numbers}};
    return t;
  };
  VEIL_ASSIGN_OR_RETURN(vertical::TransformOutcome outcome,
                        vertical::RunTransform(run, cfg.table, spec));
  json result = vertical::TransformResult(run, cfg.table, outcome, "scaled_columns", "statistics");
  result["with_mean"] = cfg.with_mean;
  result["with_std"] = cfg.with_std;
  return result;
}

}  // namespace

TaskType StandardScalerTaskType() {
  return vertical::TransformTaskType(kName, ReadConfig, Run, "statistics");
}

}  // namespace veil::tasks
