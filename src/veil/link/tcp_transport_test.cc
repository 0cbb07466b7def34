#include "veil/link/tcp_transport.h"

#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <future>
#include <optional>
#include <thread>
#include <utility>

#include <arpa/inet.h>
#include <asio.hpp>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "veil/link/test_util.h"

namespace veil::link {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

Buffer B(const std::string& s) { return Buffer(s.begin(), s.end()); }
std::string S(const Buffer& b) { return std::string(b.begin(), b.end()); }

Buffer Pattern(size_t n, uint32_t seed) {
  Buffer b(n);
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    b[i] = static_cast<uint8_t>(x >> 24);
  }
  return b;
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

int64_t MsSince(Clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - start).count();
}

uint16_t PortOf(const ContextDesc& desc, size_t rank) {
  return internal::ParseHostPort(desc.parties[rank].address)->port;
}

// Creates the contexts of the given ranks (all must bind).
std::vector<std::unique_ptr<Context>> CreateAll(const ContextDesc& desc,
                                                const std::vector<size_t>& ranks,
                                                std::shared_ptr<CancelToken> cancel = nullptr) {
  std::vector<std::unique_ptr<Context>> out;
  for (size_t r : ranks) {
    auto ctx = CreateTcpContext(desc, r, cancel);
    EXPECT_TRUE(ctx.ok()) << ctx.status().ToString();
    out.push_back(ctx.ok() ? std::move(*ctx) : nullptr);
  }
  return out;
}

std::future<Status> ConnectAsync(Context* ctx) {
  return std::async(std::launch::async, [ctx] { return ctx->Connect(); });
}

// A hand-written dialer speaking raw TCP, for handshake and framing edge cases.
class RawClient {
 public:
  explicit RawClient(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    connected_ = fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return connected_; }

  bool Write(const Buffer& b) {
    size_t done = 0;
    while (done < b.size()) {
      ssize_t n = ::send(fd_, b.data() + done, b.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }

  // Reads exactly n bytes, waiting at most timeout_ms in total.
  bool Read(void* dst, size_t n, int timeout_ms) {
    auto* out = static_cast<uint8_t*>(dst);
    const auto deadline = Clock::now() + milliseconds(timeout_ms);
    size_t done = 0;
    while (done < n) {
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) return false;
      ssize_t got = ::recv(fd_, out + done, n - done, 0);
      if (got <= 0) return false;
      done += static_cast<size_t>(got);
    }
    return true;
  }

  // The handshake reply {accepted, reason}; nullopt when the connection ended without one.
  std::optional<std::pair<bool, std::string>> ReadReply(int timeout_ms = 3000) {
    uint8_t head[5];
    if (!Read(head, sizeof head, timeout_ms)) return std::nullopt;
    uint32_t len;
    std::memcpy(&len, head + 1, 4);
    std::string reason(len, '\0');
    if (len > 0 && !Read(reason.data(), len, timeout_ms)) return std::nullopt;
    return std::make_pair(head[0] == 1, reason);
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

// A hand-written listener standing in for a peer (accepts one connection at a time).
class RawServer {
 public:
  explicit RawServer(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    listening_ =
        ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && ::listen(fd_, 8) == 0;
  }
  ~RawServer() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawServer(const RawServer&) = delete;
  RawServer& operator=(const RawServer&) = delete;
  bool listening() const { return listening_; }
  // The accepted socket, or -1 after timeout_ms. The caller closes it.
  int Accept(int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return -1;
    return ::accept(fd_, nullptr, nullptr);
  }

 private:
  int fd_ = -1;
  bool listening_ = false;
};

Buffer Hello(const std::string& session, uint32_t from, uint32_t to, const std::string& name,
             uint32_t version = kTcpProtocolVersion) {
  return internal::EncodeHello({session, version, from, to, name});
}

// A frame whose length field says `claimed_len` (normally payload.size()).
Buffer Frame(const std::string& tag, const Buffer& payload, uint64_t claimed_len) {
  Buffer out;
  ByteWriter w(&out);
  w.U32(static_cast<uint32_t>(tag.size()));
  w.Raw(tag.data(), tag.size());
  w.U64(claimed_len);
  w.Raw(payload.data(), payload.size());
  return out;
}
Buffer Frame(const std::string& tag, const Buffer& payload) {
  return Frame(tag, payload, payload.size());
}

// ------------------------------------------------------------------------------------------------

TEST(TcpAddressTest, ParsesHostPortForms) {
  auto a = internal::ParseHostPort("127.0.0.1:9000");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 9000);
  auto b = internal::ParseHostPort("http://alice.example:80/");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "alice.example");
  EXPECT_EQ(b->port, 80);
  auto c = internal::ParseHostPort("[::1]:7");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->host, "::1");
  auto d = internal::ParseHostPort(":5000");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->host, "");
  EXPECT_EQ(d->port, 5000);
  for (const char* bad : {"nohost", "h:70000", "h:", "h:12x", "::1:80", "[::1]80", ""}) {
    auto r = internal::ParseHostPort(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), "bad_address");
    }
  }
}

