#include "veil/tasks/psi_task.h"

#include <algorithm>
#include <numeric>
#include <set>
#include <unordered_set>

#include <fmt/format.h>

#include "veil/base/bytes.h"
#include "veil/base/config_reader.h"
#include "veil/crypto/hash.h"
#include "veil/data/csv.h"
#include "veil/psi/ecdh_psi.h"
#include "veil/psi/join.h"

namespace veil::tasks {

namespace {

using nlohmann::json;

constexpr int64_t kMaxBatchSize = int64_t{1} << 20;
// Rows per CSV read while streaming inputs.
constexpr size_t kReadBatchRows = 8192;
// Rows per message when the receiver sends row lists.
constexpr size_t kPlanChunkRows = size_t{1} << 20;

const std::vector<std::string> kEcdhProtocols = {"ECDH_PSI_2PC", "ECDH_PSI_3PC", "ECDH_PSI_NPC",
                                                 "PROTOCOL_ECDH"};
const std::vector<std::string> kLaterProtocols = {"KKRT_PSI_2PC", "PROTOCOL_KKRT", "PROTOCOL_RR22",
                                                  "RR22_FAST_PSI_2PC", "BC22_PSI_2PC"};
const std::vector<std::string> kJoinTypes = {"inner_join", "left_join", "right_join", "full_join",
                                             "difference"};

// The task's parsed configuration (after validation succeeded).
struct PsiConfig {
  std::map<std::string, std::vector<std::string>> keys;
  std::map<std::string, std::string> input_paths;
  std::map<std::string, std::string> output_paths;
  std::string receiver;
  bool broadcast = false;
  std::string protocol = "PROTOCOL_ECDH";
  bool sort = false;
  psi::JoinType join = psi::JoinType::kInner;
  std::string left_side;
  bool allow_duplicates = true;
  bool allow_empty = true;
  int64_t batch_size = static_cast<int64_t>(psi::kDefaultEcdhBatchSize);
};

// Reads and checks task_config; adds problems with "task_config." paths. `parties` = execution
// parties in rank order.
PsiConfig ReadConfig(const json& cfg, const std::vector<std::string>& parties, Problems& problems) {
  PsiConfig c;
  ConfigReader r(cfg, "task_config", &problems);
  r.Accept("task_type");
  auto keys = r.PartyStringLists("keys", Required::kYes);
  auto inputs = r.PartyStrings("input_paths", Required::kYes);
  auto outputs = r.PartyStrings("output_paths", Required::kYes);
  auto receiver = r.String("receiver", Required::kNo);
  auto protocol = r.String("protocol", Required::kNo);
  c.broadcast = r.Bool("broadcast_result", false);
  c.sort = r.Bool("sort", false);
  r.Bool("precheck_input", false);
  auto join = r.Enum("join_type", Required::kNo, kJoinTypes);
  auto left = r.String("left_side", Required::kNo);
  c.allow_duplicates = r.Bool("allow_duplicated_keys", true);
  c.allow_empty = r.Bool("allow_empty_result", true);
  c.batch_size = r.Int("batch_size", c.batch_size, 1, kMaxBatchSize);
  r.RejectUnknown();

  const std::set<std::string> party_set(parties.begin(), parties.end());
  auto check_parties = [&](const std::string& field, const std::set<std::string>& got) {
    for (const auto& p : parties) {
      if (!got.count(p))
        problems.Add("task_config." + field, "party_mismatch",
                     "has no entry for party '" + p + "'");
    }
    for (const auto& p : got) {
      if (!party_set.count(p)) {
        problems.Add("task_config." + field + "." + p, "unknown_party",
                     "'" + p + "' is not a party of sf_init_config");
      }
    }
  };
  auto key_set = [](const auto& m) {
    std::set<std::string> s;
    for (const auto& [k, v] : m) s.insert(k);
    return s;
  };
  if (keys) {
    c.keys = *keys;
    check_parties("keys", key_set(*keys));
    size_t arity = keys->begin()->second.size();
    for (const auto& [p, cols] : *keys) {
      if (cols.size() != arity) {
        problems.Add(
            "task_config.keys." + p, "key_arity_mismatch",
            fmt::format("has {} key columns, but '{}' has {}; every party needs the same number",
                        cols.size(), keys->begin()->first, arity));
      }
    }
  }
  if (inputs) {
    c.input_paths = *inputs;
    check_parties("input_paths", key_set(*inputs));
  }
  if (outputs) {
    c.output_paths = *outputs;
    check_parties("output_paths", key_set(*outputs));
    for (const auto& [p, path] : *outputs) {
      if (inputs && inputs->count(p) && inputs->at(p) == path) {
        problems.Add("task_config.output_paths." + p, "output_overwrites_input",
                     "output path equals the input path '" + path + "'");
      }
    }
  }
  if (receiver) {
    if (!party_set.count(*receiver)) {
      problems.Add("task_config.receiver", "unknown_party",
                   "receiver '" + *receiver + "' is not a party");
    }
    c.receiver = *receiver;
  } else if (!parties.empty()) {
    // As the Python worker: no receiver means everyone gets the result.
    c.receiver = parties.front();
    c.broadcast = true;
  }
  if (protocol) {
    if (std::count(kLaterProtocols.begin(), kLaterProtocols.end(), *protocol)) {
      problems.Add("task_config.protocol", "protocol_not_supported",
                   "'" + *protocol + "' is not supported yet; use one of: " +
                       fmt::format("{}", fmt::join(kEcdhProtocols, ", ")));
    } else if (!std::count(kEcdhProtocols.begin(), kEcdhProtocols.end(), *protocol)) {
      problems.Add("task_config.protocol", "invalid_value",
                   "'" + *protocol + "' is not a PSI protocol; use one of: " +
                       fmt::format("{}", fmt::join(kEcdhProtocols, ", ")));
    } else {
      c.protocol = *protocol;
    }
  }
  const size_t n = parties.size();
  if ((c.protocol == "ECDH_PSI_2PC" && n != 2) || (c.protocol == "ECDH_PSI_3PC" && n != 3)) {
    problems.Add("task_config.protocol", "party_count_mismatch",
                 fmt::format("{} needs exactly {} parties, the task has {}", c.protocol,
                             c.protocol == "ECDH_PSI_2PC" ? 2 : 3, n));
  }
  if (n < 2) problems.Add("sf_init_config", "party_count_mismatch", "PSI needs at least 2 parties");
  if (join) {
    c.join = *psi::ParseJoinType(*join);
    if (c.join != psi::JoinType::kInner && n != 2) {
      problems.Add("task_config.join_type", "party_count_mismatch",
                   *join + " needs exactly 2 parties, the task has " + std::to_string(n));
    }
  }
  c.left_side = c.receiver;
  if (left) {
    if (!party_set.count(*left)) {
      problems.Add("task_config.left_side", "unknown_party", "'" + *left + "' is not a party");
    }
    c.left_side = *left;
  }
  return c;
}

void Validate(const json& cfg, const TaskEnv& env, Problems& problems) {
  ReadConfig(cfg, env.parties, problems);
}

json PeerConfig(const json& cfg) {
  // Everything both sides must agree on; paths and column names are private to each party.
  json p = json::object();
  for (const char* k : {"receiver", "protocol", "broadcast_result", "sort", "join_type",
                        "left_side", "allow_duplicated_keys", "allow_empty_result", "batch_size"}) {
    if (cfg.contains(k)) p[k] = cfg[k];
  }
  if (cfg.contains("keys") && cfg["keys"].is_object()) {
    for (const auto& [party, cols] : cfg["keys"].items()) p["key_columns"][party] = cols.size();
  }
  return p;
}

// Streams the key columns of a CSV as canonical keys.
class CsvKeySource : public psi::KeySource {
 public:
  CsvKeySource(std::unique_ptr<data::CsvReader> reader, std::vector<size_t> columns)
      : reader_(std::move(reader)), columns_(std::move(columns)) {}

