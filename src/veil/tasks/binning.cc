#include "veil/tasks/binning.h"

#include <algorithm>
#include <cmath>

#include "veil/base/config_reader.h"
#include "veil/tasks/vertical.h"

namespace veil::tasks {

namespace {

using nlohmann::json;

struct Config {
  vertical::TableTaskConfig table;
  int64_t n_bins = kDefaultBins;
};

Config ReadConfig(const json& cfg, const std::vector<std::string>& parties, Problems& problems) {
  Config c;
  ConfigReader r(cfg, "task_config", &problems);
  r.Accept("task_type");
  c.table = vertical::ReadTableTaskConfig(r, parties, Required::kYes);
  c.n_bins = r.Int("n_bins", kDefaultBins, 2, kMaxBins);
  r.RejectUnknown();
  return c;
}

}  // namespace

int64_t BinIndex(const std::vector<double>& edges, double v, bool include_lowest) {
  if (edges.size() == 1) return v == edges[0] ? 0 : -1;
  auto id = std::lower_bound(edges.begin(), edges.end(), v) - edges.begin();
  if (include_lowest && v == edges[0]) id = 1;
  if (id == 0 || id == static_cast<int64_t>(edges.size())) return -1;
  return id - 1;
}

TaskType MakeBinningTaskType(BinningType type) {
  auto shared_type = std::make_shared<BinningType>(std::move(type));
  auto run = [shared_type](PartyRun& run) -> StatusOr<json> {
    const BinningType& bt = *shared_type;
    Problems problems;
    const Config cfg = ReadConfig(run.task_config, vertical::PartyNames(run.link), problems);
    VEIL_RETURN_IF_ERROR(problems.ToStatus());
    vertical::TransformSpec spec;
    spec.tag = bt.task_name;
    spec.fit = [&](const data::ColumnTable& table,
                   const data::Column& col) -> StatusOr<vertical::ColumnTransform> {
      VEIL_RETURN_IF_ERROR(vertical::RequireFiniteNumbers(table, col));
      std::vector<double> sorted;
      for (double v : col.values)
        if (!std::isnan(v)) sorted.push_back(v);
      std::sort(sorted.begin(), sorted.end());
      auto edges = std::make_shared<std::vector<double>>(bt.edges(sorted, cfg.n_bins));
      vertical::ColumnTransform tr;
      tr.output_names = {col.name};
      const std::vector<double>* values = &col.values;
      const bool include_lowest = bt.include_lowest;
      tr.apply = [values, edges, include_lowest](int64_t row, std::string_view, std::string* out) {
        const double v = (*values)[row];
        const int64_t bin = std::isnan(v) ? -1 : BinIndex(*edges, v, include_lowest);
        if (bin < 0) {
          out->clear();
        } else {
          *out = std::to_string(bin);
        }
      };
      tr.fitted = {{"edges", *edges},
                   {"bins", edges->size() == 1 ? 1 : static_cast<int64_t>(edges->size()) - 1}};
      return tr;
    };
    VEIL_ASSIGN_OR_RETURN(vertical::TransformOutcome outcome,
                          vertical::RunTransform(run, cfg.table, spec));
    json result = vertical::TransformResult(run, cfg.table, outcome, "binned_columns", "bin_edges");
    result["n_bins"] = cfg.n_bins;
    result["binning_type"] = bt.binning_type;
    return result;
  };
  const std::string name = shared_type->task_name;
  return vertical::TransformTaskType(name, ReadConfig, std::move(run), "bin_edges");
}

}  // namespace veil::tasks
