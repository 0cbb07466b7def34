#include "veil/link/context.h"

#include <future>
#include <thread>

#include <gtest/gtest.h>

namespace veil::link {
namespace {

Buffer B(std::string s) { return Buffer(s.begin(), s.end()); }
std::string S(const Buffer& b) { return std::string(b.begin(), b.end()); }

TEST(MemoryLinkTest, SendRecvByTagAndCounters) {
  auto w = test::MakeWorld(2);
  ASSERT_TRUE(w[0]->Send(1, "b", B("second-tag")).ok());
  ASSERT_TRUE(w[0]->Send(1, "a", B("x1")).ok());
  ASSERT_TRUE(w[0]->Send(1, "a", B("x2")).ok());
  // Tags are independent queues; one tag is FIFO.
  EXPECT_EQ(S(*w[1]->Recv(0, "a")), "x1");
  EXPECT_EQ(S(*w[1]->Recv(0, "b")), "second-tag");
  EXPECT_EQ(S(*w[1]->Recv(0, "a")), "x2");
  EXPECT_EQ(w[0]->stats().bytes_sent, 14u);
  EXPECT_EQ(w[1]->stats().bytes_received, 14u);
  EXPECT_EQ(w[0]->stats().messages_sent, 3u);
  EXPECT_EQ(w[0]->stats().rounds, 1u);  // three sends in one direction = one round
}

TEST(MemoryLinkTest, RoundsCountDirectionChanges) {
  auto w = test::MakeWorld(2);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(w[0]->Send(1, "ping", B("p")).ok());
    ASSERT_TRUE(w[1]->Recv(0, "ping").ok());
    ASSERT_TRUE(w[1]->Send(0, "pong", B("q")).ok());
    ASSERT_TRUE(w[0]->Recv(1, "pong").ok());
  }
  EXPECT_EQ(w[0]->stats().rounds, 3u);
  EXPECT_EQ(w[1]->stats().rounds, 3u);
}

TEST(MemoryLinkTest, RecvTimesOutWithNetworkError) {
  ContextDesc d{"s", {{"alice", "", ""}, {"bob", "", ""}}, {}};
  d.options.recv_timeout_ms = 50;
  auto w = CreateMemoryWorld(d, nullptr);
  auto r = w[0]->Recv(1, "never");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().type(), ErrorType::kNetwork);
  EXPECT_EQ(r.status().code(), "recv_timeout");
  EXPECT_NE(r.status().message().find("bob"), std::string::npos);
}

TEST(MemoryLinkTest, ClosedPeerFailsFastButDeliversPending) {
  auto w = test::MakeWorld(2);
  ASSERT_TRUE(w[1]->Send(0, "t", B("last words")).ok());
  w[1]->Close();
  EXPECT_EQ(S(*w[0]->Recv(1, "t")), "last words");
  auto start = std::chrono::steady_clock::now();
  auto r = w[0]->Recv(1, "t");
  EXPECT_EQ(r.status().code(), "peer_lost");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(MemoryLinkTest, CancelWakesReceiver) {
  auto cancel = std::make_shared<CancelToken>();
  ContextDesc d{"s", {{"a", "", ""}, {"b", "", ""}}, {}};
  auto w = CreateMemoryWorld(d, cancel);
  auto fut = std::async(std::launch::async, [&] { return w[0]->Recv(1, "x").status(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  cancel->Cancel(TimeoutError("hard_time_limit", "stop"));
  EXPECT_EQ(fut.get().code(), "hard_time_limit");
}

TEST(MemoryLinkTest, AllGatherAndBarrierThreeParties) {
  auto w = test::MakeWorld(3);
  std::vector<std::future<StatusOr<std::vector<Buffer>>>> f;
  for (size_t r = 0; r < 3; ++r) {
    f.push_back(std::async(std::launch::async, [&, r] {
      EXPECT_TRUE(w[r]->Barrier("start").ok());
      return w[r]->AllGather("g", B(std::to_string(r)));
    }));
  }
  for (size_t r = 0; r < 3; ++r) {
    auto all = f[r].get();
    ASSERT_TRUE(all.ok());
    for (size_t k = 0; k < 3; ++k) EXPECT_EQ(S((*all)[k]), std::to_string(k));
  }
}

TEST(MemoryLinkTest, RejectsSelfAndOutOfRange) {
  auto w = test::MakeWorld(2);
  EXPECT_FALSE(w[0]->Send(0, "t", {}).ok());
  EXPECT_FALSE(w[0]->Send(7, "t", {}).ok());
  EXPECT_EQ(*w[0]->RankOf("p1"), 1u);
  EXPECT_FALSE(w[0]->RankOf("zz").has_value());
}

}  // namespace
}  // namespace veil::link

namespace veil::link {
namespace {

TEST(MemoryLinkTest, AbortCarriesTheCauseToEveryPeer) {
  auto w = test::MakeWorld(3);
  auto waiting = std::async(std::launch::async, [&] { return w[0]->Recv(1, "never").status(); });
  w[2]->Abort(ParameterError("duplicate_keys", "bad input"));
  Status s = waiting.get();  // alice waited on bob, but carol's failure ends the session
  EXPECT_EQ(s.type(), ErrorType::kParameterValidation);
  EXPECT_EQ(s.code(), kPeerFailedCode);
  EXPECT_NE(s.message().find("p2"), std::string::npos);
  EXPECT_NE(s.message().find("bad input"), std::string::npos);
  EXPECT_EQ(w[1]->Recv(2, "x").status().code(), kPeerFailedCode);
}

// A third party's message that is still on its way when another party aborts is delivered
// (within kAbortGraceMs), so a deterministic error reached by every party is reported as such.
TEST(MemoryLinkTest, MessageFromAnotherPeerShortlyAfterAnAbortIsStillDelivered) {
  auto w = test::MakeWorld(3);
  w[2]->Abort(ParameterError("unknown_column", "bad column"));
  auto late = std::async(std::launch::async, [&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    return w[1]->Send(0, "part", Buffer{7});
  });
  auto got = w[0]->Recv(1, "part");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, Buffer{7});
  EXPECT_TRUE(late.get().ok());
  // Nothing from bob: the abort's error after the grace period; from carol (the aborter) at once.
  EXPECT_EQ(w[0]->Recv(1, "never").status().code(), kPeerFailedCode);
  EXPECT_EQ(w[0]->Recv(2, "never").status().code(), kPeerFailedCode);
}

}  // namespace
}  // namespace veil::link
