// Transport: moves tagged messages between the ranks of one execution. Protocols never see a
// transport; they use link::Context (context.h), which adds counters, barriers and timeouts.
//
// Semantics every implementation keeps:
//  - Send never waits for the receiver to call Recv (messages are buffered on the receiving
//    side); it may block briefly on the socket.
//  - Messages between one (from, to) pair with the same tag arrive in send order.
//  - Recv(from, tag) returns the oldest unread message with that tag from `from`, waiting at most
//    timeout_ms; it fails fast with NetworkError("peer_lost") once the peer's connection is gone
//    and nothing is left to read, and with the cancel token's reason once cancelled.
//  - Thread safety: Send and Recv may be called concurrently from several threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "veil/base/bytes.h"
#include "veil/base/cancel.h"
#include "veil/base/status.h"

namespace veil::link {

inline constexpr int64_t kDefaultConnectTimeoutMs = 60'000;
inline constexpr int64_t kDefaultRecvTimeoutMs = 300'000;
inline constexpr int64_t kDefaultConnectRetryIntervalMs = 100;
// Largest single message accepted from the wire (a corrupt length prefix must not allocate GBs).
inline constexpr uint64_t kMaxMessageBytes = uint64_t{1} << 32;
// Reserved tag of the abort notice a failing party sends to every peer (Context::Abort). The
// receiving Mailbox turns it into a failure of every pending and later receive, carrying the
// failing party's own error type, so peers report the real cause instead of "peer_lost".
inline constexpr char kAbortTag[] = "veil/abort";
// Error code peers see after an abort notice.
inline constexpr char kPeerFailedCode[] = "peer_failed";

struct LinkOptions {
  int64_t connect_timeout_ms = kDefaultConnectTimeoutMs;
  int64_t recv_timeout_ms = kDefaultRecvTimeoutMs;
  // Pause between connection attempts while a peer is not up yet. Attempts continue until
  // connect_timeout_ms; `connect_retry_times` of SPU's link_desc is accepted and only caps them.
  int64_t connect_retry_interval_ms = kDefaultConnectRetryIntervalMs;
  int64_t connect_retry_times = -1;  // -1: unlimited within the deadline
};

struct PartyAddress {
  std::string name;         // party name, e.g. "alice"
  std::string address;      // "host:port" peers connect to (TCP only)
  std::string listen_addr;  // "host:port" to bind; empty: bind 0.0.0.0 on address's port
};

// Everything needed to build one party's link. All parties of an execution must agree on
// `session_id` and on the party list (rank = index); a peer with another session id is refused.
struct ContextDesc {
  std::string session_id;
  std::vector<PartyAddress> parties;
  LinkOptions options;
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Establishes links to every peer (TCP: dial each peer, retrying until connect_timeout_ms, and
  // wait for each peer to dial in). Fails with NetworkError naming the missing peer(s).
  virtual Status Connect(const CancelToken* cancel) = 0;
  virtual Status Send(size_t to, const std::string& tag, Buffer payload) = 0;
  virtual StatusOr<Buffer> Recv(size_t from, const std::string& tag, int64_t timeout_ms,
                                const CancelToken* cancel) = 0;
  // Closes sockets and wakes every blocked Recv. Idempotent. Called by the destructor too.
  virtual void Close() = 0;
};

}  // namespace veil::link
