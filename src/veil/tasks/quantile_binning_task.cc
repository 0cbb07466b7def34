#include "veil/tasks/quantile_binning_task.h"

#include <algorithm>
#include <cmath>

#include "veil/tasks/binning.h"
#include "veil/tasks/vertical.h"

namespace veil::tasks {

namespace {

std::vector<double> QuantileEdges(const std::vector<double>& sorted, int64_t n_bins) {
  // numpy.linspace(0, 1, n_bins + 1): i · (1 / n_bins), the last exactly 1.
  const double step = 1.0 / static_cast<double>(n_bins);
  std::vector<double> edges;
  for (int64_t i = 0; i <= n_bins; ++i) {
    const double q = i == n_bins ? 1.0 : static_cast<double>(i) * step;
    edges.push_back(vertical::LinearQuantile(sorted, q));
  }
  edges.erase(std::unique(edges.begin(), edges.end()), edges.end());
  return edges;
}

}  // namespace

TaskType QuantileBinningTaskType() {
  return MakeBinningTaskType(
      {"quantile_binning", "quantile", /*include_lowest=*/true, QuantileEdges});
}

}  // namespace veil::tasks
