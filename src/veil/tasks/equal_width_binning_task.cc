#include "veil/tasks/equal_width_binning_task.h"

#include <cmath>

#include "veil/tasks/binning.h"

namespace veil::tasks {

namespace {

// pandas widens the range by this fraction (of the range, or of |v| for a constant column).
constexpr double kRangeAdjust = 0.001;

// numpy.linspace(lo, hi, n + 1): i · step + lo, the last exactly hi.
std::vector<double> Linspace(double lo, double hi, int64_t n) {
  const double step = (hi - lo) / static_cast<double>(n);
  std::vector<double> out;
  for (int64_t i = 0; i < n; ++i) out.push_back(static_cast<double>(i) * step + lo);
  out.push_back(hi);
  return out;
}

std::vector<double> EqualWidthEdges(const std::vector<double>& sorted, int64_t n_bins) {
  double lo = sorted.front(), hi = sorted.back();
  if (lo == hi) {
    lo -= lo != 0 ? kRangeAdjust * std::fabs(lo) : kRangeAdjust;
    hi += hi != 0 ? kRangeAdjust * std::fabs(hi) : kRangeAdjust;
    return Linspace(lo, hi, n_bins);
  }
  std::vector<double> edges = Linspace(lo, hi, n_bins);
  edges[0] -= (hi - lo) * kRangeAdjust;
  return edges;
}

}  // namespace

TaskType EqualWidthBinningTaskType() {
  return MakeBinningTaskType(
      {"equal_width_binning", "equal_width", /*include_lowest=*/false, EqualWidthEdges});
}

}  // namespace veil::tasks
