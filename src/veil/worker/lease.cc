#include "veil/worker/lease.h"

#include "veil/worker/queue.h"

namespace veil::worker {

Leases::Leases(RedisClient* redis, std::string token, int64_t ttl_ms)
    : redis_(redis), token_(std::move(token)), ttl_ms_(ttl_ms) {}

StatusOr<bool> Leases::Acquire(std::string_view celery_id) {
  const std::string key = LeaseKey(celery_id);
  VEIL_ASSIGN_OR_RETURN(bool acquired, redis_->SetNx(key, token_, ttl_ms_));
  if (!acquired) {
    // Ours already (e.g. a re-admitted message)? Then renew instead.
    VEIL_ASSIGN_OR_RETURN(std::optional<std::string> holder, redis_->Get(key));
    acquired = holder && *holder == token_;
  }
  if (acquired) {
    std::lock_guard<std::mutex> lock(mu_);
    held_.insert(std::string(celery_id));
  }
  return acquired;
}

Status Leases::Release(std::string_view celery_id) {
  Forget(celery_id);
  return redis_->Eval(kReleaseLeaseScript, {LeaseKey(celery_id)}, {token_}, RedisRetry::kIdempotent)
      .status();
}

void Leases::Forget(std::string_view celery_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = held_.find(celery_id);
  if (it != held_.end()) held_.erase(it);
}

std::vector<std::string> Leases::held() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {held_.begin(), held_.end()};
}

StatusOr<std::vector<std::string>> Leases::RenewAll() {
  std::vector<std::string> lost;
  for (const std::string& id : held()) {
    VEIL_ASSIGN_OR_RETURN(RedisReply reply,
                          redis_->Eval(kRenewLeaseScript, {LeaseKey(id)},
                                       {token_, std::to_string(ttl_ms_)}, RedisRetry::kIdempotent));
    if (reply.type == RedisReply::Type::kInteger && reply.integer == 1) continue;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!held_.count(id)) continue;  // released meanwhile
    }
    VEIL_ASSIGN_OR_RETURN(bool mine, redis_->SetNx(LeaseKey(id), token_, ttl_ms_));
    if (!mine) {
      lost.push_back(id);
      Forget(id);
    }
  }
  return lost;
}

}  // namespace veil::worker
