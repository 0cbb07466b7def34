// One suite, two implementations: every RedisClient command against a private redis-server
// (RedisHiredisClient over RedisTestServer) and against RedisFake, so the fake's semantics are
// checked against the real thing.
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "veil/worker/celery_codec.h"
#include "veil/worker/redis_client.h"
#include "veil/worker/redis_fake.h"
#include "veil/worker/redis_hiredis.h"
#include "veil/worker/redis_test_server.h"
#include "veil/worker/worker_scripts.h"

namespace veil::worker {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

int64_t MsSince(Clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - start).count();
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

constexpr char kErrorScript[] = "return redis.error_reply('ERR boom from script')";

// The fake's C++ twin of kErrorScript (the worker's scripts come from RegisterWorkerScripts).
RedisReply ErrorHandler(RedisFake::ScriptCall&) {
  return RedisReply::Error("ERR boom from script");
}

enum class Backend { kReal, kFake };

std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kReal ? "Real" : "Fake";
}

// One server per test process, started on first use (ctest runs each test in its own process).
RedisTestServer* SharedServer(Status* error) {
  static StatusOr<std::unique_ptr<RedisTestServer>> server = RedisTestServer::Start();
  if (!server.ok()) {
    *error = server.status();
    return nullptr;
  }
  return server->get();
}

class RedisConformanceTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kReal) {
      Status error;
      server_ = SharedServer(&error);
      ASSERT_NE(server_, nullptr) << error.ToString();
      auto client = RedisHiredisClient::Connect(server_->options());
      ASSERT_TRUE(client.ok()) << client.status().ToString();
      client_ = std::move(*client);
      ASSERT_TRUE(client_->Command({"FLUSHALL"}).ok());
    } else {
      fake_ = std::make_unique<RedisFake>();
      RegisterWorkerScripts(*fake_);  // the worker's scripts, incl. kStoreResultScript
      fake_->RegisterScript(kErrorScript, ErrorHandler);
      auto client = fake_->NewConnection();
      ASSERT_TRUE(client.ok());
      client_ = std::move(*client);
    }
  }

  RedisClient& redis() { return *client_; }

  std::unique_ptr<RedisClient> NewClient() {
    auto c = client_->NewConnection();
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(*c) : nullptr;
  }

  RedisTestServer* server_ = nullptr;
  std::unique_ptr<RedisFake> fake_;
  std::unique_ptr<RedisClient> client_;
};

INSTANTIATE_TEST_SUITE_P(Backends, RedisConformanceTest,
                         ::testing::Values(Backend::kReal, Backend::kFake), BackendName);

#define ASSERT_OK_AND_ASSIGN(lhs, expr)                           \
  auto VEIL_STATUS_CONCAT_(tmp_, __LINE__) = (expr);              \
  ASSERT_TRUE(VEIL_STATUS_CONCAT_(tmp_, __LINE__).ok())           \
      << VEIL_STATUS_CONCAT_(tmp_, __LINE__).status().ToString(); \
  lhs = std::move(VEIL_STATUS_CONCAT_(tmp_, __LINE__)).value()

#define ASSERT_OK(expr)                    \
  do {                                     \
    ::veil::Status s_ = (expr);            \
    ASSERT_TRUE(s_.ok()) << s_.ToString(); \
  } while (0)

TEST_P(RedisConformanceTest, PingAndInfo) {
  ASSERT_OK(redis().Ping());
  ASSERT_OK_AND_ASSIGN(std::string info, redis().Info("server"));
  EXPECT_TRUE(Contains(info, "redis_version:")) << info;
  EXPECT_NE(redis().endpoint(), "");
}

