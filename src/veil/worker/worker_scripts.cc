#include "veil/worker/worker_scripts.h"

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "veil/worker/celery_codec.h"
#include "veil/worker/lease.h"
#include "veil/worker/queue.h"
#include "veil/worker/status_publisher.h"

namespace veil::worker {

namespace {

using Call = RedisFake::ScriptCall;

std::string Str(const RedisReply& r) { return r.type == RedisReply::Type::kString ? r.str : ""; }

int64_t ToInt(const std::string& s) {
  try {
    return s.empty() ? 0 : std::stoll(s);
  } catch (const std::exception&) {
    return 0;
  }
}

bool IsSuccessMeta(const RedisReply& current) {
  if (current.type != RedisReply::Type::kString) return false;
  nlohmann::json meta = nlohmann::json::parse(current.str, nullptr, /*allow_exceptions=*/false);
  return meta.is_object() && meta.value("status", "") == "SUCCESS";
}

// SET key value [EX ttl] + PUBLISH unless a SUCCESS is stored. 1 if stored.
int64_t StoreUnlessSuccess(Call& c, const std::string& key, const std::string& value,
                           const std::string& ttl) {
  if (IsSuccessMeta(c.Call({"GET", key}))) return 0;
  if (ToInt(ttl) > 0) {
    c.Call({"SET", key, value, "EX", std::to_string(ToInt(ttl))});
  } else {
    c.Call({"SET", key, value});
  }
  c.Call({"PUBLISH", key, value});
  return 1;
}

void PublishThree(Call& c, const std::string& list, const std::string& stream,
                  const std::string& channel, const std::string& event, const std::string& maxlen,
                  const std::string& exec_id, const std::string& status) {
  c.Call({"PUBLISH", channel, event});
  c.Call({"LPUSH", list, event});
  std::vector<std::string> xadd = {"XADD", stream};
  if (ToInt(maxlen) > 0) {
    xadd.insert(xadd.end(), {"MAXLEN", "~", std::to_string(ToInt(maxlen))});
  }
  xadd.insert(xadd.end(), {"*", "event", event, "execution_id", exec_id, "status", status});
  c.Call(xadd);
}

void ReleaseIfOwned(Call& c, const std::string& lease, const std::string& token) {
  if (Str(c.Call({"GET", lease})) == token && !token.empty()) c.Call({"DEL", lease});
}

}  // namespace

void RegisterWorkerScripts(RedisFake& fake) {
  fake.RegisterScript(std::string(kStoreResultScript), [](Call& c) {
    return RedisReply::Integer(
        StoreUnlessSuccess(c, c.keys().at(0), c.args().at(0), c.args().at(1)));
  });
  fake.RegisterScript(std::string(kMoveFromProcessingScript), [](Call& c) {
    RedisReply removed = c.Call({"LREM", c.keys().at(0), "1", c.args().at(0)});
    if (removed.integer > 0) {
      c.Call({c.args().at(2) == "R" ? "RPUSH" : "LPUSH", c.keys().at(1), c.args().at(1)});
    }
    return RedisReply::Integer(removed.integer);
  });
  fake.RegisterScript(std::string(kParkScript), [](Call& c) {
    RedisReply removed = c.Call({"LREM", c.keys().at(0), "1", c.args().at(0)});
    if (removed.integer > 0) c.Call({"ZADD", c.keys().at(1), c.args().at(1), c.args().at(2)});
    return RedisReply::Integer(removed.integer);
  });
  fake.RegisterScript(std::string(kPromoteScript), [](Call& c) {
    RedisReply removed = c.Call({"ZREM", c.keys().at(0), c.args().at(0)});
    if (removed.integer > 0) c.Call({"LPUSH", c.keys().at(1), c.args().at(0)});
    return RedisReply::Integer(removed.integer);
  });
  fake.RegisterScript(std::string(kFinishScript), [](Call& c) {
    const auto& k = c.keys();
    const auto& a = c.args();
    if (!a.at(0).empty()) StoreUnlessSuccess(c, k.at(0), a.at(0), a.at(1));
    if (!a.at(4).empty()) {
      const int64_t last = ToInt(Str(c.Call({"HGET", k.at(1), "last_seq"})));
      if (ToInt(a.at(5)) > last) {
        c.Call({"HSET", k.at(1), "last_seq", a.at(5)});
        PublishThree(c, k.at(4), k.at(5), a.at(6), a.at(4), a.at(7), a.at(9), a.at(10));
      }
    }
    if (Str(c.Call({"HGET", k.at(1), "state"})) != "finished") {
      c.Call({"LREM", k.at(2), "1", a.at(2)});
      c.Call({"HSET", k.at(1), "state", "finished", "finished_at", a.at(8), "terminal_emitted",
              a.at(4).empty() ? "0" : "1"});
    }
    if (ToInt(a.at(11)) > 0) c.Call({"EXPIRE", k.at(1), std::to_string(ToInt(a.at(11)))});
    ReleaseIfOwned(c, k.at(3), a.at(3));
    return RedisReply::Integer(1);
  });
  fake.RegisterScript(std::string(kRetryScript), [](Call& c) {
    const auto& k = c.keys();
    const auto& a = c.args();
    RedisReply removed = c.Call({"LREM", k.at(0), "1", a.at(0)});
    if (removed.integer > 0) {
      c.Call({"ZADD", k.at(1), a.at(1), a.at(2)});
      c.Call({"HSET", k.at(2), "state", "retry_pending", "seq_base", a.at(3)});
      if (!a.at(5).empty()) StoreUnlessSuccess(c, k.at(4), a.at(5), a.at(6));
    }
    ReleaseIfOwned(c, k.at(3), a.at(4));
    return RedisReply::Integer(removed.integer);
  });
  fake.RegisterScript(std::string(kPublishEventScript), [](Call& c) {
    const auto& k = c.keys();
    const auto& a = c.args();
    if (!k.at(2).empty()) {
      const int64_t last = ToInt(Str(c.Call({"HGET", k.at(2), "last_seq"})));
      if (ToInt(a.at(2)) <= last) return RedisReply::Integer(0);
      c.Call({"HSET", k.at(2), "last_seq", a.at(2)});
    }
    PublishThree(c, k.at(0), k.at(1), a.at(0), a.at(1), a.at(3), a.at(4), a.at(5));
    return RedisReply::Integer(1);
  });
  fake.RegisterScript(std::string(kRenewLeaseScript), [](Call& c) {
    if (Str(c.Call({"GET", c.keys().at(0)})) != c.args().at(0)) return RedisReply::Integer(0);
    c.Call({"PEXPIRE", c.keys().at(0), c.args().at(1)});
    return RedisReply::Integer(1);
  });
  fake.RegisterScript(std::string(kReleaseLeaseScript), [](Call& c) {
    if (Str(c.Call({"GET", c.keys().at(0)})) != c.args().at(0)) return RedisReply::Integer(0);
    c.Call({"DEL", c.keys().at(0)});
    return RedisReply::Integer(1);
  });
}

}  // namespace veil::worker
