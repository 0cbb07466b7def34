#include "veil/tasks/ss_lr_model.h"

#include <algorithm>
#include <cmath>

#include "veil/mpc/reduce.h"
#include "veil/mpc/shape_ops.h"
#include "veil/mpc/share_ops.h"

namespace veil::tasks::ss_lr {

namespace {

// Significant bits kept for a public scalar multiplier.
constexpr int kScalarBits = 20;

// x·c for a public real c, with enough extra fraction bits on c to keep kScalarBits bits.
template <mpc::RingElement T>
mpc::AShare<T> MulReal(mpc::Protocol<T>& prot, const mpc::AShare<T>& x, double c) {
  int extra = 0;
  if (c != 0) {
    const int have =
        static_cast<int>(std::floor(std::log2(std::fabs(c)))) + prot.fxp_fraction_bits();
    extra = std::max(0, kScalarBits - have);
  }
  return prot.Trunc(prot.MulScalar(x, prot.EncodeScalar(c, extra)),
                    prot.fxp_fraction_bits() + extra);
}

// |x| = x − 2·msb(x)·x.
template <mpc::RingElement T>
mpc::AShare<T> Abs(mpc::Protocol<T>& prot, const mpc::AShare<T>& x) {
  const auto m = prot.Msb(x);
  return prot.Sub(x, prot.MulScalar(prot.Mul(m, x), T(2)));
}

template <mpc::RingElement T>
mpc::AShare<T> Stack(const Model<T>& m) {
  return mpc::ConcatRows(std::vector<mpc::AShare<T>>{m.w, m.b});
}

}  // namespace

template <mpc::RingElement T>
mpc::AShare<T> ShareFeatures(mpc::Protocol<T>& prot, const std::vector<int64_t>& cols_by_rank,
                             int64_t rows, const mpc::Tensor<double>* own_x) {
  std::vector<mpc::AShare<T>> blocks;
  for (size_t r = 0; r < cols_by_rank.size(); ++r) {
    if (cols_by_rank[r] == 0) continue;
    blocks.push_back(prot.InputFxp(r, {rows, cols_by_rank[r]}, prot.rank() == r ? own_x : nullptr));
  }
  return mpc::ConcatColumns(blocks);
}

template <mpc::RingElement T>
Model<T> Train(mpc::Protocol<T>& prot, const mpc::AShare<T>& x, const mpc::AShare<T>& y,
               const Params& params, TrainReport* report,
               const std::function<void(int64_t, int64_t)>& on_epoch) {
  const int64_t n = x.own.rows(), d = x.own.cols();
  Model<T> model{mpc::internal::ZeroShare(x, {d, 1}), mpc::internal::ZeroShare(x, {1})};
  const int64_t batch = std::min(params.batch_size, n);
  for (int64_t epoch = 0; epoch < params.epochs; ++epoch) {
    double lr = params.learning_rate;
    if (params.decay_epoch && params.decay_rate) {
      lr *= std::pow(*params.decay_rate, static_cast<double>(epoch / *params.decay_epoch));
    }
    const auto previous = Stack(model);
    for (int64_t begin = 0; begin < n; begin += batch) {
      const int64_t end = std::min(n, begin + batch);
      const int64_t rows = end - begin;
      const auto xb = mpc::SliceRows(x, begin, end);
      const auto yb = mpc::SliceRows(y, begin, end);
      auto pred = prot.Add(prot.MatMulFxp(xb, model.w), mpc::TileRows(model.b, rows));
      if (params.logistic) pred = mpc::Sigmoid(prot, pred, params.sig_type);
      const auto err = prot.Sub(pred, yb);
      const double scale = lr / static_cast<double>(rows);
      auto step_w = prot.MatMulFxp(mpc::Transpose(xb), err);  // d x 1
      if (params.l2 && params.l2_norm > 0) {
        step_w = prot.Add(step_w, MulReal(prot, model.w, params.l2_norm));
      }
      model.w = prot.Sub(model.w, MulReal(prot, step_w, scale));
      const auto err_sum = mpc::ReduceSum(prot, err, 0);  // {1}
      model.b = prot.Sub(model.b, MulReal(prot, err_sum, scale));
    }
    report->epochs_run = epoch + 1;
    if (on_epoch) on_epoch(epoch + 1, params.epochs);
    if (params.eps > 0 && epoch > 0) {
      // max|Δ| < eps·max|w|, one bit opened.
      const auto current = Stack(model);
      const auto delta_max = mpc::ReduceMax(prot, Abs(prot, prot.Sub(current, previous)), 0);
      const auto w_max = mpc::ReduceMax(prot, Abs(prot, current), 0);
      const auto stop = prot.Less(delta_max, MulReal(prot, w_max, params.eps));
      if (prot.Open(stop)[0] == T(1)) {
        report->stopped_early = true;
        break;
      }
    }
  }
  return model;
}

template <mpc::RingElement T>
mpc::AShare<T> Predict(mpc::Protocol<T>& prot, const Model<T>& model, const mpc::AShare<T>& x,
                       mpc::SigmoidMode sig_type, bool logistic) {
  auto score = prot.Add(prot.MatMulFxp(x, model.w), mpc::TileRows(model.b, x.own.rows()));
  if (logistic) score = mpc::Sigmoid(prot, score, sig_type);
  return score;
}

#define VEIL_SS_LR_INSTANTIATE(T)                                                               \
  template mpc::AShare<T> ShareFeatures<T>(mpc::Protocol<T>&, const std::vector<int64_t>&,      \
                                           int64_t, const mpc::Tensor<double>*);                \
  template Model<T> Train<T>(mpc::Protocol<T>&, const mpc::AShare<T>&, const mpc::AShare<T>&,   \
                             const Params&, TrainReport*,                                       \
                             const std::function<void(int64_t, int64_t)>&);                     \
  template mpc::AShare<T> Predict<T>(mpc::Protocol<T>&, const Model<T>&, const mpc::AShare<T>&, \
                                     mpc::SigmoidMode, bool);
VEIL_SS_LR_INSTANTIATE(uint64_t)
VEIL_SS_LR_INSTANTIATE(mpc::uint128_t)
#undef VEIL_SS_LR_INSTANTIATE

}  // namespace veil::tasks::ss_lr
