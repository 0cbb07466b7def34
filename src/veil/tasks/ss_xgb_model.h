// SS-XGB: gradient-boosted trees on vertically partitioned data under secret sharing, after
// SecretFlow's ss_xgb_v (Fang et al., "Large-Scale Secure XGB for Vertical Federated Learning",
// CIKM 2021, arXiv 2005.08479; mpc-he-anchors.md §2.2). The task files (ss_xgb_task.h,
// ss_xgb_predict_task.h) read configs and files; this module holds the algorithm.
//
// Training (every party, collective; all kernels of protocol.h, so any SPU protocol):
//   1. Binning, plaintext at each feature's owner: split points = np.quantile of the column at
//      i/buckets (i = 1 … buckets−1, buckets = ⌈1/sketch_eps⌉), duplicates and points ≥ the
//      maximum dropped, plus +inf ("everything left"). Bucket column c of a feature is the
//      indicator x ≤ split_c, so a row in bin b has 1s in columns b … last (SecretFlow's
//      cumulative bucket map). Only the number of columns per feature is public.
//   2. Each party secret-shares its bucket map (integer 0/1 shares, in row chunks); the label
//      party shares the label. Predictions start at base_score (public).
//   3. Per tree: gradients g, h under MPC (logistic: p = sr-sigmoid(pred), g = p − y,
//      h = p(1 − p); linear: g = pred − y, h = 1). Row subsampling (subsample) and feature
//      subsampling (colsample_by_tree) are public choices from `seed`, as in SecretFlow.
//   4. Per level: every node has a secret 0/1 selection vector s. For the left child of every
//      sibling pair (the root at level 0) the cumulative gradient histograms
//      [GL | HL] = [g⊙s ; h⊙s] · BucketMap are one batched secret matrix product per level; the
//      right sibling is parent − left. The sums are scaled by 2^-shift (shift = ⌈log2 n⌉ − 6,
//      λ likewise) to keep fixed-point products small — the arg max of the gain is invariant.
//      gain = GL²/(HL + λ) + GR²/(HR + λ) (the parent term is constant per node and γ = 0),
//      with one batched Reciprocal; gains above 2^(k−2f−4) (only a failed probabilistic
//      truncation gets there) are set to 0; Argmax over all buckets of all selected features.
//   5. Reveal: which party owns each node's winning bucket (opened to all, as SecretFlow treats
//      it as public) and the winning bucket index to that owner only (RevealTo). The owner maps
//      it to (feature, threshold), stores it in its own tree and secret-shares the plaintext
//      left indicator x_f ≤ threshold; children: s_L = s ⊙ left, s_R = s − s_L.
//   6. Leaves (level max_depth; trees are complete): the children's gradient sums come from the
//      winning column (one-hot · GL), w = −learning_rate · G/(H + λ); weights stay secret.
//      Predictions: pred += Σ_leaves w_leaf · s_leaf (one matrix product).
// Prediction: each party builds, in plaintext from its own splits and own features, a 0/1
// leaf-reachability matrix (n × trees·leaves; 1 where none of its own splits rules the leaf
// out) and secret-shares it; the element-wise product over parties is the one-hot leaf of every
// row and tree; margin = base_score + onehot · weights; logistic applies the sr sigmoid.
//
// Security model: that of the SPU protocol (semi-honest; SEMI2K with a trusted first party,
// dealer-free OT triples, or ABY3 honest majority). Revealed during training: the row count,
// the number of bucket columns of every feature, the public subsampling choices, per split node
// the party owning the winning bucket (to every party) and the winning bucket (to that party
// only; SecretFlow reveals the global bucket index to every party). Node selections (how
// samples are distributed over nodes), gradients, gains, node sums and leaf weights stay
// secret. Prediction reveals nothing but what the caller reveals of its result.
//
// Precision (FM64, f = 18): sums are exact sums of fixed-point gradients; a leaf weight has a
// relative error of about 2e-4 (Reciprocal) plus a few ulp. The objective "linear" expects
// labels of moderate scale (|y| ≲ 100): gradient sums must fit the fixed-point range.
//
// Thread safety: one call per party thread; kernels parallelise internally.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "veil/base/config_reader.h"
#include "veil/base/status.h"
#include "veil/mpc/protocol.h"

