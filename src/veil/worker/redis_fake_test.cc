// RedisFake's test controls (outages, lost replies, the fake clock, scripts, shared handles).
// Its command semantics are checked against a real server in redis_conformance_test.cc.
#include "veil/worker/redis_fake.h"

#include <chrono>
#include <future>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include <gtest/gtest.h>

namespace veil::worker {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

int64_t MsSince(Clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - start).count();
}

TEST(RedisFakeTest, SetDownFailsEveryCallUntilItIsUp) {
  RedisFake redis;
  ASSERT_TRUE(redis.Set("k", "v").ok());
  redis.SetDown(true);
  EXPECT_TRUE(redis.down());
  auto get = redis.Get("k");
  ASSERT_FALSE(get.ok());
  EXPECT_EQ(get.status().code(), "redis_unavailable");
  EXPECT_EQ(get.status().type(), ErrorType::kNetwork);
  EXPECT_EQ(redis.LPush("q", "m").status().code(), "redis_unavailable");
  EXPECT_EQ(redis.NewSubscriber().value()->Subscribe({"c"}).code(), "redis_unavailable");
  redis.SetDown(false);
  get = redis.Get("k");
  ASSERT_TRUE(get.ok());
  EXPECT_EQ(*get, "v");
}

TEST(RedisFakeTest, OutageWaitModelsTheReconnectBudget) {
  RedisFake redis;
  ASSERT_TRUE(redis.Set("k", "v").ok());
  redis.set_outage_wait_ms(5000);
  redis.SetDown(true);
  std::thread up([&] {
    std::this_thread::sleep_for(milliseconds(150));
    redis.SetDown(false);
  });
  const Clock::time_point start = Clock::now();
  auto get = redis.Get("k");
  up.join();
  ASSERT_TRUE(get.ok()) << get.status().ToString();
  EXPECT_EQ(*get, "v");
  EXPECT_GE(MsSince(start), 100);

  redis.set_outage_wait_ms(100);
  redis.SetDown(true);
  const Clock::time_point start2 = Clock::now();
  EXPECT_EQ(redis.Get("k").status().code(), "redis_unavailable");
  EXPECT_GE(MsSince(start2), 90);
}

TEST(RedisFakeTest, OutageDuringABlockingPopLosesTheReply) {
  RedisFake redis;
  auto pop = std::async(std::launch::async, [&] { return redis.BRPop({"q"}, 5000); });
  std::this_thread::sleep_for(milliseconds(100));
  redis.SetDown(true);
  auto r = pop.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), "redis_reply_lost");
}

TEST(RedisFakeTest, LostRepliesFollowTheRetryRules) {
  RedisFake redis;
  // At-most-once: it ran, but the caller is told the outcome is unknown.
  redis.LoseReplies(1);
  auto pushed = redis.LPush("q", "m");
  ASSERT_FALSE(pushed.ok());
  EXPECT_EQ(pushed.status().code(), "redis_reply_lost");
  EXPECT_EQ(redis.LLen("q").value(), 1);
  // Idempotent: re-sent, so the caller sees success.
  redis.LoseReplies(1);
  EXPECT_TRUE(redis.Set("k", "v").ok());
  EXPECT_EQ(redis.Get("k").value(), "v");
}

TEST(RedisFakeTest, SetNxResolvesItsLostReplyByReadingBack) {
  RedisFake redis;
  redis.LoseReplies(1);
  auto got = redis.SetNx("lease", "token-mine", 30000);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(*got);
  ASSERT_TRUE(redis.Set("lease2", "token-theirs").ok());
  redis.LoseReplies(1);
  got = redis.SetNx("lease2", "token-mine", 30000);
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(*got);
}

TEST(RedisFakeTest, TtlsFollowTheFakeClock) {
  RedisFake redis;
  ASSERT_TRUE(redis.Set("meta", "x", 10).ok());
  ASSERT_TRUE(redis.SetNx("lease", "a", 1500).value());
  redis.AdvanceTime(milliseconds(1600));
  EXPECT_TRUE(redis.SetNx("lease", "b", 1500).value()) << "an expired lease can be taken";
  EXPECT_EQ(redis.Get("meta").value(), "x");
  redis.AdvanceTime(milliseconds(9000));
  EXPECT_FALSE(redis.Get("meta").value().has_value());
  EXPECT_FALSE(redis.Exists("meta").value());
}

