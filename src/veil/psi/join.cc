#include "veil/psi/join.h"

#include <algorithm>
#include <numeric>
#include <optional>

#include "veil/psi/join_rules.h"

namespace veil::psi {

namespace {

// (fingerprint, row) sorted by fingerprint then row: equal_range gives a key's rows in input order.
struct Entry {
  Fingerprint fp;
  int64_t row;
  friend bool operator<(const Entry& a, const Entry& b) {
    if (!(a.fp == b.fp)) return a.fp < b.fp;
    return a.row < b.row;
  }
};

std::vector<Entry> SortedIndex(const std::vector<Fingerprint>& fps) {
  std::vector<Entry> idx(fps.size());
  for (size_t i = 0; i < fps.size(); ++i) idx[i] = {fps[i], static_cast<int64_t>(i)};
  std::sort(idx.begin(), idx.end());
  return idx;
}

std::pair<size_t, size_t> Range(const std::vector<Entry>& idx, const Fingerprint& fp) {
  auto lo = std::lower_bound(idx.begin(), idx.end(), Entry{fp, INT64_MIN});
  auto hi = lo;
  while (hi != idx.end() && hi->fp == fp) ++hi;
  return {static_cast<size_t>(lo - idx.begin()), static_cast<size_t>(hi - idx.begin())};
}

std::vector<int64_t> Order(const std::vector<int64_t>& receiver_order, size_t n) {
  if (!receiver_order.empty()) return receiver_order;
  std::vector<int64_t> o(n);
  std::iota(o.begin(), o.end(), 0);
  return o;
}

}  // namespace

const std::vector<std::string>& JoinTypeNames() {
  static_assert(static_cast<int>(JoinType::kDifference) == 4, "names follow JoinType's order");
  static const std::vector<std::string> names = {"inner_join", "left_join", "right_join",
                                                 "full_join", "difference"};
  return names;
}

std::optional<JoinType> ParseJoinType(const std::string& name) {
  const std::vector<std::string>& names = JoinTypeNames();
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return static_cast<JoinType>(i);
  }
  return std::nullopt;
}

std::string JoinTypeName(JoinType type) { return JoinTypeNames()[static_cast<size_t>(type)]; }

StatusOr<std::vector<PartyRows>> PlanJoin(JoinType type, size_t receiver, size_t left_rank,
                                          const std::vector<std::vector<Fingerprint>>& fps,
                                          const std::vector<int64_t>& receiver_order) {
  const size_t n = fps.size();
  if (receiver >= n) return InternalError("bad_receiver", "receiver rank out of range");
  if (!receiver_order.empty() && receiver_order.size() != fps[receiver].size()) {
    return InternalError("bad_order", "receiver_order is not a permutation of the receiver's rows");
  }
  VEIL_ASSIGN_OR_RETURN(auto rules, internal::JoinRules::Create(type, n, receiver, left_rank));
  std::vector<PartyRows> out(n);
  auto emit = [&](const std::vector<int64_t>& rows, bool) -> Status {
    for (size_t p = 0; p < n; ++p) {
      // difference: each party keeps only its own rows.
      if (rows[p] >= 0 || IsAligned(type)) out[p].rows.push_back(rows[p]);
    }
    return Status();
  };
  std::vector<std::vector<Entry>> idx(n);
  for (size_t p = 0; p < n; ++p) {
    if (p != receiver) idx[p] = SortedIndex(fps[p]);
  }
  // The receiver's rows one by one in order, each with the other parties' rows of its key.
  const size_t other = 1 - receiver;  // meaningful for two parties only
  std::vector<bool> other_matched(n == 2 ? fps[other].size() : 0, false);
  std::vector<std::vector<int64_t>> group(n);
  for (int64_t r : Order(receiver_order, fps[receiver].size())) {
    group[receiver] = {r};
    for (size_t p = 0; p < n; ++p) {
      if (p == receiver) continue;
      auto [lo, hi] = Range(idx[p], fps[receiver][r]);
      group[p].clear();
      for (size_t k = lo; k < hi; ++k) group[p].push_back(idx[p][k].row);
      if (n == 2) {
        for (int64_t q : group[p]) other_matched[q] = true;
      }
    }
    VEIL_RETURN_IF_ERROR(rules.ForKey(group, emit));
  }
  // Then the trailing block: the other party's rows whose key the receiver lacks, in row order.
  std::vector<int64_t> trailing(n);
  for (size_t p = 0; p < n; ++p) trailing[p] = static_cast<int64_t>(out[p].rows.size());
  if (n == 2) {
    group[receiver].clear();
    for (size_t q = 0; q < other_matched.size(); ++q) {
      if (other_matched[q]) continue;
      group[other] = {static_cast<int64_t>(q)};
      VEIL_RETURN_IF_ERROR(rules.ForKey(group, emit));
    }
  }
  for (size_t p = 0; p < n; ++p) {
    out[p].local_sort_from = p == receiver ? static_cast<int64_t>(out[p].rows.size()) : trailing[p];
  }
  return out;
}

}  // namespace veil::psi
