// Test helpers: random key sets and a plaintext join to compare PSI outputs against.
#pragma once

#include <map>
#include <random>
#include <string>
#include <vector>

#include "veil/psi/join.h"

namespace veil::psi::testutil {

using Keys = std::vector<std::vector<std::string>>;  // rows of key columns

// `n` keys drawn from a universe of `universe` values (duplicates likely when n ≥ universe),
// `cols` columns each.
inline Keys RandomKeys(std::mt19937_64& rng, size_t n, size_t universe, size_t cols = 1) {
  Keys out;
  std::uniform_int_distribution<size_t> d(0, universe - 1);
  for (size_t i = 0; i < n; ++i) {
    size_t v = d(rng);
    std::vector<std::string> row;
    for (size_t c = 0; c < cols; ++c)
      row.push_back("k" + std::to_string(v) + "_" + std::to_string(c));
    out.push_back(row);
  }
  return out;
}

// Expected output rows as tuples of keys per output row, as a sorted multiset, computed by a
// nested-loop join over the plaintext keys. For difference: per party, its own rows not matched.
inline std::vector<std::vector<std::string>> PlainJoinRows(JoinType type, size_t receiver,
                                                           size_t left,
                                                           const std::vector<Keys>& keys) {
  auto str = [](const std::vector<std::string>& k) {
    std::string s;
    for (auto& c : k) s += c + "\x1f";
    return s;
  };
  std::vector<std::vector<std::string>> out;
  const size_t n = keys.size();
  if (type == JoinType::kInner) {
    // Recursive product over parties.
    std::vector<std::string> cur;
    std::function<void(size_t, const std::string&)> rec = [&](size_t p, const std::string& key) {
      if (p == n) {
        out.push_back(cur);
        return;
      }
      for (size_t i = 0; i < keys[p].size(); ++i) {
        std::string k = str(keys[p][i]);
        if (p > 0 && k != key) continue;
        cur.push_back(std::to_string(p) + ":" + std::to_string(i));
        rec(p + 1, k);
        cur.pop_back();
      }
    };
    rec(0, "");
  } else {
    const size_t a = 0, b = 1;
    std::map<std::string, std::vector<size_t>> ib, ia;
    for (size_t j = 0; j < keys[b].size(); ++j) ib[str(keys[b][j])].push_back(j);
    for (size_t i = 0; i < keys[a].size(); ++i) ia[str(keys[a][i])].push_back(i);
    bool keep_a = type == JoinType::kFull || (type == JoinType::kLeft && left == a) ||
                  (type == JoinType::kRight && left == b);
    bool keep_b = type == JoinType::kFull || (type == JoinType::kLeft && left == b) ||
                  (type == JoinType::kRight && left == a);
    for (size_t i = 0; i < keys[a].size(); ++i) {
      auto it = ib.find(str(keys[a][i]));
      if (type == JoinType::kDifference) {
        if (it == ib.end()) out.push_back({"0:" + std::to_string(i)});
        continue;
      }
      if (it == ib.end()) {
        if (keep_a) out.push_back({"0:" + std::to_string(i), "1:-1"});
        continue;
      }
      for (size_t j : it->second)
        out.push_back({"0:" + std::to_string(i), "1:" + std::to_string(j)});
    }
    for (size_t j = 0; j < keys[b].size(); ++j) {
      bool matched = ia.count(str(keys[b][j])) > 0;
      if (type == JoinType::kDifference) {
        if (!matched) out.push_back({"1:" + std::to_string(j)});
      } else if (!matched && keep_b) {
        out.push_back({"0:-1", "1:" + std::to_string(j)});
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The same shape from a plan.
inline std::vector<std::vector<std::string>> PlanRows(JoinType type,
                                                      const std::vector<PartyRows>& plan) {
  std::vector<std::vector<std::string>> out;
  if (type == JoinType::kDifference) {
    for (size_t p = 0; p < plan.size(); ++p) {
      for (int64_t r : plan[p].rows) out.push_back({std::to_string(p) + ":" + std::to_string(r)});
    }
  } else {
    size_t m = plan[0].rows.size();
    for (size_t k = 0; k < m; ++k) {
      std::vector<std::string> row;
      for (size_t p = 0; p < plan.size(); ++p)
        row.push_back(std::to_string(p) + ":" + std::to_string(plan[p].rows[k]));
      out.push_back(row);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace veil::psi::testutil
