#include "veil/tasks/ss_xgb_model.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include <fmt/format.h>

#include "veil/base/exception.h"
#include "veil/mpc/fxp_approx.h"
#include "veil/mpc/reduce.h"
#include "veil/mpc/shape_ops.h"
#include "veil/mpc/share_ops.h"
#include "veil/tasks/vertical.h"

namespace veil::tasks::ss_xgb {

namespace {

using mpc::AShare;
using mpc::Protocol;
using mpc::Shape;
using mpc::Tensor;
using mpc::internal::MapShare;
using mpc::internal::ZeroShare;
using nlohmann::json;

// Rows per chunk of the shared bucket map (bounds the Beaver material of one product) and of a
// prediction batch.
constexpr int64_t kMapChunkRows = int64_t{1} << 15;
constexpr int64_t kPredictChunkRows = int64_t{1} << 14;
// Histogram sums are scaled by 2^-(⌈log2 n⌉ − kShiftHeadroomBits).
constexpr int kShiftHeadroomBits = 6;

// ---- local reshaping of row-major matrices (and of shares, component-wise) ----

template <typename T>
Tensor<T> SliceCols(const Tensor<T>& t, int64_t lo, int64_t hi) {
  const int64_t rows = t.rows(), cols = t.cols();
  Tensor<T> out = Tensor<T>::Uninitialized({rows, hi - lo});
  for (int64_t r = 0; r < rows; ++r) {
    std::copy(t.data() + r * cols + lo, t.data() + r * cols + hi, out.data() + r * (hi - lo));
  }
  return out;
}

template <typename T>
Tensor<T> GatherCols(const Tensor<T>& t, const std::vector<int64_t>& cols) {
  const int64_t rows = t.rows(), width = t.cols(), k = static_cast<int64_t>(cols.size());
  Tensor<T> out = Tensor<T>::Uninitialized({rows, k});
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < k; ++c) out.at(r, c) = t.data()[r * width + cols[c]];
  }
  return out;
}

// Rows `rows` of t, in that order.
template <typename T>
Tensor<T> GatherRows(const Tensor<T>& t, const std::vector<int64_t>& rows) {
  const int64_t width = t.cols();
  Tensor<T> out = Tensor<T>::Uninitialized({static_cast<int64_t>(rows.size()), width});
  for (size_t i = 0; i < rows.size(); ++i) {
    std::copy(t.data() + rows[i] * width, t.data() + (rows[i] + 1) * width,
              out.data() + static_cast<int64_t>(i) * width);
  }
  return out;
}

// The column `c` of a matrix, as a vector.
template <typename T>
Tensor<T> Column(const Tensor<T>& t, int64_t c) {
  Tensor<T> out = Tensor<T>::Uninitialized({t.rows()});
  for (int64_t r = 0; r < t.rows(); ++r) out[r] = t.at(r, c);
  return out;
}

// Every row of t minus the vector v[r] (broadcast along the row): v[r] − t[r, c].
template <typename T>
Tensor<T> BroadcastMinus(const Tensor<T>& v, const Tensor<T>& t) {
  Tensor<T> out = Tensor<T>::Uninitialized(t.shape());
  for (int64_t r = 0; r < t.rows(); ++r) {
    for (int64_t c = 0; c < t.cols(); ++c) out.at(r, c) = v[r] - t.at(r, c);
  }
  return out;
}

// Rows of a and b interleaved: a0, b0, a1, b1, …
template <typename T>
Tensor<T> Interleave(const Tensor<T>& a, const Tensor<T>& b) {
  const int64_t rows = a.rows(), width = a.cols();
  Tensor<T> out = Tensor<T>::Uninitialized({2 * rows, width});
  for (int64_t r = 0; r < rows; ++r) {
    std::copy(a.data() + r * width, a.data() + (r + 1) * width, out.data() + 2 * r * width);
    std::copy(b.data() + r * width, b.data() + (r + 1) * width, out.data() + (2 * r + 1) * width);
  }
  return out;
}

