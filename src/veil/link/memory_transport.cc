#include "veil/link/memory_transport.h"

namespace veil::link {

MemoryHub::MemoryHub(size_t world_size) {
  for (size_t i = 0; i < world_size; ++i) boxes_.push_back(std::make_unique<Mailbox>(world_size));
}

Status MemoryTransport::Send(size_t to, const std::string& tag, Buffer payload) {
  if (to >= hub_->world_size()) return InternalError("bad_rank", "send to unknown rank");
  hub_->box(to).Put(rank_, tag, std::move(payload));
  return Status();
}

StatusOr<Buffer> MemoryTransport::Recv(size_t from, const std::string& tag, int64_t timeout_ms,
                                       const CancelToken* cancel) {
  if (from >= hub_->world_size()) return InternalError("bad_rank", "recv from unknown rank");
  return hub_->box(rank_).Take(from, tag, timeout_ms, cancel, names_[from]);
}

void MemoryTransport::Close() {
  if (closed_) return;
  closed_ = true;
  // Peers waiting on us learn at once that we are gone.
  for (size_t r = 0; r < hub_->world_size(); ++r) {
    if (r != rank_) {
      hub_->box(r).MarkPeerLost(rank_,
                                NetworkError("peer_lost", names_[rank_] + " left the session"));
    }
  }
}

}  // namespace veil::link
