// SS-LR: logistic / linear regression trained by mini-batch SGD entirely on secret shares —
// SecretFlow's SSRegression (secretflow/ml/linear/ss_sgd/model.py, naive_sgd strategy; after
// Mohassel–Zhang, "SecureML", S&P 2017, §4 with a piecewise/polynomial sigmoid), on veil's SPU.
//
// Data: X (n x d) is split by columns across the parties (each inputs its own block), y (n x 1)
// comes from the label party. The model w (d x 1) and bias b start at 0 and stay secret-shared
// for ever: training reveals only the early-stopping bit per epoch, prediction only the scores,
// and only to the receiver.
//
// Per batch B (rows [s, s+B), the last one shorter; every party knows n and B):
//   pred = X_b·w + b;  logistic: pred = sigmoid_{sig_type}(pred)          (fxp_approx.h)
//   err  = pred − y_b
//   w   −= (lr/B)·X_bᵀ·err  (+ (lr/B)·l2_norm·w with penalty l2);  b −= (lr/B)·Σ err
// lr_e = learning_rate · decay_rate^⌊e / decay_epoch⌋ when decay is set.
// Early stop (eps > 0; after epoch 0, as SecretFlow): stop when max|w − w_prev| < eps·max|w|
// over w and b; that one bit is opened to every party.
//
// Precision: fixed point with the SPU's fraction bits f. Each step's scalar lr/B is applied with
// extra fraction bits so that it keeps ≥ 20 significant bits. With 2-party SEMI2K the
// truncations never fail (protocol.h); with ABY3 / SEMI2K n > 2 they fail with probability
// about |x|/2^k per element, |x| reaching |gradient sum|·2^(2f): use FM128 there (SecretFlow's
// own tests do) — with FM64 the training may diverge on large batches.
//
// Security: semi-honest, that of the SPU protocol. Thread safety: one call per party thread.
#pragma once

#include <functional>
#include <optional>

#include "veil/mpc/fxp_approx.h"
#include "veil/mpc/protocol.h"

namespace veil::tasks::ss_lr {

struct Params {
  int64_t epochs = 5;
  double learning_rate = 0.3;
  int64_t batch_size = 32;
  mpc::SigmoidMode sig_type = mpc::SigmoidMode::kT1;
  bool logistic = true;  // reg_type "logistic" (else "linear")
  bool l2 = true;        // penalty "l2" (else "none")
  double l2_norm = 0.1;
  double eps = 1e-3;  // early stopping threshold; 0 disables
  std::optional<int64_t> decay_epoch;
  std::optional<double> decay_rate;
};

template <mpc::RingElement T>
struct Model {
  mpc::AShare<T> w;  // d x 1
  mpc::AShare<T> b;  // {1}
};

struct TrainReport {
  int64_t epochs_run = 0;
  bool stopped_early = false;
};

// Shares X: party r contributes its n x cols_by_rank[r] block (`own_x` at this party, row-major,
// nullptr where cols_by_rank[rank] == 0). Columns are ordered rank by rank.
template <mpc::RingElement T>
mpc::AShare<T> ShareFeatures(mpc::Protocol<T>& prot, const std::vector<int64_t>& cols_by_rank,
                             int64_t rows, const mpc::Tensor<double>* own_x);

// Trains on shared X (n x d) and y (n x 1). `on_epoch(e, epochs)` is called after each epoch.
template <mpc::RingElement T>
Model<T> Train(mpc::Protocol<T>& prot, const mpc::AShare<T>& x, const mpc::AShare<T>& y,
               const Params& params, TrainReport* report,
               const std::function<void(int64_t, int64_t)>& on_epoch);

// Scores of shared X under the model: X·w + b, through the sigmoid for logistic regression.
template <mpc::RingElement T>
mpc::AShare<T> Predict(mpc::Protocol<T>& prot, const Model<T>& model, const mpc::AShare<T>& x,
                       mpc::SigmoidMode sig_type, bool logistic);

}  // namespace veil::tasks::ss_lr
