// CancelToken: a shared flag that long-running operations (link receives, protocol loops)
// poll, so a time limit or a shutdown can stop a task cleanly and free its sockets.
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "veil/base/status.h"

namespace veil {

class CancelToken {
 public:
  // First reason wins; later calls are ignored.
  void Cancel(Status reason) {
    std::lock_guard<std::mutex> lock(mu_);
    if (cancelled_.load()) return;
    reason_ = std::move(reason);
    cancelled_.store(true);
  }
  bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }
  Status reason() const {
    std::lock_guard<std::mutex> lock(mu_);
    return reason_;
  }
  // OK while not cancelled, else the cancellation reason.
  Status Check() const { return cancelled() ? reason() : Status(); }

 private:
  std::atomic<bool> cancelled_{false};
  mutable std::mutex mu_;
  Status reason_;
};

}  // namespace veil
