// bench_xgb: ss_xgb training and ss_xgb_predict, both parties on this machine, each a real
// `veil run` process in cluster mode over TCP on 127.0.0.1. Default: 100,000 training rows × 30
// features (15 per party; the label at bob), 10 trees of depth 5, SEMI2K FM64 — issue 6's
// benchmark. Prediction runs on a held-out set of the same size and distribution; its AUC is
// computed here from bob's output.
//
// Reported: wall time from spawn to both exits, the task's own algorithm_exec_time (alice),
// bytes sent by alice, peak RSS of each party, and the test AUC.
//
// Usage: bench_xgb [--rows 100000] [--cols 30] [--trees 10] [--depth 5] [--field FM64]
//                  [--protocol SEMI2K] [--veil PATH] [--json FILE]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "process_util.h"
#include <nlohmann/json.hpp>

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

// Features x_j ~ N(0, 1); the label is Bernoulli(σ(s)) with a non-linear score s over features
// of both parties, so trees have something to find.
struct Data {
  std::vector<std::vector<double>> x;  // cols × rows
  std::vector<int> y;
};

Data Generate(int64_t rows, int cols, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g(0, 1);
  std::uniform_real_distribution<double> u(0, 1);
  Data d;
  d.x.assign(cols, std::vector<double>(rows));
  d.y.resize(rows);
  for (int64_t r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) d.x[c][r] = g(rng);
    const int h = cols / 2;
    const double s = 1.2 * d.x[0][r] - 0.8 * d.x[1][r] + 1.0 * (d.x[h][r] > 0.5) -
                     0.9 * d.x[h + 1][r] * (d.x[2][r] > 0) + 0.5 * std::fabs(d.x[h + 2][r]) - 0.4;
    d.y[r] = u(rng) < 1.0 / (1.0 + std::exp(-s)) ? 1 : 0;
  }
  return d;
}

void WriteParty(const std::string& path, const Data& d, int first, int count, bool label) {
  std::ofstream f(path);
  for (int c = 0; c < count; ++c) f << (c ? "," : "") << "x" << first + c;
  if (label) f << ",y";
  f << "\n";
  char buf[32];
  const int64_t rows = static_cast<int64_t>(d.y.size());
  for (int64_t r = 0; r < rows; ++r) {
    for (int c = 0; c < count; ++c) {
      const int len = std::snprintf(buf, sizeof buf, "%s%.6f", c ? "," : "", d.x[first + c][r]);
      f.write(buf, len);
    }
    if (label) f << "," << d.y[r];
    f << "\n";
  }
}

// ROC AUC with ties counted half.
double Auc(const std::vector<double>& score, const std::vector<int>& y) {
  std::vector<size_t> order(score.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return score[a] < score[b]; });
  double rank_sum = 0, pos = 0;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j < order.size() && score[order[j]] == score[order[i]]) ++j;
    const double rank = (i + 1 + j) / 2.0;
    for (size_t k = i; k < j; ++k) {
      if (y[order[k]]) {
        rank_sum += rank;
        pos += 1;
      }
    }
    i = j;
  }
  const double neg = static_cast<double>(y.size()) - pos;
  return (rank_sum - pos * (pos + 1) / 2) / (pos * neg);
}

}  // namespace

