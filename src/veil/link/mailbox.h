// Mailbox: the receiving side of a transport. Incoming messages are filed by (from, tag);
// Take() waits for one. Shared by the in-memory and TCP transports.
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "veil/base/bytes.h"
#include "veil/base/cancel.h"
#include "veil/base/status.h"

namespace veil::link {

// After an abort notice from party X, receives from a party other than X keep waiting up to
// this long for their message: a deterministic error that every party computes from the same
// exchanged data (e.g. a validation after an AllGather) lets X fail and abort while a third
// party's part of that exchange is still on its way; waiting for it lets this party reach and
// report the same error itself instead of "peer_failed".
inline constexpr int64_t kAbortGraceMs = 250;

class Mailbox {
 public:
  explicit Mailbox(size_t world_size) : peer_lost_(world_size) {}

  // Files a message. A message tagged kAbortTag is not filed: it shuts the mailbox down with
  // the sender's error (see transport.h).
  void Put(size_t from, const std::string& tag, Buffer payload);
  // Marks `from` as gone: waiting and later Takes from it fail with `reason` once its queue is
  // empty (messages that already arrived are still delivered).
  void MarkPeerLost(size_t from, Status reason);
  // Wakes all waiters; every Take fails with `reason` from then on.
  void Shutdown(Status reason);

  StatusOr<Buffer> Take(size_t from, const std::string& tag, int64_t timeout_ms,
                        const CancelToken* cancel, const std::string& peer_name);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::pair<size_t, std::string>, std::deque<Buffer>> queues_;
  std::vector<Status> peer_lost_;
  Status shutdown_;
  size_t aborted_by_ = static_cast<size_t>(-1);  // sender of the abort notice, if any
  std::chrono::steady_clock::time_point aborted_at_;
};

}  // namespace veil::link
