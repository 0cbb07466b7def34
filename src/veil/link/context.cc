#include "veil/link/context.h"

#include "veil/link/memory_transport.h"

namespace veil::link {

Context::Context(ContextDesc desc, size_t rank, std::unique_ptr<Transport> transport,
                 std::shared_ptr<CancelToken> cancel)
    : desc_(std::move(desc)),
      rank_(rank),
      transport_(std::move(transport)),
      cancel_(cancel ? std::move(cancel) : std::make_shared<CancelToken>()) {}

Context::~Context() { Close(); }

std::optional<size_t> Context::RankOf(std::string_view party) const {
  for (size_t i = 0; i < desc_.parties.size(); ++i) {
    if (desc_.parties[i].name == party) return i;
  }
  return std::nullopt;
}

Status Context::Connect() { return transport_->Connect(cancel_.get()); }

Status Context::Send(size_t to, std::string_view tag, Buffer payload) {
  if (to == rank_ || to >= world_size()) {
    return InternalError("bad_rank", "send to rank " + std::to_string(to));
  }
  VEIL_RETURN_IF_ERROR(cancel_->Check());
  if (last_was_recv_.exchange(false)) rounds_++;
  bytes_sent_ += payload.size();
  messages_sent_++;
  return transport_->Send(to, std::string(tag), std::move(payload));
}

StatusOr<Buffer> Context::Recv(size_t from, std::string_view tag) {
  if (from == rank_ || from >= world_size()) {
    return InternalError("bad_rank", "recv from rank " + std::to_string(from));
  }
  auto msg = transport_->Recv(from, std::string(tag), desc_.options.recv_timeout_ms, cancel_.get());
  if (msg.ok()) {
    last_was_recv_ = true;
    bytes_received_ += msg->size();
    messages_received_++;
  }
  return msg;
}

Status Context::Broadcast(std::string_view tag, const Buffer& payload) {
  for (size_t r = 0; r < world_size(); ++r) {
    if (r != rank_) VEIL_RETURN_IF_ERROR(Send(r, tag, payload));
  }
  return Status();
}

StatusOr<std::vector<Buffer>> Context::AllGather(std::string_view tag, Buffer payload) {
  VEIL_RETURN_IF_ERROR(Broadcast(tag, payload));
  std::vector<Buffer> out(world_size());
  for (size_t r = 0; r < world_size(); ++r) {
    if (r == rank_) {
      out[r] = std::move(payload);
    } else {
      VEIL_ASSIGN_OR_RETURN(out[r], Recv(r, tag));
    }
  }
  return out;
}

Status Context::Barrier(std::string_view tag) {
  std::string t = "barrier/" + std::string(tag);
  auto all = AllGather(t, Buffer{});
  return all.status();
}

void Context::Abort(const Status& reason) {
  Buffer notice;
  ByteWriter w(&notice);
  w.Str(reason.ok() ? "CancelledError" : std::string(reason.type_name()));
  w.Str("party " + self_name() + " failed: " + (reason.ok() ? "aborted" : reason.message()));
  for (size_t r = 0; r < world_size(); ++r) {
    if (r != rank_) (void)transport_->Send(r, kAbortTag, notice);
  }
  Close();
}

void Context::Close() {
  if (transport_) transport_->Close();
}

LinkStats Context::stats() const {
  return LinkStats{bytes_sent_.load(), bytes_received_.load(), messages_sent_.load(),
                   messages_received_.load(), rounds_.load()};
}

std::vector<std::unique_ptr<Context>> CreateMemoryWorld(const ContextDesc& desc,
                                                        std::shared_ptr<CancelToken> cancel) {
  auto hub = std::make_shared<MemoryHub>(desc.parties.size());
  std::vector<std::string> names;
  for (const auto& p : desc.parties) names.push_back(p.name);
  std::vector<std::unique_ptr<Context>> out;
  for (size_t r = 0; r < desc.parties.size(); ++r) {
    out.push_back(std::make_unique<Context>(
        desc, r, std::make_unique<MemoryTransport>(hub, r, names), cancel));
  }
  return out;
}

namespace test {
std::vector<std::unique_ptr<Context>> MakeWorld(size_t n) {
  ContextDesc desc;
  desc.session_id = "test";
  for (size_t i = 0; i < n; ++i) desc.parties.push_back({"p" + std::to_string(i), "", ""});
  return CreateMemoryWorld(desc, nullptr);
}
}  // namespace test

}  // namespace veil::link