template <mpc::RingElement T>
AShare<T> Interleave(const AShare<T>& a, const AShare<T>& b) {
  AShare<T> out{Interleave(a.own, b.own), {}};
  if (!a.next.empty()) out.next = Interleave(a.next, b.next);
  return out;
}

template <mpc::RingElement T>
AShare<T> PublicShare(const Protocol<T>& prot, const AShare<T>& like, const Tensor<T>& value) {
  return prot.AddPublic(ZeroShare(like, value.shape()), value);
}

// Public layout of the bucket columns: global column c belongs to feature feature_of[c] of rank
// rank_of[c], bucket bucket_of[c] of that feature.
struct Layout {
  std::vector<size_t> rank_of;
  std::vector<int64_t> local_feature_of;  // index among the owner's features
  std::vector<int64_t> bucket_of;
  // Per global feature: its first column and column count.
  std::vector<int64_t> first_col, num_cols;
  std::vector<int64_t> cols_of_rank;  // total per rank
  int64_t total = 0;
};

Layout MakeLayout(const std::vector<std::vector<int64_t>>& columns_by_rank) {
  Layout l;
  for (size_t r = 0; r < columns_by_rank.size(); ++r) {
    int64_t sum = 0;
    for (size_t f = 0; f < columns_by_rank[r].size(); ++f) {
      l.first_col.push_back(l.total);
      l.num_cols.push_back(columns_by_rank[r][f]);
      for (int64_t b = 0; b < columns_by_rank[r][f]; ++b) {
        l.rank_of.push_back(r);
        l.local_feature_of.push_back(static_cast<int64_t>(f));
        l.bucket_of.push_back(b);
      }
      l.total += columns_by_rank[r][f];
      sum += columns_by_rank[r][f];
    }
    l.cols_of_rank.push_back(sum);
  }
  return l;
}

// Bin of every value: the first split point it does not exceed.
std::vector<uint32_t> Bins(const std::vector<double>& values, const std::vector<double>& splits) {
  std::vector<uint32_t> out(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    out[i] = static_cast<uint32_t>(std::lower_bound(splits.begin(), splits.end(), values[i]) -
                                   splits.begin());
  }
  return out;
}

}  // namespace

// ---- params ----

int64_t Params::buckets() const { return static_cast<int64_t>(std::ceil(1.0 / sketch_eps - 1e-9)); }

std::string ObjectiveName(Objective o) { return o == Objective::kLogistic ? "logistic" : "linear"; }

json Params::ToJson() const {
  return {{"num_boost_round", num_boost_round},
          {"max_depth", max_depth},
          {"learning_rate", learning_rate},
          {"objective", ObjectiveName(objective)},
          {"reg_lambda", reg_lambda},
          {"subsample", subsample},
          {"colsample_by_tree", colsample_by_tree},
          {"sketch_eps", sketch_eps},
          {"base_score", base_score},
          {"seed", seed}};
}

Params ReadParams(const json* params, const std::string& path, Problems& problems) {
  Params p;
  if (params == nullptr || params->is_null()) return p;
  ConfigReader r(*params, path, &problems);
  p.num_boost_round = r.Int("num_boost_round", p.num_boost_round, 1, 1024);
  p.max_depth = r.Int("max_depth", p.max_depth, 1, 16);
  auto number = [&](const char* key, double fallback, double lo, bool lo_open, double hi) {
    auto v = r.Number(key, Required::kNo);
    if (!v) return fallback;
    if (!std::isfinite(*v) || (lo_open ? *v <= lo : *v < lo) || *v > hi) {
      problems.Add(r.PathOf(key), "out_of_range",
                   fmt::format("{} must be in {}{}, {}]", key, lo_open ? "(" : "[", lo, hi));
      return fallback;
    }
    return *v;
  };
  p.learning_rate = number("learning_rate", p.learning_rate, 0, true, 1);
  p.reg_lambda = number("reg_lambda", p.reg_lambda, 0, false, 1e4);
  p.subsample = number("subsample", p.subsample, 0, true, 1);
  p.colsample_by_tree = number("colsample_by_tree", p.colsample_by_tree, 0, true, 1);
  p.sketch_eps = number("sketch_eps", p.sketch_eps, 0, true, 1);
  p.base_score = number("base_score", p.base_score, -10, false, 10);
  p.seed = r.Int("seed", p.seed, 0, std::numeric_limits<int64_t>::max());
  auto objective = r.Enum("objective", Required::kNo, {"logistic", "linear"});
  if (objective) p.objective = *objective == "linear" ? Objective::kLinear : Objective::kLogistic;
  r.RejectUnknown();
  return p;
}