  StatusOr<size_t> Next(size_t max_items, psi::KeyBatch* out) override {
    out->clear();
    std::vector<std::string_view> cols(columns_.size());
    while (out->size() < max_items) {
      VEIL_ASSIGN_OR_RETURN(bool more, reader_->NextBatch(max_items - out->size(), &rows_));
      if (!more) break;
      for (size_t i = 0; i < rows_.num_rows(); ++i) {
        auto row = rows_.row(i);
        for (size_t c = 0; c < columns_.size(); ++c) cols[c] = row[columns_[c]];
        out->AddKey(cols);
      }
    }
    return out->size();
  }

 private:
  std::unique_ptr<data::CsvReader> reader_;
  std::vector<size_t> columns_;
  data::RowBatch rows_;
};

// What the first pass over a party's own input learns.
struct InputScan {
  std::vector<std::string> header;
  std::vector<size_t> key_columns;
  std::vector<data::RecordRef> records;  // per data row
  std::vector<std::string> sort_keys;    // per data row, only when sorting: values joined by '\0'
};

StatusOr<InputScan> ScanInput(const std::string& path, const std::vector<std::string>& key_names,
                              bool keep_sort_keys, bool allow_duplicates) {
  VEIL_ASSIGN_OR_RETURN(auto reader, data::CsvReader::Open(path));
  InputScan scan;
  scan.header = reader->header();
  VEIL_ASSIGN_OR_RETURN(scan.key_columns, reader->ResolveColumns(key_names));
  struct Hash128 {
    size_t operator()(const std::array<uint8_t, 16>& h) const {
      size_t v;
      std::memcpy(&v, h.data(), sizeof v);
      return v;
    }
  };
  std::unordered_set<std::array<uint8_t, 16>, Hash128> seen;
  data::RowBatch rows;
  psi::KeyBatch key;
  std::vector<std::string_view> cols(scan.key_columns.size());
  while (true) {
    VEIL_ASSIGN_OR_RETURN(bool more, reader->NextBatch(kReadBatchRows, &rows));
    if (!more) break;
    for (size_t i = 0; i < rows.num_rows(); ++i) {
      auto row = rows.row(i);
      scan.records.push_back(row.record());
      if (!keep_sort_keys && allow_duplicates) continue;
      key.clear();
      for (size_t c = 0; c < cols.size(); ++c) cols[c] = row[scan.key_columns[c]];
      key.AddKey(cols);
      if (keep_sort_keys) {
        // Byte order of the values, column by column ('\0' sorts before every character).
        std::string sk;
        for (auto c : cols) sk.append(c).push_back('\0');
        scan.sort_keys.push_back(std::move(sk));
      }
      if (!allow_duplicates && !seen.insert(crypto::Blake2b128(key.key(0))).second) {
        return ParameterError(
            "duplicate_keys",
            fmt::format("{} line {}: duplicate key, and allow_duplicated_keys is false", path,
                        row.line()));
      }
    }
  }
  return scan;
}

// Precheck verdict exchanged by every party: ok + row count, or the error.
Buffer EncodeVerdict(const StatusOr<InputScan>& scan) {
  Buffer b;
  ByteWriter w(&b);
  w.U8(scan.ok() ? 1 : 0);
  w.I64(scan.ok() ? static_cast<int64_t>(scan->records.size()) : -1);
  w.Str(scan.ok() ? "" : std::string(scan.status().type_name()));
  w.Str(scan.ok() ? "" : scan.status().code());
  w.Str(scan.ok() ? "" : scan.status().message());
  return b;
}

Status DecodeVerdict(const Buffer& b, const std::string& party, int64_t* count) {
  ByteReader r(b);
  uint8_t ok;
  std::string type, code, message;
  if (!r.U8(&ok) || !r.I64(count) || !r.Str(&type) || !r.Str(&code) || !r.Str(&message)) {
    return AlgorithmError("bad_message", "malformed precheck message from " + party);
  }
  if (ok) return Status();
  // The peer's own error, re-raised here so every party fails with the same cause.
  ErrorType t =
      type == "ParameterValidationError" ? ErrorType::kParameterValidation : ErrorType::kAlgorithm;
  return Status(t, code, "input of party '" + party + "': " + message);
}

Buffer EncodeRows(const psi::PartyRows& rows, int64_t intersection, size_t begin, size_t end) {
  Buffer b;
  ByteWriter w(&b);
  w.I64(static_cast<int64_t>(rows.rows.size()));
  w.I64(rows.local_sort_from);
  w.I64(intersection);
  w.Raw(rows.rows.data() + begin, (end - begin) * sizeof(int64_t));
  return b;
}

// Receives the row list the receiver computed for this party (possibly in several chunks).
StatusOr<psi::PartyRows> RecvRows(link::Context& ctx, size_t receiver, int64_t* intersection) {
  psi::PartyRows out;
  int64_t total = -1;
  for (int64_t chunk = 0; total < 0 || static_cast<int64_t>(out.rows.size()) < total; ++chunk) {
    VEIL_ASSIGN_OR_RETURN(Buffer msg, ctx.Recv(receiver, "psi/rows/" + std::to_string(chunk)));
    ByteReader r(msg);
    if (!r.I64(&total) || !r.I64(&out.local_sort_from) || !r.I64(intersection) ||
        r.remaining() % sizeof(int64_t) != 0 || total < 0) {
      return AlgorithmError("bad_message", "malformed row list from the receiver");
    }
    size_t k = r.remaining() / sizeof(int64_t);
    size_t old = out.rows.size();
    out.rows.resize(old + k);
    if (!r.Raw(out.rows.data() + old, k * sizeof(int64_t))) {
      return AlgorithmError("bad_message", "short row list");
    }
    if (total == 0) break;
  }
  return out;
}

Status SendRows(link::Context& ctx, size_t to, const psi::PartyRows& rows, int64_t intersection) {
  const size_t n = rows.rows.size();
  size_t chunk = 0;
  for (size_t begin = 0; begin < n || (n == 0 && chunk == 0); begin += kPlanChunkRows, ++chunk) {
    size_t end = std::min(n, begin + kPlanChunkRows);
    VEIL_RETURN_IF_ERROR(ctx.Send(to, "psi/rows/" + std::to_string(chunk),
                                  EncodeRows(rows, intersection, begin, end)));
    if (n == 0) break;
  }
  return Status();
}

// Writes the party's output: header, then its rows in plan order (-1 = empty row).
Status WriteOutput(const std::string& input, const std::string& output, const InputScan& scan,
                   const std::vector<int64_t>& rows) {
  VEIL_ASSIGN_OR_RETURN(auto file, data::CsvRowFile::Open(input));
  VEIL_ASSIGN_OR_RETURN(auto writer, data::CsvWriter::Create(output, scan.header));
  std::vector<data::RecordRef> run;
  auto flush = [&]() -> Status {
    if (run.empty()) return Status();
    Status s = file->CopyRecords(run, writer.get());
    run.clear();
    return s;
  };
  for (int64_t r : rows) {
    if (r < 0) {
      VEIL_RETURN_IF_ERROR(flush());
      VEIL_RETURN_IF_ERROR(writer->WriteEmptyRow());
      continue;
    }
    if (r >= static_cast<int64_t>(scan.records.size())) {
      return AlgorithmError("bad_row_index", "row index out of range in the join plan");
    }
    run.push_back(scan.records[r]);
    if (run.size() >= kReadBatchRows) VEIL_RETURN_IF_ERROR(flush());
  }
  VEIL_RETURN_IF_ERROR(flush());
  return writer->Finish();
}

// Sorts rows[from, end) by this party's canonical keys (stable; -1 entries stay in place).
void SortTail(std::vector<int64_t>& rows, int64_t from, const std::vector<std::string>& keys) {
  if (keys.empty() || from >= static_cast<int64_t>(rows.size())) return;
  std::stable_sort(rows.begin() + from, rows.end(), [&](int64_t a, int64_t b) {
    if (a < 0 || b < 0) return false;
    return keys[a] < keys[b];
  });
}

StatusOr<json> Run(PartyRun& run) {
  link::Context& ctx = run.link;
  const std::string self = ctx.self_name();
  std::vector<std::string> parties;
  for (size_t i = 0; i < ctx.world_size(); ++i) parties.push_back(ctx.party_name(i));
  Problems problems;
  const PsiConfig cfg = ReadConfig(run.task_config, parties, problems);
  VEIL_RETURN_IF_ERROR(problems.ToStatus());
  const size_t receiver = *ctx.RankOf(cfg.receiver);
  const bool is_receiver = ctx.rank() == receiver;
  auto progress = [&](const std::string& phase, double f) {
    if (run.progress) run.progress("computation_progress", f, {{"phase", phase}, {"party", self}});
  };

  // 1. Precheck: scan the own input, then everyone learns everyone's verdict and size.
  progress("precheck", 0.0);
  StatusOr<InputScan> scan =
      ScanInput(cfg.input_paths.at(self), cfg.keys.at(self), cfg.sort, cfg.allow_duplicates);
  VEIL_ASSIGN_OR_RETURN(auto verdicts, ctx.AllGather("psi/precheck", EncodeVerdict(scan)));
  if (!scan.ok()) return scan.status();
  std::vector<int64_t> counts(parties.size());
  for (size_t p = 0; p < parties.size(); ++p) {
    VEIL_RETURN_IF_ERROR(DecodeVerdict(verdicts[p], parties[p], &counts[p]));
  }
  progress("precheck", 0.05);

  // 2. The ECDH protocol.
  VEIL_ASSIGN_OR_RETURN(auto reader, data::CsvReader::Open(cfg.input_paths.at(self)));
  CsvKeySource keys(std::move(reader), scan->key_columns);
  psi::EcdhPsiOptions opt;
  opt.receiver_rank = receiver;
  opt.batch_size = static_cast<size_t>(cfg.batch_size);
  opt.progress = [&](double f) { progress("ecdh", 0.05 + 0.8 * f); };
  VEIL_ASSIGN_OR_RETURN(psi::EcdhPsiOutput masked, psi::RunEcdhPsi(ctx, opt, keys, counts));

  // 3. The receiver plans the join and hands out row lists.
  psi::PartyRows mine;
  int64_t intersection = -1;
  bool have_rows = false;
  std::vector<int64_t> output_counts(parties.size(), -1);
  if (is_receiver) {
    std::vector<int64_t> order;
    if (cfg.sort) {
      order.resize(scan->records.size());
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
        return scan->sort_keys[a] < scan->sort_keys[b];
      });
    }
    const size_t left = *ctx.RankOf(cfg.left_side);
    VEIL_ASSIGN_OR_RETURN(auto plan,
                          psi::PlanJoin(cfg.join, receiver, left, masked.fingerprints, order));
    masked.fingerprints.clear();
    intersection = 0;
    if (psi::IsAligned(cfg.join)) {
      for (size_t k = 0; k < plan[receiver].rows.size(); ++k) {
        bool all = true;
        for (const auto& pr : plan) all = all && pr.rows[k] >= 0;
        intersection += all;
      }
    } else {
      // difference: the receiver's rows whose key the other party has.
      intersection = counts[receiver] - static_cast<int64_t>(plan[receiver].rows.size());
    }
    for (size_t p = 0; p < plan.size(); ++p)
      output_counts[p] = static_cast<int64_t>(plan[p].rows.size());
    if (!cfg.allow_empty && plan[receiver].rows.empty()) {
      // Tell the peers too, so that they fail with the same reason instead of a lost link.
      Status empty =
          AlgorithmError("empty_result", "the PSI result is empty and allow_empty_result is false");
      if (cfg.broadcast) {
        for (size_t p = 0; p < plan.size(); ++p) {
          if (p != receiver) VEIL_RETURN_IF_ERROR(SendRows(ctx, p, psi::PartyRows{}, -2));
        }
      }
      return empty;
    }
    if (cfg.broadcast) {
      for (size_t p = 0; p < plan.size(); ++p) {
        if (p != receiver) VEIL_RETURN_IF_ERROR(SendRows(ctx, p, plan[p], intersection));
      }
    }
    mine = std::move(plan[receiver]);
    have_rows = true;
  } else if (cfg.broadcast) {
    VEIL_ASSIGN_OR_RETURN(mine, RecvRows(ctx, receiver, &intersection));
    if (intersection == -2) {
      return AlgorithmError("empty_result",
                            "the PSI result is empty and allow_empty_result is false");
    }
    have_rows = true;
  }
  progress("join", 0.9);

