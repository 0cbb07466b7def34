#include "veil/link/tcp_transport.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <new>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include <asio.hpp>
#include <sys/socket.h>

#include "veil/base/log.h"
#include "veil/link/mailbox.h"

namespace veil::link {

namespace {
// First pause between dial attempts (doubles up to connect_retry_interval_ms).
constexpr int64_t kFirstRetryDelayMs = 2;
}  // namespace
namespace {

using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr std::array<uint8_t, 4> kMagic = {'V', 'E', 'I', 'L'};
constexpr size_t kHelloHeadBytes = 12;  // magic | u32 version | u32 rest_len
constexpr uint32_t kMaxHelloRestBytes = 64 * 1024;
constexpr uint32_t kMaxReasonBytes = 64 * 1024;
constexpr uint32_t kMaxTagBytes = 64 * 1024;
constexpr size_t kReplyHeadBytes = 5;  // u8 accepted | u32 reason_len
// An accepted connection must deliver its hello within this time or it is dropped.
constexpr auto kHelloTimeout = std::chrono::seconds(10);
// How long a refused connection is kept open so that the dialer can read the reason.
constexpr auto kRefusalLinger = std::chrono::seconds(2);
// Connect polls the cancel token at this interval.
constexpr auto kCancelPoll = std::chrono::milliseconds(50);
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(100);
// Largest single read/write system call (Asio's default completion conditions cap it at 64 KiB,
// which costs ~1000 calls per 64 MiB message).
constexpr size_t kMaxIoChunkBytes = size_t{16} << 20;

size_t TransferAllInBigChunks(const asio::error_code& ec, size_t /*transferred*/) {
  return ec ? 0 : kMaxIoChunkBytes;
}

std::string FormatHostPort(const internal::HostPort& hp) {
  if (hp.host.find(':') != std::string::npos) {
    return "[" + hp.host + "]:" + std::to_string(hp.port);
  }
  return hp.host + ":" + std::to_string(hp.port);
}

std::string FormatEndpoint(const tcp::socket& socket) {
  asio::error_code ec;
  auto ep = socket.remote_endpoint(ec);
  if (ec) return "?";
  return FormatHostPort({ep.address().to_string(), ep.port()});
}

Buffer EncodeReply(bool accepted, const std::string& reason) {
  Buffer out;
  ByteWriter w(&out);
  w.U8(accepted ? 1 : 0);
  w.Str(reason.size() > kMaxReasonBytes ? reason.substr(0, kMaxReasonBytes) : reason);
  return out;
}

uint32_t LoadU32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

uint64_t LoadU64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace

namespace internal {

StatusOr<HostPort> ParseHostPort(std::string_view address) {
  auto bad = [&](std::string_view why) {
    return ParameterError("bad_address", "address '" + std::string(address) + "' " +
                                             std::string(why) + " (expected host:port)");
  };
  std::string_view s = address;
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  if (auto p = s.find("://"); p != std::string_view::npos) s.remove_prefix(p + 3);
  if (auto p = s.find('/'); p != std::string_view::npos) s = s.substr(0, p);
  HostPort hp;
  std::string_view port;
  if (!s.empty() && s.front() == '[') {
    const auto close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') {
      return bad("has a malformed [IPv6] host");
    }
    hp.host = std::string(s.substr(1, close - 1));
    port = s.substr(close + 2);
  } else {
    const auto colon = s.rfind(':');
    if (colon == std::string_view::npos) return bad("has no port");
    hp.host = std::string(s.substr(0, colon));
    if (hp.host.find(':') != std::string::npos) return bad("has an IPv6 host without [brackets]");
    port = s.substr(colon + 1);
  }
  if (port.empty() || port.size() > 5) return bad("has an invalid port");
  uint32_t value = 0;
  for (char ch : port) {
    if (ch < '0' || ch > '9') return bad("has an invalid port");
    value = value * 10 + static_cast<uint32_t>(ch - '0');
  }
  if (value > 65535) return bad("has a port above 65535");
  hp.port = static_cast<uint16_t>(value);
  return hp;
}

Buffer EncodeHello(const Hello& hello) {
  Buffer rest;
  ByteWriter rw(&rest);
  rw.Str(hello.session_id);
  rw.U32(hello.from_rank);
  rw.U32(hello.to_rank);
  rw.Str(hello.from_name);
  Buffer out;
  ByteWriter w(&out);
  w.Raw(kMagic.data(), kMagic.size());
  w.U32(hello.version);
  w.U32(static_cast<uint32_t>(rest.size()));
  w.Raw(rest.data(), rest.size());
  return out;
}

}  // namespace internal

// ------------------------------------------------------------------------------------------------
// Impl
//
// Ownership of Asio objects: every Asio object is created in Listen() and touched only by the io
// thread while it runs, with one exception: once a peer accepted our hello (dialled_[r] set under
// mu_), the io thread never touches that outgoing socket again and it belongs to Send (under the
// peer's send_mu). Close() stops and joins the io thread, then destroys every Asio object.
class TcpTransport::Impl {
 public:
  Impl(ContextDesc desc, size_t self_rank)
      : desc_(std::move(desc)),
        self_(self_rank),
        n_(desc_.parties.size()),
        mailbox_(n_),
        dialled_(n_, 0),
        claimed_(n_, 0),
        accepted_(n_, 0),
        gave_up_(n_, 0),
        dial_state_(n_),
        dial_attempts_(n_, 0) {}

