#include "veil/worker/status_publisher.h"

#include <algorithm>
#include <chrono>

#include "veil/base/log.h"

namespace veil::worker {

namespace {

bool Transient(const Status& s) {
  return s.type() == ErrorType::kNetwork || s.type() == ErrorType::kResource;
}

std::string JsonString(const nlohmann::json& event, const char* field) {
  auto it = event.find(field);
  return it != event.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

Status PublishEvent(RedisClient& redis, const nlohmann::json& event, std::string_view record_key,
                    int64_t stream_max_len) {
  const uint64_t seq = event.value("seq", uint64_t{0});
  StatusOr<RedisReply> reply =
      redis.Eval(kPublishEventScript,
                 {std::string(kStatusList), std::string(kStatusStream), std::string(record_key)},
                 {std::string(kStatusChannel), event.dump(), std::to_string(seq),
                  std::to_string(stream_max_len), JsonString(event, "execution_id"),
                  JsonString(event, "status")},
                 RedisRetry::kIdempotent);
  return reply.status();
}

StatusPublisher::StatusPublisher(std::unique_ptr<RedisClient> redis, StatusPublisherOptions options)
    : redis_(std::move(redis)), options_(options) {
  thread_ = std::thread([this] { Loop(); });
}

StatusPublisher::~StatusPublisher() { Stop(0); }

bool StatusPublisher::Enqueue(nlohmann::json event, std::string record_key) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_ || queued_events_ >= options_.max_queued_events) {
    ++dropped_;
    Log().warn("status event dropped ({}): exec={} seq={}",
               stopping_ ? "publisher stopped" : "queue full", JsonString(event, "execution_id"),
               event.value("seq", uint64_t{0}));
    return false;
  }
  Item item;
  item.ticket = next_ticket_++;
  item.is_event = true;
  item.event = std::move(event);
  item.record_key = std::move(record_key);
  queue_.push_back(std::move(item));
  ++queued_events_;
  cv_.notify_all();
  return true;
}

std::future<Status> StatusPublisher::Submit(Operation op) {
  auto done = std::make_shared<std::promise<Status>>();
  std::future<Status> future = done->get_future();
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) {
    done->set_value(CancelledError("publisher_stopped", "the status publisher has stopped"));
    return future;
  }
  Item item;
  item.ticket = next_ticket_++;
  item.op = std::move(op);
  item.done = std::move(done);
  queue_.push_back(std::move(item));
  cv_.notify_all();
  return future;
}

bool StatusPublisher::Flush(int64_t timeout_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t target = next_ticket_ - 1;
  return cv_.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(timeout_ms, 0)),
                      [&] { return done_ticket_ >= target; });
}

void StatusPublisher::Stop(int64_t flush_timeout_ms) {
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (!thread_.joinable()) return;
    stopping_ = true;
    cv_.notify_all();
    cv_.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(flush_timeout_ms, 0)),
                 [&] { return queue_.empty(); });
    abandon_ = true;
    cv_.notify_all();
  }
  thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  for (Item& item : queue_) {
    if (item.is_event) {
      ++dropped_;
    } else {
      item.done->set_value(CancelledError("publisher_stopped", "the status publisher has stopped"));
    }
  }
  if (!queue_.empty()) Log().warn("status publisher stopped with {} item(s) undone", queue_.size());
  queue_.clear();
}

uint64_t StatusPublisher::published() const {
  std::lock_guard<std::mutex> lock(mu_);
  return published_;
}
uint64_t StatusPublisher::dropped() const {
  std::lock_guard<std::mutex> lock(mu_);
  return dropped_;
}
uint64_t StatusPublisher::retried() const {
  std::lock_guard<std::mutex> lock(mu_);
  return retried_;
}

Status StatusPublisher::RunItem(Item& item) {
  try {
    if (item.is_event) {
      return PublishEvent(*redis_, item.event, item.record_key, options_.stream_max_len);
    }
    return item.op(*redis_);
  } catch (const std::exception& e) {
    return InternalError("publisher_exception", e.what());
  }
}

void StatusPublisher::Loop() {
  int64_t backoff_ms = options_.initial_backoff_ms;
  for (;;) {
    Item* item = nullptr;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return !queue_.empty() || stopping_ || abandon_; });
      if (abandon_ || (queue_.empty() && stopping_)) return;
      item = &queue_.front();  // only this thread pops, so the reference stays valid
    }
    Status status = RunItem(*item);
    if (!status.ok() && Transient(status)) {
      std::unique_lock<std::mutex> lock(mu_);
      ++retried_;
      Log().warn("status publisher: {} (retrying in {} ms)", status.ToString(), backoff_ms);
      cv_.wait_for(lock, std::chrono::milliseconds(backoff_ms), [&] { return abandon_; });
      backoff_ms = std::min(backoff_ms * 2, options_.max_backoff_ms);
      continue;
    }
    backoff_ms = options_.initial_backoff_ms;
    std::unique_lock<std::mutex> lock(mu_);
    Item done = std::move(queue_.front());
    queue_.pop_front();
    if (done.is_event) {
      --queued_events_;
      if (status.ok()) {
        ++published_;
      } else {
        ++dropped_;
        Log().error("status event dropped: {}", status.ToString());
      }
    }
    done_ticket_ = done.ticket;
    cv_.notify_all();
    lock.unlock();
    if (done.done) done.done->set_value(status);
  }
}

}  // namespace veil::worker
