#include "veil/tasks/regression_eval_task.h"

#include <cmath>
#include <limits>

#include "veil/tasks/evaluation.h"
#include "veil/tasks/vertical.h"

namespace veil::tasks {

namespace {

using nlohmann::json;

// sklearn's force_finite: 1 for a perfect fit of a constant target, else 0.
double ForceFinite(double numerator, double denominator) {
  if (denominator != 0) return 1 - numerator / denominator;
  return numerator == 0 ? 1.0 : 0.0;
}

StatusOr<json> Metrics(const std::vector<double>& y, const std::vector<double>& p, const json&) {
  const double n = static_cast<double>(y.size());
  const double eps = std::numeric_limits<double>::epsilon();
  double se = 0, ae = 0, ape = 0, y_sum = 0, diff_sum = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    const double d = y[i] - p[i];
    se += d * d;
    ae += std::fabs(d);
    ape += std::fabs(d) / std::max(std::fabs(y[i]), eps);
    y_sum += y[i];
    diff_sum += d;
  }
  const double y_mean = y_sum / n, diff_mean = diff_sum / n;
  double ss_tot = 0, diff_var = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    ss_tot += (y[i] - y_mean) * (y[i] - y_mean);
    const double d = y[i] - p[i] - diff_mean;
    diff_var += d * d;
  }
  const double mse = se / n;
  json r2 = nullptr, ev = nullptr;
  if (y.size() >= 2) {
    r2 = ForceFinite(se, ss_tot);
    ev = ForceFinite(diff_var / n, ss_tot / n);
  }
  return json{{"mse", vertical::JsonNumber(mse)},
              {"rmse", vertical::JsonNumber(std::sqrt(mse))},
              {"mae", vertical::JsonNumber(ae / n)},
              {"mape", vertical::JsonNumber(ape / n)},
              {"r2_score", r2},
              {"explained_variance", ev},
              {"total_samples", y.size()}};
}

}  // namespace

TaskType RegressionEvalTaskType() {
  EvalTaskType t;
  t.name = "regression_eval";
  t.metrics = Metrics;
  return MakeEvalTaskType(std::move(t));
}

}  // namespace veil::tasks
