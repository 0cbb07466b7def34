// RedisFake: an in-memory RedisClient for unit tests of the worker's upper layers (no server).
//
//   RedisFake redis;
//   redis.RegisterScript(kStoreResultScript, [](RedisFake::ScriptCall& call) { ... });
//   Worker worker(redis.NewConnection().value(), ...);   // handles share redis's data
//   redis.SetDown(true);                                  // simulate an outage
//
// Semantics: one database (SELECT is accepted and ignored) interpreting the commands the typed
// RedisClient methods send, with Redis's replies and errors (WRONGTYPE, wrong arity, syntax):
//   PING ECHO INFO SELECT DBSIZE FLUSHDB FLUSHALL KEYS TYPE
//   GET SET(EX|PX|NX|XX|KEEPTTL|GET) SETEX PSETEX SETNX MGET DEL UNLINK EXISTS EXPIRE PEXPIRE
//   PERSIST TTL PTTL INCR INCRBY DECR
//   LPUSH RPUSH LPOP RPOP LINDEX LRANGE LLEN LREM LMOVE RPOPLPUSH BRPOP BLPOP BLMOVE
//   HSET HMSET HGET HDEL HGETALL HLEN HEXISTS
//   ZADD(NX|XX|CH) ZREM ZSCORE ZCARD ZRANGEBYSCORE(WITHSCORES, LIMIT, "(" bounds)
//   PUBLISH XADD(MAXLEN [=|~] N, "*" or explicit id) XRANGE(COUNT, "(" bounds) XLEN EVAL
// Anything else is answered "ERR unknown command". The conformance suite
// (redis_conformance_test.cc) runs the same tests against this fake and a real redis-server.
// Differences from Redis, on purpose: XADD MAXLEN ~ trims exactly; HGETALL/KEYS return sorted
// order; TTLs follow the fake clock (AdvanceTime) while blocking pops wait in real time; stream
// ids use the wall clock.
//
// Blocking pops (BRPOP, BLPOP, BLMOVE) wait on a condition variable until an element arrives or
// their timeout passes (inside EVAL they do not block, as in Redis). Pub/sub delivers to fake
// subscribers in publish order.
//
// Scripts: EVAL runs the C++ handler registered for the exact script text with RegisterScript
// (the fake has no Lua). The handler runs atomically under the fake's lock and may call
// ScriptCall::Call like redis.call; it returns the reply the Lua script would (Lua number →
// Integer, string → String, table → Array, false/nil → Nil, redis.status_reply → SimpleString,
// error → Error). An unregistered script is an error reply ("ERR RedisFake: no handler ...").
//
// Outages: SetDown(true) makes every call fail with NetworkError "redis_unavailable" (after
// waiting up to outage_wait_ms for SetDown(false), which models the real client's reconnect
// budget); blocking pops in progress fail with "redis_reply_lost", like a real connection that
// dies mid-BRPOP; subscribers fail in Next and count a reconnect after the outage.
// LoseReplies(n) makes the next n commands run but lose their reply: kAtMostOnce calls get
// "redis_reply_lost", kIdempotent ones are run a second time (what the real client does).
//
// Thread safety: everything may be called from any thread; handles from NewConnection() share
// the data and may outlive this object. Subscribers are used by one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "veil/base/status.h"
#include "veil/worker/redis_client.h"

namespace veil::worker {

class RedisFake final : public RedisClient {
 public:
  // What a script handler sees: KEYS, ARGV and redis.call.
  class ScriptCall {
   public:
    virtual ~ScriptCall() = default;
    virtual const std::vector<std::string>& keys() const = 0;
    virtual const std::vector<std::string>& args() const = 0;
    // Runs one command atomically within the script; errors are returned as kError replies.
    virtual RedisReply Call(const std::vector<std::string>& argv) = 0;
  };
  using ScriptHandler = std::function<RedisReply(ScriptCall& call)>;

  RedisFake();
  ~RedisFake() override;
  RedisFake(const RedisFake&) = delete;
  RedisFake& operator=(const RedisFake&) = delete;

  StatusOr<RedisReply> Execute(const std::vector<std::string>& argv,
                               const RedisCallOptions& options) override;
  StatusOr<std::unique_ptr<RedisSubscriber>> NewSubscriber() override;
  // A handle on the same data (and outage state); it may outlive this object.
  StatusOr<std::unique_ptr<RedisClient>> NewConnection() override;
  std::string endpoint() const override { return "fake"; }

  // Registers (or replaces) the handler EVAL runs for exactly this script text.
  void RegisterScript(const std::string& script, ScriptHandler handler);

  void SetDown(bool down);
  bool down() const;
  // While down, how long a call waits for SetDown(false) before failing (default 0).
  void set_outage_wait_ms(int64_t ms);
  void LoseReplies(int count);

  // Moves the fake clock (key expiry) forward.
  void AdvanceTime(std::chrono::milliseconds by);
  // Commands executed so far (for tests that assert "nothing was sent").
  uint64_t commands_executed() const;

  class State;  // shared by the fake, its handles and its subscribers (defined in the .cc)

 private:
  std::shared_ptr<State> state_;
};

}  // namespace veil::worker
