#include "veil/tasks/ss_xgb_task.h"

#include <algorithm>
#include <cmath>
#include <random>

#include <fmt/format.h>

#include "veil/base/bytes.h"
#include "veil/base/config_reader.h"
#include "veil/base/time.h"
#include "veil/crypto/hash.h"
#include "veil/data/columns.h"
#include "veil/mpc/device.h"
#include "veil/tasks/model_store.h"
#include "veil/tasks/model_task.h"
#include "veil/tasks/secure_stats.h"
#include "veil/tasks/vertical.h"

namespace veil::tasks {

namespace ss_xgb {

using nlohmann::json;

StatusOr<OwnFeatures> ReadOwnFeatures(const std::string& path,
                                      const std::vector<std::string>& names) {
  VEIL_ASSIGN_OR_RETURN(data::ColumnTable table,
                        secure_stats::ReadCompleteColumns(path, names, "SS-XGB",
                                                          /*allow_no_rows=*/true));
  OwnFeatures out;
  out.rows = table.rows;
  for (auto& col : table.columns) {
    out.names.push_back(col.name);
    out.columns.push_back(std::move(col.values));
  }
  return out;
}

std::string MetaPath(const std::string& base) { return base + ".meta.json"; }
std::string TreePath(const std::string& base, int64_t tree) {
  return fmt::format("{}.tree_{}.json", base, tree);
}
std::string WeightPath(const std::string& base, int64_t tree) {
  return fmt::format("{}.weight_{}.share", base, tree);
}

}  // namespace ss_xgb

namespace {

using nlohmann::json;
constexpr char kName[] = "ss_xgb";
constexpr char kModelVersion[] = "1.0.0";

struct Config : model_task::TrainFields {
  ss_xgb::Params params;
};

Config ReadConfig(const json& task_config, const std::vector<std::string>& parties,
                  Problems& problems) {
  Config c;
  ConfigReader r(task_config, "task_config", &problems);
  r.Accept("task_type");
  model_task::ReadTrainFields(r, parties, &c);
  c.params = ss_xgb::ReadParams(r.Raw("params", Required::kNo), "task_config.params", problems);
  r.RejectUnknown();
  return c;
}

StatusOr<json> Run(PartyRun& run) {
  link::Context& ctx = run.link;
  const std::vector<std::string> parties = vertical::PartyNames(ctx);
  Problems problems;
  const Config cfg = ReadConfig(run.task_config, parties, problems);
  VEIL_RETURN_IF_ERROR(problems.ToStatus());
  if (run.spu == nullptr) return InternalError("no_spu", "ss_xgb runs on the SPU");
  const std::string self = ctx.self_name();
  const std::string& input = cfg.train_data.at(self);
  const size_t label_rank = *ctx.RankOf(cfg.label_party);

  // Column placement (names only).
  std::vector<std::string> own_names;
  bool has_label = false;
  StatusOr<json> found = [&]() -> StatusOr<json> {
    VEIL_ASSIGN_OR_RETURN(std::vector<std::string> header, data::ReadHeader(input));
    for (const auto& c : cfg.features) {
      if (std::find(header.begin(), header.end(), c) != header.end()) own_names.push_back(c);
    }
    has_label = std::find(header.begin(), header.end(), cfg.label) != header.end();
    return json{{"features", own_names}, {"label", has_label}};
  }();
  VEIL_ASSIGN_OR_RETURN(std::vector<json> found_all,
                        vertical::AllGatherJson(ctx, "ss_xgb/columns", found));
  std::vector<std::vector<std::string>> by_rank;
  for (const auto& f : found_all) by_rank.push_back(f["features"].get<std::vector<std::string>>());
  VEIL_RETURN_IF_ERROR(vertical::CheckPlacement("features", cfg.features, by_rank, ctx));
  if (!found_all[label_rank]["label"].get<bool>()) {
    return ParameterError("unknown_column",
                          fmt::format("the label '{}' is not a column of label_party '{}''s "
                                      "train_data",
                                      cfg.label, cfg.label_party));
  }

  // Own columns, split points; row counts and column counts exchanged.
  ss_xgb::OwnFeatures own;
  std::vector<double> label;
  std::vector<std::vector<double>> splits;
  StatusOr<json> facts = [&]() -> StatusOr<json> {
    VEIL_ASSIGN_OR_RETURN(own, ss_xgb::ReadOwnFeatures(input, own_names));
    if (ctx.rank() == label_rank) {
      VEIL_ASSIGN_OR_RETURN(ss_xgb::OwnFeatures l, ss_xgb::ReadOwnFeatures(input, {cfg.label}));
      label = std::move(l.columns[0]);
      if (cfg.params.objective == ss_xgb::Objective::kLogistic) {
        for (size_t i = 0; i < label.size(); ++i) {
          if (label[i] != 0 && label[i] != 1) {
            return ParameterError(
                "invalid_label",
                fmt::format("{} line {}: the label of a logistic model must be 0 or 1, got {}",
                            input, i + 2, data::FormatDouble(label[i])));
          }
        }
      }
    }
    json counts = json::array();
    for (const auto& col : own.columns) {
      splits.push_back(ss_xgb::SplitPoints(col, cfg.params.buckets()));
      counts.push_back(splits.back().size());
    }
    return json{{"rows", own.rows}, {"columns", counts}};
  }();
  std::vector<json> facts_all;
  VEIL_ASSIGN_OR_RETURN(const int64_t rows,
                        vertical::AgreeRowCounts(ctx, "ss_xgb/rows", facts, &facts_all));
  std::vector<std::vector<int64_t>> columns_by_rank;
  for (size_t r = 0; r < facts_all.size(); ++r) {
    columns_by_rank.push_back(facts_all[r]["columns"].get<std::vector<int64_t>>());
  }
  if (rows < 2) {
    return ParameterError("too_few_rows",
                          fmt::format("{} training row(s); SS-XGB needs at least 2", rows));
  }

  // A model id every party stores, so that files of different trainings are not mixed.
  StatusOr<json> id_mine = json::object();
  if (ctx.rank() == 0) {
    std::random_device rd;
    id_mine = json(fmt::format("{:08x}{:08x}{:08x}{:08x}", rd(), rd(), rd(), rd()));
  }
  VEIL_ASSIGN_OR_RETURN(json model_id, vertical::ShareOutcome(ctx, 0, "ss_xgb/id", id_mine));

  const int64_t num_trees = cfg.params.num_boost_round;
  auto on_tree = [&](int64_t t) {
    if (run.progress) {
      run.progress("computation_progress", static_cast<double>(t + 1) / num_trees,
                   {{"phase", "tree"}, {"tree", t}, {"num_trees", num_trees}, {"party", self}});
    }
  };
  if (run.progress) {
    run.progress("computation_progress", 0.0,
                 {{"phase", "binning"}, {"num_trees", num_trees}, {"party", self}});
  }

  // Train and save this party's files.
  const std::string& base = cfg.model_output.at(self);
  StatusOr<json> saved = run.spu->Visit([&]<typename T>(mpc::Protocol<T>& prot) -> StatusOr<json> {
    const ss_xgb::Model<T> model =
        ss_xgb::Train(prot, own, splits, columns_by_rank,
                      ctx.rank() == label_rank ? &label : nullptr, label_rank, cfg.params, on_tree);
    json share_digests = json::array(), tree_digests = json::array();
    for (int64_t t = 0; t < num_trees; ++t) {
      VEIL_ASSIGN_OR_RETURN(
          std::string digest,
          model_store::SaveShares<T>(ss_xgb::WeightPath(base, t), ss_xgb::kModelType, prot, self,
                                     {{"leaf_weights", model.weights[t]}}));
      share_digests.push_back(digest);
      json tree = model.trees[t].ToJson(own.names);
      tree["format_version"] = model_store::kFormatVersion;
      tree["model_type"] = ss_xgb::kModelType;
      tree["model_id"] = model_id;
      tree["tree"] = t;
      tree["party"] = self;
      tree["rank"] = ctx.rank();
      const std::string text = tree.dump(2);
      VEIL_RETURN_IF_ERROR(vertical::WriteFileAtomically(ss_xgb::TreePath(base, t), text));
      tree_digests.push_back(crypto::Blake2b128Hex(text));
    }
    json features_by_party = json::object();
    for (size_t r = 0; r < parties.size(); ++r) features_by_party[parties[r]] = by_rank[r];
    json meta = {{"model_type", ss_xgb::kModelType},
                 {"version", kModelVersion},
                 {"model_id", model_id},
                 {"objective", ss_xgb::ObjectiveName(cfg.params.objective)},
                 {"base_score", cfg.params.base_score},
                 {"features", cfg.features},
                 {"features_by_party", features_by_party},
                 {"label", cfg.label},
                 {"label_party", cfg.label_party},
                 {"parties", parties},
                 {"party", self},
                 {"num_trees", num_trees},
                 {"max_depth", cfg.params.max_depth},
                 {"training_params", cfg.params.ToJson()},
                 {"created_at", NowIso8601Utc()},
                 {"secure_mode", true},
                 {"spu", model_store::ModelSpu(prot)},
                 {"share_digests", share_digests},
                 {"tree_digests", tree_digests}};
    VEIL_RETURN_IF_ERROR(model_store::WriteMeta(ss_xgb::MetaPath(base), meta));
    return json::object();
  });
  VEIL_RETURN_IF_ERROR(vertical::AllGatherJson(ctx, "ss_xgb/saved", saved).status());

  return json{{"model_output", cfg.model_output},
              {"num_trees", num_trees},
              {"secure_mode", true},
              {"training_params", cfg.params.ToJson()},
              {"parties", parties},
              {"features", cfg.features},
              {"label", cfg.label},
              {"label_party", cfg.label_party}};
}

}  // namespace

TaskType SsXgbTaskType() {
  return vertical::ConfiguredTaskType(kName, ReadConfig,
                                      {{"train_data", true, false}, {"model_output", true, true}},
                                      Run, /*needs_spu=*/true);
}

}  // namespace veil::tasks
