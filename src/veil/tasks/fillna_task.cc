#include "veil/tasks/fillna_task.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include <fmt/format.h>

#include "veil/base/config_reader.h"
#include "veil/tasks/categories.h"
#include "veil/tasks/vertical.h"

namespace veil::tasks {

namespace {

using nlohmann::json;

constexpr char kName[] = "fillna";
const std::vector<std::string> kStrategies = {"mean", "median", "mode", "constant"};

struct Config {
  vertical::TableTaskConfig table;
  std::string strategy = "mean";
  std::string fill_text;  // constant: the cell written
  json fill_json;         // constant: the value reported
};

Config ReadConfig(const json& cfg, const std::vector<std::string>& parties, Problems& problems) {
  Config c;
  ConfigReader r(cfg, "task_config", &problems);
  r.Accept("task_type");
  c.table = vertical::ReadTableTaskConfig(r, parties, Required::kYes);
  c.strategy = r.Enum("strategy", Required::kNo, kStrategies).value_or("mean");
  const bool constant = r.Has("strategy") && c.strategy == "constant";
  const json* fill = r.Raw("fill_value", constant ? Required::kYes : Required::kNo);
  if (fill && constant) {
    const std::string path = r.PathOf("fill_value");
    if (fill->is_number_integer()) {
      c.fill_text = std::to_string(fill->get<int64_t>());
      c.fill_json = *fill;
    } else if (fill->is_number()) {
      if (!std::isfinite(fill->get<double>())) {
        problems.Add(path, "invalid_value", "must be finite");
      }
      c.fill_text = data::FormatDouble(fill->get<double>());
      c.fill_json = *fill;
    } else if (fill->is_string()) {
      c.fill_text = fill->get<std::string>();
      c.fill_json = *fill;
      if (data::IsMissingCell(c.fill_text)) {
        problems.Add(path, "invalid_value",
                     "'" + c.fill_text + "' reads as a missing value; it cannot fill one");
      }
    } else {
      problems.Add(path, "wrong_type", "must be a number or a string, got " + JsonTypeName(*fill));
    }
  }
  r.RejectUnknown();
  return c;
}

// The fill value of one column: the cell text and the reported JSON value.
struct Fill {
  std::string text;
  json value;
};

StatusOr<Fill> FitColumn(const Config& cfg, const data::ColumnTable& table,
                         const data::Column& col) {
  if (cfg.strategy == "constant") return Fill{cfg.fill_text, cfg.fill_json};
  if (cfg.strategy == "mode") {
    VEIL_ASSIGN_OR_RETURN(Categories cats, Categories::Fit(table, col));
    std::vector<int64_t> counts(cats.size(), 0);
    for (int64_t r = 0; r < table.rows; ++r) {
      const int64_t code = cats.IndexOf(r);
      if (code >= 0) ++counts[static_cast<size_t>(code)];
    }
    const size_t best = std::max_element(counts.begin(), counts.end()) - counts.begin();
    const std::string& name = cats.names()[best];
    if (col.numeric()) {
      double v = 0;
      (void)data::ParseCell(name, &v);
      return Fill{data::FormatDouble(v), json(v)};
    }
    return Fill{name, json(name)};
  }
  VEIL_RETURN_IF_ERROR(vertical::RequireFiniteNumbers(table, col));
  std::vector<double> values;
  for (double v : col.values)
    if (!std::isnan(v)) values.push_back(v);
  double fill = 0;
  if (cfg.strategy == "mean") {
    double sum = 0;
    for (double v : values) sum += v;
    fill = sum / static_cast<double>(values.size());
  } else {
    std::sort(values.begin(), values.end());
    const size_t n = values.size();
    fill = n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
  }
  return Fill{data::FormatDouble(fill), json(fill)};
}

StatusOr<json> Run(PartyRun& run) {
  Problems problems;
  const Config cfg = ReadConfig(run.task_config, vertical::PartyNames(run.link), problems);
  VEIL_RETURN_IF_ERROR(problems.ToStatus());
  vertical::TransformSpec spec;
  spec.tag = kName;
  spec.keep_text = cfg.strategy == "mode";
  spec.fit = [&](const data::ColumnTable& table,
                 const data::Column& col) -> StatusOr<vertical::ColumnTransform> {
    VEIL_ASSIGN_OR_RETURN(Fill fill, FitColumn(cfg, table, col));
    vertical::ColumnTransform t;
    t.output_names = {col.name};
    t.fitted = fill.value;
    t.apply = [text = fill.text](int64_t, std::string_view cell, std::string* out) {
      if (data::IsMissingCell(cell)) {
        *out = text;
      } else {
        out->assign(cell);
      }
    };
    return t;
  };
  VEIL_ASSIGN_OR_RETURN(vertical::TransformOutcome outcome,
                        vertical::RunTransform(run, cfg.table, spec));
  json result = vertical::TransformResult(run, cfg.table, outcome, "filled_columns", "fill_values");
  result["strategy"] = cfg.strategy;
  return result;
}

}  // namespace

TaskType FillnaTaskType() {
  return vertical::TransformTaskType(kName, ReadConfig, Run, "fill_values");
}

}  // namespace veil::tasks
