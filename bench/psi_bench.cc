// bench_psi: PSI at 2^k items per party, both parties on this machine, each a real `veil run`
// process in cluster mode over TCP on 127.0.0.1 (CSV in, aligned CSV out), for one protocol
// (`--protocol`, default ECDH_PSI_2PC; KKRT_PSI_2PC for KKRT16, PROTOCOL_RR22 for RR22).
//
// For ECDH it also measures, in the same run, the compute bound the protocol cannot beat:
// per item per party one hash-to-group and two scalar multiplications (ristretto255, libsodium),
// i.e. 2n hash-to-group + 4n scalar multiplications in total, spread over all cores with the
// same ParallelFor the protocol uses (KKRT and RR22 have no single dominant operation: bound_s
// = 0). Reported: PSI wall time, its ratio to the bound, each party's peak RSS (wait4), bytes per
// item, and the start-up latency: process spawn → the party's first PSI message (its precheck
// event, emitted just before the first PSI send).
//
// Usage: bench_psi [--protocol P] [--min-log 12] [--max-log 20] [--veil PATH] [--json FILE]
//                  [--phases]   (also print each party's progress events, phase@seconds, and
//                                with LOG_LEVEL=debug the protocol's " psi: " timing lines)
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "process_util.h"
#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include "veil/base/parallel.h"
#include "veil/base/time.h"
#include "veil/crypto/ristretto.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

double ComputeBoundSeconds(int64_t n) {
  const auto key1 = veil::crypto::Scalar::Random();
  const auto key2 = veil::crypto::Scalar::Random();
  auto start = Clock::now();
  // Both parties: 2n items, each one hash-to-group + two scalar multiplications.
  veil::ParallelFor(2 * n, 64, [&](int64_t b, int64_t e) {
    uint8_t h[32], m1[32], m2[32];
    for (int64_t i = b; i < e; ++i) {
      veil::crypto::HashToGroup("bench", reinterpret_cast<const uint8_t*>(&i), sizeof i, h);
      if (!veil::crypto::ScalarMult(key1, h, m1) || !veil::crypto::ScalarMult(key2, m1, m2))
        std::abort();
    }
  });
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// alice holds ids [0, n), bob [n/2, 3n/2): half of each set intersects. Rows are shuffled.
void WriteInput(const std::string& path, const char* key, int64_t n, int64_t offset) {
  std::ofstream f(path);
  f << key << ",f1,f2\n";
  char line[96];
  for (int64_t i = 0; i < n; ++i) {
    int64_t id = offset + (i * 2654435761LL) % n;  // a permutation of [0, n) when n is a power of 2
    int len = std::snprintf(line, sizeof line, "id%010lld,%lld,%.4f\n", static_cast<long long>(id),
                            static_cast<long long>(i % 97), (i % 1000) / 1000.0);
    f.write(line, len);
  }
}

int64_t NowUnixMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ISO 8601 "YYYY-MM-DDTHH:MM:SS.ffffffZ" → unix µs.
int64_t ParseIsoMicros(const std::string& s) {
  std::tm tm{};
  int us = 0;
  std::sscanf(s.c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
              &tm.tm_min, &tm.tm_sec, &us);
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm)) * 1000000 + us;
}

// "phase@seconds since spawn" for each progress event of a party (--phases).
std::string PhaseTimes(const std::string& events_path, int64_t spawn_us) {
  std::ifstream in(events_path);
  std::string out;
  for (std::string line; std::getline(in, line);) {
    json e = json::parse(line, nullptr, false);
    if (e.is_discarded() || e["data"].value("stage", "") != "computation_progress") continue;
    char buf[96];
    std::snprintf(buf, sizeof buf, " %s@%.3f", e["data"].value("phase", "").c_str(),
                  (ParseIsoMicros(e["timestamp"].get<std::string>()) - spawn_us) / 1e6);
    out += buf;
  }
  return out;
}

