// bench_lr: ss_lr training and ss_lr_predict on the SPU, both parties on this machine, each a real
// `veil run` process in cluster mode over TCP on 127.0.0.1 (SEMI2K FM64, trusted first party).
// Default: 100,000 rows × 100 features (50 per party, label at bob), 10 epochs, batch 1024,
// sig_type t1, learning rate 0.1 — issue 6's benchmark.
//
// Reported: wall time of training and of prediction (spawn → both processes exited; CSV parsing
// included), the AUC of the revealed training-set scores, and, as the anchor measured in the same
// run, the same SGD in plaintext double arithmetic (one process): its time and AUC.
//
// Usage: bench_lr [--rows 100000] [--features 100] [--epochs 10] [--batch 1024] [--veil PATH]
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

double Auc(const std::vector<double>& score, const std::vector<int>& y) {
  std::vector<size_t> idx(score.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return score[a] < score[b]; });
  double rank_sum = 0, pos = 0;
  for (size_t i = 0; i < idx.size();) {
    size_t j = i;
    while (j < idx.size() && score[idx[j]] == score[idx[i]]) ++j;
    const double avg = (i + j + 1) / 2.0;  // 1-based average rank of the tie group
    for (size_t k = i; k < j; ++k) {
      if (y[idx[k]]) {
        rank_sum += avg;
        pos += 1;
      }
    }
    i = j;
  }
  const double neg = static_cast<double>(y.size()) - pos;
  return (rank_sum - pos * (pos + 1) / 2) / (pos * neg);
}

// The same SGD in plaintext (t1 sigmoid, L2 0.1 as ss_lr's defaults).
std::vector<double> PlainSgd(const std::vector<std::vector<double>>& x, const std::vector<int>& y,
                             int epochs, int batch, double lr) {
  const size_t n = y.size(), d = x[0].size();
  std::vector<double> w(d, 0.0), score(n);
  double b = 0;
  for (int e = 0; e < epochs; ++e) {
    for (size_t s = 0; s < n; s += batch) {
      const size_t end = std::min(n, s + batch);
      std::vector<double> g(d, 0.0);
      double gb = 0;
      for (size_t i = s; i < end; ++i) {
        double z = b;
        for (size_t j = 0; j < d; ++j) z += x[i][j] * w[j];
        const double p = std::clamp(0.5 + z / 4, 0.0, 1.0);
        const double err = p - y[i];
        for (size_t j = 0; j < d; ++j) g[j] += x[i][j] * err;
        gb += err;
      }
      const double scale = lr / static_cast<double>(end - s);
      for (size_t j = 0; j < d; ++j) w[j] -= scale * (g[j] + 0.1 * w[j]);
      b -= scale * gb;
    }
  }
  for (size_t i = 0; i < n; ++i) {
    double z = b;
    for (size_t j = 0; j < d; ++j) z += x[i][j] * w[j];
    score[i] = std::clamp(0.5 + z / 4, 0.0, 1.0);
  }
  return score;
}

