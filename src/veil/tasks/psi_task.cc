#include "veil/tasks/psi_task.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <set>

#include <fmt/format.h>

#include "veil/base/bytes.h"
#include "veil/base/config_reader.h"
#include "veil/base/external_sort.h"
#include "veil/base/record_file.h"
#include "veil/base/temp_dir.h"
#include "veil/crypto/hash.h"
#include "veil/data/csv.h"
#include "veil/data/record_index.h"
#include "veil/psi/ecdh_psi.h"
#include "veil/psi/join.h"
#include "veil/psi/join_builder.h"
#include "veil/psi/kkrt_psi.h"
#include "veil/psi/rr22_psi.h"

namespace veil::tasks {

namespace {

using nlohmann::json;

constexpr int64_t kMaxBatchSize = int64_t{1} << 20;
// Rows per CSV read while streaming inputs.
constexpr size_t kReadBatchRows = 8192;
// Rows per message when the receiver sends row lists.
constexpr size_t kPlanChunkRows = size_t{1} << 16;
// Memory budget of each external sort (join, duplicate check, trailing-row sort): what bounds a
// party's memory whatever the input size.
constexpr size_t kSortMemoryBytes = size_t{64} << 20;

const std::vector<std::string> kEcdhProtocols = {"ECDH_PSI_2PC", "ECDH_PSI_3PC", "ECDH_PSI_NPC",
                                                 "PROTOCOL_ECDH"};
const std::vector<std::string> kKkrtProtocols = {"KKRT_PSI_2PC", "PROTOCOL_KKRT"};
const std::vector<std::string> kRr22Protocols = {"PROTOCOL_RR22", "RR22_FAST_PSI_2PC"};
// Known SecretFlow protocols veil does not implement.
const std::vector<std::string> kUnsupportedProtocols = {
    "RR22_LOWCOMM_PSI_2PC", "RR22_MALICIOUS_PSI_2PC", "BC22_PSI_2PC", "DP_PSI_2PC"};
// Without `protocol`: KKRT for two parties (the Python worker's default), ECDH for more.
constexpr char kDefaultTwoPartyProtocol[] = "KKRT_PSI_2PC";
constexpr char kDefaultMultiPartyProtocol[] = "PROTOCOL_ECDH";

bool IsKkrt(const std::string& protocol) {
  return std::count(kKkrtProtocols.begin(), kKkrtProtocols.end(), protocol) > 0;
}
bool IsRr22(const std::string& protocol) {
  return std::count(kRr22Protocols.begin(), kRr22Protocols.end(), protocol) > 0;
}
bool IsEcdh(const std::string& protocol) {
  return std::count(kEcdhProtocols.begin(), kEcdhProtocols.end(), protocol) > 0;
}

std::string SupportedProtocols() {
  return fmt::format("{}, {}, {}", fmt::join(kKkrtProtocols, ", "), fmt::join(kRr22Protocols, ", "),
                     fmt::join(kEcdhProtocols, ", "));
}

// The task's parsed configuration (after validation succeeded).
struct PsiConfig {
  std::map<std::string, std::vector<std::string>> keys;
  std::map<std::string, std::string> input_paths;
  std::map<std::string, std::string> output_paths;
  std::string receiver;
  bool broadcast = false;
  std::string protocol = kDefaultMultiPartyProtocol;
  bool sort = false;
  psi::JoinType join = psi::JoinType::kInner;
  std::string left_side;
  bool allow_duplicates = true;
  bool allow_empty = true;
  int64_t batch_size = static_cast<int64_t>(psi::kDefaultEcdhBatchSize);
  bool batch_size_given = false;  // else each protocol uses its own default
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
  auto join = r.Enum("join_type", Required::kNo, psi::JoinTypeNames());
  auto left = r.String("left_side", Required::kNo);
  c.allow_duplicates = r.Bool("allow_duplicated_keys", true);
  c.allow_empty = r.Bool("allow_empty_result", true);
  c.batch_size = r.Int("batch_size", c.batch_size, 1, kMaxBatchSize);
  c.batch_size_given = cfg.is_object() && cfg.contains("batch_size");
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
  const size_t n = parties.size();
  c.protocol = n == 2 ? kDefaultTwoPartyProtocol : kDefaultMultiPartyProtocol;
  if (protocol) {
    if (std::count(kUnsupportedProtocols.begin(), kUnsupportedProtocols.end(), *protocol)) {
      problems.Add("task_config.protocol", "protocol_not_supported",
                   "'" + *protocol + "' is not supported; use one of: " + SupportedProtocols());
    } else if (!IsEcdh(*protocol) && !IsKkrt(*protocol) && !IsRr22(*protocol)) {
      problems.Add(
          "task_config.protocol", "invalid_value",
          "'" + *protocol + "' is not a PSI protocol; use one of: " + SupportedProtocols());
    } else {
      c.protocol = *protocol;
    }
  }
  const bool two_party_only =
      c.protocol == "ECDH_PSI_2PC" || IsKkrt(c.protocol) || IsRr22(c.protocol);
  if ((two_party_only && n != 2) || (c.protocol == "ECDH_PSI_3PC" && n != 3)) {
    problems.Add("task_config.protocol", "party_count_mismatch",
                 fmt::format("{} needs exactly {} parties, the task has {}", c.protocol,
                             two_party_only ? 2 : 3, n));
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

// Reads the key columns of a CSV row by row, as canonical keys (for the protocol) or as sort
// keys (the values joined by '\0', so byte order is column-by-column order).
class KeyReader {
 public:
  static StatusOr<std::unique_ptr<KeyReader>> Open(const std::string& path,
                                                   const std::vector<size_t>& columns) {
    VEIL_ASSIGN_OR_RETURN(auto reader, data::CsvReader::Open(path));
    return std::unique_ptr<KeyReader>(new KeyReader(std::move(reader), columns));
  }
  // The next row, or false at the end. Fills the views of the key columns (valid until the next
  // call) and the row's record and line.
  StatusOr<bool> NextRow(std::vector<std::string_view>* cols, data::RecordRef* ref, int64_t* line) {
    if (done_) return false;
    if (pos_ == rows_.num_rows()) {
      VEIL_ASSIGN_OR_RETURN(bool more, reader_->NextBatch(kReadBatchRows, &rows_));
      if (!more) {
        done_ = true;  // stays at the end (the batch no longer matches pos_)
        return false;
      }
      pos_ = 0;
    }
    auto row = rows_.row(pos_++);
    cols->resize(columns_.size());
    for (size_t c = 0; c < columns_.size(); ++c) (*cols)[c] = row[columns_[c]];
    if (ref) *ref = row.record();
    if (line) *line = row.line();
    return true;
  }
  static void SortKey(const std::vector<std::string_view>& cols, std::string* out) {
    out->clear();
    for (auto c : cols) out->append(c).push_back('\0');
  }

 private:
  KeyReader(std::unique_ptr<data::CsvReader> r, std::vector<size_t> columns)
      : reader_(std::move(r)), columns_(std::move(columns)) {}
  std::unique_ptr<data::CsvReader> reader_;
  std::vector<size_t> columns_;
  data::RowBatch rows_;
  size_t pos_ = 0;
  bool done_ = false;
};

// The protocol's view of the own input: canonical keys, batch by batch.
class CsvKeySource : public psi::KeySource {
 public:
  explicit CsvKeySource(std::unique_ptr<KeyReader> reader) : reader_(std::move(reader)) {}
  StatusOr<size_t> Next(size_t max_items, psi::KeyBatch* out) override {
    out->clear();
    while (out->size() < max_items) {
      VEIL_ASSIGN_OR_RETURN(bool more, reader_->NextRow(&cols_, nullptr, nullptr));
      if (!more) break;
      out->AddKey(cols_);
    }
    return out->size();
  }

 private:
  std::unique_ptr<KeyReader> reader_;
  std::vector<std::string_view> cols_;
};

// What the first pass over a party's own input learns. Per-row state lives on disk.
struct InputScan {
  std::vector<std::string> header;
  std::vector<size_t> key_columns;
  int64_t rows = 0;
  std::string index_path;  // RecordIndex file: where each row's record is
  // When asked for: each row's sort key (KeyReader::SortKey), in row order (a record file).
  std::string sort_keys_path;
};

// Streams the own input once: checks the key columns, writes the record index and, if asked,
// the sort keys, and when duplicates are not allowed, finds them with an external sort of key
// digests (bounded memory).
StatusOr<InputScan> ScanInput(const std::string& path, const std::vector<std::string>& key_names,
                              bool allow_duplicates, bool write_sort_keys,
                              const std::string& temp_dir) {
  VEIL_ASSIGN_OR_RETURN(auto reader, data::CsvReader::Open(path));
  InputScan scan;
  scan.header = reader->header();
  VEIL_ASSIGN_OR_RETURN(scan.key_columns, reader->ResolveColumns(key_names));
  reader.reset();
  scan.index_path = temp_dir + "/records.idx";
  VEIL_ASSIGN_OR_RETURN(auto index, data::RecordIndexWriter::Create(scan.index_path));
  std::unique_ptr<RecordFileWriter> sort_keys;
  if (write_sort_keys) {
    scan.sort_keys_path = temp_dir + "/sort_keys.rec";
    VEIL_ASSIGN_OR_RETURN(sort_keys, RecordFileWriter::Create(scan.sort_keys_path));
  }
  std::unique_ptr<ExternalSorter> digests;
  if (!allow_duplicates) {
    VEIL_ASSIGN_OR_RETURN(digests, ExternalSorter::Create(
                                       {temp_dir, kSortMemoryBytes},
                                       [](std::string_view a, std::string_view b) {
                                         return a.substr(0, 16) < b.substr(0, 16);
                                       },
                                       BytewisePrefix));
  }
  VEIL_ASSIGN_OR_RETURN(auto keys, KeyReader::Open(path, scan.key_columns));
  std::vector<std::string_view> cols;
  data::RecordRef ref;
  int64_t line = 0;
  psi::KeyBatch key;
  std::string rec, sort_key;
  while (true) {
    VEIL_ASSIGN_OR_RETURN(bool more, keys->NextRow(&cols, &ref, &line));
    if (!more) break;
    VEIL_RETURN_IF_ERROR(index->Add(ref));
    if (sort_keys) {
      KeyReader::SortKey(cols, &sort_key);
      VEIL_RETURN_IF_ERROR(sort_keys->Add(sort_key));
    }
    if (digests) {
      key.clear();
      key.AddKey(cols);
      auto d = crypto::Blake2b128(key.key(0));
      rec.assign(reinterpret_cast<const char*>(d.data()), d.size());
      rec.append(reinterpret_cast<const char*>(&line), sizeof line);
      VEIL_RETURN_IF_ERROR(digests->Add(rec));
    }
  }
  scan.rows = index->rows();
  VEIL_RETURN_IF_ERROR(index->Close());
  if (sort_keys) VEIL_RETURN_IF_ERROR(sort_keys->Close());
  if (digests) {
    VEIL_ASSIGN_OR_RETURN(auto sorted, digests->Finish());
    std::string prev;
    while (true) {
      VEIL_ASSIGN_OR_RETURN(auto r, sorted->Next());
      if (!r) break;
      if (!prev.empty() && r->substr(0, 16) == std::string_view(prev).substr(0, 16)) {
        int64_t dup_line;
        std::memcpy(&dup_line, r->data() + 16, sizeof dup_line);
        return ParameterError(
            "duplicate_keys",
            fmt::format("{} line {}: duplicate key, and allow_duplicated_keys is false", path,
                        dup_line));
      }
      prev.assign(*r);
    }
  }
  return scan;
}

// Precheck verdict exchanged by every party: ok + row count, or the error.
Buffer EncodeVerdict(const StatusOr<InputScan>& scan) {
  Buffer b;
  ByteWriter w(&b);
  w.U8(scan.ok() ? 1 : 0);
  w.I64(scan.ok() ? scan->rows : -1);
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
  return Status(ErrorTypeFromName(type), code, "input of party '" + party + "': " + message);
}

// Writes one party's output: its own input records in plan order, an empty row for -1 (aligned
// joins; skipped for difference). Rows of the trailing block are sorted by this party's keys
// when `sort` is on, with an external sort (they arrive in row order, so their keys are read
// with one forward pass over the scan's sort keys, which must then have been written).
class OutputWriter {
 public:
  static StatusOr<std::unique_ptr<OutputWriter>> Create(const std::string& input,
                                                        const std::string& output,
                                                        const InputScan& scan, bool aligned,
                                                        bool sort, const std::string& temp_dir) {
    auto w = std::unique_ptr<OutputWriter>(new OutputWriter(aligned, sort, temp_dir, scan));
    VEIL_ASSIGN_OR_RETURN(w->file_, data::CsvRowFile::Open(input));
    VEIL_ASSIGN_OR_RETURN(w->index_, data::RecordIndex::Open(scan.index_path));
    VEIL_ASSIGN_OR_RETURN(w->writer_, data::CsvWriter::Create(output, scan.header));
    return w;
  }

  Status Add(int64_t row, bool tail) {
    if (row < 0) {
      if (!aligned_) return Status();
      VEIL_RETURN_IF_ERROR(Flush());
      ++rows_;
      return writer_->WriteEmptyRow();
    }
    if (row >= index_->rows())
      return AlgorithmError("bad_row_index", "row index out of range in the join plan");
    ++rows_;
    if (tail && sort_) return AddSortedTail(row);
    run_.push_back(index_->Get(row));
    if (run_.size() >= kReadBatchRows) return Flush();
    return Status();
  }

  Status Finish() {
    VEIL_RETURN_IF_ERROR(Flush());
    if (tail_sorter_) {
      VEIL_ASSIGN_OR_RETURN(auto sorted, tail_sorter_->Finish());
      while (true) {
        VEIL_ASSIGN_OR_RETURN(auto rec, sorted->Next());
        if (!rec) break;
        data::RecordRef ref;
        std::memcpy(&ref, rec->data() + rec->size() - sizeof ref, sizeof ref);
        run_.push_back(ref);
        if (run_.size() >= kReadBatchRows) VEIL_RETURN_IF_ERROR(Flush());
      }
      VEIL_RETURN_IF_ERROR(Flush());
    }
    return writer_->Finish();
  }
  int64_t rows() const { return rows_; }

 private:
  OutputWriter(bool aligned, bool sort, std::string temp_dir, const InputScan& scan)
      : aligned_(aligned),
        sort_(sort),
        temp_dir_(std::move(temp_dir)),
        sort_keys_path_(scan.sort_keys_path) {}

  Status Flush() {
    if (run_.empty()) return Status();
    Status s = file_->CopyRecords(run_, writer_.get());
    run_.clear();
    return s;
  }

  // Record = sort key ‖ RecordRef; ordered by the sort key (stable: ties keep row order).
  Status AddSortedTail(int64_t row) {
    if (!tail_sorter_) {
      if (sort_keys_path_.empty()) {
        return InternalError("no_sort_keys", "trailing rows to sort, but no sort keys were kept");
      }
      VEIL_ASSIGN_OR_RETURN(
          tail_sorter_,
          ExternalSorter::Create({temp_dir_, kSortMemoryBytes},
                                 [](std::string_view a, std::string_view b) {
                                   return a.substr(0, a.size() - sizeof(data::RecordRef)) <
                                          b.substr(0, b.size() - sizeof(data::RecordRef));
                                 }));
      VEIL_ASSIGN_OR_RETURN(sort_keys_, RecordFileReader::Open(sort_keys_path_));
    }
    if (row < next_key_row_)
      return InternalError("tail_order", "trailing rows must come in row order");
    while (next_key_row_ <= row) {
      VEIL_ASSIGN_OR_RETURN(bool more, sort_keys_->Advance());
      if (!more) return AlgorithmError("bad_row_index", "row index beyond the input");
      ++next_key_row_;
    }
    const data::RecordRef ref = index_->Get(row);
    scratch_.assign(sort_keys_->current());
    scratch_.append(reinterpret_cast<const char*>(&ref), sizeof ref);
    return tail_sorter_->Add(scratch_);
  }

  bool aligned_, sort_;
  std::string temp_dir_;
  std::string sort_keys_path_;
  std::unique_ptr<data::CsvRowFile> file_;
  std::unique_ptr<data::RecordIndex> index_;
  std::unique_ptr<data::CsvWriter> writer_;
  std::vector<data::RecordRef> run_;
  std::unique_ptr<ExternalSorter> tail_sorter_;
  std::unique_ptr<RecordFileReader> sort_keys_;
  int64_t next_key_row_ = 0;
  std::string scratch_;
  int64_t rows_ = 0;
};

// Row-list messages from the receiver to one party, in order: kRowsMain / kRowsTail chunks of
// int64 rows, then one kRowsEnd with the intersection count (kEmptyResult when the result is
// empty and not allowed).
constexpr uint8_t kRowsMain = 0, kRowsTail = 1, kRowsEnd = 2;
constexpr int64_t kEmptyResult = -2;

class RowSender {
 public:
  RowSender(link::Context& ctx, size_t to) : ctx_(ctx), to_(to) {}
  Status Add(int64_t row, bool tail) {
    if (tail != tail_ && !rows_.empty()) VEIL_RETURN_IF_ERROR(Flush());
    tail_ = tail;
    rows_.push_back(row);
    return rows_.size() >= kPlanChunkRows ? Flush() : Status();
  }
  Status End(int64_t intersection) {
    VEIL_RETURN_IF_ERROR(Flush());
    Buffer b;
    ByteWriter w(&b);
    w.U8(kRowsEnd);
    w.I64(intersection);
    return ctx_.Send(to_, "psi/rows/" + std::to_string(seq_++), std::move(b));
  }

 private:
  Status Flush() {
    if (rows_.empty()) return Status();
    Buffer b;
    ByteWriter w(&b);
    w.U8(tail_ ? kRowsTail : kRowsMain);
    w.Raw(rows_.data(), rows_.size() * sizeof(int64_t));
    rows_.clear();
    return ctx_.Send(to_, "psi/rows/" + std::to_string(seq_++), std::move(b));
  }
  link::Context& ctx_;
  size_t to_;
  std::vector<int64_t> rows_;
  bool tail_ = false;
  int64_t seq_ = 0;
};

// Non-receiver: receives its row lists and writes them. Returns the intersection count.
StatusOr<int64_t> ReceiveRows(link::Context& ctx, size_t receiver, OutputWriter& out) {
  for (int64_t seq = 0;; ++seq) {
    VEIL_ASSIGN_OR_RETURN(Buffer msg, ctx.Recv(receiver, "psi/rows/" + std::to_string(seq)));
    ByteReader r(msg);
    uint8_t kind;
    if (!r.U8(&kind) || kind > kRowsEnd) return AlgorithmError("bad_message", "malformed row list");
    if (kind == kRowsEnd) {
      int64_t intersection;
      if (!r.I64(&intersection)) return AlgorithmError("bad_message", "malformed row list end");
      return intersection;
    }
    if (r.remaining() % sizeof(int64_t) != 0)
      return AlgorithmError("bad_message", "malformed row list");
    while (r.remaining() > 0) {
      int64_t row = 0;
      (void)r.I64(&row);
      VEIL_RETURN_IF_ERROR(out.Add(row, kind == kRowsTail));
    }
  }
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
  const std::string& input = cfg.input_paths.at(self);
  auto progress = [&](const std::string& phase, double f) {
    if (run.progress) run.progress("computation_progress", f, {{"phase", phase}, {"party", self}});
  };
  // Per-row state (record index, sort runs) lives here, not in memory; removed at the end.
  VEIL_ASSIGN_OR_RETURN(auto temp, ScopedTempDir::Create("", "veil-psi"));

  // 1. Precheck: scan the own input, then everyone learns everyone's verdict and size.
  progress("precheck", 0.0);
  // Sort keys order the receiver's join and the trailing block a non-receiver may get (outer
  // joins, difference); the scan writes them so that the input is not read again for them.
  const bool need_sort_keys =
      cfg.sort && (is_receiver || (cfg.broadcast && cfg.join != psi::JoinType::kInner));
  StatusOr<InputScan> scan =
      ScanInput(input, cfg.keys.at(self), cfg.allow_duplicates, need_sort_keys, temp->path());
  VEIL_ASSIGN_OR_RETURN(auto verdicts, ctx.AllGather("psi/precheck", EncodeVerdict(scan)));
  if (!scan.ok()) return scan.status();
  std::vector<int64_t> counts(parties.size());
  for (size_t p = 0; p < parties.size(); ++p) {
    VEIL_RETURN_IF_ERROR(DecodeVerdict(verdicts[p], parties[p], &counts[p]));
  }
  progress("precheck", 0.05);

  // 2. The PSI protocol (KKRT, RR22 or ECDH); the receiver feeds every fingerprint into the join
  //    builder.
  std::unique_ptr<psi::JoinBuilder> join;
  std::unique_ptr<RecordFileReader> own_sort_keys;
  if (is_receiver) {
    psi::JoinBuilderOptions jo;
    jo.type = cfg.join;
    jo.parties = parties.size();
    jo.receiver = receiver;
    jo.left = *ctx.RankOf(cfg.left_side);
    jo.sort = cfg.sort;
    jo.sort_options = {temp->path(), kSortMemoryBytes};
    VEIL_ASSIGN_OR_RETURN(join, psi::JoinBuilder::Create(jo));
    if (cfg.sort) {
      VEIL_ASSIGN_OR_RETURN(own_sort_keys, RecordFileReader::Open(scan->sort_keys_path));
    }
  }
  VEIL_ASSIGN_OR_RETURN(auto key_reader, KeyReader::Open(input, scan->key_columns));
  CsvKeySource keys(std::move(key_reader));
  // Every protocol hands over the receiver's own rows in row order (bucket_psi.h, ecdh_psi.h),
  // so their sort keys stream from the scan's file alongside.
  int64_t next_own_row = 0;
  auto add_row = [&](size_t party, int64_t row, const psi::Fingerprint& fp) -> Status {
    std::string_view sort_key;
    if (own_sort_keys && party == receiver) {
      if (row != next_own_row++) {
        return InternalError("row_order", "the receiver's own rows must arrive in row order");
      }
      VEIL_ASSIGN_OR_RETURN(bool more, own_sort_keys->Advance());
      if (!more) return AlgorithmError("key_count_mismatch", "input grew during the task");
      sort_key = own_sort_keys->current();
    }
    return join->Add(party, row, fp, sort_key);
  };
  const bool bucketed = IsKkrt(cfg.protocol) || IsRr22(cfg.protocol);
  const std::string phase = IsKkrt(cfg.protocol) ? "kkrt" : IsRr22(cfg.protocol) ? "rr22" : "ecdh";
  auto protocol_progress = [&](double f) { progress(phase, 0.05 + 0.8 * f); };
  psi::FingerprintSink sink;
  if (is_receiver) {
    sink = [&](size_t party, const std::vector<int64_t>& rows,
               const std::vector<psi::Fingerprint>& fps) -> Status {
      for (size_t j = 0; j < fps.size(); ++j) VEIL_RETURN_IF_ERROR(add_row(party, rows[j], fps[j]));
      return Status();
    };
  }
  if (bucketed) {
    psi::BucketPsiOptions opt;
    opt.receiver_rank = receiver;
    if (cfg.batch_size_given) opt.batch_size = static_cast<size_t>(cfg.batch_size);
    opt.temp_dir = temp->path();
    opt.progress = protocol_progress;
    opt.on_fingerprints = sink;
    auto run_psi = IsKkrt(cfg.protocol) ? psi::RunKkrtPsi : psi::RunRr22Psi;
    VEIL_RETURN_IF_ERROR(run_psi(ctx, opt, keys, counts).status());
  } else {
    psi::EcdhPsiOptions opt;
    opt.receiver_rank = receiver;
    opt.batch_size = static_cast<size_t>(cfg.batch_size);
    opt.progress = protocol_progress;
    opt.on_fingerprints = sink;
    VEIL_RETURN_IF_ERROR(psi::RunEcdhPsi(ctx, opt, keys, counts).status());
  }
  progress(phase, 0.85);

  // 3. The receiver streams the join to its own output and, when broadcasting, to every party;
  //    the others write what they receive.
  int64_t intersection = -1;
  int64_t written = -1;
  bool have_rows = false;
  const bool aligned = psi::IsAligned(cfg.join);
  if (is_receiver || cfg.broadcast) {
    VEIL_ASSIGN_OR_RETURN(auto out, OutputWriter::Create(input, cfg.output_paths.at(self), *scan,
                                                         aligned, cfg.sort, temp->path()));
    if (is_receiver) {
      std::vector<std::unique_ptr<RowSender>> senders(parties.size());
      if (cfg.broadcast) {
        for (size_t p = 0; p < parties.size(); ++p) {
          if (p != receiver) senders[p] = std::make_unique<RowSender>(ctx, p);
        }
      }
      auto emit = [&](const std::vector<int64_t>& rows, bool tail) -> Status {
        VEIL_RETURN_IF_ERROR(out->Add(rows[receiver], tail));
        for (size_t p = 0; p < parties.size(); ++p) {
          if (senders[p]) VEIL_RETURN_IF_ERROR(senders[p]->Add(rows[p], tail));
        }
        return Status();
      };
      VEIL_ASSIGN_OR_RETURN(int64_t complete, join->Finish(emit));
      // difference: the receiver's rows whose key the other party has.
      intersection = aligned ? complete : counts[receiver] - out->rows();
      const bool empty = out->rows() == 0;
      for (auto& s : senders) {
        if (s)
          VEIL_RETURN_IF_ERROR(s->End(empty && !cfg.allow_empty ? kEmptyResult : intersection));
      }
      if (empty && !cfg.allow_empty) {
        return AlgorithmError("empty_result",
                              "the PSI result is empty and allow_empty_result is false");
      }
    } else {
      VEIL_ASSIGN_OR_RETURN(intersection, ReceiveRows(ctx, receiver, *out));
      if (intersection == kEmptyResult) {
        return AlgorithmError("empty_result",
                              "the PSI result is empty and allow_empty_result is false");
      }
    }
    progress("join", 0.9);
    VEIL_RETURN_IF_ERROR(out->Finish());
    written = out->rows();
    have_rows = true;
  }
  progress("output", 1.0);

  json reports = json::array();
  for (size_t p = 0; p < parties.size(); ++p) {
    // Output rows are known for the own party only (-1 elsewhere, and where nothing was written).
    reports.push_back({{"party", parties[p]},
                       {"original_count", counts[p]},
                       {"intersection_count", intersection},
                       {"output_count", p == ctx.rank() ? written : -1}});
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