TEST(TcpTransportTest, RejectsBadDescriptions) {
  ContextDesc desc = test::MakeTcpDesc(2);
  auto out_of_range = CreateTcpContext(desc, 2, nullptr);
  ASSERT_FALSE(out_of_range.ok());
  EXPECT_EQ(out_of_range.status().code(), "bad_link_desc");

  ContextDesc bad_addr = desc;
  bad_addr.parties[1].address = "p1-without-port";
  auto r = CreateTcpContext(bad_addr, 0, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().type(), ErrorType::kParameterValidation);
  EXPECT_TRUE(Contains(r.status().message(), "p1-without-port"));

  ContextDesc dup = desc;
  dup.parties[1].name = "p0";
  EXPECT_EQ(CreateTcpContext(dup, 0, nullptr).status().code(), "bad_link_desc");
}

TEST(TcpTransportTest, SinglePartyConnectsAtOnce) {
  auto world = test::MakeTcpWorld(1);
  ASSERT_TRUE(world.ok()) << world.status().ToString();
}

TEST(TcpTransportTest, TwoPartiesExchangeTaggedMessagesAndLargePayload) {
  auto world = test::MakeTcpWorld(2);
  ASSERT_TRUE(world.ok()) << world.status().ToString();
  auto& w = *world;

  ASSERT_TRUE(w[0]->Send(1, "b", B("second-tag")).ok());
  ASSERT_TRUE(w[0]->Send(1, "a", B("x1")).ok());
  ASSERT_TRUE(w[0]->Send(1, "a", B("x2")).ok());
  ASSERT_TRUE(w[0]->Send(1, "empty", Buffer{}).ok());
  EXPECT_EQ(S(*w[1]->Recv(0, "a")), "x1");
  EXPECT_EQ(S(*w[1]->Recv(0, "b")), "second-tag");
  EXPECT_EQ(S(*w[1]->Recv(0, "a")), "x2");
  EXPECT_TRUE(w[1]->Recv(0, "empty")->empty());
  ASSERT_TRUE(w[1]->Send(0, "back", B("pong")).ok());
  EXPECT_EQ(S(*w[0]->Recv(1, "back")), "pong");

  // 64 MiB in both directions at the same time: sends must not wait for the other side's Recv.
  constexpr size_t kBig = size_t{64} << 20;
  const Buffer big0 = Pattern(kBig, 0), big1 = Pattern(kBig, 1);
  auto start = Clock::now();
  auto send0 = std::async(std::launch::async, [&] { return w[0]->Send(1, "big", big0); });
  auto send1 = std::async(std::launch::async, [&] { return w[1]->Send(0, "big", big1); });
  ASSERT_TRUE(send0.get().ok());
  ASSERT_TRUE(send1.get().ok());
  auto got1 = w[1]->Recv(0, "big");
  auto got0 = w[0]->Recv(1, "big");
  ASSERT_TRUE(got1.ok()) << got1.status().ToString();
  ASSERT_TRUE(got0.ok()) << got0.status().ToString();
  EXPECT_TRUE(*got1 == big0);
  EXPECT_TRUE(*got0 == big1);
  std::printf("2 x 64 MiB exchanged in %lld ms\n", static_cast<long long>(MsSince(start)));

  const LinkStats s0 = w[0]->stats(), s1 = w[1]->stats();
  EXPECT_EQ(s0.bytes_sent, s1.bytes_received);
  EXPECT_EQ(s1.bytes_sent, s0.bytes_received);
  EXPECT_EQ(s0.bytes_sent, 14u + kBig);
  EXPECT_EQ(s1.bytes_sent, 4u + kBig);
  EXPECT_EQ(s0.messages_sent, s1.messages_received);
  EXPECT_EQ(s1.messages_sent, s0.messages_received);
}

