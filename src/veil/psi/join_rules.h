// Internal to veil_psi: the join rules shared by PlanJoin (join.cc) and JoinBuilder
// (join_builder.cc) — which rows of one key a join outputs, and how duplicate keys form the
// cartesian product. The semantics are stated in join.h; the two callers differ only in how
// they gather a key's rows (in memory or by external sort) and in how they order the output.
#pragma once

#include <cstdint>
#include <vector>

#include "veil/base/status.h"
#include "veil/psi/join.h"

namespace veil::psi::internal {

class JoinRules {
 public:
  // ParameterError "join_needs_two_parties" for an outer join or difference with parties != 2.
  // `receiver` and `left` must be below `parties` (the callers check).
  static StatusOr<JoinRules> Create(JoinType type, size_t parties, size_t receiver, size_t left);

  // Emits the output rows of one key, where rows[p] lists party p's rows with that key in
  // ascending order (empty: the party lacks the key). For each output row it calls
  // emit(out, tail) -> Status with out[p] = party p's row or -1:
  //  - a key every party has: the cartesian product of the lists, lexicographic over parties in
  //    rank order (the last party varies fastest), tail = false; nothing for difference;
  //  - two parties, the key at one side only: each receiver row the join keeps with the other
  //    party at -1 (tail = false), each row of the other party it keeps with the receiver at -1
  //    (tail = true: the trailing block). Difference keeps both sides' unmatched rows.
  // Stops at and returns the first error of emit.
  template <typename Emit>
  Status ForKey(const std::vector<std::vector<int64_t>>& rows, Emit&& emit) const;

 private:
  JoinRules(JoinType type, size_t parties, size_t receiver, bool keep_receiver, bool keep_other)
      : type_(type),
        parties_(parties),
        receiver_(receiver),
        keep_receiver_(keep_receiver),
        keep_other_(keep_other) {}

  JoinType type_;
  size_t parties_;
  size_t receiver_;
  // Two parties: whether the receiver's / the other party's rows with an unmatched key are kept.
  bool keep_receiver_;
  bool keep_other_;
};

template <typename Emit>
Status JoinRules::ForKey(const std::vector<std::vector<int64_t>>& rows, Emit&& emit) const {
  bool all = true;
  for (const auto& r : rows) all = all && !r.empty();
  std::vector<int64_t> out(parties_, -1);
  if (all) {
    if (type_ == JoinType::kDifference) return Status();
    std::vector<size_t> cur(parties_, 0);
    while (true) {
      for (size_t p = 0; p < parties_; ++p) out[p] = rows[p][cur[p]];
      VEIL_RETURN_IF_ERROR(emit(out, false));
      size_t p = parties_;
      while (p-- > 0) {
        if (++cur[p] < rows[p].size()) break;
        cur[p] = 0;
      }
      if (p == static_cast<size_t>(-1)) return Status();
    }
  }
  if (parties_ != 2) return Status();  // an inner join keeps only the keys every party has
  const size_t other = 1 - receiver_;
  if (keep_receiver_) {
    for (int64_t r : rows[receiver_]) {
      out[receiver_] = r;
      VEIL_RETURN_IF_ERROR(emit(out, false));
    }
  }
  out[receiver_] = -1;
  if (keep_other_) {
    for (int64_t q : rows[other]) {
      out[other] = q;
      VEIL_RETURN_IF_ERROR(emit(out, true));
    }
  }
  return Status();
}

}  // namespace veil::psi::internal
