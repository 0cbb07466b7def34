#include "veil/tasks/ss_xgb_predict_task.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "veil/base/bytes.h"
#include "veil/base/config_reader.h"
#include "veil/crypto/hash.h"
#include "veil/data/columns.h"
#include "veil/mpc/device.h"
#include "veil/tasks/model_store.h"
#include "veil/tasks/model_task.h"
#include "veil/tasks/ss_xgb_task.h"
#include "veil/tasks/vertical.h"

namespace veil::tasks {

namespace {

using nlohmann::json;
constexpr char kName[] = "ss_xgb_predict";

using Config = model_task::PredictFields;

Config ReadConfig(const json& task_config, const std::vector<std::string>& parties,
                  Problems& problems) {
  Config c;
  ConfigReader r(task_config, "task_config", &problems);
  r.Accept("task_type");
  model_task::ReadPredictFields(r, parties, &c);
  r.RejectUnknown();
  return c;
}

Status Corrupt(const std::string& path, const std::string& why) {
  return ParameterError("model_file_corrupt", fmt::format("model file {}: {}", path, why));
}

// This party's trees, checked against the meta's digests.
StatusOr<std::vector<ss_xgb::PartyTree>> LoadTrees(const std::string& base, const json& meta,
                                                   size_t rank, size_t world,
                                                   const std::vector<std::string>& own_features) {
  std::vector<ss_xgb::PartyTree> trees;
  const int64_t num_trees = meta["num_trees"].get<int64_t>();
  for (int64_t t = 0; t < num_trees; ++t) {
    const std::string path = ss_xgb::TreePath(base, t);
    std::ifstream f(path, std::ios::binary);
    if (!f) {
      return ParameterError(
          "model_file_missing",
          fmt::format("model tree file {} does not exist or cannot be read", path));
    }
    std::ostringstream ss;
    ss << f.rdbuf();
    const std::string text = ss.str();
    if (crypto::Blake2b128Hex(text) != meta["tree_digests"][t].get<std::string>()) {
      return Corrupt(path, "its digest does not match the model's meta file");
    }
    const json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return Corrupt(path, "not a JSON object");
    if (j.value("model_type", "") != ss_xgb::kModelType) {
      return ParameterError("model_type_mismatch",
                            fmt::format("{} holds a '{}' tree, not '{}'", path,
                                        j.value("model_type", ""), ss_xgb::kModelType));
    }
    if (j.value("model_id", json()) != meta["model_id"]) {
      return ParameterError("model_mismatch",
                            fmt::format("{} belongs to another training than its meta", path));
    }
    VEIL_ASSIGN_OR_RETURN(ss_xgb::PartyTree tree,
                          ss_xgb::PartyTree::FromJson(j, rank, world, own_features, path));
    if (tree.depth != meta["max_depth"].get<int64_t>()) return Corrupt(path, "wrong depth");
    trees.push_back(std::move(tree));
  }
  return trees;
}

// The meta fields this task relies on, with their types.
Status CheckMeta(const std::string& path, const json& meta) {
  auto bad = [&](const std::string& field) {
    return Corrupt(path, "meta field '" + field + "' is missing or malformed");
  };
  if (!meta.contains("num_trees") || !meta["num_trees"].is_number_unsigned() ||
      meta["num_trees"].get<int64_t>() < 1) {
    return bad("num_trees");
  }
  if (!meta.contains("max_depth") || !meta["max_depth"].is_number_unsigned())
    return bad("max_depth");
  for (const char* key : {"parties", "tree_digests", "share_digests"}) {
    if (!meta.contains(key) || !meta[key].is_array()) return bad(key);
  }
  if (meta["tree_digests"].size() != meta["num_trees"].get<size_t>() ||
      meta["share_digests"].size() != meta["num_trees"].get<size_t>()) {
    return bad("tree_digests");
  }
  for (const auto& d : meta["tree_digests"]) {
    if (!d.is_string()) return bad("tree_digests");
  }
  for (const auto& d : meta["share_digests"]) {
    if (!d.is_string()) return bad("share_digests");
  }
  for (const char* key : {"objective", "label_party", "party"}) {
    if (!meta.contains(key) || !meta[key].is_string()) return bad(key);
  }
  if (!meta.contains("base_score") || !meta["base_score"].is_number()) return bad("base_score");
  if (!meta.contains("features_by_party") || !meta["features_by_party"].is_object()) {
    return bad("features_by_party");
  }
  if (meta["secure_mode"] != true) return bad("secure_mode");
  return Status();
}

StatusOr<json> Run(PartyRun& run) {
  link::Context& ctx = run.link;
  const std::vector<std::string> parties = vertical::PartyNames(ctx);
  Problems problems;
  const Config cfg = ReadConfig(run.task_config, parties, problems);
  VEIL_RETURN_IF_ERROR(problems.ToStatus());
  if (run.spu == nullptr) return InternalError("no_spu", "ss_xgb_predict runs on the SPU");
  const std::string self = ctx.self_name();
  const std::string& base = cfg.model_path.at(self);

  return run.spu->Visit([&]<typename T>(mpc::Protocol<T>& prot) -> StatusOr<json> {
    // Load the own part of the model and the own features.
    json meta;
    ss_xgb::Model<T> model;
    ss_xgb::OwnFeatures own;
    StatusOr<json> summary = [&]() -> StatusOr<json> {
      const std::string meta_path = ss_xgb::MetaPath(base);
      VEIL_ASSIGN_OR_RETURN(meta, model_store::ReadMeta(meta_path, ss_xgb::kModelType));
      VEIL_RETURN_IF_ERROR(CheckMeta(meta_path, meta));
      if (meta["parties"] != json(parties) || meta["party"] != self) {
        return ParameterError(
            "model_mismatch",
            fmt::format("{} is party '{}''s model of a training by {}, but this task runs "
                        "party '{}' of {}",
                        meta_path, meta["party"].get<std::string>(), meta["parties"].dump(), self,
                        json(parties).dump()));
      }
      const json& feats = meta["features_by_party"][self];
      if (!feats.is_array()) return Corrupt(meta_path, "no features for this party");
      const auto own_names = feats.get<std::vector<std::string>>();
      VEIL_ASSIGN_OR_RETURN(model.trees,
                            LoadTrees(base, meta, ctx.rank(), parties.size(), own_names));
      for (size_t t = 0; t < model.trees.size(); ++t) {
        VEIL_ASSIGN_OR_RETURN(auto shares, model_store::LoadShares<T>(
                                               ss_xgb::WeightPath(base, t), ss_xgb::kModelType,
                                               prot, meta["share_digests"][t].get<std::string>()));
        if (shares.size() != 1 || shares[0].second.shape() != mpc::Shape{model.trees[t].leaves()}) {
          return Corrupt(ss_xgb::WeightPath(base, t), "unexpected leaf weight tensor");
        }
        model.weights.push_back(std::move(shares[0].second));
      }
      VEIL_ASSIGN_OR_RETURN(own, ss_xgb::ReadOwnFeatures(cfg.predict_data.at(self), own_names));
      return json{{"model_id", meta["model_id"]},
                  {"num_trees", meta["num_trees"]},
                  {"max_depth", meta["max_depth"]},
                  {"objective", meta["objective"]},
                  {"base_score", meta["base_score"]},
                  {"label_party", meta["label_party"]},
                  {"rows", own.rows}};
    }();
    VEIL_ASSIGN_OR_RETURN(std::vector<json> all,
                          vertical::AllGatherJson(ctx, "ss_xgb_predict/model", summary));
    for (size_t r = 1; r < all.size(); ++r) {
      json a = all[0], b = all[r];
      a.erase("rows");
      b.erase("rows");
      if (a != b) {
        return ParameterError(
            "model_mismatch",
            fmt::format("the model files of party '{}' and party '{}' come from different "
                        "trainings",
                        parties[0], parties[r]));
      }
      if (all[r]["rows"] != all[0]["rows"]) {
        return ParameterError(
            "row_count_mismatch",
            fmt::format("party '{}' has {} rows but party '{}' has {}; vertically partitioned "
                        "inputs must be row-aligned",
                        parties[0], all[0]["rows"].dump(), parties[r], all[r]["rows"].dump()));
      }
    }
    const std::string receiver =
        cfg.receiver ? *cfg.receiver : all[0]["label_party"].get<std::string>();
    const auto receiver_rank = ctx.RankOf(receiver);
    if (!receiver_rank) {
      return ParameterError("unknown_party",
                            fmt::format("the model's label_party '{}' is not a party", receiver));
    }
    if (!cfg.output_path.count(receiver)) {
      return ParameterError("missing_field",
                            fmt::format("output_path has no path for the receiver '{}'", receiver));
    }
    const int64_t rows = all[0]["rows"].get<int64_t>();
    if (run.progress) {
      run.progress("computation_progress", 0.1, {{"phase", "predict"}, {"party", self}});
    }
    const ss_xgb::Objective objective =
        all[0]["objective"] == "linear" ? ss_xgb::Objective::kLinear : ss_xgb::Objective::kLogistic;
    mpc::AShare<T> scores =
        rows > 0 ? ss_xgb::Predict(prot, model, own, objective, all[0]["base_score"].get<double>())
                 : mpc::AShare<T>{};
    std::optional<mpc::Tensor<double>> revealed;
    if (rows > 0) revealed = prot.RevealFxpTo(scores, *receiver_rank);
    const bool receiver_side = ctx.rank() == *receiver_rank;
    VEIL_RETURN_IF_ERROR(
        model_task::WritePredictions(ctx, *receiver_rank, "ss_xgb_predict/outcome",
                                     receiver_side ? cfg.output_path.at(receiver) : std::string(),
                                     receiver_side && rows > 0 ? revealed->data() : nullptr, rows));
    if (run.progress) {
      run.progress("computation_progress", 1.0, {{"phase", "predict"}, {"party", self}});
    }
    return json{{"output_path", cfg.output_path},
                {"receiver_party", receiver},
                {"num_predictions", rows},
                {"secure_mode", true}};
  });
}

}  // namespace

TaskType SsXgbPredictTaskType() {
  // model_path names no file of its own (the files are <model_path>.meta.json, …), so it is
  // declared an output: not checked for existence here; the loader reports model_file_missing.
  return vertical::ConfiguredTaskType(
      kName, ReadConfig,
      {{"model_path", true, true}, {"predict_data", true, false}, {"output_path", true, true}}, Run,
      /*needs_spu=*/true);
}

}  // namespace veil::tasks
