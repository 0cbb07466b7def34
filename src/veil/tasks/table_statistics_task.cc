#include "veil/tasks/table_statistics_task.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "veil/base/config_reader.h"
#include "veil/tasks/vertical.h"

namespace veil::tasks {

namespace {

using nlohmann::json;
using nlohmann::ordered_json;

constexpr char kName[] = "table_statistics";
// pandas' _zero_out_fperr: sums of powers below this are taken as 0 in skew / kurt.
constexpr double kFpErr = 1e-14;

struct Config {
  std::map<std::string, std::string> input;
  std::string output_report;
  std::optional<std::vector<std::string>> columns;
  std::string report_party;
};

Config ReadConfig(const json& cfg, const std::vector<std::string>& parties, Problems& problems) {
  Config c;
  ConfigReader r(cfg, "task_config", &problems);
  r.Accept("task_type");
  c.input = vertical::ReadPartyPaths(r, "input_data", parties, /*exact=*/true);
  c.output_report = r.String("output_report", Required::kYes).value_or("");
  c.columns = r.StringList("columns", Required::kNo);
  c.report_party = vertical::ReadReportParty(r, parties);
  r.RejectUnknown();
  return c;
}

double ZeroOutFpErr(double v) { return std::fabs(v) < kFpErr ? 0.0 : v; }

json ColumnStatistics(const data::Column& col, int64_t rows) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  json s;
  const bool numeric = col.numeric();
  const int64_t non_missing = rows - col.missing;
  s["datatype"] = !numeric                                                    ? "object"
                  : (col.missing == 0 && col.numbers > 0 && col.all_integral) ? "int64"
                                                                              : "float64";
  s["total_count"] = rows;
  s["count"] = non_missing;
  s["count_na"] = col.missing;
  s["na_ratio"] =
      rows > 0 ? json(static_cast<double>(col.missing) / static_cast<double>(rows)) : json(nullptr);
  const char* kNumericStats[] = {"min",      "max",      "mean", "var", "std", "sem",
                                 "skewness", "kurtosis", "q1",   "q2",  "q3",  "sum"};
  if (!numeric) {
    for (const char* k : kNumericStats) s[k] = nullptr;
    return s;
  }
  std::vector<double> x;
  for (double v : col.values)
    if (!std::isnan(v)) x.push_back(v);
  const double n = static_cast<double>(x.size());
  double sum = 0;
  for (double v : x) sum += v;
  const double mean = x.empty() ? nan : sum / n;
  double m2 = 0, m3 = 0, m4 = 0;
  for (double v : x) {
    const double d = v - mean;
    const double d2 = d * d;
    m2 += d2;
    m3 += d2 * d;
    m4 += d2 * d2;
  }
  const double var = x.size() > 1 ? m2 / (n - 1) : nan;
  double skew = nan, kurt = nan;
  if (x.size() >= 3) {
    const double zm2 = ZeroOutFpErr(m2), zm3 = ZeroOutFpErr(m3);
    skew = zm2 == 0 ? 0.0 : (n * std::pow(n - 1, 0.5) / (n - 2)) * (zm3 / std::pow(zm2, 1.5));
  }
  if (x.size() >= 4) {
    const double adj = 3 * (n - 1) * (n - 1) / ((n - 2) * (n - 3));
    const double numerator = ZeroOutFpErr(n * (n + 1) * (n - 1) * m4);
    const double denominator = ZeroOutFpErr((n - 2) * (n - 3) * m2 * m2);
    kurt = denominator == 0 ? 0.0 : numerator / denominator - adj;
  }
  std::vector<double> sorted = x;
  std::sort(sorted.begin(), sorted.end());
  auto q = [&](double p) { return sorted.empty() ? nan : vertical::LinearQuantile(sorted, p); };
  s["min"] = vertical::JsonNumber(sorted.empty() ? nan : sorted.front());
  s["max"] = vertical::JsonNumber(sorted.empty() ? nan : sorted.back());
  s["mean"] = vertical::JsonNumber(mean);
  s["var"] = vertical::JsonNumber(var);
  s["std"] = vertical::JsonNumber(std::sqrt(var));
  s["sem"] = vertical::JsonNumber(std::sqrt(var) / std::sqrt(n));
  s["skewness"] = vertical::JsonNumber(skew);
  s["kurtosis"] = vertical::JsonNumber(kurt);
  s["q1"] = vertical::JsonNumber(q(0.25));
  s["q2"] = vertical::JsonNumber(q(0.5));
  s["q3"] = vertical::JsonNumber(q(0.75));
  s["sum"] = vertical::JsonNumber(sum);
  return s;
}

// The report's statistic order (the JSON object of one column).
const std::vector<std::string> kStatOrder = {
    "datatype", "total_count", "count",    "count_na", "na_ratio", "min", "max", "mean", "var",
    "std",      "sem",         "skewness", "kurtosis", "q1",       "q2",  "q3",  "sum"};

StatusOr<json> Run(PartyRun& run) {
  link::Context& ctx = run.link;
  const std::vector<std::string> parties = vertical::PartyNames(ctx);
  Problems problems;
  const Config cfg = ReadConfig(run.task_config, parties, problems);
  VEIL_RETURN_IF_ERROR(problems.ToStatus());
  const std::string self = ctx.self_name();
  const size_t report_rank = *ctx.RankOf(cfg.report_party);
  const std::string& input = cfg.input.at(self);
  auto progress = [&](const std::string& phase, double f) {
    if (run.progress) run.progress("computation_progress", f, {{"phase", phase}, {"party", self}});
  };

  // 1. Column placement.
  progress("columns", 0.0);
  std::vector<std::string> own;
  StatusOr<json> found = [&]() -> StatusOr<json> {
    VEIL_ASSIGN_OR_RETURN(std::vector<std::string> header, data::ReadHeader(input));
    if (!cfg.columns) {
      own = header;
    } else {
      for (const auto& c : *cfg.columns)
        if (std::find(header.begin(), header.end(), c) != header.end()) own.push_back(c);
    }
    return json(own);
  }();
  VEIL_ASSIGN_OR_RETURN(std::vector<json> found_all,
                        vertical::AllGatherJson(ctx, std::string(kName) + "/columns", found));
  std::vector<std::vector<std::string>> by_rank;
  for (const auto& f : found_all) by_rank.push_back(f.get<std::vector<std::string>>());
  std::vector<std::string> order;
  if (cfg.columns) {
    VEIL_RETURN_IF_ERROR(vertical::CheckPlacement("columns", *cfg.columns, by_rank, ctx));
    order = *cfg.columns;
  } else {
    for (const auto& cols : by_rank) order.insert(order.end(), cols.begin(), cols.end());
    // Every column must live at one party (the names are the report's keys).
    std::vector<std::string> sorted = order;
    std::sort(sorted.begin(), sorted.end());
    auto dup = std::adjacent_find(sorted.begin(), sorted.end());
    if (dup != sorted.end()) {
      return ParameterError("duplicate_column",
                            fmt::format("column '{}' is held by several parties; each column "
                                        "must live at exactly one party",
                                        *dup));
    }
  }

  // 2. Own statistics, sent to the report party only.
  progress("statistics", 0.2);
  StatusOr<json> mine = [&]() -> StatusOr<json> {
    VEIL_ASSIGN_OR_RETURN(data::ColumnTable table, data::ReadColumns(input, own, false));
    json stats = json::object();
    for (const auto& col : table.columns) stats[col.name] = ColumnStatistics(col, table.rows);
    return json{{"rows", table.rows}, {"stats", stats}};
  }();
  StatusOr<std::vector<json>> gathered =
      vertical::GatherJson(ctx, report_rank, std::string(kName) + "/stats", mine);
  // Elsewhere an error here is a failed send; the report party passes any error on below.
  if (ctx.rank() != report_rank && !gathered.ok()) return gathered.status();

  // 3. The report party checks alignment, writes the report and tells everyone the outcome.
  progress("report", 0.8);
  StatusOr<json> outcome = json::object();
  if (ctx.rank() == report_rank) {
    outcome = [&]() -> StatusOr<json> {
      if (!gathered.ok()) return gathered.status();
      for (size_t r = 1; r < gathered->size(); ++r) {
        const int64_t a = (*gathered)[0]["rows"].get<int64_t>();
        const int64_t b = (*gathered)[r]["rows"].get<int64_t>();
        if (a != b) {
          return ParameterError(
              "row_count_mismatch",
              fmt::format("party '{}' has {} rows but party '{}' has {}; vertically partitioned "
                          "inputs must be row-aligned",
                          parties[0], a, parties[r], b));
        }
      }
      ordered_json report = ordered_json::object();
      for (const auto& col : order) {
        for (const auto& g : *gathered) {
          if (!g["stats"].contains(col)) continue;
          ordered_json one = ordered_json::object();
          for (const auto& k : kStatOrder) one[k] = ordered_json::parse(g["stats"][col][k].dump());
          report[col] = std::move(one);
        }
      }
      VEIL_RETURN_IF_ERROR(vertical::WriteFileAtomically(cfg.output_report, report.dump(2)));
      return json::object();
    }();
  }
  VEIL_RETURN_IF_ERROR(
      vertical::ShareOutcome(ctx, report_rank, std::string(kName) + "/outcome", outcome).status());
  progress("report", 1.0);
  return json{{"output_report", cfg.output_report},
              {"num_columns", order.size()},
              {"columns", order},
              {"parties", parties},
              {"report_party", cfg.report_party}};
}

}  // namespace

TaskType TableStatisticsTaskType() {
  return vertical::ConfiguredTaskType(kName, ReadConfig,
                                      {{"input_data", true, false}, {"output_report", false, true}},
                                      Run, /*needs_spu=*/false);
}

}  // namespace veil::tasks