TEST_P(RedisConformanceTest, StringsGetSetExistsDel) {
  ASSERT_OK_AND_ASSIGN(auto missing, redis().Get("k"));
  EXPECT_FALSE(missing.has_value());
  ASSERT_OK(redis().Set("k", "v1"));
  ASSERT_OK(redis().Set("k", "v2"));
  ASSERT_OK_AND_ASSIGN(auto v, redis().Get("k"));
  EXPECT_EQ(v, "v2");
  ASSERT_OK_AND_ASSIGN(bool exists, redis().Exists("k"));
  EXPECT_TRUE(exists);
  ASSERT_OK_AND_ASSIGN(bool deleted, redis().Del("k"));
  EXPECT_TRUE(deleted);
  ASSERT_OK_AND_ASSIGN(deleted, redis().Del("k"));
  EXPECT_FALSE(deleted);
  ASSERT_OK_AND_ASSIGN(exists, redis().Exists("k"));
  EXPECT_FALSE(exists);
  ASSERT_OK(redis().Set("a", "1"));
  ASSERT_OK(redis().Set("b", "2"));
  ASSERT_OK_AND_ASSIGN(int64_t n, redis().DelKeys({"a", "b", "c"}));
  EXPECT_EQ(n, 2);
  ASSERT_OK_AND_ASSIGN(n, redis().DelKeys({}));
  EXPECT_EQ(n, 0);
}

TEST_P(RedisConformanceTest, SetWithTtlAndExpire) {
  ASSERT_OK(redis().Set("meta", "{}", 86400));
  ASSERT_OK_AND_ASSIGN(RedisReply ttl, redis().Command({"TTL", "meta"}));
  EXPECT_EQ(ttl.type, RedisReply::Type::kInteger);
  EXPECT_GT(ttl.integer, 86390);
  EXPECT_LE(ttl.integer, 86400);
  ASSERT_OK_AND_ASSIGN(bool set, redis().Expire("meta", 50));
  EXPECT_TRUE(set);
  ASSERT_OK_AND_ASSIGN(ttl, redis().Command({"TTL", "meta"}));
  EXPECT_LE(ttl.integer, 50);
  EXPECT_GT(ttl.integer, 40);
  ASSERT_OK_AND_ASSIGN(set, redis().Expire("nope", 50));
  EXPECT_FALSE(set);
  ASSERT_OK(redis().Set("plain", "x"));
  ASSERT_OK_AND_ASSIGN(ttl, redis().Command({"TTL", "plain"}));
  EXPECT_EQ(ttl.integer, -1);
  EXPECT_EQ(redis().Set("k", "v", -1).code(), "redis_bad_argument");
  EXPECT_EQ(redis().Expire("k", 0).status().code(), "redis_bad_argument");
}

TEST_P(RedisConformanceTest, SetNxIsALease) {
  ASSERT_OK_AND_ASSIGN(bool got, redis().SetNx("lease:t1", "token-a", 10000));
  EXPECT_TRUE(got);
  ASSERT_OK_AND_ASSIGN(got, redis().SetNx("lease:t1", "token-b", 10000));
  EXPECT_FALSE(got);
  ASSERT_OK_AND_ASSIGN(auto holder, redis().Get("lease:t1"));
  EXPECT_EQ(holder, "token-a");
  ASSERT_OK_AND_ASSIGN(RedisReply pttl, redis().Command({"PTTL", "lease:t1"}));
  EXPECT_GT(pttl.integer, 9000);
  EXPECT_LE(pttl.integer, 10000);
  EXPECT_EQ(redis().SetNx("x", "y", 0).status().code(), "redis_bad_argument");
}

TEST_P(RedisConformanceTest, IncrAndWrongValue) {
  ASSERT_OK_AND_ASSIGN(int64_t n, redis().Incr("counter"));
  EXPECT_EQ(n, 1);
  ASSERT_OK_AND_ASSIGN(n, redis().Incr("counter"));
  EXPECT_EQ(n, 2);
  ASSERT_OK(redis().Set("text", "abc"));
  auto bad = redis().Incr("text");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), "redis_error");
  EXPECT_EQ(bad.status().type(), ErrorType::kInternal);
  EXPECT_TRUE(Contains(bad.status().message(), "not an integer")) << bad.status().ToString();
}

