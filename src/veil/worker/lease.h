// Task leases (SPEC §5 "never runs twice concurrently"): `veil:lease:<celery_id>` holds the
// unique token of the worker instance running the task, with a TTL (VEIL_LEASE_TTL_SECONDS). The
// owner renews it every VEIL_LEASE_RENEW_SECONDS with a compare-and-renew script; a crashed
// worker's lease simply expires, after which recovery may take the task over. A task whose lease
// is held by another token is never run.
//
//   Leases leases(redis, token, /*ttl_ms=*/60000);
//   VEIL_ASSIGN_OR_RETURN(bool mine, leases.Acquire(celery_id));
//   ... every renew interval: leases.RenewAll()  → ids whose lease was lost
//   leases.Release(celery_id);
//
// Errors: the RedisClient's. Thread safety: all methods may be called concurrently (the set of
// held leases is guarded by a mutex; the RedisClient serializes its own calls).
#pragma once

#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "veil/base/status.h"
#include "veil/worker/redis_client.h"

namespace veil::worker {

// KEYS[1] lease; ARGV[1] token, ARGV[2] ttl ms. 1 if renewed (still ours), else 0.
inline constexpr std::string_view kRenewLeaseScript = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
)lua";

// KEYS[1] lease; ARGV[1] token. 1 if it was ours and is deleted, else 0.
inline constexpr std::string_view kReleaseLeaseScript = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
)lua";

class Leases {
 public:
  // `redis` is not owned and must outlive this object. `token` identifies this worker instance.
  Leases(RedisClient* redis, std::string token, int64_t ttl_ms);

  // SET NX PX: true if the lease is now ours (also when we already held it).
  StatusOr<bool> Acquire(std::string_view celery_id);
  // Deletes the lease if it is still ours; forgets it either way.
  Status Release(std::string_view celery_id);
  // Forgets a lease without touching Redis (FinishTask deleted it).
  void Forget(std::string_view celery_id);
  // Renews every held lease. A lease that expired meanwhile (Redis was unreachable longer than
  // the TTL) is re-acquired when nobody else took it. Returns the ids whose lease is now held by
  // someone else: their tasks must stop. Transport errors are returned (nothing is forgotten).
  StatusOr<std::vector<std::string>> RenewAll();

  const std::string& token() const { return token_; }
  int64_t ttl_ms() const { return ttl_ms_; }
  std::vector<std::string> held() const;

 private:
  RedisClient* redis_;
  const std::string token_;
  const int64_t ttl_ms_;
  mutable std::mutex mu_;
  std::set<std::string, std::less<>> held_;
};

}  // namespace veil::worker
