// bench_mpc: kernel throughput of the secret-sharing engine with every party in this process
// (one thread each) over the in-memory link, sharing the machine's cores through base
// ParallelFor. Inputs are shared before timing; a timed iteration is one kernel call on all
// parties, including the generation of its correlated randomness (Beaver triples etc.).
// Semi2kOt/… run SEMI2K with dealer-free OT triples (beaver_type "ot"; set-up with the base OTs
// is not timed); Ot/Triples/… and Ot/BitTriples/… time the OT triple generation alone.
//
// Non-linear kernels (Exp, Reciprocal, Log, Sigmoid, Argmax) take fixed-point inputs uniform over
// their domain (fxp_approx.h) and use 100k elements.
//
// Counters: items_per_second (elements, or whole products for MatMul), bytes_per_op = payload
// bytes sent by all parties together per item, rounds = communication rounds per call (the
// largest count over the parties, link::LinkStats::rounds).
//
//   build/bin/bench_mpc --benchmark_filter='Semi2k/Mul/'
#include <condition_variable>
#include <exception>
#include <functional>
#include <future>
#include <mutex>
#include <random>
#include <thread>

#include <benchmark/benchmark.h>

#include "veil/base/exception.h"
#include "veil/mpc/beaver_ot.h"
#include "veil/mpc/fxp_approx.h"
#include "veil/mpc/protocol.h"
#include "veil/mpc/reduce.h"
#include "veil/mpc/setup.h"

namespace veil::mpc {
namespace {

// One long-lived thread per party, so that short kernels are not dominated by thread start-up.
class PartyThreads {
 public:
  explicit PartyThreads(size_t n) {
    for (size_t r = 0; r < n; ++r) threads_.emplace_back([this, r] { Loop(r); });
  }
  ~PartyThreads() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  PartyThreads(const PartyThreads&) = delete;
  PartyThreads& operator=(const PartyThreads&) = delete;