TEST_P(RedisConformanceTest, WrongTypeIsARedisError) {
  ASSERT_OK_AND_ASSIGN(int64_t len, redis().LPush("list", "x"));
  EXPECT_EQ(len, 1);
  auto get = redis().Get("list");
  ASSERT_FALSE(get.ok());
  EXPECT_EQ(get.status().code(), "redis_error");
  EXPECT_TRUE(Contains(get.status().message(), "WRONGTYPE")) << get.status().ToString();
  EXPECT_TRUE(Contains(get.status().message(), "GET")) << get.status().ToString();
  EXPECT_FALSE(redis().HGet("list", "f").ok());
  EXPECT_FALSE(redis().ZAdd("list", 1, "m").ok());
  EXPECT_FALSE(redis().XLen("list").ok());
}

TEST_P(RedisConformanceTest, BinarySafeKeysAndValues) {
  const std::string key = std::string("secretflow_queue\x06\x16") + "3";
  const std::string value = std::string("a\0b\0\xff\x06\x16", 7);
  ASSERT_OK(redis().Set(key, value));
  ASSERT_OK_AND_ASSIGN(auto got, redis().Get(key));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, value);
  EXPECT_EQ(got->size(), 7u);

  const std::string list = std::string("q\x06\x16") + "6";
  ASSERT_OK(redis().LPush(list, value).status());
  ASSERT_OK_AND_ASSIGN(auto popped, redis().BRPop({list}, 1000));
  ASSERT_TRUE(popped.has_value());
  EXPECT_EQ(popped->key, list);
  EXPECT_EQ(popped->value, value);

  ASSERT_OK(redis().HSet("unacked", value, value).status());
  ASSERT_OK_AND_ASSIGN(auto field, redis().HGet("unacked", value));
  EXPECT_EQ(field, value);

  ASSERT_OK(redis().XAdd("s", {{value, value}}).status());
  ASSERT_OK_AND_ASSIGN(auto entries, redis().XRange("s"));
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].fields, (RedisFields{{value, value}}));
}

TEST_P(RedisConformanceTest, ListsPushRangeLenRem) {
  ASSERT_OK_AND_ASSIGN(int64_t len, redis().RPush("l", std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(len, 2);
  ASSERT_OK_AND_ASSIGN(len, redis().LPush("l", "a"));
  EXPECT_EQ(len, 3);
  ASSERT_OK_AND_ASSIGN(len, redis().RPush("l", "a"));
  EXPECT_EQ(len, 4);
  ASSERT_OK_AND_ASSIGN(auto all, redis().LRange("l", 0, -1));
  EXPECT_EQ(all, (std::vector<std::string>{"a", "b", "c", "a"}));
  ASSERT_OK_AND_ASSIGN(auto middle, redis().LRange("l", 1, 2));
  EXPECT_EQ(middle, (std::vector<std::string>{"b", "c"}));
  ASSERT_OK_AND_ASSIGN(auto tail, redis().LRange("l", -2, 100));
  EXPECT_EQ(tail, (std::vector<std::string>{"c", "a"}));
  ASSERT_OK_AND_ASSIGN(auto none, redis().LRange("l", 5, 10));
  EXPECT_TRUE(none.empty());
  ASSERT_OK_AND_ASSIGN(int64_t removed, redis().LRem("l", -1, "a"));
  EXPECT_EQ(removed, 1);
  ASSERT_OK_AND_ASSIGN(all, redis().LRange("l", 0, -1));
  EXPECT_EQ(all, (std::vector<std::string>{"a", "b", "c"}));
  ASSERT_OK_AND_ASSIGN(removed, redis().LRem("l", 0, "zzz"));
  EXPECT_EQ(removed, 0);
  ASSERT_OK_AND_ASSIGN(len, redis().LLen("l"));
  EXPECT_EQ(len, 3);
  ASSERT_OK_AND_ASSIGN(len, redis().LLen("missing"));
  EXPECT_EQ(len, 0);
  EXPECT_EQ(redis().LPush("l", std::vector<std::string>{}).status().code(), "redis_bad_argument");
}

// kombu's layout: producers LPUSH, consumers BRPOP the base queue first, then the \x06\x16
// buckets 3, 6, 9; each bucket FIFO.
TEST_P(RedisConformanceTest, BRPopServesKeysInPriorityOrder) {
  const std::string q = "secretflow_queue";
  const std::vector<std::string> buckets = {q, q + "\x06\x16" + "3", q + "\x06\x16" + "6",
                                            q + "\x06\x16" + "9"};
  ASSERT_OK(redis().LPush(buckets[3], "p9").status());
  ASSERT_OK(redis().LPush(buckets[1], "p3-first").status());
  ASSERT_OK(redis().LPush(buckets[1], "p3-second").status());
  ASSERT_OK(redis().LPush(buckets[0], "p0").status());
  std::vector<std::string> order;
  for (int i = 0; i < 4; ++i) {
    ASSERT_OK_AND_ASSIGN(auto kv, redis().BRPop(buckets, 1000));
    ASSERT_TRUE(kv.has_value());
    order.push_back(kv->value);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"p0", "p3-first", "p3-second", "p9"}));
  ASSERT_OK_AND_ASSIGN(int64_t left, redis().LLen(buckets[3]));
  EXPECT_EQ(left, 0);
}

