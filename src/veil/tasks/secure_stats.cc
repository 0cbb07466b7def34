#include "veil/tasks/secure_stats.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "veil/base/config_reader.h"
#include "veil/data/columns.h"
#include "veil/mpc/shape_ops.h"
#include "veil/tasks/vertical.h"

namespace veil::tasks::secure_stats {

using nlohmann::json;

Config ReadConfig(const json& task_config, const std::vector<std::string>& parties,
                  Problems& problems) {
  Config c;
  ConfigReader r(task_config, "task_config", &problems);
  r.Accept("task_type");
  c.input = vertical::ReadPartyPaths(r, "input_data", parties, /*exact=*/true);
  c.output_report = r.String("output_report", Required::kYes).value_or("");
  // StringList reports an empty list and repeated names.
  c.columns = r.StringList("columns", Required::kYes).value_or(std::vector<std::string>{});
  c.report_party = vertical::ReadReportParty(r, parties);
  r.RejectUnknown();
  return c;
}

TaskType MakeTaskType(const std::string& name,
                      std::function<StatusOr<nlohmann::json>(PartyRun&)> run) {
  return vertical::ConfiguredTaskType(name, ReadConfig,
                                      {{"input_data", true, false}, {"output_report", false, true}},
                                      std::move(run), /*needs_spu=*/true);
}

namespace {

// Reads and standardises the own columns: {rows, constant: [names]} for the exchange, and the
// block (non-constant columns in requested order) into *block.
StatusOr<json> StandardizeOwn(const std::string& path, const std::vector<std::string>& own,
                              mpc::Tensor<double>* block, std::vector<bool>* own_constant) {
  VEIL_ASSIGN_OR_RETURN(data::ColumnTable table, ReadCompleteColumns(path, own, "the correlation"));
  const int64_t n = table.rows;
  json constant = json::array();
  std::vector<const data::Column*> kept;
  for (const auto& col : table.columns) {
    const auto [lo, hi] = std::minmax_element(col.values.begin(), col.values.end());
    const bool is_constant = *lo == *hi;
    own_constant->push_back(is_constant);
    if (is_constant) {
      constant.push_back(col.name);
    } else {
      kept.push_back(&col);
    }
  }
  if (n < 2) {
    return ParameterError(
        "too_few_rows", fmt::format("{}: {} data row(s); a correlation needs at least 2", path, n));
  }
  *block = mpc::Tensor<double>({static_cast<int64_t>(kept.size()), n});
  for (size_t c = 0; c < kept.size(); ++c) {
    const std::vector<double>& x = kept[c]->values;
    double mean = 0;
    for (double v : x) mean += v;
    mean /= static_cast<double>(n);
    double ss = 0;
    for (double v : x) ss += (v - mean) * (v - mean);
    // z = (x − mean) / (σ·√n) with σ² = ss / n, i.e. (x − mean) / √ss.
    const double scale = 1.0 / std::sqrt(ss);
    double* row = block->data() + static_cast<int64_t>(c) * n;
    for (int64_t i = 0; i < n; ++i) row[i] = (x[i] - mean) * scale;
  }
  return json{{"rows", n}, {"constant", constant}};
}

}  // namespace

StatusOr<data::ColumnTable> ReadCompleteColumns(const std::string& path,
                                                const std::vector<std::string>& names,
                                                const std::string& purpose, bool allow_no_rows) {
  VEIL_ASSIGN_OR_RETURN(data::ColumnTable table, data::ReadColumns(path, names, false));
  if (allow_no_rows && table.rows == 0) return table;
  for (const auto& col : table.columns) {
    VEIL_RETURN_IF_ERROR(vertical::RequireFiniteNumbers(table, col));
    if (col.missing == 0) continue;
    int64_t line = 0;
    for (int64_t i = 0; i < table.rows; ++i) {
      if (std::isnan(col.values[i])) {
        line = i + 2;  // 1-based, after the header
        break;
      }
    }
    return ParameterError("missing_value",
                          fmt::format("{}: column '{}' has {} missing cell(s), the first on line "
                                      "{}; {} needs complete columns (run fillna first)",
                                      path, col.name, col.missing, line, purpose));
  }
  return table;
}

StatusOr<Standardized> Standardize(PartyRun& run, const Config& cfg, const std::string& tag) {
  link::Context& ctx = run.link;
  const std::string& input = cfg.input.at(ctx.self_name());

  // 1. Column placement.
  std::vector<std::string> own;
  StatusOr<json> found = [&]() -> StatusOr<json> {
    VEIL_ASSIGN_OR_RETURN(std::vector<std::string> header, data::ReadHeader(input));
    for (const auto& c : cfg.columns) {
      if (std::find(header.begin(), header.end(), c) != header.end()) own.push_back(c);
    }
    return json(own);
  }();
  VEIL_ASSIGN_OR_RETURN(std::vector<json> found_all,
                        vertical::AllGatherJson(ctx, tag + "/columns", found));
  std::vector<std::vector<std::string>> by_rank;
  for (const auto& f : found_all) by_rank.push_back(f.get<std::vector<std::string>>());
  VEIL_RETURN_IF_ERROR(vertical::CheckPlacement("columns", cfg.columns, by_rank, ctx));

  // 2. Local standardisation; row counts and constant columns exchanged.
  Standardized s;
  s.columns = cfg.columns;
  std::vector<bool> own_constant;
  StatusOr<json> mine = StandardizeOwn(input, own, &s.own_block, &own_constant);
  std::vector<json> facts;
  VEIL_ASSIGN_OR_RETURN(s.rows, vertical::AgreeRowCounts(ctx, tag + "/rows", mine, &facts));
  std::vector<std::string> constant;
  for (const auto& f : facts) {
    for (const auto& c : f["constant"]) constant.push_back(c.get<std::string>());
  }
  s.constant.resize(s.columns.size());
  for (size_t i = 0; i < s.columns.size(); ++i) {
    s.constant[i] = std::find(constant.begin(), constant.end(), s.columns[i]) != constant.end();
  }
  for (const auto& names : by_rank) {
    int64_t kept = 0;
    for (size_t i = 0; i < s.columns.size(); ++i) {
      if (s.constant[i]) continue;
      if (std::find(names.begin(), names.end(), s.columns[i]) == names.end()) continue;
      s.block_order.push_back(i);
      ++kept;
    }
    s.block_rows.push_back(kept);
  }
  return s;
}

template <mpc::RingElement T>
mpc::AShare<T> SecureGram(mpc::Protocol<T>& prot, const Standardized& s) {
  std::vector<mpc::AShare<T>> blocks;
  for (size_t r = 0; r < s.block_rows.size(); ++r) {
    if (s.block_rows[r] == 0) continue;
    const mpc::Shape shape{s.block_rows[r], s.rows};
    blocks.push_back(prot.InputFxp(r, shape, prot.rank() == r ? &s.own_block : nullptr));
  }
  const mpc::AShare<T> zt = mpc::ConcatRows(blocks);
  return prot.MatMulFxp(zt, mpc::Transpose(zt));
}

template mpc::AShare<uint64_t> SecureGram<uint64_t>(mpc::Protocol<uint64_t>&, const Standardized&);
template mpc::AShare<mpc::uint128_t> SecureGram<mpc::uint128_t>(mpc::Protocol<mpc::uint128_t>&,
                                                                const Standardized&);

Status WriteReport(PartyRun& run, const Config& cfg, const std::string& tag,
                   const nlohmann::ordered_json* report) {
  link::Context& ctx = run.link;
  const size_t report_rank = *ctx.RankOf(cfg.report_party);
  StatusOr<json> outcome = json::object();
  if (ctx.rank() == report_rank) {
    Status written = vertical::WriteFileAtomically(cfg.output_report, report->dump(2));
    if (!written.ok()) outcome = written;
  }
  return vertical::ShareOutcome(ctx, report_rank, tag + "/outcome", outcome).status();
}

}  // namespace veil::tasks::secure_stats