int64_t FirstPsiMessageMicros(const std::string& events_path) {
  std::ifstream in(events_path);
  for (std::string line; std::getline(in, line);) {
    json e = json::parse(line, nullptr, false);
    if (e.is_discarded()) continue;
    if (e["data"].value("stage", "") == "computation_progress" &&
        e["data"].value("phase", "") == "precheck") {
      return ParseIsoMicros(e["timestamp"].get<std::string>());
    }
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  int min_log = 12, max_log = 20;
  std::string veil = (fs::path(argv[0]).parent_path() / "veil").string();
  std::string json_out;
  std::string protocol = "ECDH_PSI_2PC";
  bool phases = false;
  for (int i = 1; i < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--phases") {
      phases = true;
      --i;
      continue;
    }
    if (i + 1 >= argc) break;
    if (a == "--min-log")
      min_log = std::stoi(argv[i + 1]);
    else if (a == "--max-log")
      max_log = std::stoi(argv[i + 1]);
    else if (a == "--veil")
      veil = argv[i + 1];
    else if (a == "--json")
      json_out = argv[i + 1];
    else if (a == "--protocol")
      protocol = argv[i + 1];
  }
  fs::path dir = fs::temp_directory_path() / ("veil_bench_psi_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto P = [&](const std::string& n) { return (dir / n).string(); };
  const bool ecdh = protocol.find("ECDH") != std::string::npos;
  std::printf("# %s PSI, 2 parties as 2 processes over TCP on 127.0.0.1, %d cores\n",
              protocol.c_str(), veil::ParallelismLevel());
  std::printf("%-6s %10s %10s %7s %11s %11s %9s %11s %11s\n", "n", "bound_s", "psi_s", "ratio",
              "rss_a_MiB", "rss_b_MiB", "B/item", "startup_ms", "inter");
  json all = json::array();
  for (int lg = min_log; lg <= max_log; ++lg) {
    const int64_t n = int64_t{1} << lg;
    WriteInput(P("alice.csv"), "id", n, 0);
    WriteInput(P("bob.csv"), "uid", n, n / 2);
    const double bound = ecdh ? ComputeBoundSeconds(n) : 0.0;

    const int pa = veil::systest::FreePort(), pb = veil::systest::FreePort();
    json parties = {{"alice", {{"address", "127.0.0.1:" + std::to_string(pa)}}},
                    {"bob", {{"address", "127.0.0.1:" + std::to_string(pb)}}}};
    json task = {{"task_type", "psi"},
                 {"protocol", protocol},
                 {"keys", {{"alice", {"id"}}, {"bob", {"uid"}}}},
                 {"input_paths", {{"alice", P("alice.csv")}, {"bob", P("bob.csv")}}},
                 {"output_paths", {{"alice", P("out_a.csv")}, {"bob", P("out_b.csv")}}},
                 {"receiver", "alice"},
                 {"broadcast_result", true}};
    for (const char* self : {"alice", "bob"}) {
      json env = {{"task_id", "bench"},
                  {"subtask_id", "psi"},
                  {"execution_id", "bench-" + std::to_string(lg)},
                  {"sf_init_config", {{"parties", parties}, {"self_party", self}}},
                  {"task_config", task}};
      veil::systest::WriteFile(P(std::string(self) + ".json"), env.dump());
    }
    fs::remove(P("ev_a.jsonl"));
    fs::remove(P("ev_b.jsonl"));
    const int64_t spawn_us = NowUnixMicros();
    auto t0 = Clock::now();
    int a = veil::systest::Spawn({veil, "run", P("alice.json"), "--events", P("ev_a.jsonl")},
                                 P("a.out"), P("a.err"));
    int b = veil::systest::Spawn({veil, "run", P("bob.json"), "--events", P("ev_b.jsonl")},
                                 P("b.out"), P("b.err"));
    auto ra = veil::systest::Wait(a, P("a.out"), P("a.err"));
    auto rb = veil::systest::Wait(b, P("b.out"), P("b.err"));
    const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
    if (ra.exit_code != 0 || rb.exit_code != 0) {
      std::cerr << "PSI failed at n=" << n << "\n"
                << ra.err.substr(0, 2000) << "\n"
                << rb.err.substr(0, 2000) << "\n";
      return 1;
    }
    json res = json::parse(ra.out);
    const int64_t inter = res["result"]["intersection_count"];
    const int64_t bytes = res["performance_metrics"]["bytes_sent"].get<int64_t>() +
                          res["performance_metrics"]["bytes_received"].get<int64_t>();
    const double startup_ms = (FirstPsiMessageMicros(P("ev_a.jsonl")) - spawn_us) / 1000.0;
    std::printf("2^%-4d %10.3f %10.3f %7.3f %11.1f %11.1f %9.1f %11.1f %11lld\n", lg, bound, wall,
                bound > 0 ? wall / bound : 0.0, ra.max_rss_kb / 1024.0, rb.max_rss_kb / 1024.0,
                static_cast<double>(bytes) / (2.0 * n), startup_ms, static_cast<long long>(inter));
    if (phases) {
      for (const auto* err : {&ra.err, &rb.err}) {
        std::istringstream lines(*err);
        for (std::string l; std::getline(lines, l);) {
          if (l.find(" psi: ") != std::string::npos) std::printf("#   %s\n", l.c_str());
        }
      }
      std::printf("#   receiver:%s\n#   sender:  %s\n",
                  PhaseTimes(P("ev_a.jsonl"), spawn_us).c_str(),
                  PhaseTimes(P("ev_b.jsonl"), spawn_us).c_str());
    }
    std::fflush(stdout);
    all.push_back({{"log_n", lg},
                   {"n", n},
                   {"bound_s", bound},
                   {"psi_wall_s", wall},
                   {"protocol", protocol},
                   {"ratio", bound > 0 ? wall / bound : 0.0},
                   {"rss_alice_kb", ra.max_rss_kb},
                   {"rss_bob_kb", rb.max_rss_kb},
                   {"bytes_total", bytes},
                   {"startup_ms", startup_ms},
                   {"intersection", inter},
                   {"alice_metrics", res["performance_metrics"]}});
  }
  if (!json_out.empty()) veil::systest::WriteFile(json_out, all.dump(2));
  fs::remove_all(dir);
  return 0;
}