TEST_P(RedisConformanceTest, BRPopTimesOut) {
  const Clock::time_point start = Clock::now();
  ASSERT_OK_AND_ASSIGN(auto kv, redis().BRPop({"empty1", "empty2"}, 300));
  EXPECT_FALSE(kv.has_value());
  EXPECT_GE(MsSince(start), 250);
  EXPECT_LT(MsSince(start), 2000);
  EXPECT_EQ(redis().BRPop({"q"}, 0).status().code(), "redis_bad_argument");
  EXPECT_EQ(redis().BRPop({}, 100).status().code(), "redis_bad_argument");
}

TEST_P(RedisConformanceTest, BRPopWakesWhenAnotherClientPushes) {
  std::unique_ptr<RedisClient> producer = NewClient();
  ASSERT_NE(producer, nullptr);
  std::thread push([&] {
    std::this_thread::sleep_for(milliseconds(150));
    EXPECT_TRUE(producer->LPush("jobs", "job-1").ok());
  });
  const Clock::time_point start = Clock::now();
  auto kv = redis().BRPop({"jobs"}, 5000);
  push.join();
  ASSERT_TRUE(kv.ok()) << kv.status().ToString();
  ASSERT_TRUE(kv->has_value());
  EXPECT_EQ((*kv)->value, "job-1");
  EXPECT_LT(MsSince(start), 3000);
}