  // Runs job(rank) on every party thread and waits; rethrows the first exception.
  void Run(const std::function<void(size_t)>& job) {
    std::unique_lock<std::mutex> lock(mu_);
    job_ = &job;
    pending_ = threads_.size();
    error_ = nullptr;
    ++generation_;
    cv_.notify_all();
    done_cv_.wait(lock, [&] { return pending_ == 0; });
    job_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void Loop(size_t rank) {
    uint64_t seen = 0;
    while (true) {
      const std::function<void(size_t)>* job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
        job = job_;
      }
      std::exception_ptr err;
      try {
        (*job)(rank);
      } catch (...) {
        err = std::current_exception();
      }
      std::lock_guard<std::mutex> lock(mu_);
      if (err && !error_) error_ = err;
      if (--pending_ == 0) done_cv_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  std::vector<std::thread> threads_;
  const std::function<void(size_t)>* job_ = nullptr;
  uint64_t generation_ = 0;
  size_t pending_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
};

template <RingElement T>
class Cluster {
 public:
  Cluster(const std::string& protocol, const std::string& beaver_type, size_t parties)
      : world_(link::test::MakeWorld(parties)), threads_(parties), prots_(parties) {
    RuntimeConfig config;
    config.protocol = protocol;
    config.field = RingTraits<T>::kField;
    config.beaver_type = beaver_type;
    Run([&](size_t r) { prots_[r] = ValueOrThrow(CreateProtocol<T>(config, world_[r].get())); });
  }
  size_t parties() const { return prots_.size(); }
  Protocol<T>& prot(size_t r) { return *prots_[r]; }
  void Run(const std::function<void(size_t)>& job) {
    threads_.Run([&](size_t r) {
      try {
        job(r);
      } catch (const VeilException& e) {
        world_[r]->Abort(e.status());
        throw;
      }
    });
  }
  uint64_t TotalBytesSent() const {
    uint64_t total = 0;
    for (const auto& c : world_) total += c->stats().bytes_sent;
    return total;
  }
  uint64_t MaxRounds() const {
    uint64_t m = 0;
    for (const auto& c : world_) m = std::max(m, c->stats().rounds);
    return m;
  }

 private:
  std::vector<std::unique_ptr<link::Context>> world_;
  PartyThreads threads_;
  std::vector<std::unique_ptr<Protocol<T>>> prots_;
};

template <RingElement T>
Tensor<T> RandomInput(Shape shape, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Tensor<T> t(std::move(shape));
  // Values below 2^40 in magnitude, so that Less compares meaningful numbers.
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = T(rng() >> 23) - (T(1) << 40);
  return t;
}

// Shares a random tensor from `owner` on every party.
template <RingElement T>
std::vector<AShare<T>> ShareInput(Cluster<T>& cluster, size_t owner, const Shape& shape,
                                  uint64_t seed) {
  const Tensor<T> value = RandomInput<T>(shape, seed);
  std::vector<AShare<T>> out(cluster.parties());
  cluster.Run([&](size_t r) {
    out[r] = cluster.prot(r).Input(owner, shape, r == owner ? &value : nullptr);
  });
  return out;
}

// Shares fixed-point values uniform in [lo, hi) from `owner` on every party.
template <RingElement T>
std::vector<AShare<T>> ShareFxpInput(Cluster<T>& cluster, size_t owner, const Shape& shape,
                                     double lo, double hi, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> d(lo, hi);
  Tensor<double> value(shape);
  for (int64_t i = 0; i < value.numel(); ++i) value[i] = d(rng);
  std::vector<AShare<T>> out(cluster.parties());
  cluster.Run([&](size_t r) {
    out[r] = cluster.prot(r).InputFxp(owner, shape, r == owner ? &value : nullptr);
  });
  return out;
}

enum class Kernel {
  kMul,
  kMulFxp,
  kLess,
  kRelu,
  kMatMul,
  // Non-linear kernels (fxp_approx.h, reduce.h) on fixed-point inputs of their domain.
  kExp,
  kReciprocal,
  kLog,
  kSigmoidReal,
  kSigmoidT1,
  kArgmax,
};

// The input domain of a non-linear kernel ({0, 0}: raw ring values).
std::pair<double, double> FxpDomain(Kernel kernel) {
  switch (kernel) {
    case Kernel::kExp:
      return {-8, 4};
    case Kernel::kReciprocal:
    case Kernel::kLog:
      return {0.01, 1000};
    case Kernel::kSigmoidReal:
    case Kernel::kSigmoidT1:
    case Kernel::kArgmax:
      return {-10, 10};
    default:
      return {0, 0};
  }
}

template <RingElement T>
void RunKernel(benchmark::State& state, const std::string& protocol, const std::string& beaver,
               size_t parties, Kernel kernel, Shape lhs, Shape rhs, int64_t items_per_call) {
  Cluster<T> cluster(protocol, beaver, parties);
  const auto [lo, hi] = FxpDomain(kernel);
  const auto x =
      lo == hi ? ShareInput(cluster, 0, lhs, 1) : ShareFxpInput(cluster, 0, lhs, lo, hi, 1);
  const auto y = ShareInput(cluster, parties - 1, rhs, 2);
  std::vector<AShare<T>> z(parties);
  auto call = [&](size_t r) {
    Protocol<T>& p = cluster.prot(r);
    switch (kernel) {
      case Kernel::kMul:
        z[r] = p.Mul(x[r], y[r]);
        break;
      case Kernel::kMulFxp:
        z[r] = p.MulFxp(x[r], y[r]);
        break;
      case Kernel::kLess:
        z[r] = p.Less(x[r], y[r]);
        break;
      case Kernel::kRelu:
        z[r] = p.Relu(x[r]);
        break;
      case Kernel::kMatMul:
        z[r] = p.MatMul(x[r], y[r]);
        break;
      case Kernel::kExp:
        z[r] = Exp(p, x[r]);
        break;
      case Kernel::kReciprocal:
        z[r] = Reciprocal(p, x[r]);
        break;
      case Kernel::kLog:
        z[r] = Log(p, x[r]);
        break;
      case Kernel::kSigmoidReal:
        z[r] = Sigmoid(p, x[r], SigmoidMode::kReal);
        break;
      case Kernel::kSigmoidT1:
        z[r] = Sigmoid(p, x[r], SigmoidMode::kT1);
        break;
      case Kernel::kArgmax:
        z[r] = Argmax(p, x[r], 1).onehot;
        break;
    }
  };
  const uint64_t bytes0 = cluster.TotalBytesSent(), rounds0 = cluster.MaxRounds();
  for (auto _ : state) cluster.Run(call);
  const double iters = static_cast<double>(state.iterations());
  state.SetItemsProcessed(state.iterations() * items_per_call);
  state.counters["bytes_per_op"] = static_cast<double>(cluster.TotalBytesSent() - bytes0) /
                                   (iters * static_cast<double>(items_per_call));
  state.counters["rounds"] = static_cast<double>(cluster.MaxRounds() - rounds0) / iters;
}

template <RingElement T>
void Register(const std::string& protocol_label, const std::string& protocol, size_t parties,
              const std::string& kernel_label, Kernel kernel, Shape lhs, Shape rhs,
              const std::string& size_label, int64_t items, const std::string& beaver = "") {
  const std::string name = protocol_label + "/" + kernel_label + "/" +
                           std::string(FieldTypeName(RingTraits<T>::kField)) + "/" + size_label;
  benchmark::RegisterBenchmark(name.c_str(),
                               [=](benchmark::State& s) {
                                 RunKernel<T>(s, protocol, beaver, parties, kernel, lhs, rhs,
                                              items);
                               })
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
}

// OT triple generation alone: two parties, OtBeaver set up (base OTs) before timing.
enum class Material { kMulTriples, kBitTriples };

template <RingElement T>
void RunOtMaterial(benchmark::State& state, Material material, int64_t items) {
  auto world = link::test::MakeWorld(2);
  PartyThreads threads(2);
  std::vector<std::unique_ptr<OtBeaver<T>>> beaver(2);
  threads.Run([&](size_t r) {
    const PartySeeds seeds = ValueOrThrow(AgreeSeeds(*world[r]));
    beaver[r] = ValueOrThrow(OtBeaver<T>::Create(world[r].get(), seeds));
  });
  uint64_t bytes0 = 0;
  for (const auto& c : world) bytes0 += c->stats().bytes_sent;
  for (auto _ : state) {
    threads.Run([&](size_t r) {
      if (material == Material::kMulTriples) {
        benchmark::DoNotOptimize(beaver[r]->Mul({items}));
      } else {
        benchmark::DoNotOptimize(beaver[r]->And(items / 64));
      }
    });
  }
  uint64_t bytes = 0;
  for (const auto& c : world) bytes += c->stats().bytes_sent;
  state.SetItemsProcessed(state.iterations() * items);
  state.counters["bytes_per_op"] =
      static_cast<double>(bytes - bytes0) / (static_cast<double>(state.iterations()) * items);
}

template <RingElement T>
void RegisterOtMaterial(const std::string& label, Material material, int64_t items) {
  const std::string name = "Ot/" + label + "/" + std::string(FieldTypeName(RingTraits<T>::kField)) +
                           "/" + std::to_string(items);
  benchmark::RegisterBenchmark(name.c_str(),
                               [=](benchmark::State& s) { RunOtMaterial<T>(s, material, items); })
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
}

constexpr int64_t kElements = 1'000'000;
constexpr int64_t kNonLinearElements = 100'000;

void RegisterAll() {
  const Shape v{kElements};
  const std::string n = std::to_string(kElements);
  // The figures.
  Register<uint64_t>("Semi2k", kProtocolSemi2k, 2, "Mul", Kernel::kMul, v, v, n, kElements);
  Register<uint64_t>("Semi2k", kProtocolSemi2k, 2, "Less", Kernel::kLess, v, v, n, kElements);
  Register<uint64_t>("Semi2k", kProtocolSemi2k, 2, "MatMul", Kernel::kMatMul, {1000, 100}, {100, 1},
                     "1000x100x1", 1);
  Register<uint64_t>("Aby3", kProtocolAby3, 3, "Mul", Kernel::kMul, v, v, n, kElements);
  Register<uint64_t>("Aby3", kProtocolAby3, 3, "Less", Kernel::kLess, v, v, n, kElements);
  // Context.
  Register<uint64_t>("Semi2k", kProtocolSemi2k, 2, "MulFxp", Kernel::kMulFxp, v, v, n, kElements);
  Register<uint64_t>("Semi2k", kProtocolSemi2k, 2, "Relu", Kernel::kRelu, v, v, n, kElements);
  Register<uint128_t>("Semi2k", kProtocolSemi2k, 2, "Mul", Kernel::kMul, v, v, n, kElements);
  Register<uint64_t>("Semi2k3pc", kProtocolSemi2k, 3, "Mul", Kernel::kMul, v, v, n, kElements);
  Register<uint64_t>("Semi2k", kProtocolSemi2k, 2, "MatMul", Kernel::kMatMul, {100000, 100},
                     {100, 1}, "100000x100x1", 1);
  Register<uint64_t>("Aby3", kProtocolAby3, 3, "MulFxp", Kernel::kMulFxp, v, v, n, kElements);
  Register<uint64_t>("Aby3", kProtocolAby3, 3, "MatMul", Kernel::kMatMul, {1000, 100}, {100, 1},
                     "1000x100x1", 1);
  // Non-linear kernels (fxp_approx.h, reduce.h).
  const Shape nl{kNonLinearElements};
  const std::string m = std::to_string(kNonLinearElements);
  Register<uint64_t>("Semi2k", kProtocolSemi2k, 2, "Exp", Kernel::kExp, nl, nl, m,
                     kNonLinearElements);
  Register<uint64_t>("Semi2k", kProtocolSemi2k, 2, "Reciprocal", Kernel::kReciprocal, nl, nl, m,
                     kNonLinearElements);
  Register<uint64_t>("Semi2k", kProtocolSemi2k, 2, "Log", Kernel::kLog, nl, nl, m,
                     kNonLinearElements);
  Register<uint64_t>("Semi2k", kProtocolSemi2k, 2, "Sigmoid", Kernel::kSigmoidReal, nl, nl, m,
                     kNonLinearElements);
  Register<uint64_t>("Semi2k", kProtocolSemi2k, 2, "SigmoidT1", Kernel::kSigmoidT1, nl, nl, m,
                     kNonLinearElements);
  Register<uint64_t>("Aby3", kProtocolAby3, 3, "Sigmoid", Kernel::kSigmoidReal, nl, nl, m,
                     kNonLinearElements);
  Register<uint128_t>("Semi2k", kProtocolSemi2k, 2, "Sigmoid", Kernel::kSigmoidReal, nl, nl, m,
                      kNonLinearElements);
  // Argmax along axis 1 of a 10000 x 10 matrix (items = elements).
  Register<uint64_t>("Semi2k", kProtocolSemi2k, 2, "Argmax", Kernel::kArgmax, {10000, 10},
                     {10000, 10}, "10000x10", kNonLinearElements);
  // Dealer-free SEMI2K (OT triples) and the OT triple generation rate.
  Register<uint64_t>("Semi2kOt", kProtocolSemi2k, 2, "Mul", Kernel::kMul, v, v, n, kElements,
                     kBeaverOt);
  Register<uint64_t>("Semi2kOt", kProtocolSemi2k, 2, "MatMul", Kernel::kMatMul, {1000, 100},
                     {100, 1}, "1000x100x1", 1, kBeaverOt);
  const Shape small{kElements / 10};
  const std::string ns = std::to_string(kElements / 10);
  Register<uint64_t>("Semi2kOt", kProtocolSemi2k, 2, "Less", Kernel::kLess, small, small, ns,
                     kElements / 10, kBeaverOt);
  Register<uint128_t>("Semi2kOt", kProtocolSemi2k, 2, "Mul", Kernel::kMul, small, small, ns,
                      kElements / 10, kBeaverOt);
  RegisterOtMaterial<uint64_t>("Triples", Material::kMulTriples, kElements);
  RegisterOtMaterial<uint128_t>("Triples", Material::kMulTriples, kElements / 10);
  RegisterOtMaterial<uint64_t>("BitTriples", Material::kBitTriples, 64 * kElements);
}

}  // namespace
}  // namespace veil::mpc

int main(int argc, char** argv) {
  veil::mpc::RegisterAll();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
