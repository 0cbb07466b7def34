#include "veil/psi/join.h"

#include <algorithm>
#include <numeric>
#include <optional>

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

std::optional<JoinType> ParseJoinType(const std::string& name) {
  if (name == "inner_join") return JoinType::kInner;
  if (name == "left_join") return JoinType::kLeft;
  if (name == "right_join") return JoinType::kRight;
  if (name == "full_join") return JoinType::kFull;
  if (name == "difference") return JoinType::kDifference;
  return std::nullopt;
}

std::string JoinTypeName(JoinType type) {
  switch (type) {
    case JoinType::kInner:
      return "inner_join";
    case JoinType::kLeft:
      return "left_join";
    case JoinType::kRight:
      return "right_join";
    case JoinType::kFull:
      return "full_join";
    case JoinType::kDifference:
      return "difference";
  }
  return "inner_join";
}

StatusOr<std::vector<PartyRows>> PlanJoin(JoinType type, size_t receiver, size_t left_rank,
                                          const std::vector<std::vector<Fingerprint>>& fps,
                                          const std::vector<int64_t>& receiver_order) {
  const size_t n = fps.size();
  if (receiver >= n) return InternalError("bad_receiver", "receiver rank out of range");
  if (!receiver_order.empty() && receiver_order.size() != fps[receiver].size()) {
    return InternalError("bad_order", "receiver_order is not a permutation of the receiver's rows");
  }
  std::vector<PartyRows> out(n);
  const std::vector<int64_t> order = Order(receiver_order, fps[receiver].size());

  if (type == JoinType::kInner) {
    std::vector<std::vector<Entry>> idx(n);
    for (size_t p = 0; p < n; ++p) {
      if (p != receiver) idx[p] = SortedIndex(fps[p]);
    }
    std::vector<std::pair<size_t, size_t>> ranges(n);
    std::vector<size_t> cursor(n);
    for (int64_t r : order) {
      const Fingerprint& fp = fps[receiver][r];
      bool all = true;
      for (size_t p = 0; p < n && all; ++p) {
        if (p == receiver) continue;
        ranges[p] = Range(idx[p], fp);
        all = ranges[p].first < ranges[p].second;
      }
      if (!all) continue;
      // Cartesian product over the other parties' matching rows, lexicographic by rank.
      for (size_t p = 0; p < n; ++p) cursor[p] = ranges[p].first;
      while (true) {
        out[receiver].rows.push_back(r);
        for (size_t p = 0; p < n; ++p) {
          if (p != receiver) out[p].rows.push_back(idx[p][cursor[p]].row);
        }
        size_t p = n;
        while (p-- > 0) {
          if (p == receiver) continue;
          if (++cursor[p] < ranges[p].second) break;
          cursor[p] = ranges[p].first;
        }
        if (p == static_cast<size_t>(-1)) break;
      }
    }
    for (auto& pr : out) pr.local_sort_from = static_cast<int64_t>(pr.rows.size());
    return out;
  }

  if (n != 2) {
    return ParameterError("join_needs_two_parties",
                          JoinTypeName(type) + " is defined for exactly 2 parties");
  }
  const size_t other = 1 - receiver;
  const std::vector<Entry> idx = SortedIndex(fps[other]);
  std::vector<bool> other_matched(fps[other].size(), false);
  const bool left_is_receiver = left_rank == receiver;
  const bool keep_receiver = type == JoinType::kFull ||
                             (type == JoinType::kLeft && left_is_receiver) ||
                             (type == JoinType::kRight && !left_is_receiver);
  const bool keep_other = type == JoinType::kFull ||
                          (type == JoinType::kLeft && !left_is_receiver) ||
                          (type == JoinType::kRight && left_is_receiver);

  for (int64_t r : order) {
    auto [lo, hi] = Range(idx, fps[receiver][r]);
    for (size_t k = lo; k < hi; ++k) other_matched[idx[k].row] = true;
    if (type == JoinType::kDifference) {
      if (lo == hi) out[receiver].rows.push_back(r);
      continue;
    }
    if (lo == hi) {
      if (keep_receiver) {
        out[receiver].rows.push_back(r);
        out[other].rows.push_back(-1);
      }
      continue;
    }
    for (size_t k = lo; k < hi; ++k) {
      out[receiver].rows.push_back(r);
      out[other].rows.push_back(idx[k].row);
    }
  }
  if (type == JoinType::kDifference) {
    for (size_t q = 0; q < other_matched.size(); ++q) {
      if (!other_matched[q]) out[other].rows.push_back(static_cast<int64_t>(q));
    }
    out[receiver].local_sort_from = static_cast<int64_t>(out[receiver].rows.size());
    out[other].local_sort_from = 0;
    return out;
  }
  const int64_t trailing = static_cast<int64_t>(out[other].rows.size());
  if (keep_other) {
    for (size_t q = 0; q < other_matched.size(); ++q) {
      if (other_matched[q]) continue;
      out[receiver].rows.push_back(-1);
      out[other].rows.push_back(static_cast<int64_t>(q));
    }
  }
  out[receiver].local_sort_from = static_cast<int64_t>(out[receiver].rows.size());
  out[other].local_sort_from = trailing;
  return out;
}

}  // namespace veil::psi