// The reliable-queue pattern: move to a per-worker processing list atomically, ack by LREM.
TEST_P(RedisConformanceTest, BLMoveReliableQueuePattern) {
  const std::string q = "secretflow_queue";
  const std::string processing = "veil.processing.node1";
  ASSERT_OK(redis().LPush(q, std::vector<std::string>{"m1", "m2", "m3"}).status());
  ASSERT_OK_AND_ASSIGN(
      auto moved, redis().BLMove(q, processing, RedisListEnd::kRight, RedisListEnd::kLeft, 1000));
  EXPECT_EQ(moved, "m1");
  ASSERT_OK_AND_ASSIGN(auto in_flight, redis().LRange(processing, 0, -1));
  EXPECT_EQ(in_flight, (std::vector<std::string>{"m1"}));
  ASSERT_OK_AND_ASSIGN(int64_t queued, redis().LLen(q));
  EXPECT_EQ(queued, 2);
  ASSERT_OK_AND_ASSIGN(int64_t acked, redis().LRem(processing, 1, "m1"));
  EXPECT_EQ(acked, 1);

  ASSERT_OK_AND_ASSIGN(moved,
                       redis().LMove(q, processing, RedisListEnd::kRight, RedisListEnd::kLeft));
  EXPECT_EQ(moved, "m2");
  // Recovery on restart: put in-flight work back at the consuming end of the queue.
  ASSERT_OK_AND_ASSIGN(moved,
                       redis().LMove(processing, q, RedisListEnd::kLeft, RedisListEnd::kRight));
  EXPECT_EQ(moved, "m2");
  ASSERT_OK_AND_ASSIGN(auto queue, redis().LRange(q, 0, -1));
  EXPECT_EQ(queue, (std::vector<std::string>{"m3", "m2"}));

  ASSERT_OK_AND_ASSIGN(
      moved, redis().LMove("empty", processing, RedisListEnd::kRight, RedisListEnd::kLeft));
  EXPECT_FALSE(moved.has_value());
  const Clock::time_point start = Clock::now();
  ASSERT_OK_AND_ASSIGN(
      moved, redis().BLMove("empty", processing, RedisListEnd::kRight, RedisListEnd::kLeft, 200));
  EXPECT_FALSE(moved.has_value());
  EXPECT_GE(MsSince(start), 150);
  EXPECT_EQ(
      redis().BLMove(q, processing, RedisListEnd::kRight, RedisListEnd::kLeft, 0).status().code(),
      "redis_bad_argument");
}

TEST_P(RedisConformanceTest, BLMoveWakesWhenAnotherClientPushes) {
  std::unique_ptr<RedisClient> producer = NewClient();
  ASSERT_NE(producer, nullptr);
  std::thread push([&] {
    std::this_thread::sleep_for(milliseconds(150));
    EXPECT_TRUE(producer->LPush("q", "late").ok());
  });
  auto moved = redis().BLMove("q", "proc", RedisListEnd::kRight, RedisListEnd::kLeft, 5000);
  push.join();
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  EXPECT_EQ(*moved, "late");
  ASSERT_OK_AND_ASSIGN(auto proc, redis().LRange("proc", 0, -1));
  EXPECT_EQ(proc, (std::vector<std::string>{"late"}));
}

TEST_P(RedisConformanceTest, Hashes) {
  ASSERT_OK_AND_ASSIGN(int64_t added, redis().HSet("h", "f1", "v1"));
  EXPECT_EQ(added, 1);
  ASSERT_OK_AND_ASSIGN(added, redis().HSet("h", "f1", "v1b"));
  EXPECT_EQ(added, 0);
  ASSERT_OK_AND_ASSIGN(added, redis().HSet("h", RedisFields{{"f2", "v2"}, {"f3", "v3"}}));
  EXPECT_EQ(added, 2);
  ASSERT_OK_AND_ASSIGN(auto v, redis().HGet("h", "f1"));
  EXPECT_EQ(v, "v1b");
  ASSERT_OK_AND_ASSIGN(v, redis().HGet("h", "nope"));
  EXPECT_FALSE(v.has_value());
  ASSERT_OK_AND_ASSIGN(auto all, redis().HGetAll("h"));
  EXPECT_EQ(all, (std::map<std::string, std::string>{{"f1", "v1b"}, {"f2", "v2"}, {"f3", "v3"}}));
  ASSERT_OK_AND_ASSIGN(int64_t removed, redis().HDel("h", "f2"));
  EXPECT_EQ(removed, 1);
  ASSERT_OK_AND_ASSIGN(removed, redis().HDel("h", "f2"));
  EXPECT_EQ(removed, 0);
  ASSERT_OK_AND_ASSIGN(all, redis().HGetAll("missing"));
  EXPECT_TRUE(all.empty());
}