  Status Init();
  Status Connect(const CancelToken* cancel);
  Status Send(size_t to, const std::string& tag, Buffer payload);
  StatusOr<Buffer> Recv(size_t from, const std::string& tag, int64_t timeout_ms,
                        const CancelToken* cancel);
  void Close();
  uint16_t listen_port() const { return port_.load(); }

 private:
  // Our outgoing connection to one peer.
  struct OutPeer {
    std::mutex send_mu;
    std::unique_ptr<tcp::socket> socket;  // reset by Close (under send_mu) only
    Status send_error;                    // under send_mu: a failed write broke the stream
    // io thread only:
    std::unique_ptr<asio::steady_timer> retry_timer;
    std::unique_ptr<tcp::resolver> resolver;
    int64_t attempts = 0;
    Buffer hello;
    std::array<uint8_t, kReplyHeadBytes> reply_head{};
    std::string reply_reason;
  };

  // One accepted connection (io thread only).
  struct InConn {
    explicit InConn(asio::io_context& io) : socket(io), timer(io) {}
    tcp::socket socket;
    asio::steady_timer timer;  // hello deadline, then the linger of a refused connection
    std::string remote;        // "ip:port", for logs
    size_t from = SIZE_MAX;    // rank, once the hello was accepted
    std::array<uint8_t, kHelloHeadBytes> hello_head{};
    std::array<uint8_t, 4> tag_len{};
    Buffer buf;  // hello rest, reply, tag + payload length, or drained input
    std::string tag;
    Buffer payload;
  };
  using InConnPtr = std::shared_ptr<InConn>;

  const std::string& name(size_t rank) const { return desc_.parties[rank].name; }
  std::string PartyText(size_t rank) const {
    return name(rank) + " (" + FormatHostPort(dial_addr_[rank]) + ")";
  }

  // io thread
  void RunIo();
  void StartAccept();
  void StartHandshake(const InConnPtr& c);
  void ReadHelloRest(const InConnPtr& c, std::string refusal);
  void OnHello(const InConnPtr& c);
  void Refuse(const InConnPtr& c, const std::string& reason);
  static void DrainUntilClosed(const InConnPtr& c);
  void ReadFrame(const InConnPtr& c);
  void ReadFrameTag(const InConnPtr& c, uint32_t tag_len);
  void Deliver(const InConnPtr& c);
  void PeerGone(const InConnPtr& c, const asio::error_code& ec, const char* where);
  void BadFrame(const InConnPtr& c, const std::string& why);
  void StartDial(size_t r);
  void DialEndpoints(size_t r, std::vector<tcp::endpoint> endpoints);
  void OnReply(size_t r);
  void DialFailed(size_t r, const std::string& why);
  void SetDialState(size_t r, std::string state);

  bool AllLinkedLocked() const;
  std::string MissingPeersLocked() const;

  const ContextDesc desc_;
  const size_t self_;
  const size_t n_;
  std::vector<internal::HostPort> dial_addr_;  // by rank (self: own address, may be empty)
  std::string listen_text_;
  Mailbox mailbox_;

  // Declared first among the Asio objects: destroyed last.
  std::unique_ptr<asio::io_context> io_;
  std::unique_ptr<tcp::acceptor> acceptor_;
  std::unique_ptr<asio::steady_timer> accept_retry_timer_;
  std::vector<std::unique_ptr<OutPeer>> out_;  // by rank; null for self
  std::vector<InConnPtr> in_conns_;            // io thread only (then Close)
  std::thread io_thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint16_t> port_{0};

