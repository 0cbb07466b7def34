#include "veil/tasks/ss_lr_task.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "veil/base/config_reader.h"
#include "veil/base/time.h"
#include "veil/mpc/device.h"
#include "veil/tasks/model_store.h"
#include "veil/tasks/model_task.h"
#include "veil/tasks/secure_stats.h"
#include "veil/tasks/ss_lr_model.h"
#include "veil/tasks/vertical.h"

namespace veil::tasks {

namespace {

using nlohmann::json;

constexpr char kName[] = "ss_lr";

struct Config : model_task::TrainFields {
  ss_lr::Params params;
  json params_echo;  // the effective params, as reported
};

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

Config ReadConfig(const json& cfg, const std::vector<std::string>& parties, Problems& problems) {
  Config c;
  ConfigReader r(cfg, "task_config", &problems);
  r.Accept("task_type");
  model_task::ReadTrainFields(r, parties, &c);
  ss_lr::Params& p = c.params;
  if (const json* pj = r.Raw("params", Required::kNo); pj && !pj->is_null()) {
    ConfigReader pr(*pj, "task_config.params", &problems);
    p.epochs = pr.Int("epochs", p.epochs, 1, 100000);
    p.batch_size = pr.Int("batch_size", p.batch_size, 1, int64_t{1} << 30);
    if (auto v = pr.Number("learning_rate", Required::kNo)) {
      if (!(*v > 0 && *v <= 100)) {
        problems.Add("task_config.params.learning_rate", "out_of_range", "must be in (0, 100]");
      }
      p.learning_rate = *v;
    }
    if (auto v = pr.String("sig_type", Required::kNo)) {
      auto mode = mpc::ParseSigmoidMode(*v);
      if (mode.ok()) {
        p.sig_type = *mode;
      } else {
        problems.Add("task_config.params.sig_type", "invalid_value", mode.status().message());
      }
    }
    if (auto v = pr.String("reg_type", Required::kNo)) {
      if (Lower(*v) == "logistic") {
        p.logistic = true;
      } else if (Lower(*v) == "linear") {
        p.logistic = false;
      } else {
        problems.Add("task_config.params.reg_type", "invalid_value",
                     "'" + *v + "' is not one of: logistic, linear");
      }
    }
    if (auto v = pr.String("penalty", Required::kNo)) {
      if (Lower(*v) == "l2") {
        p.l2 = true;
      } else if (Lower(*v) == "none") {
        p.l2 = false;
      } else {
        problems.Add("task_config.params.penalty", "invalid_value",
                     "'" + *v +
                         "' is not one of: l2, none (l1 is not supported, as in "
                         "SecretFlow)");
      }
    }
    if (auto v = pr.Number("l2_norm", Required::kNo)) {
      if (*v < 0) problems.Add("task_config.params.l2_norm", "out_of_range", "must be >= 0");
      p.l2_norm = *v;
    }
    if (auto v = pr.Number("eps", Required::kNo)) {
      if (*v < 0) problems.Add("task_config.params.eps", "out_of_range", "must be >= 0");
      p.eps = *v;
    }
    p.decay_epoch = pr.Int("decay_epoch", Required::kNo, 1, 100000);
    p.decay_rate = pr.Number("decay_rate", Required::kNo);
    if (p.decay_rate && !(*p.decay_rate > 0 && *p.decay_rate < 1)) {
      problems.Add("task_config.params.decay_rate", "out_of_range", "must be in (0, 1)");
    }
    if (p.decay_rate.has_value() != p.decay_epoch.has_value()) {
      problems.Add("task_config.params", "invalid_value", "decay_epoch and decay_rate go together");
    }
    pr.RejectUnknown();
  }
  c.params_echo = {{"epochs", p.epochs},
                   {"learning_rate", p.learning_rate},
                   {"batch_size", p.batch_size},
                   {"sig_type", std::string(mpc::SigmoidModeName(p.sig_type))},
                   {"reg_type", p.logistic ? "logistic" : "linear"},
                   {"penalty", p.l2 ? "l2" : "none"},
                   {"l2_norm", p.l2_norm},
                   {"eps", p.eps},
                   {"decay_epoch", p.decay_epoch ? json(*p.decay_epoch) : json(nullptr)},
                   {"decay_rate", p.decay_rate ? json(*p.decay_rate) : json(nullptr)}};
  r.RejectUnknown();
  return c;
}

std::string SigTypeEnumName(mpc::SigmoidMode m) {
  std::string s(mpc::SigmoidModeName(m));
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return "SigType." + s;
}

// The own part of the data: features (rows x own features, request order) and, at the label
// party, the label.
struct OwnData {
  std::vector<std::string> features;
  mpc::Tensor<double> x;
  mpc::Tensor<double> y;
  int64_t rows = 0;
};

StatusOr<OwnData> ReadOwn(const Config& cfg, const std::string& self,
                          const std::vector<std::string>& own_features) {
  OwnData d;
  d.features = own_features;
  std::vector<std::string> names = own_features;
  const bool has_label = self == cfg.label_party;
  if (has_label) names.push_back(cfg.label);
  VEIL_ASSIGN_OR_RETURN(data::ColumnTable table,
                        secure_stats::ReadCompleteColumns(cfg.train_data.at(self), names, "ss_lr"));
  d.rows = table.rows;
  const int64_t nf = static_cast<int64_t>(own_features.size());
  d.x = mpc::Tensor<double>({d.rows, nf});
  for (int64_t c = 0; c < nf; ++c) {
    for (int64_t r = 0; r < d.rows; ++r) d.x.at(r, c) = table.columns[c].values[r];
  }
  if (has_label) {
    const auto& label = table.columns.back();
    d.y = mpc::Tensor<double>({d.rows, 1});
    for (int64_t r = 0; r < d.rows; ++r) {
      const double v = label.values[r];
      if (cfg.params.logistic && v != 0.0 && v != 1.0) {
        return ParameterError(
            "label_not_binary",
            fmt::format("{}: label '{}' is {} on line {}; logistic regression needs 0/1 labels",
                        cfg.train_data.at(self), cfg.label, v, r + 2));
      }
      d.y[r] = v;
    }
  }
  return d;
}

StatusOr<json> Run(PartyRun& run) {
  link::Context& ctx = run.link;
  const std::vector<std::string> parties = vertical::PartyNames(ctx);
  Problems problems;
  const Config cfg = ReadConfig(run.task_config, parties, problems);
  VEIL_RETURN_IF_ERROR(problems.ToStatus());
  if (run.spu == nullptr) return InternalError("no_spu", "ss_lr runs on the SPU");
  const std::string self = ctx.self_name();
  auto progress = [&](const std::string& phase, double f, json extra = json::object()) {
    extra["phase"] = phase;
    extra["party"] = self;
    if (run.progress) run.progress("computation_progress", f, std::move(extra));
  };

  // 1. Placement of the features; the label must be in the label party's file.
  progress("columns", 0.0);
  std::vector<std::string> own;
  StatusOr<json> found = [&]() -> StatusOr<json> {
    VEIL_ASSIGN_OR_RETURN(std::vector<std::string> header,
                          data::ReadHeader(cfg.train_data.at(self)));
    for (const auto& f : cfg.features) {
      if (std::find(header.begin(), header.end(), f) != header.end()) own.push_back(f);
    }
    if (self == cfg.label_party &&
        std::find(header.begin(), header.end(), cfg.label) == header.end()) {
      return ParameterError("unknown_column",
                            fmt::format("label '{}' is not a column of {} (label_party '{}')",
                                        cfg.label, cfg.train_data.at(self), cfg.label_party));
    }
    return json(own);
  }();
  VEIL_ASSIGN_OR_RETURN(std::vector<json> found_all,
                        vertical::AllGatherJson(ctx, std::string(kName) + "/columns", found));
  std::vector<std::vector<std::string>> by_rank;
  for (const auto& f : found_all) by_rank.push_back(f.get<std::vector<std::string>>());
  VEIL_RETURN_IF_ERROR(vertical::CheckPlacement("features", cfg.features, by_rank, ctx));

  // 2. Own data; row counts agreed.
  StatusOr<OwnData> mine = ReadOwn(cfg, self, own);
  StatusOr<json> facts =
      mine.ok() ? StatusOr<json>(json{{"rows", mine->rows}}) : StatusOr<json>(mine.status());
  VEIL_ASSIGN_OR_RETURN(const int64_t n,
                        vertical::AgreeRowCounts(ctx, std::string(kName) + "/rows", facts));
  if (n < 2) return ParameterError("too_few_rows", "ss_lr needs at least 2 rows");
  std::vector<int64_t> cols_by_rank;
  json features_by_party = json::object();
  std::vector<std::string> feature_order;  // X's column order: rank by rank
  for (size_t r = 0; r < by_rank.size(); ++r) {
    cols_by_rank.push_back(static_cast<int64_t>(by_rank[r].size()));
    features_by_party[parties[r]] = by_rank[r];
    feature_order.insert(feature_order.end(), by_rank[r].begin(), by_rank[r].end());
  }
  const size_t label_rank = *ctx.RankOf(cfg.label_party);

  // 3. Training on the SPU; each party saves its own shares.
  progress("train", 0.05);
  ss_lr::TrainReport report;
  const std::string share_path = cfg.model_output.at(self);
  StatusOr<std::string> digest = run.spu->Visit([&]<typename T>(mpc::Protocol<T>& prot) {
    const auto x = ss_lr::ShareFeatures(prot, cols_by_rank, n, own.empty() ? nullptr : &mine->x);
    const auto y = prot.InputFxp(label_rank, {n, 1}, ctx.rank() == label_rank ? &mine->y : nullptr);
    const auto model = ss_lr::Train(prot, x, y, cfg.params, &report, [&](int64_t e, int64_t of) {
      progress("epoch", 0.05 + 0.9 * static_cast<double>(e) / static_cast<double>(of),
               {{"epoch", e}, {"epochs", of}});
    });
    return model_store::SaveShares<T>(share_path, kSsLrModelType, prot, self,
                                      {{"weights", model.w}, {"bias", model.b}});
  });
  // Every party learns whether every party saved its shares.
  StatusOr<json> saved =
      digest.ok() ? StatusOr<json>(json(*digest)) : StatusOr<json>(digest.status());
  VEIL_RETURN_IF_ERROR(vertical::AllGatherJson(ctx, std::string(kName) + "/saved", saved).status());

  json meta = {{"party", self},
               {"model_type", kSsLrModelType},
               {"share_path", share_path},
               {"share_digest", *digest},
               {"parties", parties},
               {"features", feature_order},
               {"features_by_party", features_by_party},
               {"label", cfg.label},
               {"label_party", cfg.label_party},
               {"reg_type", cfg.params.logistic ? "RegType.Logistic" : "RegType.Linear"},
               {"sig_type", SigTypeEnumName(cfg.params.sig_type)},
               {"training_params", cfg.params_echo},
               {"secure_mode", true},
               {"created_at", NowIso8601Utc()},
               {"spu", run.spu->Visit([]<typename T>(mpc::Protocol<T>& prot) {
                  return model_store::ModelSpu(prot);
                })}};
  StatusOr<json> meta_written = json::object();
  if (Status s = model_store::WriteMeta(share_path + ".meta.json", meta); !s.ok()) {
    meta_written = s;
  }
  VEIL_RETURN_IF_ERROR(
      vertical::AllGatherJson(ctx, std::string(kName) + "/meta", meta_written).status());
  progress("done", 1.0);
  json model_path = json::object();
  for (const auto& [p, path] : cfg.model_output) model_path[p] = path;
  return json{{"model_path", model_path},        {"parties", parties},
              {"features", cfg.features},        {"label", cfg.label},
              {"label_party", cfg.label_party},  {"secure_mode", true},
              {"weights_encrypted", true},       {"params", cfg.params_echo},
              {"epochs_run", report.epochs_run}, {"stopped_early", report.stopped_early}};
}

}  // namespace

TaskType SsLrTaskType() {
  return vertical::ConfiguredTaskType(kName, ReadConfig,
                                      {{"train_data", true, false}, {"model_output", true, true}},
                                      Run, /*needs_spu=*/true);
}

}  // namespace veil::tasks
