// StatusPublisher: order, duplicates, outages, bounded queue.
#include "veil/worker/status_publisher.h"

#include <thread>

#include <gtest/gtest.h>

#include "veil/worker/queue.h"
#include "veil/worker/redis_fake.h"
#include "veil/worker/worker_scripts.h"

namespace veil::worker {
namespace {

using nlohmann::json;

json Event(uint64_t seq) {
  return {{"execution_id", "e1"}, {"seq", seq}, {"status", "RUNNING"}, {"data", {{"stage", "x"}}}};
}

std::vector<uint64_t> ListSeqs(RedisClient& redis) {
  std::vector<uint64_t> out;
  auto list = redis.LRange(std::string(kStatusList), 0, -1).value();
  for (auto it = list.rbegin(); it != list.rend(); ++it) out.push_back(json::parse(*it)["seq"]);
  return out;
}

TEST(StatusPublisherTest, PublishesInOrderOnAllThreeChannelsAcrossAnOutage) {
  RedisFake fake;
  RegisterWorkerScripts(fake);
  auto redis = std::move(fake.NewConnection().value());
  auto sub = redis->Subscribe({std::string(kStatusChannel)});
  ASSERT_TRUE(sub.ok());
  StatusPublisher publisher(std::move(fake.NewConnection().value()),
                            {.stream_max_len = 100, .initial_backoff_ms = 5});
  RedisStatusSink sink(&publisher, TaskRecordKey("c1"));
  sink.Publish(Event(1));
  ASSERT_TRUE(publisher.Flush(5000));
  fake.SetDown(true);
  for (uint64_t s = 2; s <= 5; ++s) sink.Publish(Event(s));  // never blocks
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  fake.SetDown(false);
  ASSERT_TRUE(publisher.Flush(5000));
  EXPECT_GT(publisher.retried(), 0u);
  EXPECT_EQ(ListSeqs(*redis), (std::vector<uint64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(redis->XLen(std::string(kStatusStream)).value(), 5);
  std::vector<uint64_t> channel;
  while (auto m = (*sub)->Next(50).value()) channel.push_back(json::parse(m->payload)["seq"]);
  EXPECT_EQ(channel, (std::vector<uint64_t>{1, 2, 3, 4, 5}));
  // A duplicate (same seq for the same task record) is never published twice.
  sink.Publish(Event(5));
  ASSERT_TRUE(publisher.Flush(5000));
  EXPECT_EQ(redis->LLen(std::string(kStatusList)).value(), 5);
  // Operations run after the events queued before them.
  auto op = publisher.Submit([](RedisClient& r) { return r.Set("after", "1"); });
  EXPECT_TRUE(op.get().ok());
  publisher.Stop(1000);
  EXPECT_FALSE(publisher.Enqueue(Event(9)));
  EXPECT_EQ(publisher.Submit([](RedisClient&) { return Status(); }).get().code(),
            "publisher_stopped");
}

TEST(StatusPublisherTest, ABoundedQueueDropsInsteadOfBlocking) {
  RedisFake fake;
  RegisterWorkerScripts(fake);
  fake.SetDown(true);
  StatusPublisher publisher(std::move(fake.NewConnection().value()),
                            {.max_queued_events = 3, .initial_backoff_ms = 5});
  int accepted = 0;
  for (uint64_t s = 1; s <= 10; ++s) accepted += publisher.Enqueue(Event(s));
  EXPECT_EQ(accepted, 3);
  EXPECT_EQ(publisher.dropped(), 7u);
  publisher.Stop(0);
}

}  // namespace
}  // namespace veil::worker