std::vector<double> SplitPoints(const std::vector<double>& values, int64_t buckets) {
  std::vector<double> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  std::vector<double> out;
  if (!sorted.empty()) {
    const double max = sorted.back();
    for (int64_t i = 1; i < buckets; ++i) {
      const double q =
          vertical::LinearQuantile(sorted, static_cast<double>(i) / static_cast<double>(buckets));
      if (q >= max) break;
      if (out.empty() || q > out.back()) out.push_back(q);
    }
  }
  out.push_back(std::numeric_limits<double>::infinity());
  return out;
}

// ---- trees ----

json PartyTree::ToJson(const std::vector<std::string>& feature_names) const {
  json nodes = json::array();
  for (size_t i = 0; i < owner.size(); ++i) {
    json node = {{"owner", owner[i]}};
    if (feature[i] >= 0) {
      node["feature"] = feature_names.at(feature[i]);
      node["threshold"] = std::isinf(threshold[i]) ? json(nullptr) : json(threshold[i]);
    }
    nodes.push_back(node);
  }
  return {{"depth", depth}, {"nodes", nodes}};
}

StatusOr<PartyTree> PartyTree::FromJson(const json& j, size_t rank, size_t world_size,
                                        const std::vector<std::string>& feature_names,
                                        const std::string& what) {
  auto corrupt = [&](const std::string& why) {
    return ParameterError("model_file_corrupt", fmt::format("{}: {}", what, why));
  };
  if (!j.is_object() || !j.contains("depth") || !j["depth"].is_number_integer() ||
      !j.contains("nodes") || !j["nodes"].is_array()) {
    return corrupt("not a tree (needs integer 'depth' and a 'nodes' list)");
  }
  PartyTree t;
  t.depth = j["depth"].get<int64_t>();
  if (t.depth < 1 || t.depth > 16) return corrupt("depth out of range");
  const size_t internal = (size_t{1} << t.depth) - 1;
  if (j["nodes"].size() != internal) {
    return corrupt(fmt::format("{} nodes for depth {}", j["nodes"].size(), t.depth));
  }
  for (const auto& node : j["nodes"]) {
    if (!node.is_object() || !node.contains("owner") || !node["owner"].is_number_unsigned() ||
        node["owner"].get<size_t>() >= world_size) {
      return corrupt("a node without a valid owner");
    }
    const size_t owner = node["owner"].get<size_t>();
    t.owner.push_back(static_cast<int64_t>(owner));
    if (owner != rank) {
      t.feature.push_back(-1);
      t.threshold.push_back(0);
      continue;
    }
    if (!node.contains("feature") || !node["feature"].is_string() || !node.contains("threshold") ||
        !(node["threshold"].is_null() || node["threshold"].is_number())) {
      return corrupt("an own node without feature and threshold");
    }
    const auto it =
        std::find(feature_names.begin(), feature_names.end(), node["feature"].get<std::string>());
    if (it == feature_names.end()) {
      return corrupt("feature '" + node["feature"].get<std::string>() +
                     "' is not among this party's features");
    }
    t.feature.push_back(it - feature_names.begin());
    t.threshold.push_back(node["threshold"].is_null() ? std::numeric_limits<double>::infinity()
                                                      : node["threshold"].get<double>());
  }
  return t;
}

// ---- training ----