TEST(RedisFakeTest, ScriptsMustBeRegistered) {
  RedisFake redis;
  auto r = redis.Eval("return 1", {}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), "redis_error");
  EXPECT_NE(r.status().message().find("RegisterScript"), std::string::npos);
  redis.RegisterScript("return 1", [](RedisFake::ScriptCall& call) {
    EXPECT_EQ(call.keys(), (std::vector<std::string>{"k1"}));
    EXPECT_EQ(call.args(), (std::vector<std::string>{"a1", "a2"}));
    call.Call({"INCR", call.keys()[0]});
    return call.Call({"EVAL", "x", "0"});  // nested EVAL is refused, as in Redis
  });
  r = redis.Eval("return 1", {"k1"}, {"a1", "a2"});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(redis.Get("k1").value(), "1");
}

TEST(RedisFakeTest, HandlesShareDataAndOutliveTheFake) {
  auto redis = std::make_unique<RedisFake>();
  std::unique_ptr<RedisClient> handle = redis->NewConnection().value();
  ASSERT_TRUE(redis->Set("k", "v").ok());
  EXPECT_EQ(handle->Get("k").value(), "v");
  redis->SetDown(true);
  EXPECT_EQ(handle->Ping().code(), "redis_unavailable");
  redis->SetDown(false);
  std::unique_ptr<RedisClient> second = handle->NewConnection().value();
  redis.reset();
  EXPECT_TRUE(second->Set("k2", "v2").ok());
  EXPECT_EQ(handle->Get("k2").value(), "v2");
  EXPECT_EQ(handle->endpoint(), "fake");
}

TEST(RedisFakeTest, SubscribersSeeOutagesAsReconnects) {
  RedisFake redis;
  auto sub = redis.Subscribe({"c"}).value();
  redis.SetDown(true);
  EXPECT_EQ(sub->Next(10).status().code(), "redis_unavailable");
  EXPECT_EQ(sub->reconnects(), 0u);
  redis.SetDown(false);
  EXPECT_EQ(sub->reconnects(), 1u);
  EXPECT_EQ(redis.Publish("c", "m").value(), 1);
  EXPECT_EQ(sub->Next(1000).value()->payload, "m");
  sub.reset();
  EXPECT_EQ(redis.Publish("c", "m").value(), 0) << "a destroyed subscriber unsubscribes";
}

TEST(RedisFakeTest, CountsCommandsAndRejectsUnknownOnes) {
  RedisFake redis;
  EXPECT_EQ(redis.commands_executed(), 0u);
  ASSERT_TRUE(redis.Ping().ok());
  auto r = redis.Command({"CLUSTER", "INFO"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not supported by RedisFake"), std::string::npos);
  EXPECT_EQ(redis.commands_executed(), 2u);
}

TEST(RedisFakeTest, ConcurrentBlockingPopsEachGetOneElement) {
  RedisFake redis;
  auto first = std::async(std::launch::async, [&] { return redis.BRPop({"q"}, 3000); });
  std::this_thread::sleep_for(milliseconds(50));
  auto second = std::async(std::launch::async, [&] {
    return redis.BLMove("q", "proc", RedisListEnd::kRight, RedisListEnd::kLeft, 3000);
  });
  std::this_thread::sleep_for(milliseconds(50));
  ASSERT_TRUE(redis.LPush("q", std::vector<std::string>{"a", "b"}).ok());
  auto a = first.get();
  auto b = second.get();
  ASSERT_TRUE(a.ok() && a->has_value());
  ASSERT_TRUE(b.ok() && b->has_value());
  // Both were delivered exactly once, whichever waiter won each.
  std::set<std::string> got = {(*a)->value, **b};
  EXPECT_EQ(got, (std::set<std::string>{"a", "b"}));
  EXPECT_EQ(redis.LLen("q").value(), 0);
}

}  // namespace
}  // namespace veil::worker
