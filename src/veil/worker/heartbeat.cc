#include "veil/worker/heartbeat.h"

#include <unistd.h>

#include "veil/base/log.h"
#include "veil/base/time.h"

namespace veil::worker {

std::string HeartbeatKey(std::string_view node_id) {
  std::string key(kHeartbeatKeyPrefix);
  key += node_id;
  return key;
}

Heartbeat::Heartbeat(RedisClient* redis, HeartbeatInfo info,
                     std::function<nlohmann::json()> running_tasks)
    : redis_(redis),
      info_(std::move(info)),
      running_tasks_(std::move(running_tasks)),
      started_at_(NowIso8601Utc()) {}

Heartbeat::~Heartbeat() { Stop(false); }

Status Heartbeat::Beat() {
  nlohmann::json value = {
      {"node_id", info_.node_id},
      {"node_ip", info_.node_ip},
      {"hostname", info_.hostname},
      {"version", info_.version},
      {"pid", static_cast<int64_t>(::getpid())},
      {"started_at", started_at_},
      {"updated_at", NowIso8601Utc()},
      {"running_tasks", running_tasks_ ? running_tasks_() : nlohmann::json::array()},
      {"max_concurrent_tasks", info_.max_concurrent_tasks},
      {"queue", info_.queue},
      {"interval_s", info_.interval_s}};
  return redis_->Set(HeartbeatKey(info_.node_id), value.dump(),
                     std::max<int64_t>(1, info_.interval_s * kHeartbeatTtlIntervals));
}

void Heartbeat::Start() {
  stop_ = false;
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      lock.unlock();
      Status s = Beat();
      if (!s.ok()) Log().warn("heartbeat failed: {}", s.ToString());
      lock.lock();
      cv_.wait_for(lock, std::chrono::seconds(std::max<int64_t>(1, info_.interval_s)),
                   [&] { return stop_; });
    }
  });
}

void Heartbeat::Stop(bool remove_key) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (remove_key) {
    Status s = redis_->Del(HeartbeatKey(info_.node_id)).status();
    if (!s.ok()) Log().warn("could not delete the heartbeat key: {}", s.ToString());
  }
}

StatusOr<std::optional<nlohmann::json>> ReadHeartbeat(RedisClient& redis,
                                                      std::string_view node_id) {
  VEIL_ASSIGN_OR_RETURN(std::optional<std::string> value, redis.Get(HeartbeatKey(node_id)));
  if (!value) return std::optional<nlohmann::json>();
  nlohmann::json parsed = nlohmann::json::parse(*value, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) parsed = {{"raw", *value}};
  return std::optional<nlohmann::json>(std::move(parsed));
}

}  // namespace veil::worker
