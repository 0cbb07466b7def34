// Shared machinery of the secret-shared statistics tasks pearson_correlation and vif
// (SecretFlow's SSVertPearsonR / SSVertVIF): vertically partitioned numeric columns are
// standardised by their owners, and their Gram matrix — the correlation matrix — is computed on
// the SPU.
//
// Protocol (every party, collective):
//   1. Column placement: each requested column must live at exactly one party (names only are
//      exchanged; vertical.h).
//   2. Each party reads its own columns and standardises them locally with the population
//      mean and standard deviation: z = (x − mean) / (std · √n), so that Σ_rows z_a·z_b is the
//      Pearson correlation r_ab exactly. The parties exchange their row counts and which of
//      their columns are constant (all values equal: no correlation is defined); the values
//      stay private.
//   3. Each party secret-shares its block Zᵢᵀ (its non-constant columns × n rows) on the SPU;
//      R = Zᵀ·Z is one fixed-point matrix product under MPC (MatMulFxp), left secret-shared.
//      Its rows and columns are in block order: the non-constant columns of rank 0, then of
//      rank 1, ... (SecureGram::block_order).
//
// Reveals: column names, row counts and the names of constant columns to every party; nothing
// else until the task opens (part of) R.
//
// Errors (every party fails alike; ParameterValidationError with these codes): unknown_column /
// duplicate_column, row_count_mismatch, non_numeric_value, non_finite_value, all_missing_column,
// missing_value (the tasks need complete columns: run fillna first), too_few_rows (< 2); file
// errors; DeviceConfigError/NetworkError from the SPU.
//
// Precision: inputs are encoded with fxp_fraction_bits f; every entry of R carries an error of
// about 2^-f plus the truncation error (< 2^-f). With SEMI2K/ABY3 a truncation fails with
// probability about |x|·2^-k per entry (protocol.h); the tasks detect the resulting
// out-of-range values and recompute (kSecureStatsAttempts).
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "veil/base/problems.h"
#include "veil/base/status.h"
#include "veil/data/columns.h"
#include "veil/mpc/protocol.h"
#include "veil/tasks/task.h"

namespace veil::tasks::secure_stats {

// How often a result that a truncation wrap corrupted is recomputed with fresh randomness.
inline constexpr int kSecureStatsAttempts = 3;

// Fields: input_data {party: path} (exactly the sf_init parties), columns (non-empty list,
// required as in the Python worker), output_report (one path), report_party (veil extension;
// default the first party).
struct Config {
  std::map<std::string, std::string> input;
  std::vector<std::string> columns;
  std::string output_report;
  std::string report_party;
};
Config ReadConfig(const nlohmann::json& task_config, const std::vector<std::string>& parties,
                  Problems& problems);

// TaskType boilerplate of both tasks: validate, path fields, peer config, needs_spu.
TaskType MakeTaskType(const std::string& name, std::function<StatusOr<nlohmann::json>(PartyRun&)>);

// The outcome of steps 1–2.
struct Standardized {
  std::vector<std::string> columns;  // requested order
  std::vector<bool> constant;        // per requested column
  int64_t rows = 0;
  // Block order: requested-column index of each row/column of R (non-constant columns, rank by
  // rank, each party's in requested order).
  std::vector<size_t> block_order;
  std::vector<int64_t> block_rows;  // per rank: how many of block_order it owns
  mpc::Tensor<double> own_block;    // this party's Zᵢᵀ: block_rows[rank] x rows
};
StatusOr<Standardized> Standardize(PartyRun& run, const Config& cfg, const std::string& tag);

// Reads `names` of the own file as complete, finite numeric columns (the input check of every
// SPU task): ParameterError non_numeric_value / all_missing_column / non_finite_value /
// missing_value (file, column, first line; `purpose` says why, e.g. "the correlation").
// With allow_no_rows, a file with a header and no data rows is returned unchecked (predicting on
// an empty file is valid; fitting on one is not).
StatusOr<data::ColumnTable> ReadCompleteColumns(const std::string& path,
                                                const std::vector<std::string>& names,
                                                const std::string& purpose,
                                                bool allow_no_rows = false);

// Step 3: R = Zᵀ·Z, secret-shared, block order.
template <mpc::RingElement T>
mpc::AShare<T> SecureGram(mpc::Protocol<T>& prot, const Standardized& s);

// Writes `report` to cfg.output_report at report_party and makes every party return the same
// outcome (success, or the write error).
Status WriteReport(PartyRun& run, const Config& cfg, const std::string& tag,
                   const nlohmann::ordered_json* report);

}  // namespace veil::tasks::secure_stats
