#include "veil/link/mailbox.h"

#include <chrono>

#include "veil/link/transport.h"

namespace veil::link {

void Mailbox::Put(size_t from, const std::string& tag, Buffer payload) {
  if (tag == kAbortTag) {
    ByteReader r(payload);
    std::string type, message;
    if (!r.Str(&type) || !r.Str(&message)) {
      type = "NetworkError";
      message = "a peer aborted the session";
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (shutdown_.ok()) {
        aborted_by_ = from;
        aborted_at_ = std::chrono::steady_clock::now();
      }
    }
    Shutdown(Status(ErrorTypeFromName(type), kPeerFailedCode, message));
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    queues_[{from, tag}].push_back(std::move(payload));
  }
  cv_.notify_all();
}

void Mailbox::MarkPeerLost(size_t from, Status reason) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (from < peer_lost_.size() && peer_lost_[from].ok()) peer_lost_[from] = std::move(reason);
  }
  cv_.notify_all();
}

void Mailbox::Shutdown(Status reason) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shutdown_.ok()) shutdown_ = std::move(reason);
  }
  cv_.notify_all();
}

StatusOr<Buffer> Mailbox::Take(size_t from, const std::string& tag, int64_t timeout_ms,
                               const CancelToken* cancel, const std::string& peer_name) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  // Poll the cancel token at this interval while waiting; Cancel() has no handle on our cv.
  constexpr auto kCancelPoll = std::chrono::milliseconds(50);
  std::unique_lock<std::mutex> lock(mu_);
  const auto key = std::make_pair(from, tag);
  while (true) {
    auto it = queues_.find(key);
    if (it != queues_.end() && !it->second.empty()) {
      Buffer out = std::move(it->second.front());
      it->second.pop_front();
      if (it->second.empty()) queues_.erase(it);
      return out;
    }
    auto now = Clock::now();
    auto wake = std::min(deadline, now + kCancelPoll);
    if (!shutdown_.ok()) {
      const auto grace_end = aborted_at_ + std::chrono::milliseconds(kAbortGraceMs);
      if (aborted_by_ == static_cast<size_t>(-1) || from == aborted_by_ || now >= grace_end) {
        return shutdown_;
      }
      wake = std::min(wake, grace_end);
    }
    if (from < peer_lost_.size() && !peer_lost_[from].ok()) return peer_lost_[from];
    if (cancel && cancel->cancelled()) return cancel->reason();
    if (now >= deadline) {
      return NetworkError("recv_timeout", "no message '" + tag + "' from " + peer_name +
                                              " within " + std::to_string(timeout_ms) + " ms");
    }
    cv_.wait_until(lock, wake);
  }
}

}  // namespace veil::link
