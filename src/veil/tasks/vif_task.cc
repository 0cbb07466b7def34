#include "veil/tasks/vif_task.h"

#include <cmath>
#include <optional>

#include <fmt/format.h>

#include "veil/mpc/device.h"
#include "veil/mpc/shape_ops.h"
#include "veil/mpc/share_ops.h"
#include "veil/tasks/secure_stats.h"
#include "veil/tasks/vertical.h"

namespace veil::tasks {

namespace {

using nlohmann::json;
using nlohmann::ordered_json;

constexpr char kName[] = "vif";
// log2(1/ε): the largest ridge exponent that keeps the iteration inside each ring.
constexpr int kRidgeBitsFm64 = 16;
constexpr int kRidgeBitsFm128 = 24;
constexpr double kSevere = 10.0;
constexpr double kModerate = 5.0;
// A VIF is at least 1; an opened value below this is a truncation wrap.
constexpr double kLowestPlausible = 0.99;

struct Plan {
  int ridge_bits = 0;  // ε = 2^-ridge_bits
  int iterations = 0;
  double epsilon() const { return std::ldexp(1.0, -ridge_bits); }
};

Plan MakePlan(mpc::FieldType field, int fxp_bits, int64_t p) {
  Plan plan;
  const int ring_limit = field == mpc::FieldType::kFM64 ? kRidgeBitsFm64 : kRidgeBitsFm128;
  plan.ridge_bits = std::max(1, std::min(ring_limit, fxp_bits - 2));
  const double need = (fxp_bits + 2) * std::log(2.0) * static_cast<double>(p + 1) / plan.epsilon();
  plan.iterations = static_cast<int>(std::ceil(std::log2(need))) + 1;
  return plan;
}

// diag((R + εI)⁻¹ + ε·(R + εI)⁻²) under MPC, opened to every party.
template <mpc::RingElement T>
mpc::Tensor<double> InverseDiagonal(mpc::Protocol<T>& prot, const mpc::AShare<T>& r,
                                    const Plan& plan) {
  const int64_t p = r.shape()[0];
  const auto r_eps =
      prot.AddPublic(r, mpc::ScaledIdentity<T>(p, prot.EncodeScalar(plan.epsilon())));
  const auto two = mpc::ScaledIdentity<T>(p, prot.EncodeScalar(2.0));
  // X₀ = I / (p + 1): a public matrix as a share (AddPublic onto a sharing of zero).
  auto x = prot.AddPublic(
      mpc::internal::ZeroShare(r, r.shape()),
      mpc::ScaledIdentity<T>(p, prot.EncodeScalar(1.0 / static_cast<double>(p + 1))));
  for (int t = 0; t < plan.iterations; ++t) {
    const auto rx = prot.MatMulFxp(r_eps, x);
    x = prot.MatMulFxp(x, prot.AddPublic(prot.Neg(rx), two));
  }
  const auto eps_x = prot.Trunc(x, plan.ridge_bits);  // ε·X, exact up to the truncation ulp
  const auto corrected = prot.Add(x, prot.MatMulFxp(eps_x, x));
  return prot.OpenFxp(mpc::Diagonal(corrected));
}

std::string Diagnosis(std::optional<double> v, bool saturated) {
  if (saturated) return "严重共线性";
  if (!v) return "无法计算";
  if (*v > kSevere) return "严重共线性";
  if (*v > kModerate) return "中度共线性";
  return "无共线性问题";
}

StatusOr<json> Run(PartyRun& run) {
  link::Context& ctx = run.link;
  const std::vector<std::string> parties = vertical::PartyNames(ctx);
  Problems problems;
  const secure_stats::Config cfg = secure_stats::ReadConfig(run.task_config, parties, problems);
  VEIL_RETURN_IF_ERROR(problems.ToStatus());
  if (run.spu == nullptr) return InternalError("no_spu", "vif runs on the SPU");
  const std::string self = ctx.self_name();
  auto progress = [&](const std::string& phase, double f) {
    if (run.progress) run.progress("computation_progress", f, {{"phase", phase}, {"party", self}});
  };

  progress("standardize", 0.0);
  VEIL_ASSIGN_OR_RETURN(secure_stats::Standardized s, secure_stats::Standardize(run, cfg, kName));
  const int64_t p = static_cast<int64_t>(s.block_order.size());
  const Plan plan = MakePlan(
      run.spu->field(),
      run.spu->Visit([]<typename T>(mpc::Protocol<T>& prot) { return prot.fxp_fraction_bits(); }),
      p);

  progress("secure_inverse", 0.3);
  mpc::Tensor<double> diag;
  for (int attempt = 0; attempt < secure_stats::kSecureStatsAttempts && p > 0; ++attempt) {
    diag = run.spu->Visit([&]<typename T>(mpc::Protocol<T>& prot) {
      return InverseDiagonal(prot, secure_stats::SecureGram(prot, s), plan);
    });
    bool wrapped = false;
    for (int64_t i = 0; i < diag.numel(); ++i) {
      wrapped |= !(diag[i] >= kLowestPlausible && diag[i] <= 2.0 / plan.epsilon());
    }
    if (!wrapped) break;  // every party sees the same opened values
    if (attempt + 1 == secure_stats::kSecureStatsAttempts) {
      return AlgorithmError("truncation_failed",
                            "the secure inverse kept producing out-of-range values");
    }
  }

  progress("report", 0.8);
  const double saturation = 1.0 / (16.0 * plan.epsilon());
  ordered_json values = ordered_json::object();
  ordered_json diagnosis = ordered_json::object();
  std::vector<std::string> constant, saturated;
  std::vector<std::optional<double>> by_column(s.columns.size());
  for (size_t b = 0; b < s.block_order.size(); ++b) by_column[s.block_order[b]] = diag[b];
  for (size_t i = 0; i < s.columns.size(); ++i) {
    const std::string& col = s.columns[i];
    std::optional<double> v = by_column[i];
    const bool is_saturated = v && *v >= saturation;
    if (s.constant[i]) constant.push_back(col);
    if (is_saturated) {
      saturated.push_back(col);
      v.reset();
    }
    values[col] = v ? ordered_json(std::max(1.0, *v)) : ordered_json(nullptr);
    diagnosis[col] = Diagnosis(v, is_saturated);
  }
  ordered_json report = {{"vif_values", values},
                         {"diagnosis", diagnosis},
                         {"columns", s.columns},
                         {"parties", parties}};
  VEIL_RETURN_IF_ERROR(secure_stats::WriteReport(run, cfg, kName, &report));
  progress("report", 1.0);
  return json{{"output_report", cfg.output_report},
              {"vif_values", json::parse(values.dump())},
              {"diagnosis", json::parse(diagnosis.dump())},
              {"num_columns", s.columns.size()},
              {"columns", s.columns},
              {"parties", parties},
              {"report_party", cfg.report_party},
              {"constant_columns", constant},
              {"saturated_columns", saturated}};
}

}  // namespace

TaskType VifTaskType() { return secure_stats::MakeTaskType(kName, Run); }

}  // namespace veil::tasks
