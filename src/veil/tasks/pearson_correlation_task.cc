#include "veil/tasks/pearson_correlation_task.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "veil/mpc/device.h"
#include "veil/tasks/secure_stats.h"
#include "veil/tasks/vertical.h"

namespace veil::tasks {

namespace {

using nlohmann::json;
using nlohmann::ordered_json;

constexpr char kName[] = "pearson_correlation";
// A revealed |r| above this is a truncation wrap, not rounding.
constexpr double kWrapThreshold = 1.01;

StatusOr<json> Run(PartyRun& run) {
  link::Context& ctx = run.link;
  const std::vector<std::string> parties = vertical::PartyNames(ctx);
  Problems problems;
  const secure_stats::Config cfg = secure_stats::ReadConfig(run.task_config, parties, problems);
  VEIL_RETURN_IF_ERROR(problems.ToStatus());
  if (run.spu == nullptr) return InternalError("no_spu", "pearson_correlation runs on the SPU");
  const std::string self = ctx.self_name();
  auto progress = [&](const std::string& phase, double f) {
    if (run.progress) run.progress("computation_progress", f, {{"phase", phase}, {"party", self}});
  };
  const size_t report_rank = *ctx.RankOf(cfg.report_party);

  progress("standardize", 0.0);
  VEIL_ASSIGN_OR_RETURN(secure_stats::Standardized s, secure_stats::Standardize(run, cfg, kName));
  const int64_t p = static_cast<int64_t>(s.block_order.size());

  // R in block order, revealed to the report party only.
  progress("secure_gram", 0.3);
  std::optional<mpc::Tensor<double>> r;
  for (int attempt = 0; attempt < secure_stats::kSecureStatsAttempts && p > 0; ++attempt) {
    r = run.spu->Visit([&]<typename T>(mpc::Protocol<T>& prot) {
      return prot.RevealFxpTo(secure_stats::SecureGram(prot, s), report_rank);
    });
    bool wrapped = false;
    if (r) {
      for (int64_t i = 0; i < r->numel(); ++i) wrapped |= !(std::fabs((*r)[i]) <= kWrapThreshold);
    }
    const std::string tag = fmt::format("{}/verdict/{}", kName, attempt);
    VEIL_ASSIGN_OR_RETURN(
        json verdict, vertical::ShareOutcome(ctx, report_rank, tag, json{{"wrapped", wrapped}}));
    if (!verdict["wrapped"].get<bool>()) break;
    if (attempt + 1 == secure_stats::kSecureStatsAttempts) {
      return AlgorithmError("truncation_failed",
                            "the secure product kept producing out-of-range correlations");
    }
  }

  progress("report", 0.8);
  std::vector<std::string> constant;
  for (size_t i = 0; i < s.columns.size(); ++i) {
    if (s.constant[i]) constant.push_back(s.columns[i]);
  }
  ordered_json report = ordered_json::object();
  if (ctx.rank() == report_rank) {
    // position of each requested column in block order (-1: constant)
    std::vector<int64_t> pos(s.columns.size(), -1);
    for (size_t b = 0; b < s.block_order.size(); ++b) pos[s.block_order[b]] = b;
    for (size_t i = 0; i < s.columns.size(); ++i) {
      ordered_json row = ordered_json::object();
      for (size_t j = 0; j < s.columns.size(); ++j) {
        if (pos[i] < 0 || pos[j] < 0) {
          row[s.columns[j]] = nullptr;
        } else if (i == j) {
          row[s.columns[j]] = 1.0;
        } else {
          row[s.columns[j]] = std::clamp(r->at(pos[i], pos[j]), -1.0, 1.0);
        }
      }
      report[s.columns[i]] = std::move(row);
    }
  }
  VEIL_RETURN_IF_ERROR(secure_stats::WriteReport(run, cfg, kName, &report));
  progress("report", 1.0);
  return json{{"output_report", cfg.output_report},
              {"num_columns", s.columns.size()},
              {"columns", s.columns},
              {"parties", parties},
              {"report_party", cfg.report_party},
              {"constant_columns", constant}};
}

}  // namespace

TaskType PearsonCorrelationTaskType() { return secure_stats::MakeTaskType(kName, Run); }

}  // namespace veil::tasks