TEST(TcpTransportTest, ThreePartiesAllGatherBarrierAndPairwise) {
  auto world = test::MakeTcpWorld(3);
  ASSERT_TRUE(world.ok()) << world.status().ToString();
  auto& w = *world;
  std::vector<std::future<void>> runs;
  for (size_t r = 0; r < 3; ++r) {
    runs.push_back(std::async(std::launch::async, [&, r] {
      EXPECT_TRUE(w[r]->Barrier("start").ok());
      auto all = w[r]->AllGather("g", B("from-" + std::to_string(r)));
      ASSERT_TRUE(all.ok()) << all.status().ToString();
      for (size_t k = 0; k < 3; ++k) EXPECT_EQ(S((*all)[k]), "from-" + std::to_string(k));
      for (size_t k = 0; k < 3; ++k) {
        if (k != r) {
          EXPECT_TRUE(w[r]->Send(k, "pair", Pattern(1000 + r, static_cast<uint32_t>(r))).ok());
        }
      }
      for (size_t k = 0; k < 3; ++k) {
        if (k == r) continue;
        auto msg = w[r]->Recv(k, "pair");
        ASSERT_TRUE(msg.ok()) << msg.status().ToString();
        EXPECT_TRUE(*msg == Pattern(1000 + k, static_cast<uint32_t>(k)));
      }
      EXPECT_TRUE(w[r]->Barrier("end").ok());
    }));
  }
  for (auto& f : runs) f.get();
  uint64_t sent = 0, received = 0;
  for (auto& c : w) {
    sent += c->stats().bytes_sent;
    received += c->stats().bytes_received;
  }
  EXPECT_EQ(sent, received);
}

TEST(TcpTransportTest, ConcurrentSendersKeepFramesWhole) {
  auto world = test::MakeTcpWorld(2);
  ASSERT_TRUE(world.ok()) << world.status().ToString();
  auto& w = *world;
  constexpr int kThreads = 4, kMessages = 200;
  std::vector<std::future<void>> jobs;
  for (int t = 0; t < kThreads; ++t) {
    jobs.push_back(std::async(std::launch::async, [&, t] {
      for (int i = 0; i < kMessages; ++i) {
        const auto seed = static_cast<uint32_t>(t * 1000 + i);
        ASSERT_TRUE(w[0]->Send(1, "t" + std::to_string(t), Pattern((i * 97) % 20000, seed)).ok());
      }
    }));
    jobs.push_back(std::async(std::launch::async, [&, t] {
      for (int i = 0; i < kMessages; ++i) {
        const auto seed = static_cast<uint32_t>(t * 1000 + i);
        auto msg = w[1]->Recv(0, "t" + std::to_string(t));
        ASSERT_TRUE(msg.ok()) << msg.status().ToString();
        ASSERT_TRUE(*msg == Pattern((i * 97) % 20000, seed)) << "thread " << t << " msg " << i;
      }
    }));
  }
  for (auto& j : jobs) j.get();
}

