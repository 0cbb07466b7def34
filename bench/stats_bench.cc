// bench_stats: pearson_correlation (and vif) on the SPU, both parties on this machine, each a
// real `veil run` process in cluster mode over TCP on 127.0.0.1: CSV in, JSON report out.
// Default: 100,000 rows × 30 columns (15 per party), SEMI2K FM64 — issue 5's benchmark.
//
// Reported per task: wall time from spawn to both exits, the task's own phases from alice's
// result (device_init_time, algorithm_exec_time), bytes exchanged and the peak RSS of each
// party. Also measured in the same run, as the anchor: the plaintext correlation matrix of the
// same data (one process, all columns, double arithmetic), i.e. what it costs without MPC.
//
// Usage: bench_stats [--rows 100000] [--cols 30] [--field FM64] [--protocol SEMI2K]
//                    [--veil PATH] [--json FILE]
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "process_util.h"
#include <nlohmann/json.hpp>

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

// Columns c<first>..c<first+cols-1>: a shared latent factor plus noise, so correlations are
// non-trivial.
std::vector<std::vector<double>> WriteParty(const std::string& path, int64_t rows, int first,
                                            int cols, const std::vector<double>& latent,
                                            uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g(0, 1);
  std::vector<std::vector<double>> data(cols, std::vector<double>(rows));
  std::ofstream f(path);
  for (int c = 0; c < cols; ++c) f << (c ? "," : "") << "c" << first + c;
  f << "\n";
  char buf[32];
  for (int64_t r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      const double v = (0.3 + 0.02 * (first + c)) * latent[r] + g(rng) * (1 + c % 3);
      data[c][r] = v;
      const int len = std::snprintf(buf, sizeof buf, "%s%.6f", c ? "," : "", v);
      f.write(buf, len);
    }
    f << "\n";
  }
  return data;
}

double PlaintextCorrelationSeconds(const std::vector<std::vector<double>>& cols) {
  const auto t0 = Clock::now();
  const size_t p = cols.size(), n = cols[0].size();
  std::vector<std::vector<double>> z(p, std::vector<double>(n));
  for (size_t c = 0; c < p; ++c) {
    double mean = 0, ss = 0;
    for (double v : cols[c]) mean += v;
    mean /= n;
    for (double v : cols[c]) ss += (v - mean) * (v - mean);
    for (size_t i = 0; i < n; ++i) z[c][i] = (cols[c][i] - mean) / std::sqrt(ss);
  }
  volatile double sink = 0;
  for (size_t a = 0; a < p; ++a) {
    for (size_t b = a; b < p; ++b) {
      double s = 0;
      for (size_t i = 0; i < n; ++i) s += z[a][i] * z[b][i];
      sink = sink + s;
    }
  }
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  int64_t rows = 100000;
  int cols = 30;
  std::string field = "FM64", protocol = "SEMI2K";
  std::string veil = (fs::path(argv[0]).parent_path() / "veil").string();
  std::string json_out;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--rows") rows = std::stoll(argv[i + 1]);
    if (a == "--cols") cols = std::stoi(argv[i + 1]);
    if (a == "--field") field = argv[i + 1];
    if (a == "--protocol") protocol = argv[i + 1];
    if (a == "--veil") veil = argv[i + 1];
    if (a == "--json") json_out = argv[i + 1];
  }
  const fs::path dir =
      fs::temp_directory_path() / ("veil_bench_stats_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto P = [&](const std::string& n) { return (dir / n).string(); };

  std::mt19937_64 rng(1);
  std::normal_distribution<double> g(0, 1);
  std::vector<double> latent(rows);
  for (auto& v : latent) v = g(rng);
  const int ca = cols / 2, cb = cols - ca;
  auto all = WriteParty(P("alice.csv"), rows, 0, ca, latent, 2);
  auto bobs = WriteParty(P("bob.csv"), rows, ca, cb, latent, 3);
  all.insert(all.end(), bobs.begin(), bobs.end());
  json columns = json::array();
  for (int c = 0; c < cols; ++c) columns.push_back("c" + std::to_string(c));
  const double plain_s = PlaintextCorrelationSeconds(all);

  std::printf(
      "# %s on the SPU (%s %s), %lld rows x %d columns, 2 parties as 2 processes over "
      "TCP on 127.0.0.1\n",
      "pearson_correlation / vif", protocol.c_str(), field.c_str(), static_cast<long long>(rows),
      cols);
  std::printf("# anchor: plaintext correlation matrix of the same data in one process: %.3f s\n",
              plain_s);
  std::printf("%-20s %8s %10s %10s %10s %10s %10s\n", "task", "wall_s", "device_s", "algo_s",
              "MB_sent", "rss_a_MiB", "rss_b_MiB");
  json out = json::array();
  for (const std::string task_type : {"pearson_correlation", "vif"}) {
    json spu = {{"cluster_def",
                 {{"nodes",
                   {{{"party", "alice"}, {"address", "127.0.0.1:1"}},
                    {{"party", "bob"}, {"address", "127.0.0.1:2"}}}},
                  {"runtime_config", {{"protocol", protocol}, {"field", field}}}}}};
    json task = {{"task_type", task_type},
                 {"input_data", {{"alice", P("alice.csv")}, {"bob", P("bob.csv")}}},
                 {"columns", columns},
                 {"output_report", P(task_type + ".json")}};
    auto r = veil::systest::RunTwoParties(veil, dir.string(), "bench-" + task_type, task, spu);
    auto& ra = r.alice;
    auto& rb = r.bob;
    const double wall = r.wall_s;
    if (ra.exit_code != 0 || rb.exit_code != 0) {
      std::cerr << task_type << " failed\n"
                << ra.err.substr(0, 2000) << "\n"
                << rb.err.substr(0, 2000) << "\n";
      return 1;
    }
    const json res = json::parse(ra.out);
    const json& m = res["performance_metrics"];
    const double sent_mb = m["bytes_sent"].get<double>() / 1e6;
    std::printf("%-20s %8.3f %10.4f %10.3f %10.1f %10.1f %10.1f\n", task_type.c_str(), wall,
                m["device_init_time"].get<double>(), m["algorithm_exec_time"].get<double>(),
                sent_mb, ra.max_rss_kb / 1024.0, rb.max_rss_kb / 1024.0);
    std::fflush(stdout);
    out.push_back({{"task", task_type},
                   {"rows", rows},
                   {"cols", cols},
                   {"wall_s", wall},
                   {"plaintext_s", plain_s},
                   {"alice_metrics", m}});
  }
  if (!json_out.empty()) veil::systest::WriteFile(json_out, out.dump(2));
  fs::remove_all(dir);
  return 0;
}
