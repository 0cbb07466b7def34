// The node heartbeat (SPEC §5): key `veil:node:<NODE_ID>`, SET with a TTL of three intervals
// every VEIL_HEARTBEAT_INTERVAL_SECONDS, so the key exists exactly while the node is alive:
//   {node_id, node_ip, hostname, version, pid, started_at, updated_at,
//    running_tasks: [{celery_id, execution_id, task_type, started_at}], max_concurrent_tasks,
//    queue, interval_s}
// The web layer (and `veil health`) reads it with ReadHeartbeat.
//
// Thread safety: Start/Stop from one thread; Beat may run concurrently with the beat thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include <nlohmann/json.hpp>

#include "veil/base/status.h"
#include "veil/worker/redis_client.h"

namespace veil::worker {

inline constexpr std::string_view kHeartbeatKeyPrefix = "veil:node:";
inline constexpr int64_t kHeartbeatTtlIntervals = 3;

std::string HeartbeatKey(std::string_view node_id);

struct HeartbeatInfo {
  std::string node_id;
  std::string node_ip;
  std::string hostname;
  std::string version;
  std::string queue;
  int64_t max_concurrent_tasks = 0;
  int64_t interval_s = 10;
};

class Heartbeat {
 public:
  // `redis` is not owned and must outlive this object; running_tasks returns the JSON array.
  Heartbeat(RedisClient* redis, HeartbeatInfo info, std::function<nlohmann::json()> running_tasks);
  ~Heartbeat();
  Heartbeat(const Heartbeat&) = delete;
  Heartbeat& operator=(const Heartbeat&) = delete;

  // Writes the key now (the beat thread calls this every interval; errors are logged there).
  Status Beat();
  // Starts the beat thread (the first beat happens at once).
  void Start();
  // Stops the thread; deletes the key when `remove_key` (a clean shutdown).
  void Stop(bool remove_key);

 private:
  RedisClient* redis_;
  HeartbeatInfo info_;
  std::function<nlohmann::json()> running_tasks_;
  std::string started_at_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// The heartbeat of `node_id`, or nullopt when the key is absent (the node is down or never ran).
// A value that is not JSON is returned as {"raw": value}.
StatusOr<std::optional<nlohmann::json>> ReadHeartbeat(RedisClient& redis, std::string_view node_id);

}  // namespace veil::worker