TEST(TcpTransportTest, LatePeerJoinsWithinDeadline) {
  ContextDesc desc = test::MakeTcpDesc(3);
  auto early = CreateAll(desc, {0, 1});
  ASSERT_TRUE(early[0] && early[1]);
  auto c0 = ConnectAsync(early[0].get());
  auto c1 = ConnectAsync(early[1].get());
  std::this_thread::sleep_for(milliseconds(2000));
  auto late = CreateTcpContext(desc, 2, nullptr);
  ASSERT_TRUE(late.ok()) << late.status().ToString();
  auto start = Clock::now();
  ASSERT_TRUE((*late)->Connect().ok());
  EXPECT_LT(MsSince(start), 2000);
  ASSERT_TRUE(c0.get().ok());
  ASSERT_TRUE(c1.get().ok());

  Context* ctx[3] = {early[0].get(), early[1].get(), late->get()};
  std::vector<std::future<StatusOr<std::vector<Buffer>>>> gathers;
  for (size_t r = 0; r < 3; ++r) {
    gathers.push_back(std::async(std::launch::async,
                                 [&, r] { return ctx[r]->AllGather("g", B(std::to_string(r))); }));
  }
  for (auto& g : gathers) {
    auto all = g.get();
    ASSERT_TRUE(all.ok()) << all.status().ToString();
    EXPECT_EQ(S((*all)[2]), "2");
  }
}

TEST(TcpTransportTest, MissingPeerFailsWithinDeadlineNamingIt) {
  LinkOptions options = test::TestLinkOptions();
  options.connect_timeout_ms = 1000;
  ContextDesc desc = test::MakeTcpDesc(3, "test", options);
  auto present = CreateAll(desc, {0, 1});
  ASSERT_TRUE(present[0] && present[1]);
  auto start = Clock::now();
  auto c1 = ConnectAsync(present[1].get());
  Status st = present[0]->Connect();
  const int64_t elapsed_ms = MsSince(start);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.type(), ErrorType::kNetwork);
  EXPECT_EQ(st.code(), "peer_unreachable");
  EXPECT_TRUE(Contains(st.message(), "p2 (" + desc.parties[2].address + ")")) << st.message();
  EXPECT_FALSE(Contains(st.message(), "party p1")) << st.message();  // p1 did link
  EXPECT_GE(elapsed_ms, 900);
  EXPECT_LT(elapsed_ms, 3000);
  EXPECT_EQ(c1.get().code(), "peer_unreachable");

  // The failed transport is closed and its port free at once.
  auto again = CreateTcpContext(desc, 0, nullptr);
  EXPECT_TRUE(again.ok()) << again.status().ToString();
}

TEST(TcpTransportTest, RetryTimesCapsDialAttempts) {
  LinkOptions options = test::TestLinkOptions();
  options.connect_retry_times = 3;
  ContextDesc desc = test::MakeTcpDesc(2, "test", options);
  auto ctx = CreateTcpContext(desc, 0, nullptr);
  ASSERT_TRUE(ctx.ok());
  auto start = Clock::now();
  Status st = (*ctx)->Connect();
  EXPECT_EQ(st.code(), "peer_unreachable");
  EXPECT_TRUE(Contains(st.message(), "3 attempt(s)")) << st.message();
  EXPECT_LT(MsSince(start), 2000);
}