TEST_P(RedisConformanceTest, SortedSets) {
  ASSERT_OK_AND_ASSIGN(int64_t n, redis().ZAdd("unacked_index", 100.5, "tag-a"));
  EXPECT_EQ(n, 1);
  ASSERT_OK_AND_ASSIGN(n, redis().ZAdd("unacked_index", 100.5, "tag-a"));
  EXPECT_EQ(n, 0);  // unchanged
  ASSERT_OK_AND_ASSIGN(n, redis().ZAdd("unacked_index", 50, "tag-b"));
  EXPECT_EQ(n, 1);
  // XX: refresh an existing member's score; never adds.
  ASSERT_OK_AND_ASSIGN(n, redis().ZAdd("unacked_index", 200, "tag-a", RedisZAddMode::kUpdateOnly));
  EXPECT_EQ(n, 1);
  ASSERT_OK_AND_ASSIGN(n, redis().ZAdd("unacked_index", 300, "gone", RedisZAddMode::kUpdateOnly));
  EXPECT_EQ(n, 0);
  // NX: only adds.
  ASSERT_OK_AND_ASSIGN(n, redis().ZAdd("unacked_index", 1, "tag-b", RedisZAddMode::kAddOnly));
  EXPECT_EQ(n, 0);
  ASSERT_OK_AND_ASSIGN(n, redis().ZAdd("unacked_index", 0.25, "tag-c", RedisZAddMode::kAddOnly));
  EXPECT_EQ(n, 1);

  const double inf = std::numeric_limits<double>::infinity();
  ASSERT_OK_AND_ASSIGN(auto all, redis().ZRangeByScore("unacked_index", -inf, inf));
  EXPECT_EQ(all, (std::vector<RedisScoredMember>{{"tag-c", 0.25}, {"tag-b", 50}, {"tag-a", 200}}));
  ASSERT_OK_AND_ASSIGN(auto old, redis().ZRangeByScore("unacked_index", -inf, 100));
  EXPECT_EQ(old, (std::vector<RedisScoredMember>{{"tag-c", 0.25}, {"tag-b", 50}}));
  ASSERT_OK_AND_ASSIGN(auto first, redis().ZRangeByScore("unacked_index", 1, inf, 1));
  EXPECT_EQ(first, (std::vector<RedisScoredMember>{{"tag-b", 50}}));
  ASSERT_OK_AND_ASSIGN(n, redis().ZRem("unacked_index", "tag-b"));
  EXPECT_EQ(n, 1);
  ASSERT_OK_AND_ASSIGN(n, redis().ZRem("unacked_index", "tag-b"));
  EXPECT_EQ(n, 0);
  ASSERT_OK_AND_ASSIGN(auto none, redis().ZRangeByScore("missing", -inf, inf));
  EXPECT_TRUE(none.empty());
  // Epoch-seconds scores keep their microseconds.
  ASSERT_OK(redis().ZAdd("z2", 1763676292.123456, "t").status());
  ASSERT_OK_AND_ASSIGN(auto precise, redis().ZRangeByScore("z2", 0, inf));
  ASSERT_EQ(precise.size(), 1u);
  EXPECT_DOUBLE_EQ(precise[0].score, 1763676292.123456);
}