  std::mutex lifecycle_mu_;      // serialises starting the io thread and Close
  bool connect_called_ = false;  // under lifecycle_mu_
  bool close_done_ = false;      // under lifecycle_mu_

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool closed_ = false;
  std::vector<char> dialled_;   // rank r accepted our hello; our socket to r is ready for sends
  std::vector<char> claimed_;   // a hello from rank r passed the checks (refuse duplicates)
  std::vector<char> accepted_;  // rank r dialled in and got our acceptance
  std::vector<char> gave_up_;   // connect_retry_times attempts to reach r failed
  std::vector<std::string> dial_state_;  // last dial error / progress, for messages
  std::vector<int64_t> dial_attempts_;
  Status refused_;  // first refusal of our hello
};

Status TcpTransport::Impl::Init() {
  auto bad = [](std::string msg) { return ParameterError("bad_link_desc", std::move(msg)); };
  if (n_ == 0) return bad("the link description has no parties");
  if (self_ >= n_) {
    return bad("self rank " + std::to_string(self_) + " is out of range (" + std::to_string(n_) +
               " parties)");
  }
  std::set<std::string> names;
  for (const auto& p : desc_.parties) {
    if (p.name.empty()) return bad("a party has an empty name");
    if (!names.insert(p.name).second) return bad("party name '" + p.name + "' appears twice");
  }
  dial_addr_.resize(n_);
  for (size_t r = 0; r < n_; ++r) {
    const auto& p = desc_.parties[r];
    if (r == self_ && p.address.empty()) continue;
    auto hp = internal::ParseHostPort(p.address);
    if (!hp.ok()) return bad("party " + p.name + ": " + hp.status().message());
    if (r != self_ && (hp->host.empty() || hp->port == 0)) {
      return bad("party " + p.name + ": address '" + p.address + "' needs a host and a port");
    }
    dial_addr_[r] = std::move(*hp);
  }

  // Listen address.
  const auto& me = desc_.parties[self_];
  internal::HostPort listen;
  if (me.listen_addr.empty()) {
    if (me.address.empty()) return bad("party " + me.name + " has neither address nor listen_addr");
    listen = {"0.0.0.0", dial_addr_[self_].port};
  } else {
    auto hp = internal::ParseHostPort(me.listen_addr);
    if (!hp.ok()) return bad("party " + me.name + " listen_addr: " + hp.status().message());
    listen = std::move(*hp);
    if (listen.host.empty()) listen.host = "0.0.0.0";
  }
  listen_text_ = FormatHostPort(listen);

  io_ = std::make_unique<asio::io_context>();
  asio::error_code ec;
  tcp::endpoint endpoint;
  const auto ip = asio::ip::make_address(listen.host, ec);
  if (!ec) {
    endpoint = tcp::endpoint(ip, listen.port);
  } else {
    tcp::resolver resolver(*io_);
    auto results =
        resolver.resolve(listen.host, std::to_string(listen.port), tcp::resolver::passive, ec);
    if (ec || results.empty()) {
      return ClusterInitError("listen_failed", me.name + " cannot resolve its listen address " +
                                                   listen_text_ + ": " +
                                                   (ec ? ec.message() : "no address"));
    }
    endpoint = results.begin()->endpoint();
  }
  acceptor_ = std::make_unique<tcp::acceptor>(*io_);
  auto listen_failed = [&](const char* step) {
    if (ec == asio::error::address_in_use) {
      return ResourceError("port_in_use", me.name + " cannot listen on " + listen_text_ +
                                              ": port " + std::to_string(listen.port) +
                                              " is already in use");
    }
    return ClusterInitError("listen_failed", me.name + " cannot listen on " + listen_text_ + " (" +
                                                 step + "): " + ec.message());
  };
  if (acceptor_->open(endpoint.protocol(), ec)) return listen_failed("open");
  // Lets a quick re-run bind while connections of the previous run are in TIME_WAIT; it does
  // not let two listeners share the port.
  if (acceptor_->set_option(tcp::acceptor::reuse_address(true), ec)) return listen_failed("option");
  if (acceptor_->bind(endpoint, ec)) return listen_failed("bind");
  if (acceptor_->listen(asio::socket_base::max_listen_connections, ec)) {
    return listen_failed("listen");
  }
  port_ = acceptor_->local_endpoint(ec).port();
  accept_retry_timer_ = std::make_unique<asio::steady_timer>(*io_);

  out_.resize(n_);
  for (size_t r = 0; r < n_; ++r) {
    if (r == self_) continue;
    auto p = std::make_unique<OutPeer>();
    p->socket = std::make_unique<tcp::socket>(*io_);
    p->retry_timer = std::make_unique<asio::steady_timer>(*io_);
    p->resolver = std::make_unique<tcp::resolver>(*io_);
    p->hello =
        internal::EncodeHello({desc_.session_id, kTcpProtocolVersion, static_cast<uint32_t>(self_),
                               static_cast<uint32_t>(r), me.name});
    out_[r] = std::move(p);
  }
  Log().debug("{}: link listening on {}", me.name, listen_text_);
  return Status();
}

// ----- Connect / Send / Recv / Close (caller threads) -------------------------------------------

Status TcpTransport::Impl::Connect(const CancelToken* cancel) {
  {
    std::lock_guard<std::mutex> lc(lifecycle_mu_);
    if (close_done_)
      return NetworkError("link_closed", "the link of " + name(self_) + " is closed");
    if (connect_called_) return InternalError("connect_twice", "Connect called twice");
    connect_called_ = true;
    if (n_ > 1) {
      asio::post(*io_, [this] {
        StartAccept();
        for (size_t r = 0; r < n_; ++r) {
          if (r != self_) StartDial(r);
        }
      });
      io_thread_ = std::thread([this] { RunIo(); });
    }
  }
  const int64_t timeout_ms = std::max<int64_t>(0, desc_.options.connect_timeout_ms);
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  Status failure;
  {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      if (closed_) return NetworkError("link_closed", "the link of " + name(self_) + " was closed");
      if (!refused_.ok()) {
        failure = refused_;
        break;
      }
      if (AllLinkedLocked()) {
        Log().debug("{}: linked to {} peers", name(self_), n_ - 1);
        return Status();
      }
      if (cancel != nullptr && cancel->cancelled()) {
        failure = cancel->reason();
        break;
      }
      bool gave_up = false;
      for (size_t r = 0; r < n_; ++r) gave_up = gave_up || (gave_up_[r] && !dialled_[r]);
      const auto now = Clock::now();
      if (gave_up || now >= deadline) {
        failure = NetworkError(
            "peer_unreachable",
            name(self_) + " could not link to every party of session '" + desc_.session_id +
                "' within " + std::to_string(timeout_ms) + " ms" +
                (gave_up ? " (connect_retry_times=" +
                               std::to_string(desc_.options.connect_retry_times) + " exhausted)"
                         : "") +
                ": " + MissingPeersLocked());
        break;
      }
      cv_.wait_until(lock, std::min(deadline, now + kCancelPoll));
    }
  }
  Log().warn("{}: link set-up failed: {}", name(self_), failure.ToString());
  Close();
  return failure;
}