TEST(TcpTransportTest, StaleSessionIsRefusedAndCannotInject) {
  LinkOptions options = test::TestLinkOptions();
  options.recv_timeout_ms = 300;
  ContextDesc good = test::MakeTcpDesc(2, "session-new", options);
  ContextDesc stale = good;
  stale.session_id = "session-old";
  const std::string stale_addr = "127.0.0.1:" + std::to_string(test::PickFreePort());
  stale.parties[1].address = stale.parties[1].listen_addr = stale_addr;

  auto good0 = CreateTcpContext(good, 0, nullptr);
  ASSERT_TRUE(good0.ok());
  auto c0 = ConnectAsync(good0->get());

  // A stale p1 (same name and rank, old session) dials p0 and is refused at once.
  auto stale1 = CreateTcpContext(stale, 1, nullptr);
  ASSERT_TRUE(stale1.ok());
  auto start = Clock::now();
  Status refused = (*stale1)->Connect();
  EXPECT_EQ(refused.type(), ErrorType::kNetwork);
  EXPECT_EQ(refused.code(), "session_refused");
  EXPECT_TRUE(Contains(refused.message(), "stale or foreign session")) << refused.message();
  EXPECT_LT(MsSince(start), 3000);

  // A stale dialer that ignores the refusal and pushes a frame anyway gets nowhere.
  RawClient raw(PortOf(good, 0));
  ASSERT_TRUE(raw.connected());
  Buffer hello = Hello("session-old", 1, 0, "p1");
  Buffer frame = Frame("inject", B("evil"));
  hello.insert(hello.end(), frame.begin(), frame.end());
  ASSERT_TRUE(raw.Write(hello));
  auto reply = raw.ReadReply();
  ASSERT_TRUE(reply.has_value());
  EXPECT_FALSE(reply->first);
  EXPECT_TRUE(Contains(reply->second, "stale or foreign session")) << reply->second;

  // The real p1 still links, and only its messages arrive.
  auto good1 = CreateTcpContext(good, 1, nullptr);
  ASSERT_TRUE(good1.ok());
  ASSERT_TRUE((*good1)->Connect().ok());
  ASSERT_TRUE(c0.get().ok());
  ASSERT_TRUE((*good1)->Send(0, "hello", B("real")).ok());
  EXPECT_EQ(S(*(*good0)->Recv(1, "hello")), "real");
  EXPECT_EQ((*good0)->Recv(1, "inject").status().code(), "recv_timeout");
}

TEST(TcpTransportTest, HandshakeRefusesBadHellosAndBadFrames) {
  LinkOptions options = test::TestLinkOptions();
  options.recv_timeout_ms = 3000;
  ContextDesc desc = test::MakeTcpDesc(3, "s", options);
  auto ctx = CreateTcpContext(desc, 0, nullptr);
  ASSERT_TRUE(ctx.ok());
  auto connect = ConnectAsync(ctx->get());  // p1 and p2 never run: raw clients stand in
  const uint16_t port = PortOf(desc, 0);

  auto expect_refused = [&](const Buffer& hello, const std::string& reason_part) {
    RawClient raw(port);
    ASSERT_TRUE(raw.connected());
    ASSERT_TRUE(raw.Write(hello));
    auto reply = raw.ReadReply();
    ASSERT_TRUE(reply.has_value()) << reason_part;
    EXPECT_FALSE(reply->first);
    EXPECT_TRUE(Contains(reply->second, reason_part)) << reply->second;
  };
  expect_refused(B("GET / HTTP/1"), "bad magic");
  expect_refused(Hello("s", 1, 0, "p1", 99), "version 99");
  expect_refused(Hello("s", 1, 0, "mallory"), "not 'mallory'");
  expect_refused(Hello("s", 0, 0, "p0"), "from_rank 0");
  expect_refused(Hello("s", 7, 0, "p1"), "from_rank 7");
  expect_refused(Hello("s", 1, 2, "p1"), "for rank 2");

  RawClient p1(port);
  ASSERT_TRUE(p1.connected());
  ASSERT_TRUE(p1.Write(Hello("s", 1, 0, "p1")));
  auto ok = p1.ReadReply();
  ASSERT_TRUE(ok.has_value());
  EXPECT_TRUE(ok->first) << ok->second;
  expect_refused(Hello("s", 1, 0, "p1"), "already connected");

  // Frames from the accepted connection arrive (even before Connect is done)...
  ASSERT_TRUE(p1.Write(Frame("hi", B("there"))));
  EXPECT_EQ(S(*(*ctx)->Recv(1, "hi")), "there");
  // ...until a corrupt length marks the peer lost at once.
  ASSERT_TRUE(p1.Write(Frame("x", Buffer{}, kMaxMessageBytes + 1)));
  auto start = Clock::now();
  auto bad = (*ctx)->Recv(1, "x");
  EXPECT_EQ(bad.status().code(), "bad_frame");
  EXPECT_LT(MsSince(start), 1000);

  (*ctx)->Close();
  EXPECT_EQ(connect.get().code(), "link_closed");
}