namespace veil::tasks::ss_xgb {

inline constexpr char kModelType[] = "ss_xgb";

enum class Objective { kLogistic, kLinear };

// The training parameters with SecretFlow's defaults and ranges.
struct Params {
  int64_t num_boost_round = 10;  // [1, 1024]
  int64_t max_depth = 5;         // [1, 16]
  double learning_rate = 0.3;    // (0, 1]
  Objective objective = Objective::kLogistic;
  double reg_lambda = 0.1;         // [0, 1e4]
  double subsample = 1.0;          // (0, 1]
  double colsample_by_tree = 1.0;  // (0, 1]
  double sketch_eps = 0.1;         // (0, 1]
  double base_score = 0.0;         // [-10, 10], added to the margin
  int64_t seed = 42;

  int64_t buckets() const;
  nlohmann::json ToJson() const;
};

// Reads `params` (an object, or absent = defaults); unknown keys and out-of-range values are
// problems at "<path>.<key>".
Params ReadParams(const nlohmann::json* params, const std::string& path, Problems& problems);

std::string ObjectiveName(Objective o);

// The split points of one column (see 1. above): ascending, the last one +inf.
std::vector<double> SplitPoints(const std::vector<double>& values, int64_t buckets);

// One party's columns, row-aligned with the other parties'.
struct OwnFeatures {
  std::vector<std::string> names;
  std::vector<std::vector<double>> columns;  // one per name, `rows` values each
  int64_t rows = 0;
};

// One party's view of a complete binary tree of depth D: internal nodes 0 … 2^D − 2 in
// breadth-first order (children of node i are 2i + 1, 2i + 2); leaves in left-to-right order.
struct PartyTree {
  int64_t depth = 0;
  std::vector<int64_t> owner;     // per internal node: rank of the party that owns the split
  std::vector<int64_t> feature;   // own nodes: index into OwnFeatures::names; else -1
  std::vector<double> threshold;  // own nodes: row goes left iff x ≤ threshold (+inf: all)

  int64_t leaves() const { return int64_t{1} << depth; }
  // {"depth", "nodes": [{"owner": rank} | {"owner", "feature": name, "threshold": x|null}]}
  // (null = +inf).
  nlohmann::json ToJson(const std::vector<std::string>& feature_names) const;
  // Inverse of ToJson for party `rank`, checking the structure; ParameterError
  // "model_file_corrupt" naming `what` on any inconsistency.
  static StatusOr<PartyTree> FromJson(const nlohmann::json& j, size_t rank, size_t world_size,
                                      const std::vector<std::string>& feature_names,
                                      const std::string& what);
};

template <mpc::RingElement T>
struct Model {
  std::vector<PartyTree> trees;
  std::vector<mpc::AShare<T>> weights;  // per tree: the leaves' weights {2^D}, fixed point
};

// Called after each finished tree (0-based).
using TreeDoneFn = std::function<void(int64_t tree)>;

// Trains at every party. `columns_by_rank[r]` = the number of bucket columns of each feature of
// rank r (public; this party's entries must equal its SplitPoints sizes, given in
// `own_splits`). `label` is non-null exactly at `label_rank`. Collective.
template <mpc::RingElement T>
Model<T> Train(mpc::Protocol<T>& prot, const OwnFeatures& own,
               const std::vector<std::vector<double>>& own_splits,
               const std::vector<std::vector<int64_t>>& columns_by_rank,
               const std::vector<double>* label, size_t label_rank, const Params& params,
               const TreeDoneFn& on_tree);

// Secret-shared predictions for `own`'s rows (fixed point, {rows}): the probability for
// logistic (sr sigmoid), the margin for linear. Collective; every party passes its own trees.
template <mpc::RingElement T>
mpc::AShare<T> Predict(mpc::Protocol<T>& prot, const Model<T>& model, const OwnFeatures& own,
                       Objective objective, double base_score);

}  // namespace veil::tasks::ss_xgb
