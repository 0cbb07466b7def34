// In-memory transport: all ranks live in one process (local mode, tests). Messages are moved,
// never copied or serialised.
#pragma once

#include <memory>
#include <vector>

#include "veil/link/mailbox.h"
#include "veil/link/transport.h"

namespace veil::link {

// Shared state of one in-memory world: a mailbox per rank.
class MemoryHub {
 public:
  explicit MemoryHub(size_t world_size);
  size_t world_size() const { return boxes_.size(); }
  Mailbox& box(size_t rank) { return *boxes_[rank]; }

 private:
  std::vector<std::unique_ptr<Mailbox>> boxes_;
};

class MemoryTransport : public Transport {
 public:
  MemoryTransport(std::shared_ptr<MemoryHub> hub, size_t rank, std::vector<std::string> names)
      : hub_(std::move(hub)), rank_(rank), names_(std::move(names)) {}
  ~MemoryTransport() override { Close(); }

  Status Connect(const CancelToken*) override { return Status(); }
  Status Send(size_t to, const std::string& tag, Buffer payload) override;
  StatusOr<Buffer> Recv(size_t from, const std::string& tag, int64_t timeout_ms,
                        const CancelToken* cancel) override;
  void Close() override;

 private:
  std::shared_ptr<MemoryHub> hub_;
  size_t rank_;
  std::vector<std::string> names_;
  bool closed_ = false;
};

}  // namespace veil::link