bool TcpTransport::Impl::AllLinkedLocked() const {
  for (size_t r = 0; r < n_; ++r) {
    if (r != self_ && (!dialled_[r] || !accepted_[r])) return false;
  }
  return true;
}

std::string TcpTransport::Impl::MissingPeersLocked() const {
  std::string out;
  for (size_t r = 0; r < n_; ++r) {
    if (r == self_ || (dialled_[r] && accepted_[r])) continue;
    if (!out.empty()) out += "; ";
    out += "party " + PartyText(r) + ":";
    if (!dialled_[r]) {
      out += " not reachable after " + std::to_string(dial_attempts_[r]) + " attempt(s)";
      if (!dial_state_[r].empty()) out += " (" + dial_state_[r] + ")";
      if (!accepted_[r]) out += ",";
    }
    if (!accepted_[r]) out += " has not connected to us";
  }
  return out;
}

Status TcpTransport::Impl::Send(size_t to, const std::string& tag, Buffer payload) {
  if (to >= n_ || to == self_)
    return InternalError("bad_rank", "send to rank " + std::to_string(to));
  if (tag.size() > kMaxTagBytes) {
    return InternalError("bad_tag", "tag of " + std::to_string(tag.size()) + " bytes is too long");
  }
  if (payload.size() > kMaxMessageBytes) {
    return InternalError("message_too_large", "message '" + tag + "' of " +
                                                  std::to_string(payload.size()) +
                                                  " bytes exceeds the link limit");
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return NetworkError("link_closed", "the link of " + name(self_) + " is closed");
    if (!dialled_[to]) {
      return NetworkError("not_connected", name(self_) + " is not connected to " + name(to));
    }
  }
  Buffer head;
  head.reserve(sizeof(uint32_t) + tag.size() + sizeof(uint64_t));
  ByteWriter w(&head);
  w.U32(static_cast<uint32_t>(tag.size()));
  w.Raw(tag.data(), tag.size());
  w.U64(payload.size());
  const std::array<asio::const_buffer, 2> frame = {asio::buffer(head), asio::buffer(payload)};

  OutPeer& peer = *out_[to];
  std::lock_guard<std::mutex> lock(peer.send_mu);
  if (!peer.socket) return NetworkError("link_closed", "the link of " + name(self_) + " is closed");
  if (!peer.send_error.ok()) return peer.send_error;
  asio::error_code ec;
  asio::write(*peer.socket, frame, TransferAllInBigChunks, ec);
  if (ec) {
    if (stopping_) return NetworkError("link_closed", "the link of " + name(self_) + " was closed");
    peer.send_error = NetworkError(
        "peer_lost", "sending '" + tag + "' to " + PartyText(to) + " failed: " + ec.message());
    // A partial frame may be on the wire: end the stream so the peer sees a lost connection
    // rather than a garbled next frame. ::shutdown touches only the kernel socket.
    ::shutdown(peer.socket->native_handle(), SHUT_RDWR);
    return peer.send_error;
  }
  return Status();
}

StatusOr<Buffer> TcpTransport::Impl::Recv(size_t from, const std::string& tag, int64_t timeout_ms,
                                          const CancelToken* cancel) {
  if (from >= n_ || from == self_) {
    return InternalError("bad_rank", "recv from rank " + std::to_string(from));
  }
  return mailbox_.Take(from, tag, timeout_ms, cancel, name(from));
}