template <mpc::RingElement T>
Model<T> Train(Protocol<T>& prot, const OwnFeatures& own,
               const std::vector<std::vector<double>>& own_splits,
               const std::vector<std::vector<int64_t>>& columns_by_rank,
               const std::vector<double>* label, size_t label_rank, const Params& params,
               const TreeDoneFn& on_tree) {
  const size_t rank = prot.rank(), world = prot.world_size();
  const int64_t n = own.rows;
  const int f = prot.fxp_fraction_bits();
  const Layout layout = MakeLayout(columns_by_rank);
  VEIL_ENFORCE(columns_by_rank.size() == world && own_splits.size() == own.columns.size(),
               AlgorithmError, "shape_mismatch", "ss_xgb: column layout does not match");

  // 1–2. Bins of the own features and the shared cumulative bucket map, in row chunks.
  std::vector<std::vector<uint32_t>> bins;
  for (size_t j = 0; j < own.columns.size(); ++j)
    bins.push_back(Bins(own.columns[j], own_splits[j]));
  // Prepared once for all products (Protocol::PrepareMatMul: SEMI2K opens its mask once).
  std::vector<mpc::PreparedOperand<T>> map_chunks;
  for (int64_t r0 = 0; r0 < n; r0 += kMapChunkRows) {
    const int64_t rows = std::min(kMapChunkRows, n - r0);
    std::vector<AShare<T>> parts;
    for (size_t r = 0; r < world; ++r) {
      const int64_t width = layout.cols_of_rank[r];
      if (width == 0) continue;
      Tensor<T> mine;
      if (r == rank) {
        mine = Tensor<T>({rows, width});
        int64_t offset = 0;
        for (size_t j = 0; j < bins.size(); ++j) {
          const int64_t nb = static_cast<int64_t>(own_splits[j].size());
          for (int64_t i = 0; i < rows; ++i) {
            T* row = mine.data() + i * width + offset;
            for (int64_t b = bins[j][r0 + i]; b < nb; ++b) row[b] = T{1};
          }
          offset += nb;
        }
      }
      parts.push_back(prot.Input(r, {rows, width}, r == rank ? &mine : nullptr));
    }
    map_chunks.push_back(prot.PrepareMatMul(mpc::ConcatColumns(parts)));
  }

  Tensor<double> label_t;
  if (label != nullptr) label_t = Tensor<double>({n}, *label);
  const AShare<T> y = prot.InputFxp(label_rank, {n}, label != nullptr ? &label_t : nullptr);
  AShare<T> pred =
      PublicShare(prot, y, mpc::internal::Filled<T>({n}, prot.EncodeScalar(params.base_score)));

  const int log2n = n > 1 ? static_cast<int>(std::ceil(std::log2(static_cast<double>(n)))) : 0;
  const int shift = std::max(0, log2n - kShiftHeadroomBits);
  const double lambda_scaled =
      params.reg_lambda > 0 ? std::max(std::ldexp(params.reg_lambda, -shift), std::ldexp(1.0, -f))
                            : 0.0;
  const T lambda_enc = prot.EncodeScalar(lambda_scaled);
  const T one_enc = prot.EncodeScalar(1.0);
  const T gain_limit = prot.EncodeScalar(std::ldexp(1.0, Protocol<T>::kRingBits - 2 * f - 4));
  const int64_t depth = params.max_depth;

  Model<T> model;
  for (int64_t t = 0; t < params.num_boost_round; ++t) {
    // 3. Public subsampling choices and the gradients.
    std::mt19937_64 rng(static_cast<uint64_t>(params.seed) * 1000003u + static_cast<uint64_t>(t));
    Tensor<T> root({n});
    if (params.subsample < 1.0) {
      std::vector<int64_t> idx(n);
      std::iota(idx.begin(), idx.end(), 0);
      std::shuffle(idx.begin(), idx.end(), rng);
      const int64_t keep = std::max<int64_t>(
          1, static_cast<int64_t>(std::llround(params.subsample * static_cast<double>(n))));
      for (int64_t i = 0; i < keep; ++i) root[idx[i]] = T{1};
    } else {
      for (int64_t i = 0; i < n; ++i) root[i] = T{1};
    }
    std::vector<int64_t> cols;  // selected bucket columns, ascending
    {
      const int64_t d = static_cast<int64_t>(layout.first_col.size());
      std::vector<int64_t> feats(d);
      std::iota(feats.begin(), feats.end(), 0);
      if (params.colsample_by_tree < 1.0) {
        std::shuffle(feats.begin(), feats.end(), rng);
        const int64_t keep = std::max<int64_t>(
            1,
            static_cast<int64_t>(std::llround(params.colsample_by_tree * static_cast<double>(d))));
        feats.resize(keep);
        std::sort(feats.begin(), feats.end());
      }
      for (int64_t g : feats) {
        for (int64_t c = 0; c < layout.num_cols[g]; ++c) cols.push_back(layout.first_col[g] + c);
      }
    }
    const int64_t width = static_cast<int64_t>(cols.size());
    const bool all_cols = width == layout.total;

    AShare<T> g, h;
    if (params.objective == Objective::kLogistic) {
      const AShare<T> p = mpc::Sigmoid(prot, pred, mpc::SigmoidMode::kSr);
      g = prot.Sub(p, y);
      h = prot.MulFxp(p, prot.AddPublic(prot.Neg(p), mpc::internal::Filled<T>({n}, one_enc)));
    } else {
      g = prot.Sub(pred, y);
      h = PublicShare(prot, y, mpc::internal::Filled<T>({n}, one_enc));
    }

    PartyTree tree;
    tree.depth = depth;
    const int64_t internal_nodes = (int64_t{1} << depth) - 1;
    tree.owner.assign(internal_nodes, -1);
    tree.feature.assign(internal_nodes, -1);
    tree.threshold.assign(internal_nodes, 0.0);
    AShare<T> sel = PublicShare(prot, y, root.Reshaped({1, n}));  // {nodes, n}, integer 0/1
    AShare<T> parent_g, parent_h;                                 // {nodes, width}
    AShare<T> weights;
    for (int64_t level = 0; level < depth; ++level) {
      const int64_t nodes = int64_t{1} << level;
      // 4. Histograms of the left children (the root at level 0).
      std::vector<int64_t> left_rows;
      for (int64_t j = 0; j < nodes; j += (level == 0 ? 1 : 2)) left_rows.push_back(j);
      const int64_t k = static_cast<int64_t>(left_rows.size());
      const AShare<T> s_left =
          MapShare(sel, [&](const Tensor<T>& x) { return GatherRows(x, left_rows); });
      const AShare<T> gh_rows =
          mpc::ConcatRows(std::vector<AShare<T>>{mpc::TileRows(g, k), mpc::TileRows(h, k)});
      const AShare<T> weighted =
          prot.Mul(gh_rows, mpc::ConcatRows(std::vector<AShare<T>>{s_left, s_left}));
      // Histograms over every bucket column; those of unselected features are dropped after.
      AShare<T> hist = ZeroShare(y, {2 * k, layout.total});
      int64_t r0 = 0;
      for (const auto& chunk : map_chunks) {
        const int64_t rows = chunk.shape[0];
        const AShare<T> part =
            MapShare(weighted, [&](const Tensor<T>& x) { return SliceCols(x, r0, r0 + rows); });
        hist = prot.Add(hist, prot.MatMulPrepared(part, chunk));
        r0 += rows;
      }
      if (!all_cols) {
        hist = MapShare(hist, [&](const Tensor<T>& x) { return GatherCols(x, cols); });
      }
      if (shift > 0) hist = prot.Trunc(hist, shift);
      AShare<T> gl = mpc::SliceRows(hist, 0, k);
      AShare<T> hl = mpc::SliceRows(hist, k, 2 * k);
      if (level > 0) {  // right sibling = parent − left
        gl = Interleave(gl, prot.Sub(parent_g, gl));
        hl = Interleave(hl, prot.Sub(parent_h, hl));
      }
      // Node totals: the last selected column is a +inf column.
      const AShare<T> g_tot =
          MapShare(gl, [&](const Tensor<T>& x) { return Column(x, width - 1); });
      const AShare<T> h_tot =
          MapShare(hl, [&](const Tensor<T>& x) { return Column(x, width - 1); });
      auto minus = [&](const AShare<T>& tot, const AShare<T>& m) {
        AShare<T> out{BroadcastMinus(tot.own, m.own), {}};
        if (!m.next.empty()) out.next = BroadcastMinus(tot.next, m.next);
        return out;
      };
      const AShare<T> gr = minus(g_tot, gl);
      const AShare<T> hr = minus(h_tot, hl);

      // Gains.
      const Tensor<T> lam = mpc::internal::Filled<T>({2 * nodes, width}, lambda_enc);
      const AShare<T> recip = mpc::Reciprocal(
          prot, prot.AddPublic(mpc::ConcatRows(std::vector<AShare<T>>{hl, hr}), lam));
      const AShare<T> rl = mpc::SliceRows(recip, 0, nodes);
      const AShare<T> rr = mpc::SliceRows(recip, nodes, 2 * nodes);
      const auto ratio = mpc::internal::MulMany<T>(prot, {{&gl, &rl}, {&gr, &rr}}, true);
      const auto terms =
          mpc::internal::MulMany<T>(prot, {{&gl, &ratio[0]}, {&gr, &ratio[1]}}, true);
      AShare<T> gain = prot.Add(terms[0], terms[1]);
      // A failed probabilistic truncation shows as a huge value: drop it from the arg max.
      const AShare<T> limit =
          PublicShare(prot, y, mpc::internal::Filled<T>(gain.shape(), gain_limit));
      const AShare<T> wrapped = prot.Less(limit, gain);
      gain = prot.Sub(gain, prot.Mul(wrapped, gain));
      const mpc::ArgmaxResult<T> best = mpc::Argmax(prot, gain, 1);

      // 5. Owners to everyone, bucket index to its owner only.
      auto sum_by_rank = [&](const Tensor<T>& oh) {
        Tensor<T> out({nodes, static_cast<int64_t>(world)});
        for (int64_t j = 0; j < nodes; ++j) {
          for (int64_t c = 0; c < width; ++c) out.at(j, layout.rank_of[cols[c]]) += oh.at(j, c);
        }
        return out;
      };
      const AShare<T> by_rank = MapShare(best.onehot, sum_by_rank);
      const Tensor<T> owners = prot.Open(by_rank);
      std::vector<size_t> node_owner(nodes);
      std::vector<std::vector<int64_t>> owned(world);
      for (int64_t j = 0; j < nodes; ++j) {
        int64_t found = -1;
        for (size_t r = 0; r < world; ++r) {
          if (owners.at(j, r) == T{1}) found = static_cast<int64_t>(r);
        }
        VEIL_ENFORCE(found >= 0, AlgorithmError, "split_owner_unclear",
                     "ss_xgb: the winning bucket of a node has no single owner");
        node_owner[j] = static_cast<size_t>(found);
        owned[found].push_back(j);
        tree.owner[nodes - 1 + j] = found;
      }
      std::vector<AShare<T>> left_parts(world);
      for (size_t r = 0; r < world; ++r) {
        if (owned[r].empty()) continue;
        const int64_t cnt = static_cast<int64_t>(owned[r].size());
        const AShare<T> idx = MapShare(best.index, [&](const Tensor<T>& x) {
          Tensor<T> out({cnt});
          for (int64_t i = 0; i < cnt; ++i) out[i] = x[owned[r][i]];
          return out;
        });
        const auto opened = prot.RevealFxpTo(idx, r);
        Tensor<T> mine;
        if (r == rank) {
          mine = Tensor<T>({cnt, n});
          for (int64_t i = 0; i < cnt; ++i) {
            const int64_t c = static_cast<int64_t>(std::llround((*opened)[i]));
            VEIL_ENFORCE(c >= 0 && c < width && layout.rank_of[cols[c]] == rank, AlgorithmError,
                         "split_owner_unclear", "ss_xgb: revealed bucket is not this party's");
            const int64_t feat = layout.local_feature_of[cols[c]];
            const double thr = own_splits[feat][layout.bucket_of[cols[c]]];
            const int64_t node = nodes - 1 + owned[r][i];
            tree.feature[node] = feat;
            tree.threshold[node] = thr;
            const std::vector<double>& x = own.columns[feat];
            for (int64_t row = 0; row < n; ++row) mine.at(i, row) = x[row] <= thr ? T{1} : T{0};
          }
        }
        left_parts[r] = prot.Input(r, {cnt, n}, r == rank ? &mine : nullptr);
      }
      // The left indicators in node order.
      std::vector<std::pair<size_t, int64_t>> where(nodes);
      for (size_t r = 0; r < world; ++r) {
        for (size_t i = 0; i < owned[r].size(); ++i)
          where[owned[r][i]] = {r, static_cast<int64_t>(i)};
      }
      auto assemble = [&](bool next_component) {
        Tensor<T> out = Tensor<T>::Uninitialized({nodes, n});
        for (int64_t j = 0; j < nodes; ++j) {
          const auto& part = left_parts[where[j].first];
          const Tensor<T>& src = next_component ? part.next : part.own;
          std::copy(src.data() + where[j].second * n, src.data() + (where[j].second + 1) * n,
                    out.data() + j * n);
        }
        return out;
      };
      AShare<T> go_left{assemble(false), {}};
      if (!y.next.empty()) go_left.next = assemble(true);
      const AShare<T> sel_left = prot.Mul(sel, go_left);
      const AShare<T> sel_right = prot.Sub(sel, sel_left);

      if (level + 1 == depth) {
        // 6. Leaf sums from the winning column, leaf weights, prediction update.
        const auto picked =
            mpc::internal::MulMany<T>(prot, {{&best.onehot, &gl}, {&best.onehot, &hl}}, false);
        const AShare<T> g_left = mpc::ReduceSum(prot, picked[0], 1);
        const AShare<T> h_left = mpc::ReduceSum(prot, picked[1], 1);
        auto as_col = [&](const AShare<T>& v) {
          return mpc::internal::ReshapeShare(v, {nodes, 1});
        };
        const AShare<T> g_leaf = mpc::internal::ReshapeShare(
            Interleave(as_col(g_left), as_col(prot.Sub(g_tot, g_left))), {2 * nodes});
        const AShare<T> h_leaf = mpc::internal::ReshapeShare(
            Interleave(as_col(h_left), as_col(prot.Sub(h_tot, h_left))), {2 * nodes});
        const AShare<T> r_leaf = mpc::Reciprocal(
            prot, prot.AddPublic(h_leaf, mpc::internal::Filled<T>({2 * nodes}, lambda_enc)));
        const AShare<T> ratio_leaf = prot.MulFxp(g_leaf, r_leaf);
        weights =
            prot.Trunc(prot.MulScalar(ratio_leaf, prot.EncodeScalar(-params.learning_rate)), f);
        const AShare<T> leaves = Interleave(sel_left, sel_right);  // {2^depth, n}
        const AShare<T> delta =
            prot.MatMul(mpc::internal::ReshapeShare(weights, {1, 2 * nodes}), leaves);
        pred = prot.Add(pred, mpc::internal::ReshapeShare(delta, {n}));
      } else {
        sel = Interleave(sel_left, sel_right);
        parent_g = gl;
        parent_h = hl;
      }
    }
    model.trees.push_back(std::move(tree));
    model.weights.push_back(std::move(weights));
    if (on_tree) on_tree(t);
  }
  return model;
}

