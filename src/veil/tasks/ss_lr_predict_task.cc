#include "veil/tasks/ss_lr_predict_task.h"

#include <algorithm>

#include <fmt/format.h>

#include "veil/base/config_reader.h"
#include "veil/data/csv.h"
#include "veil/mpc/device.h"
#include "veil/tasks/model_store.h"
#include "veil/tasks/model_task.h"
#include "veil/tasks/secure_stats.h"
#include "veil/tasks/ss_lr_model.h"
#include "veil/tasks/ss_lr_task.h"
#include "veil/tasks/vertical.h"

namespace veil::tasks {

namespace {

using nlohmann::json;

constexpr char kName[] = "ss_lr_predict";

using Config = model_task::PredictFields;

Config ReadConfig(const json& cfg, const std::vector<std::string>& parties, Problems& problems) {
  Config c;
  ConfigReader r(cfg, "task_config", &problems);
  r.Accept("task_type");
  model_task::ReadPredictFields(r, parties, &c);
  r.RejectUnknown();
  return c;
}

// The part of a meta every party's copy must share.
json ModelIdentity(const json& meta) {
  json id = meta;
  for (const char* k : {"party", "share_path", "share_digest", "created_at"}) id.erase(k);
  return id;
}

StatusOr<json> Run(PartyRun& run) {
  link::Context& ctx = run.link;
  const std::vector<std::string> parties = vertical::PartyNames(ctx);
  Problems problems;
  const Config cfg = ReadConfig(run.task_config, parties, problems);
  VEIL_RETURN_IF_ERROR(problems.ToStatus());
  if (run.spu == nullptr) return InternalError("no_spu", "ss_lr_predict runs on the SPU");
  const std::string self = ctx.self_name();
  auto progress = [&](const std::string& phase, double f) {
    if (run.progress) run.progress("computation_progress", f, {{"phase", phase}, {"party", self}});
  };

  // 1. Own meta; every party must hold the same model, trained by these parties.
  progress("load_model", 0.0);
  const std::string share_path = cfg.model_path.at(self);
  StatusOr<json> meta = model_store::ReadMeta(share_path + ".meta.json", kSsLrModelType);
  StatusOr<json> identity = meta.ok() ? StatusOr<json>(ModelIdentity(*meta)) : meta.status();
  VEIL_ASSIGN_OR_RETURN(std::vector<json> ids,
                        vertical::AllGatherJson(ctx, std::string(kName) + "/model", identity));
  for (size_t r = 1; r < ids.size(); ++r) {
    if (ids[r] != ids[0]) {
      return ParameterError("model_mismatch",
                            fmt::format("the model files of '{}' and '{}' describe different "
                                        "models",
                                        parties[0], parties[r]));
    }
  }
  if ((*meta)["parties"].get<std::vector<std::string>>() != parties) {
    return ParameterError("model_mismatch",
                          fmt::format("the model was trained by parties {} (in that order), not {}",
                                      (*meta)["parties"].dump(), json(parties).dump()));
  }
  const std::string receiver = cfg.receiver.value_or((*meta)["label_party"].get<std::string>());
  if (!cfg.output_path.count(receiver)) {
    return ParameterError("missing_receiver",
                          "output_path has no path for the receiver '" + receiver + "'");
  }
  const size_t receiver_rank = *ctx.RankOf(receiver);
  const std::vector<std::string> own =
      (*meta)["features_by_party"][self].get<std::vector<std::string>>();
  std::vector<int64_t> cols_by_rank;
  for (const auto& p : parties) {
    cols_by_rank.push_back(static_cast<int64_t>((*meta)["features_by_party"][p].size()));
  }
  const bool logistic =
      (*meta)["reg_type"].get<std::string>().find("Logistic") != std::string::npos;
  std::string sig = (*meta)["sig_type"].get<std::string>();
  if (sig.rfind("SigType.", 0) == 0) sig = sig.substr(8);
  VEIL_ASSIGN_OR_RETURN(const mpc::SigmoidMode sig_type, mpc::ParseSigmoidMode(sig));

  // 2. Own features; every party learns whether every party has its data.
  mpc::Tensor<double> x;
  int64_t rows = 0;
  StatusOr<json> ready = [&]() -> StatusOr<json> {
    VEIL_ASSIGN_OR_RETURN(
        data::ColumnTable table,
        secure_stats::ReadCompleteColumns(cfg.predict_data.at(self), own, "ss_lr_predict"));
    rows = table.rows;
    x = mpc::Tensor<double>({rows, static_cast<int64_t>(own.size())});
    for (size_t c = 0; c < own.size(); ++c) {
      for (int64_t r = 0; r < rows; ++r)
        x.at(r, static_cast<int64_t>(c)) = table.columns[c].values[r];
    }
    return json{{"rows", rows}};
  }();
  const std::string digest = (*meta)["share_digest"].get<std::string>();
  VEIL_ASSIGN_OR_RETURN(const int64_t n,
                        vertical::AgreeRowCounts(ctx, std::string(kName) + "/data", ready));

  // 3. Scores under MPC, revealed to the receiver only.
  progress("predict", 0.3);
  StatusOr<std::optional<mpc::Tensor<double>>> scores = run.spu->Visit(
      [&]<typename T>(mpc::Protocol<T>& prot) -> StatusOr<std::optional<mpc::Tensor<double>>> {
        auto shares = model_store::LoadShares<T>(share_path, kSsLrModelType, prot, digest);
        StatusOr<json> loaded = shares.ok() ? StatusOr<json>(json::object()) : shares.status();
        VEIL_RETURN_IF_ERROR(
            vertical::AllGatherJson(ctx, std::string(kName) + "/shares", loaded).status());
        ss_lr::Model<T> model;
        for (auto& [name, share] : *shares) {
          if (name == "weights") model.w = std::move(share);
          if (name == "bias") model.b = std::move(share);
        }
        const auto xs = ss_lr::ShareFeatures(prot, cols_by_rank, n, own.empty() ? nullptr : &x);
        if (model.w.own.rows() != xs.own.cols()) {
          return ParameterError("model_file_corrupt",
                                fmt::format("the model has {} weights for {} features",
                                            model.w.own.rows(), xs.own.cols()));
        }
        return prot.RevealFxpTo(ss_lr::Predict(prot, model, xs, sig_type, logistic), receiver_rank);
      });
  VEIL_RETURN_IF_ERROR(scores.status());

  // 4. The receiver writes its CSV.
  progress("write", 0.9);
  const bool receiver_side = ctx.rank() == receiver_rank;
  VEIL_RETURN_IF_ERROR(
      model_task::WritePredictions(ctx, receiver_rank, std::string(kName) + "/written",
                                   receiver_side ? cfg.output_path.at(receiver) : std::string(),
                                   receiver_side ? (**scores).data() : nullptr, n));
  progress("done", 1.0);
  json output = json::object();
  for (const auto& [p, path] : cfg.output_path) output[p] = path;
  return json{{"output_path", output},
              {"receiver_party", receiver},
              {"num_predictions", n},
              {"secure_mode", true}};
}

}  // namespace

TaskType SsLrPredictTaskType() {
  return vertical::ConfiguredTaskType(
      kName, ReadConfig,
      {{"model_path", true, false}, {"predict_data", true, false}, {"output_path", true, true}},
      Run, /*needs_spu=*/true);
}

}  // namespace veil::tasks
