// The queue transitions (queue.h) against RedisFake with the scripts' C++ twins.
#include "veil/worker/queue.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "veil/worker/redis_fake.h"
#include "veil/worker/status_publisher.h"
#include "veil/worker/worker_scripts.h"

namespace veil::worker {
namespace {

using nlohmann::json;

ResultMeta Meta(const std::string& id) {
  ResultMeta m;
  m.task_id = id;
  return m;
}

class QueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RegisterWorkerScripts(fake_);
    redis_ = std::move(fake_.NewConnection().value());
  }
  std::string Message(const std::string& id, int priority = 0) {
    SendRequest req;
    req.task = std::string(kPingTaskName);
    req.task_id = id;
    req.priority = priority;
    return EncodeTaskMessage(req);
  }
  RedisFake fake_;
  std::unique_ptr<RedisClient> redis_;
  const std::string processing_ = ProcessingKey("n1");
};

TEST_F(QueueTest, FetchTakesTheMostUrgentBucketFirstAndFifoWithinOne) {
  ASSERT_TRUE(redis_->LPush(QueueKeyForPriority("q", 0), Message("a0")).ok());
  ASSERT_TRUE(redis_->LPush(QueueKeyForPriority("q", 0), Message("b0")).ok());
  ASSERT_TRUE(redis_->LPush(QueueKeyForPriority("q", 6), Message("c6", 6)).ok());
  std::vector<std::string> order;
  for (int i = 0; i < 3; ++i) {
    auto raw = FetchMessage(*redis_, "q", processing_, 50);
    ASSERT_TRUE(raw.ok() && *raw);
    order.push_back(DecodeTaskMessage(**raw)->id);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"a0", "b0", "c6"}));
  EXPECT_EQ(redis_->LLen(processing_).value(), 3);
  auto none = FetchMessage(*redis_, "q", processing_, 50);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(*none);
}

TEST_F(QueueTest, FinishIsAtomicAndIdempotent) {
  const std::string raw = Message("t1");
  ASSERT_TRUE(redis_->LPush(processing_, raw).ok());
  ASSERT_TRUE(redis_->Set(LeaseKey("t1"), "tok").ok());
  FinishRequest req;
  req.celery_id = "t1";
  req.processing_key = processing_;
  req.raw = raw;
  req.result_json = SuccessResultJson(Meta("t1"), json{{"x", 1}});
  req.event_json = json{{"execution_id", "e"}, {"seq", 5}, {"status", "SUCCESS"}}.dump();
  req.event_seq = 5;
  req.event_execution_id = "e";
  req.event_status = "SUCCESS";
  req.lease_token = "tok";
  ASSERT_TRUE(FinishTask(*redis_, req).ok());
  ASSERT_TRUE(FinishTask(*redis_, req).ok());  // a re-send after a lost reply
  EXPECT_EQ(redis_->LLen(processing_).value(), 0);
  EXPECT_EQ(redis_->LLen(std::string(kStatusList)).value(), 1);
  EXPECT_EQ(redis_->XLen(std::string(kStatusStream)).value(), 1);
  EXPECT_FALSE(redis_->Exists(LeaseKey("t1")).value());
  EXPECT_EQ(redis_->HGet(TaskRecordKey("t1"), "state").value(), "finished");
  EXPECT_EQ(redis_->HGet(TaskRecordKey("t1"), "terminal_emitted").value(), "1");
  // A later FAILURE never overwrites the SUCCESS.
  req.result_json = FailureResultJson(Meta("t1"), NetworkError("x", "late"));
  ASSERT_TRUE(FinishTask(*redis_, req).ok());
  EXPECT_EQ(json::parse(*redis_->Get(ResultKey("t1")).value())["status"], "SUCCESS");
}

TEST_F(QueueTest, RetryParksTheNewMessageAndPromotionBringsItBack) {
  const std::string raw = Message("r1");
  ASSERT_TRUE(redis_->LPush(processing_, raw).ok());
  const auto due = std::chrono::system_clock::now() + std::chrono::seconds(60);
  auto new_raw = WithRetry(raw, 1, due);
  ASSERT_TRUE(new_raw.ok());
  auto decoded = DecodeTaskMessage(*new_raw);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->retries, 1);
  ASSERT_TRUE(decoded->eta);
  RetryRequest req;
  req.celery_id = "r1";
  req.processing_key = processing_;
  req.queue = "q";
  req.raw = raw;
  req.new_raw = *new_raw;
  req.due = due;
  req.seq_base = 7;
  req.retry_result_json = RetryResultJson(Meta("r1"), NetworkError("x", "y"));
  ASSERT_TRUE(ScheduleRetry(*redis_, req).ok());
  ASSERT_TRUE(ScheduleRetry(*redis_, req).ok());  // idempotent
  EXPECT_EQ(redis_->LLen(processing_).value(), 0);
  EXPECT_EQ(redis_->HGet(TaskRecordKey("r1"), "seq_base").value(), "7");
  EXPECT_EQ(json::parse(*redis_->Get(ResultKey("r1")).value())["status"], "RETRY");
  auto next = NextDue(*redis_, "q");
  ASSERT_TRUE(next.ok() && *next);
  EXPECT_EQ(PromoteDue(*redis_, "q", std::chrono::system_clock::now(), 10).value(), 0);
  EXPECT_EQ(PromoteDue(*redis_, "q", due + std::chrono::seconds(1), 10).value(), 1);
  EXPECT_EQ(redis_->LRange("q", 0, -1).value(), std::vector<std::string>{*new_raw});
}

TEST_F(QueueTest, DeadLetterAndRestore) {
  ASSERT_TRUE(redis_->LPush(processing_, "garbage").ok());
  ASSERT_TRUE(DeadLetter(*redis_, processing_, "q", "garbage",
                         ParameterError("invalid_json", "not json"), "n1")
                  .ok());
  auto dead = redis_->LRange(DeadLetterKey("q"), 0, -1).value();
  ASSERT_EQ(dead.size(), 1u);
  json entry = json::parse(dead[0]);
  EXPECT_EQ(entry["raw"], "garbage");
  EXPECT_EQ(entry["error"]["code"], "invalid_json");
  EXPECT_EQ(entry["node_id"], "n1");
  const std::string raw = Message("back", 3);
  ASSERT_TRUE(redis_->LPush(QueueKeyForPriority("q", 3), Message("other", 3)).ok());
  ASSERT_TRUE(redis_->LPush(processing_, raw).ok());
  ASSERT_TRUE(RestoreMessage(*redis_, processing_, "q", raw).ok());
  EXPECT_EQ(redis_->LLen(processing_).value(), 0);
  // Back at the front of its bucket: fetched before "other".
  auto first = FetchMessage(*redis_, "q", processing_, 50);
  ASSERT_TRUE(first.ok() && *first);
  EXPECT_EQ(DecodeTaskMessage(**first)->id, "back");
}

}  // namespace
}  // namespace veil::worker