// ---- prediction ----

template <mpc::RingElement T>
AShare<T> Predict(Protocol<T>& prot, const Model<T>& model, const OwnFeatures& own,
                  Objective objective, double base_score) {
  const size_t rank = prot.rank(), world = prot.world_size();
  const int64_t n = own.rows;
  const int64_t num_trees = static_cast<int64_t>(model.trees.size());
  VEIL_ENFORCE(num_trees > 0 && static_cast<int64_t>(model.weights.size()) == num_trees,
               AlgorithmError, "shape_mismatch", "ss_xgb: empty model");
  const int64_t leaves = model.trees.front().leaves();
  const int64_t depth = model.trees.front().depth;
  const int64_t width = num_trees * leaves;
  std::vector<AShare<T>> ws;
  for (const auto& w : model.weights) ws.push_back(mpc::internal::ReshapeShare(w, {leaves, 1}));
  const AShare<T> weight_col = mpc::ConcatRows(ws);  // {trees·leaves, 1}

  std::vector<AShare<T>> margins;
  for (int64_t r0 = 0; r0 < n; r0 += kPredictChunkRows) {
    const int64_t rows = std::min(kPredictChunkRows, n - r0);
    Tensor<T> reach({rows, width});
    for (int64_t t = 0; t < num_trees; ++t) {
      const PartyTree& tree = model.trees[t];
      for (int64_t i = 0; i < rows; ++i) {
        T* out = reach.data() + i * width + t * leaves;
        for (int64_t leaf = 0; leaf < leaves; ++leaf) {
          int64_t node = 0;
          bool ok = true;
          for (int64_t d = 0; d < depth && ok; ++d) {
            const int64_t right = (leaf >> (depth - 1 - d)) & 1;
            if (tree.owner[node] == static_cast<int64_t>(rank)) {
              const bool left = own.columns[tree.feature[node]][r0 + i] <= tree.threshold[node];
              ok = left == (right == 0);
            }
            node = 2 * node + 1 + right;
          }
          out[leaf] = ok ? T{1} : T{0};
        }
      }
    }
    AShare<T> onehot;
    for (size_t r = 0; r < world; ++r) {
      AShare<T> part = prot.Input(r, {rows, width}, r == rank ? &reach : nullptr);
      onehot = r == 0 ? std::move(part) : prot.Mul(onehot, part);
    }
    margins.push_back(mpc::internal::ReshapeShare(prot.MatMul(onehot, weight_col), {rows}));
  }
  std::vector<const AShare<T>*> parts;
  for (const auto& m : margins) parts.push_back(&m);
  AShare<T> margin = mpc::internal::ConcatShares(parts);
  margin = prot.AddPublic(margin, mpc::internal::Filled<T>({n}, prot.EncodeScalar(base_score)));
  if (objective == Objective::kLogistic) return mpc::Sigmoid(prot, margin, mpc::SigmoidMode::kSr);
  return margin;
}

template Model<uint64_t> Train<uint64_t>(Protocol<uint64_t>&, const OwnFeatures&,
                                         const std::vector<std::vector<double>>&,
                                         const std::vector<std::vector<int64_t>>&,
                                         const std::vector<double>*, size_t, const Params&,
                                         const TreeDoneFn&);
template Model<mpc::uint128_t> Train<mpc::uint128_t>(Protocol<mpc::uint128_t>&, const OwnFeatures&,
                                                     const std::vector<std::vector<double>>&,
                                                     const std::vector<std::vector<int64_t>>&,
                                                     const std::vector<double>*, size_t,
                                                     const Params&, const TreeDoneFn&);
template AShare<uint64_t> Predict<uint64_t>(Protocol<uint64_t>&, const Model<uint64_t>&,
                                            const OwnFeatures&, Objective, double);
template AShare<mpc::uint128_t> Predict<mpc::uint128_t>(Protocol<mpc::uint128_t>&,
                                                        const Model<mpc::uint128_t>&,
                                                        const OwnFeatures&, Objective, double);

}  // namespace veil::tasks::ss_xgb