TEST(TcpTransportTest, ClosedPeerFailsReceiversFastButDeliversPending) {
  LinkOptions options = test::TestLinkOptions();
  options.recv_timeout_ms = 20'000;
  auto world = test::MakeTcpWorld(2, options);
  ASSERT_TRUE(world.ok()) << world.status().ToString();
  auto& w = *world;
  auto blocked = std::async(std::launch::async, [&] { return w[0]->Recv(1, "never"); });
  std::this_thread::sleep_for(milliseconds(50));
  ASSERT_TRUE(w[1]->Send(0, "last", B("last words")).ok());
  ASSERT_TRUE(w[1]->Send(0, "big-last", Pattern(8 << 20, 7)).ok());
  auto start = Clock::now();
  w[1]->Close();

  auto r = blocked.get();
  EXPECT_EQ(r.status().code(), "peer_lost");
  EXPECT_TRUE(Contains(r.status().message(), "p1")) << r.status().message();
  EXPECT_LT(MsSince(start), 2000);
  // What arrived before the close is still delivered, without error.
  EXPECT_EQ(S(*w[0]->Recv(1, "last")), "last words");
  auto big = w[0]->Recv(1, "big-last");
  ASSERT_TRUE(big.ok()) << big.status().ToString();
  EXPECT_TRUE(*big == Pattern(8 << 20, 7));
  EXPECT_EQ(w[0]->Recv(1, "last").status().code(), "peer_lost");
}

TEST(TcpTransportTest, CloseWakesReceiversAndIsIdempotent) {
  auto world = test::MakeTcpWorld(2);
  ASSERT_TRUE(world.ok()) << world.status().ToString();
  auto& w = *world;
  auto blocked = std::async(std::launch::async, [&] { return w[0]->Recv(1, "never"); });
  std::this_thread::sleep_for(milliseconds(50));
  auto start = Clock::now();
  w[0]->Close();
  EXPECT_EQ(blocked.get().status().code(), "link_closed");
  EXPECT_LT(MsSince(start), 1000);
  w[0]->Close();
  EXPECT_EQ(w[0]->Send(1, "t", B("x")).code(), "link_closed");
  EXPECT_EQ(w[0]->Connect().code(), "link_closed");
}

TEST(TcpTransportTest, CloseWakesSenderBlockedOnPeerThatStoppedReading) {
  ContextDesc desc = test::MakeTcpDesc(2);
  auto ctx = CreateTcpContext(desc, 0, nullptr);
  ASSERT_TRUE(ctx.ok());
  RawServer p1_listener(PortOf(desc, 1));  // a p1 that completes the handshake, then hangs
  ASSERT_TRUE(p1_listener.listening());
  auto connect = ConnectAsync(ctx->get());

  const int fd = p1_listener.Accept(3000);
  ASSERT_GE(fd, 0);
  uint8_t head[12];
  ASSERT_EQ(::recv(fd, head, sizeof head, MSG_WAITALL), 12);
  uint32_t rest_len;
  std::memcpy(&rest_len, head + 8, 4);
  std::string rest(rest_len, '\0');
  ASSERT_EQ(::recv(fd, rest.data(), rest_len, MSG_WAITALL), static_cast<ssize_t>(rest_len));
  const uint8_t accept_reply[5] = {1, 0, 0, 0, 0};
  ASSERT_EQ(::send(fd, accept_reply, sizeof accept_reply, MSG_NOSIGNAL), 5);
  RawClient p1_dialer(PortOf(desc, 0));
  ASSERT_TRUE(p1_dialer.Write(Hello("test", 1, 0, "p1")));
  ASSERT_TRUE(p1_dialer.ReadReply().value_or(std::make_pair(false, "")).first);
  ASSERT_TRUE(connect.get().ok());

  // Far more than the socket buffers hold: the write blocks since p1 never reads.
  auto send = std::async(std::launch::async,
                         [&] { return (*ctx)->Send(1, "big", Buffer(size_t{64} << 20)); });
  EXPECT_EQ(send.wait_for(milliseconds(300)), std::future_status::timeout);
  auto start = Clock::now();
  (*ctx)->Close();
  EXPECT_EQ(send.get().code(), "link_closed");
  EXPECT_LT(MsSince(start), 1000);
  ::close(fd);
}

