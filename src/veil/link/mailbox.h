// Mailbox: the receiving side of a transport. Incoming messages are filed by (from, tag);
// Take() waits for one. Shared by the in-memory and TCP transports.
//
// Thread safety: all methods may be called concurrently.
#pragma once

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
};

}  // namespace veil::link