void TcpTransport::Impl::Close() {
  std::lock_guard<std::mutex> lc(lifecycle_mu_);
  if (close_done_) return;
  close_done_ = true;
  stopping_ = true;
  std::vector<char> dialled;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    dialled = dialled_;
  }
  cv_.notify_all();
  mailbox_.Shutdown(NetworkError("link_closed", "the link of " + name(self_) + " was closed"));
  // Wake senders blocked in a write (the peer stopped reading). The socket object itself is only
  // read here; it is destroyed below under send_mu.
  for (size_t r = 0; r < out_.size(); ++r) {
    if (dialled[r] && out_[r] && out_[r]->socket) {
      ::shutdown(out_[r]->socket->native_handle(), SHUT_RDWR);
    }
  }
  if (io_) io_->stop();
  if (io_thread_.joinable()) io_thread_.join();
  // The io thread is gone: Asio objects are ours alone (senders wait on send_mu).
  asio::error_code ignored;
  for (auto& c : in_conns_) {
    c->timer.cancel();
    c->socket.close(ignored);
  }
  in_conns_.clear();
  for (auto& p : out_) {
    if (!p) continue;
    std::lock_guard<std::mutex> lock(p->send_mu);
    p->socket.reset();
    p->retry_timer.reset();
    p->resolver.reset();
  }
  accept_retry_timer_.reset();
  acceptor_.reset();  // frees the listen port
  io_.reset();        // destroys pending handlers and Asio's internal resolver thread
  port_ = 0;
}

// ----- io thread: accepting side ----------------------------------------------------------------

void TcpTransport::Impl::RunIo() {
  auto work = asio::make_work_guard(*io_);
  while (!stopping_) {
    try {
      io_->run();
      return;
    } catch (const std::exception& e) {
      Log().error("{}: link io thread: unexpected exception: {}", name(self_), e.what());
    }
  }
}

void TcpTransport::Impl::StartAccept() {
  if (stopping_) return;
  auto c = std::make_shared<InConn>(*io_);
  acceptor_->async_accept(c->socket, [this, c](const asio::error_code& ec) {
    if (stopping_ || ec == asio::error::operation_aborted) return;
    if (ec) {
      // E.g. out of file descriptors: do not spin.
      Log().warn("{}: accepting a link connection on {} failed: {}", name(self_), listen_text_,
                 ec.message());
      accept_retry_timer_->expires_after(kAcceptRetryDelay);
      accept_retry_timer_->async_wait([this](const asio::error_code& e) {
        if (!e) StartAccept();
      });
      return;
    }
    StartHandshake(c);
    StartAccept();
  });
}

void TcpTransport::Impl::StartHandshake(const InConnPtr& c) {
  // Forget connections that are gone (refused or lost) before remembering this one.
  std::erase_if(in_conns_, [](const InConnPtr& x) { return !x->socket.is_open(); });
  in_conns_.push_back(c);
  c->remote = FormatEndpoint(c->socket);
  asio::error_code ignored;
  c->socket.set_option(tcp::no_delay(true), ignored);
  c->timer.expires_after(kHelloTimeout);
  c->timer.async_wait([c](const asio::error_code& ec) {
    // The timer may have fired just before the hello was accepted: keep accepted connections.
    asio::error_code ig;
    if (!ec && c->from == SIZE_MAX) c->socket.close(ig);
  });
  asio::async_read(
      c->socket, asio::buffer(c->hello_head), [this, c](const asio::error_code& ec, size_t) {
        if (stopping_) return;
        if (ec) {
          Log().debug("{}: link connection from {} ended before its hello: {}", name(self_),
                      c->remote, ec.message());
          asio::error_code ig;
          c->socket.close(ig);
          return;
        }
        if (!std::equal(kMagic.begin(), kMagic.end(), c->hello_head.begin())) {
          Refuse(c, "not a veil link connection (bad magic)");
          return;
        }
        const uint32_t version = LoadU32(c->hello_head.data() + 4);
        const uint32_t rest_len = LoadU32(c->hello_head.data() + 8);
        if (rest_len > kMaxHelloRestBytes) {
          Refuse(c, "hello of " + std::to_string(rest_len) + " bytes is too long");
          return;
        }
        std::string refusal;
        if (version != kTcpProtocolVersion) {
          refusal = "link protocol version " + std::to_string(version) + " is not supported (" +
                    name(self_) + " speaks version " + std::to_string(kTcpProtocolVersion) + ")";
        }
        // Read the rest even when refusing, so that closing does not reset the connection and the
        // dialer gets to read our reason.
        ReadHelloRest(c, std::move(refusal));
      });
}