veil::systest::PairResult RunPair(const std::string& veil, const fs::path& dir, const json& task,
                                  const json& spu, const std::string& name) {
  auto r = veil::systest::RunTwoParties(veil, dir.string(), "bench-" + name, task, spu);
  if (r.alice.exit_code != 0 || r.bob.exit_code != 0) {
    std::cerr << name << " failed\n"
              << r.alice.err.substr(0, 3000) << "\n"
              << r.bob.err.substr(0, 3000);
    std::exit(1);
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t rows = 100000;
  int features = 100, epochs = 10, batch = 1024;
  double lr = 0.1;
  std::string veil = (fs::path(argv[0]).parent_path() / "veil").string();
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--rows") rows = std::stoll(argv[i + 1]);
    if (a == "--features") features = std::stoi(argv[i + 1]);
    if (a == "--epochs") epochs = std::stoi(argv[i + 1]);
    if (a == "--batch") batch = std::stoi(argv[i + 1]);
    if (a == "--veil") veil = argv[i + 1];
  }
  const fs::path dir = fs::temp_directory_path() / ("veil_bench_lr_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto P = [&](const std::string& n) { return (dir / n).string(); };

  // Standard normal features; y ~ Bernoulli(sigmoid(x·β)) with a sparse-ish β.
  std::mt19937_64 rng(7);
  std::normal_distribution<double> g(0, 1);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<double> beta(features);
  for (int j = 0; j < features; ++j) beta[j] = (j % 5 == 0) ? g(rng) : 0.1 * g(rng);
  std::vector<std::vector<double>> x(rows, std::vector<double>(features));
  std::vector<int> y(rows);
  const int fa = features / 2;
  std::ofstream fa_out(P("alice.csv")), fb_out(P("bob.csv"));
  for (int j = 0; j < features; ++j)
    (j < fa ? fa_out : fb_out) << (j == 0 || j == fa ? "" : ",") << "x" << j;
  fa_out << "\n";
  fb_out << ",y\n";
  char buf[32];
  for (int64_t i = 0; i < rows; ++i) {
    double z = 0;
    for (int j = 0; j < features; ++j) {
      x[i][j] = g(rng);
      z += beta[j] * x[i][j];
      const int len =
          std::snprintf(buf, sizeof buf, "%s%.6f", (j == 0 || j == fa) ? "" : ",", x[i][j]);
      (j < fa ? fa_out : fb_out).write(buf, len);
    }
    y[i] = u(rng) < 1 / (1 + std::exp(-z)) ? 1 : 0;
    fa_out << "\n";
    fb_out << "," << y[i] << "\n";
  }
  fa_out.close();
  fb_out.close();
  json feature_names = json::array();
  for (int j = 0; j < features; ++j) feature_names.push_back("x" + std::to_string(j));

  const auto p0 = Clock::now();
  const auto plain = PlainSgd(x, y, epochs, batch, lr);
  const double plain_s = std::chrono::duration<double>(Clock::now() - p0).count();

  json spu = {{"cluster_def",
               {{"nodes",
                 {{{"party", "alice"}, {"address", "127.0.0.1:1"}},
                  {{"party", "bob"}, {"address", "127.0.0.1:2"}}}},
                {"runtime_config", {{"protocol", "SEMI2K"}, {"field", "FM64"}}}}}};
  json models = {{"alice", P("model_a")}, {"bob", P("model_b")}};
  json data = {{"alice", P("alice.csv")}, {"bob", P("bob.csv")}};
  json train = {{"task_type", "ss_lr"},
                {"train_data", data},
                {"features", feature_names},
                {"label", "y"},
                {"label_party", "bob"},
                {"model_output", models},
                {"params",
                 {{"epochs", epochs},
                  {"batch_size", batch},
                  {"learning_rate", lr},
                  {"sig_type", "t1"},
                  {"eps", 0}}}};
  const auto rt = RunPair(veil, dir, train, spu, "train");
  const double train_s = rt.wall_s;
  const json tr = json::parse(rt.alice.out);
  json predict = {{"task_type", "ss_lr_predict"},
                  {"model_path", models},
                  {"predict_data", data},
                  {"output_path", {{"bob", P("pred.csv")}}}};
  const double predict_s = RunPair(veil, dir, predict, spu, "predict").wall_s;
  std::vector<double> score;
  std::ifstream pin(P("pred.csv"));
  std::string line;
  std::getline(pin, line);
  while (std::getline(pin, line)) score.push_back(std::stod(line.substr(0, line.find(','))));
  const double auc = Auc(score, y), plain_auc = Auc(plain, y);
  std::printf(
      "# ss_lr, SEMI2K FM64, %lld rows x %d features (2 parties as 2 processes over TCP), "
      "%d epochs, batch %d, t1, lr %.2f\n",
      static_cast<long long>(rows), features, epochs, batch, lr);
  std::printf("train_wall_s %.3f (algorithm %.3f s, sent by alice %.1f MB)\n", train_s,
              tr["performance_metrics"]["algorithm_exec_time"].get<double>(),
              tr["performance_metrics"]["bytes_sent"].get<double>() / 1e6);
  std::printf("predict_wall_s %.3f\n", predict_s);
  std::printf("auc_ss_lr %.4f\n", auc);
  std::printf("anchor: plaintext SGD, same data and schedule, one process: %.3f s, auc %.4f\n",
              plain_s, plain_auc);
  fs::remove_all(dir);
  return 0;
}