TEST_P(RedisConformanceTest, PubSubWithASubscriberThread) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RedisSubscriber> sub,
                       redis().Subscribe({"celery-task-meta-t1"}));
  ASSERT_OK(sub->PSubscribe({"/0.celeryev/*"}));
  ASSERT_OK_AND_ASSIGN(auto nothing, sub->Next(50));
  EXPECT_FALSE(nothing.has_value());

  std::vector<RedisMessage> received;
  std::thread reader([&] {
    while (received.size() < 3) {
      auto m = sub->Next(5000);
      if (!m.ok() || !m->has_value()) break;
      received.push_back(**m);
    }
  });
  ASSERT_OK_AND_ASSIGN(int64_t receivers, redis().Publish("celery-task-meta-t1", "{\"a\":1}"));
  EXPECT_EQ(receivers, 1);
  ASSERT_OK_AND_ASSIGN(receivers, redis().Publish("/0.celeryev/task.started", "ev"));
  EXPECT_EQ(receivers, 1);
  ASSERT_OK_AND_ASSIGN(receivers, redis().Publish("other", "x"));
  EXPECT_EQ(receivers, 0);
  const std::string binary("\0bin\x06\x16", 6);
  ASSERT_OK(redis().Publish("celery-task-meta-t1", binary).status());
  reader.join();
  ASSERT_EQ(received.size(), 3u);
  EXPECT_EQ(received[0], (RedisMessage{"celery-task-meta-t1", "{\"a\":1}", ""}));
  EXPECT_EQ(received[1], (RedisMessage{"/0.celeryev/task.started", "ev", "/0.celeryev/*"}));
  EXPECT_EQ(received[2], (RedisMessage{"celery-task-meta-t1", binary, ""}));
  EXPECT_EQ(sub->reconnects(), 0u);
}

TEST_P(RedisConformanceTest, StreamsAddRangeLen) {
  ASSERT_OK_AND_ASSIGN(std::string id1, redis().XAdd("task_status_stream", {{"seq", "1"}}));
  ASSERT_OK_AND_ASSIGN(std::string id2,
                       redis().XAdd("task_status_stream", {{"seq", "2"}, {"stage", "RUNNING"}}));
  ASSERT_OK_AND_ASSIGN(std::string id3, redis().XAdd("task_status_stream", {{"seq", "3"}}));
  EXPECT_NE(id1, id2);
  ASSERT_OK_AND_ASSIGN(auto entries, redis().XRange("task_status_stream"));
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].id, id1);
  EXPECT_EQ(entries[1], (RedisStreamEntry{id2, {{"seq", "2"}, {"stage", "RUNNING"}}}));
  EXPECT_EQ(entries[2].id, id3);
  ASSERT_OK_AND_ASSIGN(auto from2, redis().XRange("task_status_stream", id2, "+", 1));
  ASSERT_EQ(from2.size(), 1u);
  EXPECT_EQ(from2[0].id, id2);
  ASSERT_OK_AND_ASSIGN(auto after2, redis().XRange("task_status_stream", "(" + id2));
  ASSERT_EQ(after2.size(), 1u);
  EXPECT_EQ(after2[0].id, id3);
  ASSERT_OK_AND_ASSIGN(int64_t len, redis().XLen("task_status_stream"));
  EXPECT_EQ(len, 3);
  ASSERT_OK_AND_ASSIGN(len, redis().XLen("missing"));
  EXPECT_EQ(len, 0);
  EXPECT_EQ(redis().XAdd("s", {}).status().code(), "redis_bad_argument");
}

TEST_P(RedisConformanceTest, XAddTrimsWithMaxLen) {
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    ASSERT_OK_AND_ASSIGN(std::string id,
                         redis().XAdd("exact", {{"i", std::to_string(i)}}, 5, false));
    ids.push_back(id);
  }
  ASSERT_OK_AND_ASSIGN(auto kept, redis().XRange("exact"));
  ASSERT_EQ(kept.size(), 5u);
  EXPECT_EQ(kept.front().id, ids[15]);
  EXPECT_EQ(kept.back().id, ids[19]);
  // Approximate trimming drops whole nodes (100 entries each by default): never below the
  // limit, far below the count written.
  for (int i = 0; i < 350; ++i) {
    ASSERT_OK(redis().XAdd("approx", {{"i", std::to_string(i)}}, 10).status());
  }
  ASSERT_OK_AND_ASSIGN(int64_t len, redis().XLen("approx"));
  EXPECT_GE(len, 10);
  EXPECT_LE(len, 210);
}