void TcpTransport::Impl::ReadHelloRest(const InConnPtr& c, std::string refusal) {
  c->buf.resize(LoadU32(c->hello_head.data() + 8));
  asio::async_read(c->socket, asio::buffer(c->buf),
                   [this, c, refusal = std::move(refusal)](const asio::error_code& ec, size_t) {
                     if (stopping_) return;
                     if (ec) {
                       asio::error_code ig;
                       c->socket.close(ig);
                       return;
                     }
                     if (!refusal.empty()) {
                       Refuse(c, refusal);
                       return;
                     }
                     OnHello(c);
                   });
}

void TcpTransport::Impl::OnHello(const InConnPtr& c) {
  ByteReader reader(c->buf);
  std::string session_id, from_name;
  uint32_t from = 0, to = 0;
  if (!reader.Str(&session_id) || !reader.U32(&from) || !reader.U32(&to) ||
      !reader.Str(&from_name) || reader.remaining() != 0) {
    Refuse(c, "malformed hello");
    return;
  }
  // The refusal reasons go back to the dialer: never echo our own session id.
  if (session_id != desc_.session_id) {
    Refuse(c,
           "stale or foreign session: '" + session_id + "' is not the session of " + name(self_));
    return;
  }
  if (from >= n_ || from == self_) {
    Refuse(c, "from_rank " + std::to_string(from) + " is invalid for " + name(self_) + " (rank " +
                  std::to_string(self_) + " of " + std::to_string(n_) + ")");
    return;
  }
  if (to != self_) {
    Refuse(c, "the hello is for rank " + std::to_string(to) + " but " + name(self_) + " is rank " +
                  std::to_string(self_));
    return;
  }
  if (from_name != name(from)) {
    Refuse(c, "rank " + std::to_string(from) + " is party '" + name(from) +
                  "' in this session, not '" + from_name + "'");
    return;
  }
  bool duplicate = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    duplicate = claimed_[from] != 0;
    claimed_[from] = 1;
  }
  if (duplicate) {
    Refuse(c, "party " + name(from) + " is already connected to " + name(self_));
    return;
  }
  c->from = from;
  c->timer.cancel();
  c->buf = EncodeReply(true, "");
  asio::async_write(c->socket, asio::buffer(c->buf), [this, c](const asio::error_code& ec, size_t) {
    if (stopping_) return;
    if (ec) {
      // The dialer never saw our acceptance and will dial again: let it.
      Log().warn("{}: accepting the link from {} failed: {}", name(self_), PartyText(c->from),
                 ec.message());
      {
        std::lock_guard<std::mutex> lock(mu_);
        claimed_[c->from] = 0;
      }
      asio::error_code ig;
      c->socket.close(ig);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      accepted_[c->from] = 1;
    }
    cv_.notify_all();
    Log().debug("{}: accepted the link from {}", name(self_), PartyText(c->from));
    ReadFrame(c);
  });
}

void TcpTransport::Impl::Refuse(const InConnPtr& c, const std::string& reason) {
  Log().warn("{}: refused a link connection from {}: {}", name(self_), c->remote, reason);
  // Lingering close: closing a socket with unread input makes the kernel send a reset that can
  // destroy our reply before the dialer reads it. So send the reply and a FIN, then discard
  // whatever the dialer still sends until it closes, for at most kRefusalLinger.
  c->timer.expires_after(kRefusalLinger);
  c->timer.async_wait([c](const asio::error_code& ec) {
    asio::error_code ig;
    if (!ec) c->socket.close(ig);
  });
  c->buf = EncodeReply(false, reason);
  asio::async_write(c->socket, asio::buffer(c->buf), [c](const asio::error_code& ec, size_t) {
    asio::error_code ig;
    if (ec) {
      c->timer.cancel();
      c->socket.close(ig);
      return;
    }
    c->socket.shutdown(tcp::socket::shutdown_send, ig);
    DrainUntilClosed(c);
  });
}

void TcpTransport::Impl::DrainUntilClosed(const InConnPtr& c) {
  c->buf.resize(4096);
  c->socket.async_read_some(asio::buffer(c->buf), [c](const asio::error_code& ec, size_t) {
    if (!ec) {
      DrainUntilClosed(c);
      return;
    }
    asio::error_code ig;
    c->timer.cancel();
    c->socket.close(ig);
  });
}

void TcpTransport::Impl::ReadFrame(const InConnPtr& c) {
  asio::async_read(c->socket, asio::buffer(c->tag_len),
                   [this, c](const asio::error_code& ec, size_t) {
                     if (stopping_) return;
                     if (ec) {
                       PeerGone(c, ec, "");
                       return;
                     }
                     const uint32_t tag_len = LoadU32(c->tag_len.data());
                     if (tag_len > kMaxTagBytes) {
                       BadFrame(c, "tag of " + std::to_string(tag_len) + " bytes");
                       return;
                     }
                     ReadFrameTag(c, tag_len);
                   });
}