int main(int argc, char** argv) {
  int64_t rows = 100000;
  int cols = 30, trees = 10, depth = 5;
  std::string field = "FM64", protocol = "SEMI2K";
  std::string veil = (fs::path(argv[0]).parent_path() / "veil").string();
  std::string json_out;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--rows") rows = std::stoll(argv[i + 1]);
    if (a == "--cols") cols = std::stoi(argv[i + 1]);
    if (a == "--trees") trees = std::stoi(argv[i + 1]);
    if (a == "--depth") depth = std::stoi(argv[i + 1]);
    if (a == "--field") field = argv[i + 1];
    if (a == "--protocol") protocol = argv[i + 1];
    if (a == "--veil") veil = argv[i + 1];
    if (a == "--json") json_out = argv[i + 1];
  }
  const fs::path dir = fs::temp_directory_path() / ("veil_bench_xgb_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto P = [&](const std::string& n) { return (dir / n).string(); };

  const int ca = cols / 2, cb = cols - ca;
  const Data train = Generate(rows, cols, 1);
  const Data test = Generate(rows, cols, 2);
  WriteParty(P("train_alice.csv"), train, 0, ca, false);
  WriteParty(P("train_bob.csv"), train, ca, cb, true);
  WriteParty(P("test_alice.csv"), test, 0, ca, false);
  WriteParty(P("test_bob.csv"), test, ca, cb, false);
  json features = json::array();
  for (int c = 0; c < cols; ++c) features.push_back("x" + std::to_string(c));

  std::printf(
      "# ss_xgb on the SPU (%s %s), %lld rows x %d features, %d trees of depth %d, 2 parties "
      "as 2 processes over TCP on 127.0.0.1\n",
      protocol.c_str(), field.c_str(), static_cast<long long>(rows), cols, trees, depth);
  std::printf("%-16s %8s %10s %10s %10s %10s\n", "task", "wall_s", "algo_s", "MB_sent", "rss_a_MiB",
              "rss_b_MiB");
  json out = json::object();
  const json tasks =
      json::array({{{"task_type", "ss_xgb"},
                    {"train_data", {{"alice", P("train_alice.csv")}, {"bob", P("train_bob.csv")}}},
                    {"features", features},
                    {"label", "y"},
                    {"label_party", "bob"},
                    {"model_output", {{"alice", P("model/alice")}, {"bob", P("model/bob")}}},
                    {"params", {{"num_boost_round", trees}, {"max_depth", depth}}}},
                   {{"task_type", "ss_xgb_predict"},
                    {"model_path", {{"alice", P("model/alice")}, {"bob", P("model/bob")}}},
                    {"predict_data", {{"alice", P("test_alice.csv")}, {"bob", P("test_bob.csv")}}},
                    {"output_path", {{"bob", P("pred.csv")}}}}});
  for (const json& task : tasks) {
    const std::string task_type = task["task_type"].get<std::string>();
    const int pa = veil::systest::FreePort(), pb = veil::systest::FreePort();
    json parties = {{"alice", {{"address", "127.0.0.1:" + std::to_string(pa)}}},
                    {"bob", {{"address", "127.0.0.1:" + std::to_string(pb)}}}};
    json spu = {{"cluster_def",
                 {{"nodes",
                   {{{"party", "alice"}, {"address", "127.0.0.1:1"}},
                    {{"party", "bob"}, {"address", "127.0.0.1:2"}}}},
                  {"runtime_config", {{"protocol", protocol}, {"field", field}}}}}};
    for (const char* self : {"alice", "bob"}) {
      json env = {{"task_id", "bench"},
                  {"subtask_id", task_type},
                  {"execution_id", "bench-" + task_type},
                  {"sf_init_config", {{"parties", parties}, {"self_party", self}}},
                  {"spu_config", spu},
                  {"task_config", task}};
      veil::systest::WriteFile(P(std::string(self) + ".json"), env.dump());
    }
    const auto t0 = Clock::now();
    const int a = veil::systest::Spawn({veil, "run", P("alice.json")}, P("a.out"), P("a.err"));
    const int b = veil::systest::Spawn({veil, "run", P("bob.json")}, P("b.out"), P("b.err"));
    auto ra = veil::systest::Wait(a, P("a.out"), P("a.err"));
    auto rb = veil::systest::Wait(b, P("b.out"), P("b.err"));
    const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
    if (ra.exit_code != 0 || rb.exit_code != 0) {
      std::cerr << task_type << " failed\n"
                << ra.out.substr(0, 2000) << ra.err.substr(0, 2000) << "\n"
                << rb.out.substr(0, 2000) << rb.err.substr(0, 2000) << "\n";
      return 1;
    }
    const json res = json::parse(ra.out);
    const json& m = res["performance_metrics"];
    std::printf("%-16s %8.3f %10.3f %10.1f %10.1f %10.1f\n", task_type.c_str(), wall,
                m["algorithm_exec_time"].get<double>(), m["bytes_sent"].get<double>() / 1e6,
                ra.max_rss_kb / 1024.0, rb.max_rss_kb / 1024.0);
    std::fflush(stdout);
    out[task_type] = {{"wall_s", wall},
                      {"rss_alice_kb", ra.max_rss_kb},
                      {"rss_bob_kb", rb.max_rss_kb},
                      {"alice_metrics", m}};
  }
  std::ifstream pred(P("pred.csv"));
  std::string line;
  std::getline(pred, line);
  std::vector<double> prob;
  while (std::getline(pred, line)) prob.push_back(std::stod(line.substr(0, line.find(','))));
  if (prob.size() != test.y.size()) {
    std::cerr << "expected " << test.y.size() << " predictions, got " << prob.size() << "\n";
    return 1;
  }
  const double auc = Auc(prob, test.y);
  std::printf("test AUC %.4f (%zu held-out rows)\n", auc, prob.size());
  out["test_auc"] = auc;
  out["rows"] = rows;
  out["cols"] = cols;
  out["trees"] = trees;
  out["depth"] = depth;
  if (!json_out.empty()) veil::systest::WriteFile(json_out, out.dump(2));
  fs::remove_all(dir);
  return 0;
}
