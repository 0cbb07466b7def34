// Status events to Redis (SPEC §5, python-worker.md §3): every event is PUBLISHed on
// `task_status_events`, LPUSHed onto `task_status_queue` and XADDed to `task_status_stream`
// (MAXLEN ~ VEIL_STATUS_STREAM_MAXLEN), in one EVAL so the three copies never diverge.
//
// StatusPublisher owns one background thread and its own Redis connection. Tasks only enqueue
// (never block, never fail): a failed publish is retried with exponential backoff (Redis down,
// lost reply) while later items wait, so events keep their order. The queue of events is
// bounded (max_queued_events); when it is full a new event is dropped and counted (logged), which
// never happens while Redis is reachable. Operations (Submit: e.g. FinishTask, which writes the
// result together with the terminal event) run on the same thread in the same order as the
// events queued before them, are never dropped, and report their outcome through a future.
//
// Duplicates: an item carries its task-record key; the publish script skips an event whose seq
// is not above the record's last_seq (and stores the new last_seq), so re-sending after a lost
// reply never publishes an event twice. Events without a record key are published as they come.
//
//   StatusPublisher publisher(std::move(connection), {.stream_max_len = 10000});
//   RedisStatusSink sink(&publisher);           // a runtime::EventSink
//   ...
//   publisher.Stop(/*flush_timeout_ms=*/5000);  // flushes what it can, then fails the rest
//
// Thread safety: Enqueue, Submit, Flush and the counters may be called from any thread. Stop is
// called once (the destructor calls it with no flush time).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include <nlohmann/json.hpp>

#include "veil/base/status.h"
#include "veil/runtime/events.h"
#include "veil/worker/lua_fragments.h"
#include "veil/worker/redis_client.h"

namespace veil::worker {

inline constexpr std::string_view kStatusChannel = "task_status_events";
inline constexpr std::string_view kStatusList = "task_status_queue";
inline constexpr std::string_view kStatusStream = "task_status_stream";
inline constexpr size_t kDefaultMaxQueuedEvents = 10000;
inline constexpr int64_t kPublisherInitialBackoffMs = 50;
inline constexpr int64_t kPublisherMaxBackoffMs = 2000;

// KEYS: 1 status list, 2 status stream, 3 task record ('' = none).
// ARGV: 1 channel, 2 event json, 3 seq, 4 stream maxlen, 5 execution_id, 6 status.
// Returns 1 if published, 0 if skipped as a duplicate.
inline constexpr std::string_view kPublishEventScript = VEIL_LUA_PUBLISH_EVENT_FN R"lua(
return publish_event(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5],
                     ARGV[6])
)lua";

// Publishes one event now (the script above). Used by the publisher thread and by tests.
Status PublishEvent(RedisClient& redis, const nlohmann::json& event, std::string_view record_key,
                    int64_t stream_max_len);

struct StatusPublisherOptions {
  int64_t stream_max_len = 10000;  // 0: untrimmed
  size_t max_queued_events = kDefaultMaxQueuedEvents;
  int64_t initial_backoff_ms = kPublisherInitialBackoffMs;
  int64_t max_backoff_ms = kPublisherMaxBackoffMs;
};

class StatusPublisher {
 public:
  // An operation run on the publisher's connection, in queue order. A NetworkError or
  // ResourceError outcome is retried with backoff until Stop's deadline; any other error (or OK)
  // completes the operation.
  using Operation = std::function<Status(RedisClient& redis)>;

  StatusPublisher(std::unique_ptr<RedisClient> redis, StatusPublisherOptions options);
  ~StatusPublisher();
  StatusPublisher(const StatusPublisher&) = delete;
  StatusPublisher& operator=(const StatusPublisher&) = delete;

  // Queues an event. False (and logged) when dropped: queue full or stopped.
  bool Enqueue(nlohmann::json event, std::string record_key = {});
  // Queues an operation behind everything queued so far. After Stop the future is ready at once
  // with CancelledError "publisher_stopped".
  std::future<Status> Submit(Operation op);
  // Waits until everything queued before the call is done; false if timeout_ms passed first.
  bool Flush(int64_t timeout_ms);
  // Stops taking items, keeps working for up to flush_timeout_ms, then fails what is left
  // (operations get CancelledError "publisher_stopped") and joins the thread.
  void Stop(int64_t flush_timeout_ms);

  uint64_t published() const;
  uint64_t dropped() const;
  uint64_t retried() const;

 private:
  struct Item {
    uint64_t ticket = 0;
    bool is_event = false;
    nlohmann::json event;
    std::string record_key;
    Operation op;
    std::shared_ptr<std::promise<Status>> done;
  };
  void Loop();
  Status RunItem(Item& item);

  std::unique_ptr<RedisClient> redis_;
  StatusPublisherOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  size_t queued_events_ = 0;
  uint64_t next_ticket_ = 1;
  uint64_t done_ticket_ = 0;  // every ticket <= this one is done
  bool stopping_ = false;
  bool abandon_ = false;  // Stop's deadline passed: fail what is left
  uint64_t published_ = 0;
  uint64_t dropped_ = 0;
  uint64_t retried_ = 0;
  std::thread thread_;
};

// A runtime::EventSink over a StatusPublisher (not owned; must outlive the sink). Never blocks.
class RedisStatusSink : public runtime::EventSink {
 public:
  explicit RedisStatusSink(StatusPublisher* publisher, std::string record_key = {})
      : publisher_(publisher), record_key_(std::move(record_key)) {}
  void Publish(const nlohmann::json& event) override { publisher_->Enqueue(event, record_key_); }

 private:
  StatusPublisher* publisher_;
  std::string record_key_;
};

}  // namespace veil::worker
