#include "veil/tasks/vertical.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>

#include <fmt/format.h>

namespace veil::tasks::vertical {

using nlohmann::json;

std::map<std::string, std::string> ReadPartyPaths(ConfigReader& r, const std::string& field,
                                                  const std::vector<std::string>& parties,
                                                  bool exact) {
  auto got = r.PartyStrings(field, Required::kYes);
  if (!got) return {};
  const std::set<std::string> party_set(parties.begin(), parties.end());
  for (const auto& [p, path] : *got) {
    if (!party_set.count(p)) {
      r.problems()->Add(r.PathOf(field) + "." + p, "unknown_party",
                        "'" + p + "' is not a party of sf_init_config");
    }
  }
  if (exact) {
    for (const auto& p : parties) {
      if (!got->count(p)) {
        r.problems()->Add(r.PathOf(field), "party_mismatch", "has no entry for party '" + p + "'");
      }
    }
  }
  return *got;
}

TableTaskConfig ReadTableTaskConfig(ConfigReader& r, const std::vector<std::string>& parties,
                                    Required columns_required) {
  TableTaskConfig c;
  c.input = ReadPartyPaths(r, "input_data", parties, /*exact=*/true);
  c.output = ReadPartyPaths(r, "output_data", parties, /*exact=*/true);
  for (const auto& [p, path] : c.output) {
    auto in = c.input.find(p);
    if (in != c.input.end() && in->second == path) {
      r.problems()->Add(r.PathOf("output_data") + "." + p, "output_overwrites_input",
                        "output path equals the input path '" + path + "'");
    }
  }
  c.columns = r.StringList("columns", columns_required);
  return c;
}

json PeerConfigWithoutPaths(const json& task_config, const std::vector<std::string>& path_fields) {
  if (!task_config.is_object()) return task_config;
  json out = task_config;
  for (const auto& f : path_fields) {
    if (!out.contains(f)) continue;
    if (out[f].is_object()) {
      json names = json::array();
      for (const auto& [p, v] : out[f].items()) names.push_back(p);
      out[f] = names;
    } else {
      out[f] = "<path>";
    }
  }
  return out;
}

namespace {

Buffer Encode(const StatusOr<json>& v) {
  json doc;
  if (v.ok()) {
    doc = {{"ok", true}, {"data", *v}};
  } else {
    const Status& s = v.status();
    json problems = json::array();
    for (const auto& p : s.problems()) {
      problems.push_back({{"path", p.path}, {"code", p.code}, {"message", p.message}});
    }
    doc = {{"ok", false},
           {"type", std::string(s.type_name())},
           {"code", s.code()},
           {"message", s.message()},
           {"problems", problems}};
  }
  std::vector<uint8_t> bytes = json::to_cbor(doc);
  return Buffer(bytes.begin(), bytes.end());
}

// Decodes a peer's message; a peer error comes back as that error, prefixed with its party.
StatusOr<json> Decode(const Buffer& b, const std::string& party) {
  json doc = json::from_cbor(b.begin(), b.end(), /*strict=*/true, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("ok")) {
    return AlgorithmError("bad_message", "malformed message from party '" + party + "'");
  }
  if (doc["ok"].get<bool>()) return doc["data"];
  std::vector<FieldProblem> problems;
  for (const auto& p : doc.value("problems", json::array())) {
    problems.push_back({p.value("path", ""), p.value("code", ""), p.value("message", "")});
  }
  Status s(ErrorTypeFromName(doc.value("type", "")), doc.value("code", "peer_error"),
           "party '" + party + "': " + doc.value("message", ""));
  return problems.empty() ? s : s.WithProblems(problems);
}

}  // namespace

StatusOr<std::vector<json>> AllGatherJson(link::Context& ctx, const std::string& tag,
                                          const StatusOr<json>& mine) {
  VEIL_ASSIGN_OR_RETURN(std::vector<Buffer> all, ctx.AllGather(tag, Encode(mine)));
  std::vector<json> out;
  for (size_t r = 0; r < all.size(); ++r) {
    VEIL_ASSIGN_OR_RETURN(json v, Decode(all[r], ctx.party_name(r)));
    out.push_back(std::move(v));
  }
  return out;
}

StatusOr<std::vector<json>> GatherJson(link::Context& ctx, size_t root, const std::string& tag,
                                       const StatusOr<json>& mine) {
  if (ctx.rank() != root) {
    VEIL_RETURN_IF_ERROR(ctx.Send(root, tag, Encode(mine)));
    return std::vector<json>();
  }
  std::vector<json> out(ctx.world_size());
  Status first_error;
  for (size_t r = 0; r < ctx.world_size(); ++r) {
    StatusOr<json> v = mine;
    if (r != root) {
      VEIL_ASSIGN_OR_RETURN(Buffer b, ctx.Recv(r, tag));
      v = Decode(b, ctx.party_name(r));
    } else if (!mine.ok()) {
      v = Status(mine.status().type(), mine.status().code(),
                 "party '" + ctx.party_name(r) + "': " + mine.status().message())
              .WithProblems(mine.status().problems());
    }
    if (!v.ok()) {
      if (first_error.ok()) first_error = v.status();
      continue;
    }
    out[r] = std::move(*v);
  }
  if (!first_error.ok()) return first_error;
  return out;
}

StatusOr<json> ShareOutcome(link::Context& ctx, size_t root, const std::string& tag,
                            const StatusOr<json>& root_outcome) {
  if (ctx.rank() == root) {
    VEIL_RETURN_IF_ERROR(ctx.Broadcast(tag, Encode(root_outcome)));
    return root_outcome;
  }
  VEIL_ASSIGN_OR_RETURN(Buffer b, ctx.Recv(root, tag));
  json doc = json::from_cbor(b.begin(), b.end(), true, false);
  if (doc.is_object() && doc.value("ok", false)) return doc["data"];
  // Root's error is passed on as is (root already named the party where it happened).
  if (doc.is_object() && doc.contains("type")) {
    std::vector<FieldProblem> problems;
    for (const auto& p : doc.value("problems", json::array())) {
      problems.push_back({p.value("path", ""), p.value("code", ""), p.value("message", "")});
    }
    Status s(ErrorTypeFromName(doc.value("type", "")), doc.value("code", "peer_error"),
             doc.value("message", ""));
    return problems.empty() ? s : s.WithProblems(problems);
  }
  return AlgorithmError("bad_message",
                        "malformed outcome from party '" + ctx.party_name(root) + "'");
}

std::vector<std::string> PartyNames(const link::Context& ctx) {
  std::vector<std::string> out;
  for (size_t r = 0; r < ctx.world_size(); ++r) out.push_back(ctx.party_name(r));
  return out;
}

StatusOr<int64_t> AgreeRowCounts(link::Context& ctx, const std::string& tag,
                                 const StatusOr<nlohmann::json>& mine,
                                 std::vector<nlohmann::json>* extras) {
  VEIL_ASSIGN_OR_RETURN(std::vector<nlohmann::json> all, AllGatherJson(ctx, tag, mine));
  const std::vector<std::string> parties = PartyNames(ctx);
  const int64_t n = all[0]["rows"].get<int64_t>();
  for (size_t r = 1; r < all.size(); ++r) {
    const int64_t m = all[r]["rows"].get<int64_t>();
    if (m != n) {
      return ParameterError(
          "row_count_mismatch",
          fmt::format("party '{}' has {} rows but party '{}' has {}; vertically partitioned "
                      "inputs must be row-aligned",
                      parties[0], n, parties[r], m));
    }
  }
  if (extras) *extras = std::move(all);
  return n;
}

Status CheckPlacement(const std::string& field, const std::vector<std::string>& requested,
                      const std::vector<std::vector<std::string>>& found_by_rank,
                      const link::Context& ctx) {
  Problems problems;
  for (size_t i = 0; i < requested.size(); ++i) {
    std::vector<std::string> at;
    for (size_t r = 0; r < found_by_rank.size(); ++r) {
      const auto& f = found_by_rank[r];
      if (std::find(f.begin(), f.end(), requested[i]) != f.end()) at.push_back(ctx.party_name(r));
    }
    const std::string path = fmt::format("task_config.{}[{}]", field, i);
    if (at.empty()) {
      problems.Add(path, "unknown_column",
                   fmt::format("column '{}' was found at no party's input", requested[i]));
    } else if (at.size() > 1) {
      problems.Add(path, "duplicate_column",
                   fmt::format("column '{}' is held by several parties ({}); each column must "
                               "live at exactly one party",
                               requested[i], fmt::join(at, ", ")));
    }
  }
  return problems.ToStatus();
}

Status RequireFiniteNumbers(const data::ColumnTable& table, const data::Column& column) {
  if (!column.numeric()) return data::NonNumericError(table.path, column);
  if (column.numbers == 0) {
    return ParameterError("all_missing_column",
                          fmt::format("{}: column '{}' has no values ({} rows, all missing)",
                                      table.path, column.name, table.rows));
  }
  if (column.has_infinity) {
    return ParameterError("non_finite_value", fmt::format("{}: column '{}' holds an infinite value",
                                                          table.path, column.name));
  }
  return Status();
}

double LinearQuantile(const std::vector<double>& sorted, double q) {
  const size_t n = sorted.size();
  const double virtual_index = static_cast<double>(n - 1) * q;
  if (virtual_index >= static_cast<double>(n - 1)) return sorted[n - 1];
  if (virtual_index <= 0) return sorted[0];
  const double previous = std::floor(virtual_index);
  const double gamma = virtual_index - previous;
  const double a = sorted[static_cast<size_t>(previous)];
  const double b = sorted[static_cast<size_t>(previous) + 1];
  const double diff = b - a;
  return gamma >= 0.5 ? b - diff * (1 - gamma) : a + diff * gamma;
}

Status WriteFileAtomically(const std::string& path, const std::string& text) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path target(path);
  if (target.has_parent_path()) fs::create_directories(target.parent_path(), ec);
  if (ec) {
    return ResultSaveError(
        "write_failed", fmt::format("cannot create the directory of {}: {}", path, ec.message()));
  }
  const std::string temp = path + ".tmp-" + std::to_string(::getpid()) + "-" +
                           std::to_string(reinterpret_cast<uintptr_t>(&text));
  {
    std::ofstream f(temp, std::ios::binary | std::ios::trunc);
    f << text;
    f.flush();
    if (!f) {
      fs::remove(temp, ec);
      return ResultSaveError("write_failed", "cannot write " + path);
    }
  }
  fs::rename(temp, target, ec);
  if (ec) {
    fs::remove(temp, ec);
    return ResultSaveError("write_failed", fmt::format("cannot write {}: {}", path, ec.message()));
  }
  return Status();
}

