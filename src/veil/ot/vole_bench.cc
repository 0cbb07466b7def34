// bench_vole: silent random VOLE over GF(2^128) (silent_vole.h) with both parties in this process
// (one thread each) over the in-memory link, sharing the cores through base ParallelFor. Setup
// (IKNP base OTs) runs once, before timing; a timed iteration produces m random VOLEs.
//
// Sizes: m = 1.3·2^20 (RR22's OKVS size for 2^20 items, fast mode) and 1.3·2^24 (memory: the
// outputs B, A, C are 16·m bytes each, ≈ 350 MB per array at 1.3·2^24).
// Counters: items_per_second = VOLEs per second; bytes_per_vole = payload bytes both parties
// sent per VOLE.
//
//   build/bin/bench_vole --benchmark_filter='Vole/Random/1363148'
#include <future>
#include <vector>

#include <benchmark/benchmark.h>

#include "veil/base/exception.h"
#include "veil/link/context.h"
#include "veil/ot/silent_vole.h"

namespace veil::ot {
namespace {

void BM_RandomVole(benchmark::State& state) {
  const int64_t m = state.range(0);
  auto world = link::test::MakeWorld(2);
  auto fs = std::async(std::launch::async, [&] {
    return ValueOrThrow(SilentVoleSender::Setup(world[0].get(), 1, "b"));
  });
  SilentVoleReceiver receiver = ValueOrThrow(SilentVoleReceiver::Setup(world[1].get(), 0, "b"));
  SilentVoleSender sender = fs.get();
  const uint64_t setup_bytes = world[0]->stats().bytes_sent + world[1]->stats().bytes_sent;
  std::vector<Block> a(m), b(m), c(m);
  for (auto _ : state) {
    auto f = std::async(std::launch::async, [&] { ThrowIfError(sender.SendRandom(m, b.data())); });
    ThrowIfError(receiver.ReceiveRandom(m, a.data(), c.data()));
    f.get();
  }
  state.SetItemsProcessed(state.iterations() * m);
  const uint64_t bytes = world[0]->stats().bytes_sent + world[1]->stats().bytes_sent - setup_bytes;
  state.counters["bytes_per_vole"] =
      static_cast<double>(bytes) / (static_cast<double>(m) * state.iterations());
  state.counters["MB_per_run"] = static_cast<double>(bytes) / 1e6 / state.iterations();
}

BENCHMARK(BM_RandomVole)
    ->Name("Vole/Random")
    ->Arg(int64_t{1363148})   // 1.3·2^20
    ->Arg(int64_t{21810381})  // 1.3·2^24
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace veil::ot

BENCHMARK_MAIN();