void TcpTransport::Impl::ReadFrameTag(const InConnPtr& c, uint32_t tag_len) {
  c->buf.resize(size_t{tag_len} + sizeof(uint64_t));
  asio::async_read(
      c->socket, asio::buffer(c->buf), [this, c, tag_len](const asio::error_code& ec, size_t) {
        if (stopping_) return;
        if (ec) {
          PeerGone(c, ec, " in the middle of a message");
          return;
        }
        c->tag.assign(reinterpret_cast<const char*>(c->buf.data()), tag_len);
        const uint64_t payload_len = LoadU64(c->buf.data() + tag_len);
        if (payload_len > kMaxMessageBytes) {
          BadFrame(c, "message '" + c->tag + "' claims " + std::to_string(payload_len) + " bytes");
          return;
        }
        try {
          c->payload = Buffer(static_cast<size_t>(payload_len));
        } catch (const std::bad_alloc&) {
          BadFrame(c, "cannot allocate " + std::to_string(payload_len) + " bytes for message '" +
                          c->tag + "'");
          return;
        }
        if (payload_len == 0) {
          Deliver(c);
          return;
        }
        asio::async_read(c->socket, asio::buffer(c->payload), TransferAllInBigChunks,
                         [this, c](const asio::error_code& e, size_t) {
                           if (stopping_) return;
                           if (e) {
                             PeerGone(c, e, " in the middle of a message");
                             return;
                           }
                           Deliver(c);
                         });
      });
}

void TcpTransport::Impl::Deliver(const InConnPtr& c) {
  mailbox_.Put(c->from, c->tag, std::move(c->payload));
  c->payload = Buffer();
  ReadFrame(c);
}

void TcpTransport::Impl::PeerGone(const InConnPtr& c, const asio::error_code& ec,
                                  const char* where) {
  const bool clean = ec == asio::error::eof && where[0] == '\0';
  std::string what = clean ? name(c->from) + " closed its link to " + name(self_)
                           : "the link from " + PartyText(c->from) + " to " + name(self_) +
                                 " failed" + where + ": " + ec.message();
  if (clean) {
    Log().debug("{}", what);
  } else {
    Log().warn("{}", what);
  }
  mailbox_.MarkPeerLost(c->from, NetworkError("peer_lost", std::move(what)));
  asio::error_code ig;
  c->socket.close(ig);
}

void TcpTransport::Impl::BadFrame(const InConnPtr& c, const std::string& why) {
  std::string what = "bad frame from " + PartyText(c->from) + ": " + why;
  Log().warn("{}: {}", name(self_), what);
  mailbox_.MarkPeerLost(c->from, NetworkError("bad_frame", std::move(what)));
  asio::error_code ig;
  c->socket.close(ig);
}

// ----- io thread: dialling side -----------------------------------------------------------------

void TcpTransport::Impl::SetDialState(size_t r, std::string state) {
  std::lock_guard<std::mutex> lock(mu_);
  dial_state_[r] = std::move(state);
  dial_attempts_[r] = out_[r]->attempts;
}

void TcpTransport::Impl::StartDial(size_t r) {
  if (stopping_) return;
  OutPeer& p = *out_[r];
  p.attempts++;
  const auto& hp = dial_addr_[r];
  asio::error_code ec;
  const auto ip = asio::ip::make_address(hp.host, ec);
  if (!ec) {
    DialEndpoints(r, {tcp::endpoint(ip, hp.port)});
    return;
  }
  p.resolver->async_resolve(
      hp.host, std::to_string(hp.port),
      [this, r](const asio::error_code& e, const tcp::resolver::results_type& results) {
        if (stopping_ || e == asio::error::operation_aborted) return;
        if (e || results.empty()) {
          DialFailed(
              r, "cannot resolve " + dial_addr_[r].host + ": " + (e ? e.message() : "no address"));
          return;
        }
        std::vector<tcp::endpoint> endpoints;
        for (const auto& entry : results) endpoints.push_back(entry.endpoint());
        DialEndpoints(r, std::move(endpoints));
      });
}