TEST(TcpTransportTest, CancelDuringConnectReturnsPromptly) {
  LinkOptions options = test::TestLinkOptions();
  options.connect_timeout_ms = 30'000;
  ContextDesc desc = test::MakeTcpDesc(2, "test", options);
  auto cancel = std::make_shared<CancelToken>();
  auto ctx = CreateTcpContext(desc, 0, cancel);
  ASSERT_TRUE(ctx.ok());
  auto canceller = std::async(std::launch::async, [&] {
    std::this_thread::sleep_for(milliseconds(200));
    cancel->Cancel(CancelledError("user_cancel", "stop now"));
  });
  auto start = Clock::now();
  Status st = (*ctx)->Connect();
  EXPECT_EQ(st.code(), "user_cancel");
  EXPECT_EQ(st.type(), ErrorType::kCancelled);
  EXPECT_LT(MsSince(start), 1500);
  canceller.get();
}

TEST(TcpTransportTest, PortInUseIsResourceError) {
  ContextDesc desc = test::MakeTcpDesc(2);
  const uint16_t port = PortOf(desc, 0);
  {
    asio::io_context io;
    asio::ip::tcp::acceptor squatter(
        io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    auto r = CreateTcpContext(desc, 0, nullptr);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().type(), ErrorType::kResource);
    EXPECT_EQ(r.status().code(), "port_in_use");
    EXPECT_TRUE(Contains(r.status().message(), "127.0.0.1:" + std::to_string(port)))
        << r.status().message();
  }
  // Two transports of one party: the second cannot bind either.
  auto first = CreateTcpContext(desc, 0, nullptr);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(CreateTcpContext(desc, 0, nullptr).status().code(), "port_in_use");
}

TEST(TcpTransportTest, QuickRerunRebindsTheSamePorts) {
  ContextDesc desc = test::MakeTcpDesc(2);
  for (int run = 0; run < 2; ++run) {
    auto world = test::ConnectTcpWorld(desc);
    ASSERT_TRUE(world.ok()) << "run " << run << ": " << world.status().ToString();
    ASSERT_TRUE((*world)[0]->Send(1, "t", B("run")).ok());
    EXPECT_EQ(S(*(*world)[1]->Recv(0, "t")), "run");
  }
}

}  // namespace
}  // namespace veil::link

namespace veil::link {
namespace {

TEST(TcpAbortTest, AbortReachesThePeerWithItsCause) {
  auto world = test::MakeTcpWorld(2);
  ASSERT_TRUE(world.ok()) << world.status().ToString();
  auto& w = *world;
  auto waiting = std::async(std::launch::async, [&] { return w[0]->Recv(1, "never").status(); });
  w[1]->Abort(AlgorithmError("boom", "the protocol broke"));
  Status s = waiting.get();
  EXPECT_EQ(s.type(), ErrorType::kAlgorithm);
  EXPECT_EQ(s.code(), kPeerFailedCode);
  EXPECT_NE(s.message().find("the protocol broke"), std::string::npos);
}

}  // namespace
}  // namespace veil::link
