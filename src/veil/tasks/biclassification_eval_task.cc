#include "veil/tasks/biclassification_eval_task.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "veil/tasks/evaluation.h"
#include "veil/tasks/vertical.h"

namespace veil::tasks {

namespace {

using nlohmann::json;

constexpr int64_t kDefaultBucketSize = 10;
constexpr int64_t kMaxBucketSize = 100000;
constexpr double kThreshold = 0.5;

StatusOr<json> Metrics(const std::vector<double>& label, const std::vector<double>& score,
                       const json& extra) {
  const size_t n = label.size();
  for (size_t i = 0; i < n; ++i) {
    if (label[i] != 0 && label[i] != 1) {
      return ParameterError("labels_not_binary",
                            fmt::format("label value {} in data row {}: binary evaluation needs "
                                        "labels 0 and 1",
                                        data::FormatDouble(label[i]), i + 1));
    }
  }
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return score[a] < score[b]; });
  double positives = 0;
  for (double l : label) positives += l;
  const double negatives = static_cast<double>(n) - positives;

  // AUC by average ranks (Mann-Whitney U) and KS, over groups of tied scores.
  double rank_sum = 0, ks = 0;
  double tp_above = 0, fp_above = 0;  // walking from the top score down
  {
    size_t i = 0;
    while (i < n) {
      size_t j = i;
      double pos = 0;
      while (j < n && score[order[j]] == score[order[i]]) pos += label[order[j++]];
      const double average_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2;
      rank_sum += pos * average_rank;
      i = j;
    }
    size_t k = n;
    while (k > 0) {
      size_t m = k;
      while (m > 0 && score[order[m - 1]] == score[order[k - 1]]) {
        const double l = label[order[--m]];
        tp_above += l;
        fp_above += 1 - l;
      }
      if (positives > 0 && negatives > 0) {
        ks = std::max(ks, std::fabs(tp_above / positives - fp_above / negatives));
      }
      k = m;
    }
  }
  json auc = nullptr, ks_json = nullptr;
  if (positives > 0 && negatives > 0) {
    auc = (rank_sum - positives * (positives + 1) / 2) / (positives * negatives);
    ks_json = ks;
  }

  int64_t tp = 0, fp = 0, tn = 0, fn = 0;
  for (size_t i = 0; i < n; ++i) {
    const bool predicted = score[i] >= kThreshold;
    const bool actual = label[i] == 1;
    tp += predicted && actual;
    fp += predicted && !actual;
    tn += !predicted && !actual;
    fn += !predicted && actual;
  }
  const double precision = tp + fp > 0 ? static_cast<double>(tp) / static_cast<double>(tp + fp) : 0;
  const double recall = tp + fn > 0 ? static_cast<double>(tp) / static_cast<double>(tp + fn) : 0;
  const double f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0;
  const double accuracy = n > 0 ? static_cast<double>(tp + tn) / static_cast<double>(n) : 0;

  // Equal-frequency buckets (numpy.array_split sizes).
  const size_t buckets = static_cast<size_t>(extra["bucket_size"].get<int64_t>());
  json report = json::array();
  size_t start = 0;
  for (size_t b = 0; b < buckets; ++b) {
    const size_t size = n / buckets + (b < n % buckets ? 1 : 0);
    if (size == 0) continue;
    int64_t pos = 0;
    for (size_t i = start; i < start + size; ++i) pos += label[order[i]] == 1;
    report.push_back({{"start_value", score[order[start]]},
                      {"end_value", score[order[start + size - 1]]},
                      {"total", size},
                      {"positive", pos},
                      {"negative", static_cast<int64_t>(size) - pos},
                      {"positive_rate", static_cast<double>(pos) / static_cast<double>(size)}});
    start += size;
  }
  return json{{"auc", auc},
              {"ks", ks_json},
              {"f1_score", f1},
              {"precision", precision},
              {"recall", recall},
              {"accuracy", accuracy},
              {"confusion_matrix",
               {{"true_positive", tp},
                {"false_positive", fp},
                {"true_negative", tn},
                {"false_negative", fn}}},
              {"total_samples", n},
              {"positive_samples", static_cast<int64_t>(positives)},
              {"negative_samples", static_cast<int64_t>(negatives)},
              {"bucket_report", report}};
}

}  // namespace

TaskType BiClassificationEvalTaskType() {
  EvalTaskType t;
  t.name = "biclassification_eval";
  t.read_extra = [](ConfigReader& r) {
    return json{{"bucket_size", r.Int("bucket_size", kDefaultBucketSize, 1, kMaxBucketSize)}};
  };
  t.metrics = Metrics;
  return MakeEvalTaskType(std::move(t));
}

}  // namespace veil::tasks
