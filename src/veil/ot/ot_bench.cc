// bench_ot: IKNP OT-extension throughput with both parties in this process (one thread each) over
// the in-memory link, sharing the machine's cores through base ParallelFor. Base OTs run once,
// before timing; a timed iteration extends N OTs (one Extend per party).
//
// Counters: items_per_second = OTs per second; bytes_per_ot = payload bytes sent per OT.
//
//   build/bin/bench_ot --benchmark_filter='Ot/Iknp/RandomOt'
#include <future>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include "veil/base/exception.h"
#include "veil/link/context.h"
#include "veil/ot/iknp.h"

namespace veil::ot {
namespace {

enum class Kind { kCot, kRandomOt };

void RunIknp(benchmark::State& state, Kind kind) {
  const int64_t n = state.range(0);
  auto world = link::test::MakeWorld(2);
  auto fs = std::async(std::launch::async,
                       [&] { return ValueOrThrow(IknpCotSender::Setup(world[0].get(), 1, "b")); });
  IknpCotReceiver receiver = ValueOrThrow(IknpCotReceiver::Setup(world[1].get(), 0, "b"));
  IknpCotSender sender = fs.get();
  std::mt19937_64 rng(1);
  std::vector<uint64_t> choices((n + 63) / 64);
  for (auto& c : choices) c = rng();
  std::vector<Block> q(n), m1(n), t(n);
  for (auto _ : state) {
    auto f = std::async(std::launch::async, [&] {
      ThrowIfError(kind == Kind::kCot ? sender.Extend(n, q.data())
                                      : sender.RandomOt(n, q.data(), m1.data()));
    });
    ThrowIfError(kind == Kind::kCot ? receiver.Extend(choices.data(), n, t.data())
                                    : receiver.RandomOt(choices.data(), n, t.data()));
    f.get();
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.counters["bytes_per_ot"] = static_cast<double>(world[1]->stats().bytes_sent) /
                                   (static_cast<double>(n) * state.iterations());
}

void BM_Cot(benchmark::State& state) { RunIknp(state, Kind::kCot); }
void BM_RandomOt(benchmark::State& state) { RunIknp(state, Kind::kRandomOt); }

BENCHMARK(BM_Cot)->Name("Ot/Iknp/Cot")->Arg(1 << 20)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RandomOt)
    ->Name("Ot/Iknp/RandomOt")
    ->Arg(1 << 20)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace veil::ot

BENCHMARK_MAIN();
