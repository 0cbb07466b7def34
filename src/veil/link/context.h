// link::Context: one party's view of an execution's links. Protocols send and receive tagged
// byte messages through it and never see sockets (the yacl link model).
//
//   auto ctxs = link::test::MakeWorld(2);            // in-memory, tests and local mode
//   ctxs[0]->Send(1, "psi/batch/0", bytes);
//   auto msg = ctxs[1]->Recv(0, "psi/batch/0");      // StatusOr<Buffer>
//
// Tags name a message within the execution; reusing a tag delivers in FIFO order.
// Counters: bytes_sent/bytes_received count payload bytes (framing excluded, so the figures are
// the same over memory and TCP); `rounds` counts the sends that follow a receive (a change of
// direction), a transport-independent measure of sequential communication steps.
//
// Thread safety: all methods may be called concurrently from several threads.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "veil/base/bytes.h"
#include "veil/base/cancel.h"
#include "veil/base/status.h"
#include "veil/link/transport.h"

namespace veil::link {

struct LinkStats {
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  uint64_t messages_sent = 0;
  uint64_t messages_received = 0;
  uint64_t rounds = 0;
};

class Context {
 public:
  Context(ContextDesc desc, size_t rank, std::unique_ptr<Transport> transport,
          std::shared_ptr<CancelToken> cancel);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  size_t rank() const { return rank_; }
  size_t world_size() const { return desc_.parties.size(); }
  const std::string& party_name(size_t rank) const { return desc_.parties[rank].name; }
  const std::string& self_name() const { return party_name(rank_); }
  std::optional<size_t> RankOf(std::string_view party) const;
  const ContextDesc& desc() const { return desc_; }
  const std::string& session_id() const { return desc_.session_id; }
  CancelToken* cancel() const { return cancel_.get(); }

  // Establishes the links (see Transport::Connect).
  Status Connect();
  Status Send(size_t to, std::string_view tag, Buffer payload);
  // Waits up to options.recv_timeout_ms.
  StatusOr<Buffer> Recv(size_t from, std::string_view tag);
  // Sends `payload` to every other rank.
  Status Broadcast(std::string_view tag, const Buffer& payload);
  // Every rank's payload, indexed by rank (own payload included).
  StatusOr<std::vector<Buffer>> AllGather(std::string_view tag, Buffer payload);
  // Returns once every rank reached the barrier with the same tag (or a receive fails).
  Status Barrier(std::string_view tag);
  // Stops the links; blocked receives return at once.
  void Close();
  // Tells every peer this party failed with `reason` (best effort), then closes. Peers' pending
  // and later receives fail with reason's error type and code kPeerFailedCode.
  void Abort(const Status& reason);

  LinkStats stats() const;

 private:
  ContextDesc desc_;
  size_t rank_;
  std::unique_ptr<Transport> transport_;
  std::shared_ptr<CancelToken> cancel_;
  std::atomic<uint64_t> bytes_sent_{0}, bytes_received_{0}, messages_sent_{0},
      messages_received_{0}, rounds_{0};
  std::atomic<bool> last_was_recv_{true};
};

// Builds the contexts of an in-memory world, one per party of `desc` (rank order).
std::vector<std::unique_ptr<Context>> CreateMemoryWorld(const ContextDesc& desc,
                                                        std::shared_ptr<CancelToken> cancel);

namespace test {
// n parties named "p0".."p{n-1}", session "test", default options.
std::vector<std::unique_ptr<Context>> MakeWorld(size_t n);
}  // namespace test

}  // namespace veil::link
