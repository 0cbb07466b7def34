// TCP transport: the link between the parties of one execution running in different processes
// (or machines). Built on standalone Asio; nothing Asio-specific leaks into this header.
//
//   auto ctx = link::CreateTcpContext(desc, self_rank, cancel);   // binds the listen socket
//   if (!ctx.ok()) return ctx.status();                           // e.g. ResourceError port_in_use
//   VEIL_RETURN_IF_ERROR((*ctx)->Connect());                      // dial + wait for every peer
//
// Topology: every party listens on its listen_addr and dials every peer's `address`, so each pair
// of parties shares two unidirectional connections. A party sends only on the connection it
// dialled and receives only on the connections it accepted; received frames go to a Mailbox.
//
// Addresses are "host:port"; a scheme prefix ("http://", "tcp://") and a trailing "/path" are
// ignored, IPv6 hosts are written "[::1]:9000". An empty listen_addr means 0.0.0.0 on the port of
// the party's own `address`.
//
// Handshake (per dialled connection, before any message):
//   dialer -> acceptor  hello:  "VEIL" | u32 version | u32 rest_len | rest
//                               rest = str session_id | u32 from_rank | u32 to_rank | str name
//   acceptor -> dialer  reply:  u8 accepted | str reason            (str = u32 length + bytes)
// The acceptor refuses a wrong magic or version, another session id ("stale or foreign
// session"), a from_rank that is out of range or its own, a to_rank that is not its own, a party
// name that does not match desc.parties[from_rank].name, and a second connection from a rank that
// already connected. A refused dialer's Connect fails at once with NetworkError
// "session_refused" carrying the reason; the acceptor logs a warning and keeps waiting for the
// right peer, so a stale process can never inject messages into the current session.
//
// Frames (after the handshake, little-endian): u32 tag_len | tag | u64 payload_len | payload.
// A tag longer than 64 KiB or a payload longer than kMaxMessageBytes marks the peer lost with
// NetworkError "bad_frame".
//
// Threads: one io thread per transport (started by Connect) runs the acceptor, both sides of the
// handshakes, the connection retries and the reads of every accepted connection. Send writes on
// the caller's thread (blocking write of header + payload, no copy of the payload; a mutex per
// peer keeps frames whole). Recv waits on the Mailbox in the caller's thread. Close joins the io
// thread and releases every socket, timer and Asio object, so nothing outlives Close.
//
// Thread safety: Send, Recv and Close may be called concurrently from any threads; Connect is
// called once (a second call fails with InternalError "connect_twice").
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "veil/base/bytes.h"
#include "veil/base/cancel.h"
#include "veil/base/status.h"
#include "veil/link/context.h"
#include "veil/link/transport.h"

namespace veil::link {

// Version of the hello / frame format above. Peers must use the same one.
inline constexpr uint32_t kTcpProtocolVersion = 1;

class TcpTransport : public Transport {
 public:
  // Validates `desc` and binds + listens on this party's listen address (SO_REUSEADDR), so a
  // busy port surfaces here, before any peer is contacted. Errors:
  //  - ParameterError "bad_link_desc": self_rank out of range, empty or duplicate party names,
  //    an address that is not "host:port".
  //  - ResourceError "port_in_use": the listen port is taken (the message names the address).
  //  - ClusterInitError "listen_failed": any other bind/listen failure.
  static StatusOr<std::unique_ptr<TcpTransport>> Create(const ContextDesc& desc, size_t self_rank);

  ~TcpTransport() override;  // Calls Close().
  TcpTransport(const TcpTransport&) = delete;
  TcpTransport& operator=(const TcpTransport&) = delete;

  // Starts accepting, dials every peer (retrying every connect_retry_interval_ms while it is not
  // up, at most connect_retry_times attempts when that is >= 0, never past the deadline) and
  // waits until every peer's dial was accepted and every peer dialled in, for at most
  // connect_timeout_ms. Errors (the transport is closed, and its port freed, on any error):
  //  - NetworkError "peer_unreachable": deadline passed or attempts exhausted; the message names
  //    every missing party with its address and the last dial error.
  //  - NetworkError "session_refused": a peer refused our hello; the message has its reason.
  //  - the cancel token's reason once `cancel` (may be null) is cancelled (polled every 50 ms).
  //  - NetworkError "link_closed" if Close() was called meanwhile.
  Status Connect(const CancelToken* cancel) override;

  // Errors: InternalError "bad_rank" / "message_too_large"; NetworkError "not_connected" before
  // Connect succeeded, "link_closed" after Close, "peer_lost" when the write fails.
  Status Send(size_t to, const std::string& tag, Buffer payload) override;

  // Mailbox receive: NetworkError "recv_timeout", "peer_lost" (the peer's connection closed or
  // failed and nothing is left to read), "bad_frame", "link_closed"; or the cancel reason.
  StatusOr<Buffer> Recv(size_t from, const std::string& tag, int64_t timeout_ms,
                        const CancelToken* cancel) override;

  // Idempotent; wakes blocked Send/Recv/Connect calls, closes every socket, joins the io thread.
  void Close() override;

  // The TCP port the listen socket is bound to (0 after Close).
  uint16_t listen_port() const;

 private:
  class Impl;
  explicit TcpTransport(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Builds the TCP transport of party `self_rank` (binding its listen socket, see
// TcpTransport::Create for the errors) and wraps it in a Context. Does not connect: the caller
// calls ctx->Connect(). `cancel` may be null (the Context then owns a fresh token).
StatusOr<std::unique_ptr<Context>> CreateTcpContext(const ContextDesc& desc, size_t self_rank,
                                                    std::shared_ptr<CancelToken> cancel);

namespace internal {

struct HostPort {
  std::string host;  // without brackets for IPv6; may be empty (listen: any address)
  uint16_t port = 0;
};
// Parses "host:port", "[v6]:port", optionally with a "scheme://" prefix and a "/path" suffix.
// ParameterError "bad_address" otherwise.
StatusOr<HostPort> ParseHostPort(std::string_view address);

struct Hello {
  std::string session_id;
  uint32_t version = kTcpProtocolVersion;
  uint32_t from_rank = 0;
  uint32_t to_rank = 0;
  std::string from_name;
};
// The complete hello message as sent on the wire (exposed for tests that speak raw TCP).
Buffer EncodeHello(const Hello& hello);

}  // namespace internal

}  // namespace veil::link
