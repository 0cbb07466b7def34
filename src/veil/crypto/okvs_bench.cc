// bench_okvs: RB-OKVS (okvs.h) encode and decode throughput with the parameters ForItems(n, 40)
// chooses. Encode includes row hashing, sorting, elimination, back substitution and filling the
// free columns; decode evaluates all n keys (what the RR22 sender does), split over ParallelFor.
//
// Counters: items_per_second; m_over_n = expansion; band_width = w.
//
//   build/bin/bench_okvs --benchmark_filter='Okvs/Encode/1048576'
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include "veil/base/exception.h"
#include "veil/crypto/okvs.h"

namespace veil::crypto {
namespace {

struct Fixture {
  explicit Fixture(size_t n)
      : okvs(ValueOrThrow(Okvs::Create(OkvsParams::ForItems(n)))),
        keys(n),
        values(n),
        P(okvs.params().m),
        out(n) {
    std::mt19937_64 rng(n);
    for (auto& k : keys) k = {rng(), rng()};
    for (auto& v : values) v = {rng(), rng()};
  }
  void Counters(benchmark::State& state) const {
    const auto& p = okvs.params();
    state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(p.n));
    state.counters["m_over_n"] = static_cast<double>(p.m) / static_cast<double>(p.n);
    state.counters["band_width"] = static_cast<double>(p.band_width);
  }
  Okvs okvs;
  std::vector<Block> keys, values, P, out;
};

void BM_Encode(benchmark::State& state) {
  Fixture f(static_cast<size_t>(state.range(0)));
  Seed s{};
  Prg free_columns(s);
  uint64_t seed = 1;
  for (auto _ : state) {
    ThrowIfError(f.okvs.Encode(f.keys.data(), f.values.data(), f.keys.size(), seed++, f.P.data(),
                               &free_columns));
    benchmark::DoNotOptimize(f.P.data());
  }
  f.Counters(state);
}

void BM_Decode(benchmark::State& state) {
  Fixture f(static_cast<size_t>(state.range(0)));
  ThrowIfError(f.okvs.Encode(f.keys.data(), f.values.data(), f.keys.size(), 1, f.P.data()));
  for (auto _ : state) {
    f.okvs.Decode(f.P.data(), f.keys.data(), f.keys.size(), 1, f.out.data());
    benchmark::DoNotOptimize(f.out.data());
  }
  VEIL_ENFORCE(f.out == f.values, InternalError, "okvs_bench", "decode mismatch");
  f.Counters(state);
}

BENCHMARK(BM_Encode)
    ->Name("Okvs/Encode")
    ->Arg(1 << 16)
    ->Arg(1 << 20)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_Decode)
    ->Name("Okvs/Decode")
    ->Arg(1 << 16)
    ->Arg(1 << 20)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
// 2^24: one iteration each (about 16x the 2^20 time); run with --benchmark_filter=16777216.
BENCHMARK(BM_Encode)
    ->Name("Okvs/Encode")
    ->Arg(1 << 24)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_Decode)
    ->Name("Okvs/Decode")
    ->Arg(1 << 24)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace veil::crypto

BENCHMARK_MAIN();
