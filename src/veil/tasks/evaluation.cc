#include "veil/tasks/evaluation.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include <fmt/format.h>

#include "veil/tasks/vertical.h"

namespace veil::tasks {

namespace {

using nlohmann::json;
using nlohmann::ordered_json;

struct Config {
  std::map<std::string, std::string> data;
  std::string label;
  std::string prediction;
  std::string output_report;
  std::string report_party;
  json extra;
};

Config ReadConfig(const EvalTaskType& type, const json& cfg,
                  const std::vector<std::string>& parties, Problems& problems) {
  Config c;
  ConfigReader r(cfg, "task_config", &problems);
  r.Accept("task_type");
  c.data = vertical::ReadPartyPaths(r, "prediction_data", parties, /*exact=*/false);
  c.label = r.String("label_column", Required::kYes).value_or("");
  c.prediction = r.String("prediction_column", Required::kYes).value_or("");
  c.output_report = r.String("output_report", Required::kYes).value_or("");
  c.report_party = vertical::ReadReportParty(r, parties);
  if (!c.label.empty() && c.label == c.prediction) {
    problems.Add("task_config.prediction_column", "invalid_value", "must differ from label_column");
  }
  c.extra = type.read_extra ? type.read_extra(r) : json::object();
  r.RejectUnknown();
  return c;
}

// Reads one evaluation column: numeric, finite, complete.
StatusOr<std::vector<double>> ReadEvalColumn(const data::ColumnTable& table,
                                             const data::Column& col) {
  VEIL_RETURN_IF_ERROR(vertical::RequireFiniteNumbers(table, col));
  if (col.missing > 0) {
    size_t first = 0;
    while (!std::isnan(col.values[first])) ++first;
    return ParameterError("missing_value",
                          fmt::format("{}: column '{}' has {} missing value(s), the first in data "
                                      "row {}; evaluation needs every row",
                                      table.path, col.name, col.missing, first + 1));
  }
  return col.values;
}

StatusOr<json> Run(const EvalTaskType& type, PartyRun& run) {
  link::Context& ctx = run.link;
  const std::vector<std::string> parties = vertical::PartyNames(ctx);
  Problems problems;
  const Config cfg = ReadConfig(type, run.task_config, parties, problems);
  VEIL_RETURN_IF_ERROR(problems.ToStatus());
  const std::string self = ctx.self_name();
  const size_t report_rank = *ctx.RankOf(cfg.report_party);
  const auto path = cfg.data.find(self);
  const bool has_data = path != cfg.data.end();
  const std::vector<std::string> wanted = {cfg.label, cfg.prediction};

  // 1. Placement of the two columns.
  std::vector<std::string> own;
  StatusOr<json> found = [&]() -> StatusOr<json> {
    if (!has_data) return json::array();
    VEIL_ASSIGN_OR_RETURN(std::vector<std::string> header, data::ReadHeader(path->second));
    for (const auto& c : wanted)
      if (std::find(header.begin(), header.end(), c) != header.end()) own.push_back(c);
    return json(own);
  }();
  VEIL_ASSIGN_OR_RETURN(std::vector<json> found_all,
                        vertical::AllGatherJson(ctx, type.name + "/columns", found));
  Problems placement;
  const char* fields[] = {"label_column", "prediction_column"};
  for (size_t i = 0; i < 2; ++i) {
    std::vector<std::string> at;
    for (size_t r = 0; r < found_all.size(); ++r) {
      for (const auto& c : found_all[r])
        if (c == wanted[i]) at.push_back(parties[r]);
    }
    if (at.empty()) {
      placement.Add(std::string("task_config.") + fields[i], "unknown_column",
                    fmt::format("column '{}' was found at no party's prediction_data", wanted[i]));
    } else if (at.size() > 1) {
      placement.Add(std::string("task_config.") + fields[i], "duplicate_column",
                    fmt::format("column '{}' is held by several parties ({})", wanted[i],
                                fmt::join(at, ", ")));
    }
  }
  VEIL_RETURN_IF_ERROR(placement.ToStatus());

  // 2. The holders send their columns to the report party.
  StatusOr<json> mine = [&]() -> StatusOr<json> {
    json out = json::object();
    if (own.empty()) return out;
    VEIL_ASSIGN_OR_RETURN(data::ColumnTable table, data::ReadColumns(path->second, own, false));
    for (const auto& col : table.columns) {
      VEIL_ASSIGN_OR_RETURN(std::vector<double> values, ReadEvalColumn(table, col));
      out[col.name == cfg.label ? "label" : "prediction"] = values;
    }
    return out;
  }();
  StatusOr<std::vector<json>> gathered =
      vertical::GatherJson(ctx, report_rank, type.name + "/columns_data", mine);
  if (ctx.rank() != report_rank && !gathered.ok()) return gathered.status();

  // 3. The report party computes and writes; everyone learns the outcome.
  json metrics = nullptr;
  StatusOr<json> outcome = json::object();
  if (ctx.rank() == report_rank) {
    outcome = [&]() -> StatusOr<json> {
      if (!gathered.ok()) return gathered.status();
      std::vector<double> label, prediction;
      for (const auto& g : *gathered) {
        if (g.contains("label")) label = g["label"].get<std::vector<double>>();
        if (g.contains("prediction")) prediction = g["prediction"].get<std::vector<double>>();
      }
      if (label.size() != prediction.size()) {
        return ParameterError(
            "row_count_mismatch",
            fmt::format("label column '{}' has {} rows but prediction column "
                        "'{}' has {}; the inputs must be row-aligned",
                        cfg.label, label.size(), cfg.prediction, prediction.size()));
      }
      VEIL_ASSIGN_OR_RETURN(metrics, type.metrics(label, prediction, cfg.extra));
      ordered_json config = {{"label_column", cfg.label}, {"prediction_column", cfg.prediction}};
      for (const auto& [k, v] : cfg.extra.items()) config[k] = ordered_json::parse(v.dump());
      ordered_json report = {{"metrics", ordered_json::parse(metrics.dump())},
                             {"config", config},
                             {"parties", parties}};
      VEIL_RETURN_IF_ERROR(vertical::WriteFileAtomically(cfg.output_report, report.dump(2)));
      return json::object();
    }();
  }
  VEIL_RETURN_IF_ERROR(
      vertical::ShareOutcome(ctx, report_rank, type.name + "/outcome", outcome).status());
  return json{{"output_report", cfg.output_report},
              {"metrics", metrics},
              {"parties", parties},
              {"report_party", cfg.report_party}};
}

}  // namespace

TaskType MakeEvalTaskType(EvalTaskType type) {
  auto shared = std::make_shared<EvalTaskType>(std::move(type));
  TaskType t;
  t.name = shared->name;
  t.validate = [shared](const json& cfg, const TaskEnv& env, Problems& problems) {
    ReadConfig(*shared, cfg, env.parties, problems);
  };
  t.path_fields = {{"prediction_data", true, false}, {"output_report", false, true}};
  t.peer_config = [](const json& cfg) {
    return vertical::PeerConfigWithoutPaths(cfg, {"prediction_data", "output_report"});
  };
  t.run = [shared](PartyRun& run) { return Run(*shared, run); };
  t.merge = [](const std::map<std::string, json>& by_party, const json&) {
    // The report party's result is the one with the metrics.
    for (const auto& [p, r] : by_party) {
      if (r.value("report_party", "") == p) return r;
    }
    return by_party.begin()->second;
  };
  return t;
}

}  // namespace veil::tasks