json JsonNumber(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

StatusOr<TransformOutcome> RunTransform(PartyRun& run, const TableTaskConfig& cfg,
                                        const TransformSpec& spec) {
  link::Context& ctx = run.link;
  const std::string self = ctx.self_name();
  const auto in_it = cfg.input.find(self);
  const bool has_data = in_it != cfg.input.end();
  auto progress = [&](const std::string& phase, double f) {
    if (run.progress) run.progress("computation_progress", f, {{"phase", phase}, {"party", self}});
  };

  // 1. Which of the requested columns are here; every party learns every party's list.
  progress("columns", 0.0);
  StatusOr<json> found = json::array();
  std::vector<std::string> candidates;
  if (has_data) {
    StatusOr<std::vector<std::string>> header = data::ReadHeader(in_it->second);
    if (!header.ok()) {
      found = header.status();
    } else if (cfg.columns) {
      for (const auto& c : *cfg.columns) {
        if (std::find(header->begin(), header->end(), c) != header->end()) candidates.push_back(c);
      }
      found = json(candidates);
    } else {
      candidates = *header;
      found = json(candidates);
    }
  }
  VEIL_ASSIGN_OR_RETURN(std::vector<json> found_all,
                        AllGatherJson(ctx, spec.tag + "/columns", found));
  if (cfg.columns) {
    std::vector<std::vector<std::string>> by_rank;
    for (const auto& f : found_all) by_rank.push_back(f.get<std::vector<std::string>>());
    VEIL_RETURN_IF_ERROR(CheckPlacement("columns", *cfg.columns, by_rank, ctx));
  }

  // 2. Read and fit the own columns; everyone learns the verdict, the columns and row counts.
  progress("fit", 0.1);
  std::optional<data::ColumnTable> table;
  std::map<std::string, ColumnTransform> transforms;
  std::vector<std::string> own;
  auto fit_all = [&]() -> StatusOr<json> {
    VEIL_ASSIGN_OR_RETURN(table, data::ReadColumns(in_it->second, candidates, spec.keep_text));
    for (const data::Column& col : table->columns) {
      if (!cfg.columns && !(spec.default_select && spec.default_select(col))) continue;
      VEIL_ASSIGN_OR_RETURN(ColumnTransform t, spec.fit(*table, col));
      own.push_back(col.name);
      transforms.emplace(col.name, std::move(t));
    }
    // New output names must not collide with other columns of the file.
    std::set<std::string> names;
    for (size_t i = 0; i < table->header.size(); ++i) {
      auto t = transforms.find(table->header[i]);
      const std::vector<std::string> outs = t == transforms.end()
                                                ? std::vector<std::string>{table->header[i]}
                                                : t->second.output_names;
      for (const auto& n : outs) {
        if (!names.insert(n).second) {
          return ParameterError(
              "column_name_collision",
              fmt::format("{}: output column '{}' would appear twice", in_it->second, n));
        }
      }
    }
    return json{{"columns", own}, {"rows", table->rows}};
  };
  StatusOr<json> fitted = has_data ? fit_all() : StatusOr<json>(json{{"columns", json::array()}});
  VEIL_ASSIGN_OR_RETURN(std::vector<json> fit_all_parties,
                        AllGatherJson(ctx, spec.tag + "/fit", fitted));

  TransformOutcome outcome;
  std::map<std::string, std::string> owner;
  std::optional<int64_t> rows;
  std::string rows_party;
  for (size_t r = 0; r < fit_all_parties.size(); ++r) {
    const std::string& party = ctx.party_name(r);
    const json& f = fit_all_parties[r];
    auto cols = f["columns"].get<std::vector<std::string>>();
    outcome.columns_by_party[party] = cols;
    for (const auto& c : cols) {
      auto [it, inserted] = owner.emplace(c, party);
      if (!inserted) {
        return ParameterError("duplicate_column",
                              fmt::format("column '{}' is held by parties '{}' and '{}'; each "
                                          "column must live at exactly one party",
                                          c, it->second, party));
      }
    }
    if (f.contains("rows")) {
      const int64_t n = f["rows"].get<int64_t>();
      if (rows && *rows != n) {
        return ParameterError(
            "row_count_mismatch",
            fmt::format("party '{}' has {} rows but party '{}' has {}; vertically partitioned "
                        "inputs must be row-aligned",
                        rows_party, *rows, party, n));
      }
      rows = n;
      rows_party = party;
    }
  }
  if (cfg.columns) {
    outcome.columns = *cfg.columns;
  } else {
    for (size_t r = 0; r < ctx.world_size(); ++r) {
      for (const auto& c : outcome.columns_by_party[ctx.party_name(r)])
        outcome.columns.push_back(c);
    }
  }

  // 3. Write the own output.
  progress("transform", 0.5);
  if (has_data) {
    std::vector<std::string> header;
    // For each input column: the transform (or null) and its first output cell.
    std::vector<const ColumnTransform*> by_index(table->header.size(), nullptr);
    std::vector<size_t> first_out(table->header.size());
    for (size_t i = 0; i < table->header.size(); ++i) {
      first_out[i] = header.size();
      auto t = transforms.find(table->header[i]);
      if (t == transforms.end()) {
        header.push_back(table->header[i]);
      } else {
        by_index[i] = &t->second;
        for (const auto& n : t->second.output_names) header.push_back(n);
      }
    }
    VEIL_RETURN_IF_ERROR(data::RewriteCsv(
        in_it->second, cfg.output.at(self), header,
        [&](int64_t row, const data::RowBatch::Row& in, std::vector<std::string>* out) -> Status {
          for (size_t i = 0; i < by_index.size(); ++i) {
            if (by_index[i]) {
              by_index[i]->apply(row, in[i], &(*out)[first_out[i]]);
            } else {
              (*out)[first_out[i]].assign(in[i]);
            }
          }
          return Status();
        }));
    for (auto& [name, t] : transforms) outcome.fitted[name] = std::move(t.fitted);
  }
  progress("transform", 1.0);
  return outcome;
}

json TransformResult(const PartyRun& run, const TableTaskConfig& cfg,
                     const TransformOutcome& outcome, const std::string& columns_key,
                     const std::string& fitted_key) {
  json outputs = json::object();
  for (const auto& [p, path] : cfg.output) outputs[p] = path;
  return json{{"output_paths", outputs},      {"parties", PartyNames(run.link)},
              {columns_key, outcome.columns}, {"columns_by_party", outcome.columns_by_party},
              {fitted_key, outcome.fitted},   {"party", run.link.self_name()}};
}

json MergeUnion(const std::map<std::string, json>& by_party,
                const std::vector<std::string>& union_keys) {
  if (by_party.empty()) return json::object();
  json out = by_party.begin()->second;
  for (const auto& key : union_keys) {
    json merged = json::object();
    for (const auto& [p, r] : by_party) {
      if (r.contains(key) && r[key].is_object()) merged.update(r[key]);
    }
    out[key] = merged;
  }
  out.erase("party");
  return out;
}

std::string ReadReportParty(ConfigReader& r, const std::vector<std::string>& parties) {
  auto report = r.String("report_party", Required::kNo);
  if (report && std::find(parties.begin(), parties.end(), *report) == parties.end()) {
    r.problems()->Add(r.PathOf("report_party"), "unknown_party",
                      "'" + *report + "' is not a party of sf_init_config");
  }
  return report ? *report : (parties.empty() ? "" : parties.front());
}

TaskType ConfiguredTaskType(std::string name, ConfigCheck check_config,
                            std::vector<PathField> paths, decltype(TaskType::run) run,
                            bool needs_spu) {
  TaskType t;
  t.name = std::move(name);
  t.validate = [check = std::move(check_config)](const nlohmann::json& cfg, const TaskEnv& env,
                                                 Problems& problems) {
    check(cfg, env.parties, problems);
  };
  std::vector<std::string> names;
  for (const auto& p : paths) names.push_back(p.name);
  t.path_fields = std::move(paths);
  t.peer_config = [names](const nlohmann::json& cfg) { return PeerConfigWithoutPaths(cfg, names); };
  t.run = std::move(run);
  t.needs_spu = needs_spu;
  return t;
}

TaskType TransformTaskType(std::string name, ConfigCheck check_config, decltype(TaskType::run) run,
                           std::string fitted_key) {
  TaskType t = ConfiguredTaskType(std::move(name), std::move(check_config),
                                  {{"input_data", true, false}, {"output_data", true, true}},
                                  std::move(run), /*needs_spu=*/false);
  t.merge = [key = std::move(fitted_key)](const std::map<std::string, nlohmann::json>& by_party,
                                          const nlohmann::json&) {
    return MergeUnion(by_party, {key});
  };
  return t;
}

}  // namespace veil::tasks::vertical