// Celery's "do not overwrite SUCCESS" result write as one atomic script, with the PUBLISH that
// AsyncResult.get() waits for.
TEST_P(RedisConformanceTest, EvalStoreResultNeverOverwritesSuccess) {
  const std::string key = "celery-task-meta-t42";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RedisSubscriber> sub, redis().Subscribe({key}));
  const std::string started = R"({"status": "STARTED", "result": null, "task_id": "t42"})";
  const std::string success = R"({"status": "SUCCESS", "result": {"x": 7}, "task_id": "t42"})";
  const std::string failure = R"({"status": "FAILURE", "result": null, "task_id": "t42"})";
  ASSERT_OK_AND_ASSIGN(RedisReply r, redis().Eval(kStoreResultScript, {key}, {started, "86400"}));
  EXPECT_EQ(r, RedisReply::Integer(1));
  ASSERT_OK_AND_ASSIGN(r, redis().Eval(kStoreResultScript, {key}, {success, "86400"}));
  EXPECT_EQ(r, RedisReply::Integer(1));
  ASSERT_OK_AND_ASSIGN(r, redis().Eval(kStoreResultScript, {key}, {failure, "86400"}));
  EXPECT_EQ(r, RedisReply::Integer(0));
  ASSERT_OK_AND_ASSIGN(auto stored, redis().Get(key));
  EXPECT_EQ(stored, success);
  ASSERT_OK_AND_ASSIGN(RedisReply ttl, redis().Command({"TTL", key}));
  EXPECT_GT(ttl.integer, 86000);

  std::vector<std::string> published;
  for (;;) {
    ASSERT_OK_AND_ASSIGN(auto m, sub->Next(published.size() < 2 ? 2000 : 100));
    if (!m.has_value()) break;
    published.push_back(m->payload);
  }
  EXPECT_EQ(published, (std::vector<std::string>{started, success}));

  auto err = redis().Eval(kErrorScript, {}, {});
  ASSERT_FALSE(err.ok());
  EXPECT_EQ(err.status().code(), "redis_error");
  EXPECT_TRUE(Contains(err.status().message(), "boom from script")) << err.status().ToString();
}

TEST_P(RedisConformanceTest, GenericCommand) {
  ASSERT_OK_AND_ASSIGN(RedisReply r, redis().Command({"SET", "k", "v"}));
  EXPECT_EQ(r, RedisReply::SimpleString("OK"));
  ASSERT_OK_AND_ASSIGN(r, redis().Command({"GET", "k"}));
  EXPECT_EQ(r, RedisReply::String("v"));
  ASSERT_OK_AND_ASSIGN(r, redis().Command({"GET", "nope"}));
  EXPECT_TRUE(r.is_nil());
  ASSERT_OK_AND_ASSIGN(r, redis().Command({"RPUSH", "l", "a", "b"}));
  EXPECT_EQ(r, RedisReply::Integer(2));
  ASSERT_OK_AND_ASSIGN(r, redis().Command({"LRANGE", "l", "0", "-1"}));
  EXPECT_EQ(r, RedisReply::Array({RedisReply::String("a"), RedisReply::String("b")}));
  ASSERT_OK_AND_ASSIGN(r, redis().Command({"TYPE", "l"}));
  EXPECT_EQ(r, RedisReply::SimpleString("list"));
  auto unknown = redis().Command({"NOSUCHCOMMAND", "x"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), "redis_error");
  auto arity = redis().Command({"GET"});
  ASSERT_FALSE(arity.ok());
  EXPECT_TRUE(Contains(arity.status().message(), "wrong number of arguments"))
      << arity.status().ToString();
  EXPECT_EQ(redis().Command({}).status().code(), "redis_bad_argument");
}

TEST_P(RedisConformanceTest, ClientsSeeEachOthersWrites) {
  std::unique_ptr<RedisClient> other = NewClient();
  ASSERT_NE(other, nullptr);
  ASSERT_OK(redis().Set("shared", "1"));
  ASSERT_OK_AND_ASSIGN(auto v, other->Get("shared"));
  EXPECT_EQ(v, "1");
}

}  // namespace
}  // namespace veil::worker
