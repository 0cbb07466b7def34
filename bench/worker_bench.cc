// bench_worker: trivial tasks through one `veil worker` process and its own redis-server on
// 127.0.0.1 (started here, stopped at the end).
//  - throughput: N ping_task messages LPUSHed at once; time until the last result is stored;
//  - latency: one ping at a time to an idle worker; LPUSH → the worker records the task as
//    started (`veil:task:<id>` started_at), polled every 50 µs.
// The Python worker forks a child per task (max_tasks_per_child=1), so its per-task floor is a
// process start.
//
// Usage: bench_worker [--pings 2000] [--latency-samples 200] [--veil PATH] [--concurrency 2]
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "process_util.h"

#include "veil/worker/celery_codec.h"
#include "veil/worker/queue.h"
#include "veil/worker/redis_hiredis.h"
#include "veil/worker/redis_test_server.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

void Check(const veil::Status& s, const char* what) {
  if (!s.ok()) {
    std::cerr << what << ": " << s.ToString() << "\n";
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int pings = 2000, samples = 200, concurrency = 2;
  std::string veil = (fs::path(argv[0]).parent_path() / "veil").string();
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--pings")
      pings = std::stoi(argv[i + 1]);
    else if (a == "--latency-samples")
      samples = std::stoi(argv[i + 1]);
    else if (a == "--veil")
      veil = argv[i + 1];
    else if (a == "--concurrency")
      concurrency = std::stoi(argv[i + 1]);
  }
  auto server = veil::worker::RedisTestServer::Start();
  Check(server.status(), "redis-server");
  auto options = veil::worker::RedisOptions::FromUrl((*server)->url());
  Check(options.status(), "redis url");
  auto redis = veil::worker::RedisHiredisClient::Connect(*options);
  Check(redis.status(), "connect");

  fs::path dir = fs::temp_directory_path() / ("veil_bench_worker_" + std::to_string(::getpid()));
  fs::create_directories(dir / "data");
  const std::string env = (dir / "node.env").string();
  veil::systest::WriteFile(env, "NODE_ID=bench\nNODE_IP=127.0.0.1\nREDIS_URL=" + (*server)->url() +
                                    "\nDATA_PATH=" + (dir / "data").string() +
                                    "\nMAX_CONCURRENT_TASKS=" + std::to_string(concurrency) + "\n");
  const int worker = veil::systest::Spawn({veil, "worker", "--env-file", env},
                                          (dir / "w.out").string(), (dir / "w.err").string());
  auto push = [&](const std::string& id) {
    veil::worker::SendRequest ping;
    ping.task = std::string(veil::worker::kPingTaskName);
    ping.task_id = id;
    Check((*redis)
              ->LPush(std::string(veil::worker::kDefaultTaskQueue),
                      veil::worker::EncodeTaskMessage(ping))
              .status(),
          "lpush");
  };
  auto done = [&](const std::string& id) {
    auto v = (*redis)->Get(veil::worker::ResultKey(id));
    return v.ok() && *v && v->value().find("\"SUCCESS\"") != std::string::npos;
  };
  // Warm-up: the worker is up when a ping comes back.
  push("warmup");
  for (int i = 0; i < 20000 && !done("warmup"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (!done("warmup")) {
    std::cerr << "worker did not answer; see " << (dir / "w.err") << "\n";
    return 1;
  }

  const auto t0 = Clock::now();
  for (int i = 0; i < pings; ++i) push("tp-" + std::to_string(i));
  for (int i = 0; i < pings; ++i) {
    while (!done("tp-" + std::to_string(i)))
      std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();

  std::vector<double> lat_ms;
  for (int i = 0; i < samples; ++i) {
    const std::string id = "lat-" + std::to_string(i);
    const auto s = Clock::now();
    push(id);
    while (true) {
      auto started = (*redis)->HGet(veil::worker::TaskRecordKey(id), "started_at");
      if (started.ok() && *started) break;
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    lat_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - s).count());
    while (!done(id)) std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  std::sort(lat_ms.begin(), lat_ms.end());
  auto pct = [&](double p) {
    return lat_ms[std::min(lat_ms.size() - 1, size_t(p * lat_ms.size()))];
  };
  std::printf("# one veil worker (MAX_CONCURRENT_TASKS=%d), its own redis-server, 127.0.0.1\n",
              concurrency);
  std::printf("ping throughput: %d tasks in %.3f s = %.0f tasks/s\n", pings, secs, pings / secs);
  std::printf(
      "LPUSH -> task start (idle worker, %d samples): p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, max "
      "%.3f ms\n",
      samples, pct(0.5), pct(0.9), pct(0.99), lat_ms.back());
  ::kill(worker, SIGTERM);
  veil::systest::Wait(worker, (dir / "w.out").string(), (dir / "w.err").string());
  fs::remove_all(dir);
  return 0;
}
