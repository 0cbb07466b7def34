// JoinBuilder: the receiver's join with memory bounded by a fixed budget instead of the input
// size. Same semantics as PlanJoin (join.h), computed with two external sorts:
//
//   1. every item (fingerprint, party, row[, receiver sort key]) goes into a sorter keyed by
//      fingerprint; streaming it back yields the parties' rows per key;
//   2. each key's output rows (the cartesian product for matches, one row with -1 for an
//      unmatched row an outer join keeps) go into a sorter keyed by (receiver sort key,
//      receiver row, other rows), which restores the receiver's order; rows only the other
//      party has (right/full join, difference) are kept apart in a third sorter keyed by that
//      party's row.
//
// Finish() streams the output rows in order: first the receiver-ordered rows, then the
// trailing rows where the receiver has none (`tail` = true). For `difference`, each output row
// has exactly one party's row (the others -1) and the consumer keeps each party's own rows.
//
// Single-threaded. Disk: about 2 × (16 + 9 bytes) per item plus the sort keys, in temp_dir.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "veil/base/external_sort.h"
#include "veil/base/status.h"
#include "veil/psi/fingerprint.h"
#include "veil/psi/join.h"
#include "veil/psi/join_rules.h"

namespace veil::psi {

struct JoinBuilderOptions {
  JoinType type = JoinType::kInner;
  size_t parties = 2;
  size_t receiver = 0;
  size_t left = 0;                   // left side of left/right joins
  bool sort = false;                 // order by the receiver's sort keys (else by receiver row)
  ExternalSortOptions sort_options;  // temp dir and memory budget of each sorter
};

class JoinBuilder {
 public:
  // Called for each output row with rows[p] for every party p (-1: none); `tail` is true for
  // the trailing rows the receiver has no row in.
  using Emit = std::function<Status(const std::vector<int64_t>& rows, bool tail)>;

  // ParameterError "join_needs_two_parties" for an outer join or difference with n != 2.
  static StatusOr<std::unique_ptr<JoinBuilder>> Create(JoinBuilderOptions options);

  // Adds party p's row `row` with fingerprint fp. `sort_key` is used for the receiver's rows
  // when options.sort is set (byte order), ignored otherwise.
  Status Add(size_t party, int64_t row, const Fingerprint& fp, std::string_view sort_key = {});
  // Computes the join and emits every output row in order. Returns the number of rows in which
  // every party has a row (the intersection size for aligned joins).
  StatusOr<int64_t> Finish(const Emit& emit);

 private:
  JoinBuilder(JoinBuilderOptions options, internal::JoinRules rules,
              std::unique_ptr<ExternalSorter> items, std::unique_ptr<ExternalSorter> ordered,
              std::unique_ptr<ExternalSorter> tail)
      : options_(std::move(options)),
        rules_(rules),
        items_(std::move(items)),
        ordered_(std::move(ordered)),
        tail_(std::move(tail)) {}
  // Handles the rows of one fingerprint: rows[p] lists party p's rows (sorted), key = the
  // receiver's sort key.
  Status Group(const std::vector<std::vector<int64_t>>& rows, std::string_view key);
  Status AddOrdered(std::string_view key, const std::vector<int64_t>& rows);
  Status AddTail(int64_t row);

  JoinBuilderOptions options_;
  internal::JoinRules rules_;
  std::unique_ptr<ExternalSorter> items_, ordered_, tail_;
  std::string scratch_;
};

}  // namespace veil::psi