void TcpTransport::Impl::DialEndpoints(size_t r, std::vector<tcp::endpoint> endpoints) {
  OutPeer& p = *out_[r];
  asio::async_connect(
      *p.socket, endpoints, [this, r](const asio::error_code& ec, const tcp::endpoint&) {
        if (stopping_) return;
        if (ec) {
          DialFailed(r, ec.message());
          return;
        }
        OutPeer& p = *out_[r];
        asio::error_code ignored;
        p.socket->set_option(tcp::no_delay(true), ignored);
        SetDialState(r, "connected, no handshake reply yet");
        asio::async_write(
            *p.socket, asio::buffer(p.hello), [this, r](const asio::error_code& e, size_t) {
              if (stopping_) return;
              if (e) {
                DialFailed(r, "sending the hello failed: " + e.message());
                return;
              }
              OutPeer& p = *out_[r];
              asio::async_read(
                  *p.socket, asio::buffer(p.reply_head),
                  [this, r](const asio::error_code& e2, size_t) {
                    if (stopping_) return;
                    if (e2) {
                      DialFailed(r,
                                 "connection closed before the handshake reply: " + e2.message());
                      return;
                    }
                    OutPeer& p = *out_[r];
                    const uint32_t reason_len = LoadU32(p.reply_head.data() + 1);
                    if (p.reply_head[0] > 1 || reason_len > kMaxReasonBytes) {
                      DialFailed(r, "malformed handshake reply");
                      return;
                    }
                    p.reply_reason.resize(reason_len);
                    asio::async_read(
                        *p.socket, asio::buffer(p.reply_reason),
                        [this, r](const asio::error_code& e3, size_t) {
                          if (stopping_) return;
                          if (e3) {
                            DialFailed(
                                r, "connection closed during the handshake reply: " + e3.message());
                            return;
                          }
                          OnReply(r);
                        });
                  });
            });
      });
}

void TcpTransport::Impl::OnReply(size_t r) {
  OutPeer& p = *out_[r];
  if (p.reply_head[0] == 1) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      dialled_[r] = 1;
      dial_state_[r].clear();
      dial_attempts_[r] = p.attempts;
    }
    // From here on the io thread never touches this socket: it belongs to Send.
    cv_.notify_all();
    Log().debug("{}: linked to {}", name(self_), PartyText(r));
    return;
  }
  asio::error_code ignored;
  p.socket->close(ignored);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (refused_.ok()) {
      refused_ = NetworkError("session_refused", PartyText(r) + " refused the link from " +
                                                     name(self_) + ": " + p.reply_reason);
    }
  }
  cv_.notify_all();
}

void TcpTransport::Impl::DialFailed(size_t r, const std::string& why) {
  OutPeer& p = *out_[r];
  asio::error_code ignored;
  p.socket->close(ignored);
  Log().debug("{}: dialling {} (attempt {}) failed: {}", name(self_), PartyText(r), p.attempts,
              why);
  const int64_t max_attempts = desc_.options.connect_retry_times;
  const bool give_up = max_attempts >= 0 && p.attempts >= std::max<int64_t>(max_attempts, 1);
  {
    std::lock_guard<std::mutex> lock(mu_);
    dial_state_[r] = why;
    dial_attempts_[r] = p.attempts;
    if (give_up) gave_up_[r] = 1;
  }
  if (give_up) {
    cv_.notify_all();
    return;
  }
  // Exponential backoff from kFirstRetryDelayMs up to connect_retry_interval_ms: parties started
  // together find each other within milliseconds, a late peer costs at most one interval.
  const int64_t cap_ms = std::max<int64_t>(0, desc_.options.connect_retry_interval_ms);
  const int64_t shift = std::min<int64_t>(p.attempts - 1, 10);
  const int64_t delay_ms = std::min(cap_ms, kFirstRetryDelayMs << std::max<int64_t>(0, shift));
  p.retry_timer->expires_after(std::chrono::milliseconds(delay_ms));
  p.retry_timer->async_wait([this, r](const asio::error_code& ec) {
    if (!ec && !stopping_) StartDial(r);
  });
}

// ------------------------------------------------------------------------------------------------

TcpTransport::TcpTransport(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

TcpTransport::~TcpTransport() { Close(); }

StatusOr<std::unique_ptr<TcpTransport>> TcpTransport::Create(const ContextDesc& desc,
                                                             size_t self_rank) {
  auto impl = std::make_unique<Impl>(desc, self_rank);
  VEIL_RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<TcpTransport>(new TcpTransport(std::move(impl)));
}

Status TcpTransport::Connect(const CancelToken* cancel) { return impl_->Connect(cancel); }

Status TcpTransport::Send(size_t to, const std::string& tag, Buffer payload) {
  return impl_->Send(to, tag, std::move(payload));
}

StatusOr<Buffer> TcpTransport::Recv(size_t from, const std::string& tag, int64_t timeout_ms,
                                    const CancelToken* cancel) {
  return impl_->Recv(from, tag, timeout_ms, cancel);
}

void TcpTransport::Close() { impl_->Close(); }

uint16_t TcpTransport::listen_port() const { return impl_->listen_port(); }

StatusOr<std::unique_ptr<Context>> CreateTcpContext(const ContextDesc& desc, size_t self_rank,
                                                    std::shared_ptr<CancelToken> cancel) {
  VEIL_ASSIGN_OR_RETURN(auto transport, TcpTransport::Create(desc, self_rank));
  return std::make_unique<Context>(desc, self_rank, std::move(transport), std::move(cancel));
}

}  // namespace veil::link
