// Shared machinery of the plaintext data tasks on vertically partitioned CSV data (issue 5):
// standard_scaler, minmax_scaler, label_encoder, onehot_encoder, quantile_binning,
// equal_width_binning, fillna, table_statistics, biclassification_eval, regression_eval.
//
// Data model: each party holds one CSV file (rows aligned by position across parties, e.g. by a
// previous PSI with sort) and each column lives at exactly one party. A party opens only its own
// paths. Columns named in a task are looked up in every party's own header; the parties then
// exchange the names they found (AllGather of column NAMES only, never values), so every party
// reaches the same verdict: a column found at no party, or at two, fails the task at every party
// with the same ParameterValidationError (problem path "task_config.columns[i]").
//
// Exchanges carry either a payload or the sender's error, so a party whose own step failed
// (missing file, non-numeric cell, …) makes every party fail with that same error (prefixed by
// "party '<name>': ") instead of leaving them waiting.
//
// Thread safety: functions only; one call per party thread.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "veil/base/config_reader.h"
#include "veil/base/problems.h"
#include "veil/base/status.h"
#include "veil/data/columns.h"
#include "veil/link/context.h"
#include "veil/tasks/task.h"

namespace veil::tasks::vertical {

// ---- config --------------------------------------------------------------------------------

// Reads a {party: path} field. `exact`: its parties must be exactly env parties (missing ones
// are "party_mismatch" problems); otherwise a non-empty subset. Unknown parties are
// "unknown_party" at "task_config.<field>.<party>".
std::map<std::string, std::string> ReadPartyPaths(ConfigReader& r, const std::string& field,
                                                  const std::vector<std::string>& parties,
                                                  bool exact);

// The fields shared by the preprocessing tasks: input_data, output_data (same parties as
// input_data; a party's output must differ from its input) and columns.
struct TableTaskConfig {
  std::map<std::string, std::string> input;
  std::map<std::string, std::string> output;
  std::optional<std::vector<std::string>> columns;  // nullopt = the task's default selection
};
TableTaskConfig ReadTableTaskConfig(ConfigReader& r, const std::vector<std::string>& parties,
                                    Required columns_required);

// The optional report_party field: a party of sf_init_config ("unknown_party" otherwise),
// default the first party.
std::string ReadReportParty(ConfigReader& r, const std::vector<std::string>& parties);

// task_config without the path-valued fields (what every party must agree on); party-keyed
// path fields are replaced by their sorted party lists.
nlohmann::json PeerConfigWithoutPaths(const nlohmann::json& task_config,
                                      const std::vector<std::string>& path_fields);

// ---- exchanges -----------------------------------------------------------------------------

// Every party's payload, by rank, or the error of the lowest-ranked party that failed.
StatusOr<std::vector<nlohmann::json>> AllGatherJson(link::Context& ctx, const std::string& tag,
                                                    const StatusOr<nlohmann::json>& mine);

// Every party sends `mine` to `root`. At root: all payloads by rank (own included) or the first
// error; elsewhere: an empty vector once sent.
StatusOr<std::vector<nlohmann::json>> GatherJson(link::Context& ctx, size_t root,
                                                 const std::string& tag,
                                                 const StatusOr<nlohmann::json>& mine);

// `root` sends its outcome to every party; every party returns root's outcome.
StatusOr<nlohmann::json> ShareOutcome(link::Context& ctx, size_t root, const std::string& tag,
                                      const StatusOr<nlohmann::json>& root_outcome);

// Every party's row count (or its error: the lowest-ranked failure is returned at every party);
// ParameterError "row_count_mismatch" unless all are equal. Returns the common count and, in
// `extras` when given, every party's payload (rank order).
// `mine` is {"rows": n, ...}.
StatusOr<int64_t> AgreeRowCounts(link::Context& ctx, const std::string& tag,
                                 const StatusOr<nlohmann::json>& mine,
                                 std::vector<nlohmann::json>* extras = nullptr);

// ---- column placement ----------------------------------------------------------------------

// Given the names each party found (by rank), checks that every requested name (task_config
// `field`, listed as `requested`) is at exactly one party. ParameterValidationError with one
// problem per bad name: "unknown_column" (at no party) / "duplicate_column" (at several).
Status CheckPlacement(const std::string& field, const std::vector<std::string>& requested,
                      const std::vector<std::vector<std::string>>& found_by_rank,
                      const link::Context& ctx);

// The checks of a column a numeric transform fits on: ParameterError "non_numeric_value" (file,
// line, column), "all_missing_column" (no value at all, e.g. a header-only file) or
// "non_finite_value" (±inf, which scikit-learn rejects too).
Status RequireFiniteNumbers(const data::ColumnTable& table, const data::Column& column);

// numpy.quantile(sorted, q, method="linear") of non-empty ascending `sorted` (numpy ≥ 1.22:
// virtual index (n-1)·q, interpolated with numpy's _lerp), as pandas' quantile and qcut use it.
double LinearQuantile(const std::vector<double>& sorted, double q);

// Writes `text` to `path` atomically (temporary file in the same directory, then rename),
// creating missing parent directories. ResultSaveError "write_failed" naming the path.
Status WriteFileAtomically(const std::string& path, const std::string& text);

// Names of the parties in rank order.
std::vector<std::string> PartyNames(const link::Context& ctx);

// A JSON number, or null for NaN / ±inf (the report and result never hold non-finite values).
nlohmann::json JsonNumber(double v);

// ---- the per-column transform skeleton (scalers, encoders, binning, fillna) -----------------

// What fitting one column produced.
struct ColumnTransform {
  // The column's replacement in the output header (usually just its own name).
  std::vector<std::string> output_names;
  // Writes the output_names.size() cells out[0..] for data row `row`, whose input cell is
  // `cell`.
  std::function<void(int64_t row, std::string_view cell, std::string* out)> apply;
  // The fitted parameters reported in the result (e.g. mean and scale, a class mapping).
  nlohmann::json fitted;
};

struct TransformSpec {
  std::string tag;  // link tag prefix, e.g. "standard_scaler"
  bool keep_text = false;
  // Without `columns`: whether a column of the own file is transformed.
  std::function<bool(const data::Column&)> default_select;
  // Fits one column of the own file; an error fails the task at every party.
  std::function<StatusOr<ColumnTransform>(const data::ColumnTable&, const data::Column&)> fit;
};

struct TransformOutcome {
  std::vector<std::string> columns;  // every transformed column: request order, or rank order
  std::map<std::string, std::vector<std::string>> columns_by_party;
  nlohmann::json fitted = nlohmann::json::object();  // own columns only: {column: fitted}
};

// One party's run: place the columns (exchange), read and fit the own columns, exchange the
// verdict (and row counts, which must be equal at every party holding data: else
// ParameterError "row_count_mismatch"), then write the own output (every input column kept in
// place, transformed ones replaced; row order kept). A party without input_data only takes
// part in the exchanges.
StatusOr<TransformOutcome> RunTransform(PartyRun& run, const TableTaskConfig& cfg,
                                        const TransformSpec& spec);

// The result fields shared by the preprocessing tasks: output_paths, parties, columns_by_party
// and `columns_key` (e.g. "scaled_columns"); `fitted_key` gets the own fitted parameters.
nlohmann::json TransformResult(const PartyRun& run, const TableTaskConfig& cfg,
                               const TransformOutcome& outcome, const std::string& columns_key,
                               const std::string& fitted_key);

// Local-mode merge: the first party's result with the `union_keys` objects of every party
// merged (each party contributed its own columns) and the per-party "party" key dropped.
nlohmann::json MergeUnion(const std::map<std::string, nlohmann::json>& by_party,
                          const std::vector<std::string>& union_keys);

// The TaskType of a transform task (each party rewrites its own input_data into its own
// output_data): validation by `check_config` (the task's config reader; its result is
// discarded), path fields, the peer config without the paths, and a local-mode merge that
// unions every party's `fitted_key` (e.g. "statistics").
using ConfigCheck =
    std::function<void(const nlohmann::json& task_config, const std::vector<std::string>& parties,
                       Problems& problems)>;

// The TaskType of a task validated by `check_config` (its result discarded), with `paths` as its
// path fields and a peer config of task_config without their values.
TaskType ConfiguredTaskType(std::string name, ConfigCheck check_config,
                            std::vector<PathField> paths, decltype(TaskType::run) run,
                            bool needs_spu);
TaskType TransformTaskType(std::string name, ConfigCheck check_config, decltype(TaskType::run) run,
                           std::string fitted_key);

}  // namespace veil::tasks::vertical
