// Join semantics, and PlanJoin: the in-memory reference of the receiver's join. From the
// fingerprints of every party's keys it decides which input row of each party goes to which
// output row. Pure computation, no I/O; memory grows with the input, so the PSI task uses the
// streaming JoinBuilder (join_builder.h), which is tested to produce exactly PlanJoin's rows.
//
// Semantics (SQL over the key columns):
//  - inner_join (any n ≥ 2): rows whose key is in every party's set; a key present c_p times at
//    party p yields Π c_p output rows (the cartesian product, as SecretFlow PSI v2 and SQL do).
//  - left_join / right_join / full_join (n = 2): also keep the unmatched rows of the left side
//    (`left_rank`), of the right side (the other party), or of both; the other party's output
//    then holds an empty row (-1) at that position.
//  - difference (n = 2): each party keeps its own rows whose key is not in the other's set; the
//    outputs are not row-aligned (they hold different keys).
// Order: the receiver's rows in `receiver_order` (its input order by default, or its rows sorted
// by key when the task asks for `sort`); rows that exist only at the non-receiver come last, in
// that party's input order, and that party may sort this trailing block by its own keys
// (`local_sort_from`), which keeps alignment since the receiver's rows there are all empty.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "veil/base/status.h"
#include "veil/psi/fingerprint.h"

namespace veil::psi {

enum class JoinType { kInner, kLeft, kRight, kFull, kDifference };

// The task_config names, in JoinType order: "inner_join", "left_join", "right_join",
// "full_join", "difference".
const std::vector<std::string>& JoinTypeNames();
// One of JoinTypeNames(); nullopt for anything else.
std::optional<JoinType> ParseJoinType(const std::string& name);
std::string JoinTypeName(JoinType type);
// Whether the join's outputs are row-aligned across parties (all but difference).
inline bool IsAligned(JoinType t) { return t != JoinType::kDifference; }

struct PartyRows {
  // rows[k] = this party's input row for output row k, or -1 for an empty row.
  std::vector<int64_t> rows;
  // rows[local_sort_from, end) may be reordered by the party itself (see above).
  int64_t local_sort_from = 0;
};

// fingerprints[p] = party p's key fingerprints in its input order. `receiver_order`, when
// non-empty, is a permutation of the receiver's rows. Returns one PartyRows per party.
// InvalidArgument-style errors (ParameterError) for a join type that needs 2 parties.
StatusOr<std::vector<PartyRows>> PlanJoin(JoinType type, size_t receiver, size_t left_rank,
                                          const std::vector<std::vector<Fingerprint>>& fingerprints,
                                          const std::vector<int64_t>& receiver_order = {});

}  // namespace veil::psi