  // 4. Outputs.
  if (have_rows) {
    if (cfg.sort) SortTail(mine.rows, mine.local_sort_from, scan->sort_keys);
    VEIL_RETURN_IF_ERROR(
        WriteOutput(cfg.input_paths.at(self), cfg.output_paths.at(self), *scan, mine.rows));
  }
  progress("output", 1.0);

  json reports = json::array();
  for (size_t p = 0; p < parties.size(); ++p) {
    // -1 where this party does not know the figure (a non-receiver without broadcast).
    int64_t output_count = output_counts[p];
    if (!is_receiver && p == ctx.rank() && have_rows)
      output_count = static_cast<int64_t>(mine.rows.size());
    reports.push_back({{"party", parties[p]},
                       {"original_count", counts[p]},
                       {"intersection_count", intersection},
                       {"output_count", output_count}});
  }
  json outputs = json::object();
  for (const auto& [p, path] : cfg.output_paths) outputs[p] = path;
  return json{{"intersection_count", intersection},
              {"output_paths", outputs},
              {"psi_protocol", cfg.protocol},
              {"join_type", psi::JoinTypeName(cfg.join)},
              {"receiver", cfg.receiver},
              {"broadcast_result", cfg.broadcast},
              {"parties", parties},
              {"party", self},
              {"output_written", have_rows},
              {"reports", reports}};
}

json Merge(const std::map<std::string, json>& by_party, const json& task_config) {
  // The receiver's view is the complete one; add which parties wrote an output.
  std::string receiver;
  for (const auto& [p, r] : by_party) {
    if (r.contains("receiver")) receiver = r["receiver"].get<std::string>();
  }
  json out = by_party.count(receiver) ? by_party.at(receiver) : by_party.begin()->second;
  out.erase("party");
  out.erase("output_written");
  json written = json::array();
  for (const auto& [p, r] : by_party) {
    if (r.value("output_written", false)) written.push_back(p);
  }
  out["outputs_written"] = written;
  return out;
}

}  // namespace

TaskType PsiTaskType() {
  TaskType t;
  t.name = "psi";
  t.validate = Validate;
  t.path_fields = {{"input_paths", true, false}, {"output_paths", true, true}};
  t.peer_config = PeerConfig;
  t.run = Run;
  t.merge = Merge;
  return t;
}

}  // namespace veil::tasks
