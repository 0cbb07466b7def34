// RedisOptions (URL parsing, redaction) and RedisHiredisClient against private redis-servers:
// AUTH, SELECT, reconnect across restarts, the reconnect budget, lost replies of blocking pops.
// The command semantics themselves are in redis_conformance_test.cc.
#include "veil/worker/redis_client.h"

#include <unistd.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "veil/base/cancel.h"
#include "veil/worker/redis_hiredis.h"
#include "veil/worker/redis_options.h"
#include "veil/worker/redis_test_server.h"

namespace veil::worker {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr char kPassword[] = "s3cret-Pa55word";

int64_t MsSince(Clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - start).count();
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::unique_ptr<RedisTestServer> StartServer(RedisTestServerOptions options = {}) {
  auto server = RedisTestServer::Start(std::move(options));
  EXPECT_TRUE(server.ok()) << server.status().ToString();
  return server.ok() ? std::move(*server) : nullptr;
}

std::unique_ptr<RedisClient> ConnectOrDie(const RedisOptions& options) {
  auto client = RedisHiredisClient::Connect(options);
  EXPECT_TRUE(client.ok()) << client.status().ToString();
  return client.ok() ? std::move(*client) : nullptr;
}

// A port nothing listens on (bound and released).
uint16_t UnusedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// ---------------------------------------------------------------------------------------------
// RedisOptions

TEST(RedisOptionsTest, ParsesUrls) {
  auto o = RedisOptions::FromUrl("redis://localhost:6380/2");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->host, "localhost");
  EXPECT_EQ(o->port, 6380);
  EXPECT_EQ(o->db, 2);
  EXPECT_EQ(o->password, "");

  o = RedisOptions::FromUrl("redis://redis.internal");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->host, "redis.internal");
  EXPECT_EQ(o->port, kRedisDefaultPort);
  EXPECT_EQ(o->db, 0);

  o = RedisOptions::FromUrl("redis://:pa%40ss@10.0.0.5:6379/0");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->username, "");
  EXPECT_EQ(o->password, "pa@ss");
  EXPECT_EQ(o->host, "10.0.0.5");

  o = RedisOptions::FromUrl("REDIS://worker:p:w/x@ss@h:1/");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->username, "worker");
  EXPECT_EQ(o->password, "p:w/x@ss");
  EXPECT_EQ(o->host, "h");
  EXPECT_EQ(o->port, 1);

  o = RedisOptions::FromUrl("redis://[::1]:7000/3");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->host, "::1");
  EXPECT_EQ(o->port, 7000);
  EXPECT_EQ(o->endpoint(), "[::1]:7000/3");
}

TEST(RedisOptionsTest, RejectsBadUrlsNamingTheProblem) {
  struct Case {
    const char* url;
    const char* code;
    const char* says;
  };
  const Case cases[] = {
      {"localhost:6379", "bad_redis_url", "missing scheme"},
      {"rediss://:pw@host:6380/0", "tls_not_supported", "rediss://"},
      {"http://host", "bad_redis_url", "unsupported scheme 'http'"},
      {"unix:///tmp/redis.sock", "bad_redis_url", "unix sockets"},
      {"redis://", "bad_redis_url", "missing host"},
      {"redis://:6379/0", "bad_redis_url", "missing host"},
      {"redis://host:0", "bad_redis_url", "port '0'"},
      {"redis://host:99999", "bad_redis_url", "port '99999'"},
      {"redis://host:abc", "bad_redis_url", "port 'abc'"},
      {"redis://host:", "bad_redis_url", "empty port"},
      {"redis://host/zero", "bad_redis_url", "database 'zero'"},
      {"redis://host/-1", "bad_redis_url", "database '-1'"},
      {"redis://host/0?ssl=true", "bad_redis_url", "query parameters"},
      {"redis://justuser@host", "bad_redis_url", "user name without a password"},
      {"redis://:@host", "bad_redis_url", "empty password"},
      {"redis://:%zz@host", "bad_redis_url", "percent-encoding in the password"},
      {"redis://[::1:6379", "bad_redis_url", "IPv6"},
  };
  for (const Case& c : cases) {
    auto o = RedisOptions::FromUrl(c.url);
    ASSERT_FALSE(o.ok()) << c.url;
    EXPECT_EQ(o.status().code(), c.code) << c.url;
    EXPECT_EQ(o.status().type(), ErrorType::kParameterValidation) << c.url;
    EXPECT_TRUE(Contains(o.status().message(), c.says)) << c.url << " → " << o.status().ToString();
  }
  // The password never shows up in an error about another part of the URL.
  auto o = RedisOptions::FromUrl("redis://:hunter2-secret@host:bad/0");
  ASSERT_FALSE(o.ok());
  EXPECT_FALSE(Contains(o.status().message(), "hunter2-secret")) << o.status().ToString();
}

TEST(RedisOptionsTest, RedactsThePassword) {
  auto o = RedisOptions::FromUrl("redis://app:hunter2@db.local:6379/1");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->RedactedUrl(), "redis://app:***@db.local:6379/1");
  EXPECT_EQ(o->endpoint(), "db.local:6379/1");
  EXPECT_EQ(o->Redact("AUTH hunter2 failed; hunter2!"), "AUTH *** failed; ***!");
  RedisOptions plain;
  EXPECT_EQ(plain.RedactedUrl(), "redis://127.0.0.1:6379/0");
  EXPECT_EQ(plain.Redact("unchanged"), "unchanged");
}

TEST(RedisOptionsTest, ValidateListsEveryProblem) {
  RedisOptions o;
  o.host = "";
  o.db = -1;
  o.command_timeout_ms = 0;
  o.max_backoff_ms = 1;
  o.initial_backoff_ms = 10;
  Status s = o.Validate();
  EXPECT_EQ(s.code(), "bad_redis_options");
  for (const char* word : {"host", "db", "command_timeout_ms", "max_backoff_ms"}) {
    EXPECT_TRUE(Contains(s.message(), word)) << s.ToString();
  }
  EXPECT_TRUE(RedisOptions().Validate().ok());
  auto client = RedisHiredisClient::Connect(o);
  EXPECT_EQ(client.status().code(), "bad_redis_options");
}

TEST(RedisClientTest, IdempotentCommandClassification) {
  EXPECT_TRUE(IsIdempotentCommand({"get", "k"}));
  EXPECT_TRUE(IsIdempotentCommand({"SET", "k", "v", "EX", "10"}));
  EXPECT_FALSE(IsIdempotentCommand({"SET", "k", "v", "NX", "PX", "10"}));
  EXPECT_TRUE(IsIdempotentCommand({"ZADD", "z", "XX", "1", "m"}));
  EXPECT_FALSE(IsIdempotentCommand({"ZADD", "z", "INCR", "1", "m"}));
  EXPECT_FALSE(IsIdempotentCommand({"LPUSH", "q", "m"}));
  EXPECT_FALSE(IsIdempotentCommand({"BRPOP", "q", "1"}));
  EXPECT_FALSE(IsIdempotentCommand({"EVAL", "return 1", "0"}));
  EXPECT_FALSE(IsIdempotentCommand({}));
}

// ---------------------------------------------------------------------------------------------
// RedisTestServer

TEST(RedisTestServerTest, MissingBinaryIsAClearError) {
  RedisTestServerOptions options;
  options.binary = "/nonexistent/redis-server";
  auto server = RedisTestServer::Start(options);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), "redis_server_missing");
  EXPECT_TRUE(Contains(server.status().message(), "apt-get install redis-server"));
}

TEST(RedisTestServerTest, TheRealBinaryIsInstalled) {
  // The suite relies on /usr/bin/redis-server; fail loudly (never skip) when it is absent.
  ASSERT_EQ(access(kRedisServerBinary, X_OK), 0)
      << kRedisServerBinary << " is missing: install the Debian package redis-server";
}

TEST(RedisTestServerTest, StopRestartKeepsPortAndAppendOnlyData) {
  RedisTestServerOptions options;
  options.appendonly = true;
  auto server = StartServer(options);
  ASSERT_NE(server, nullptr);
  const uint16_t port = server->port();
  {
    auto redis = ConnectOrDie(server->options());
    ASSERT_NE(redis, nullptr);
    ASSERT_TRUE(redis->Set("durable", "yes").ok());
  }
  ASSERT_TRUE(server->Stop().ok());
  EXPECT_FALSE(server->running());
  ASSERT_TRUE(server->Restart().ok());
  EXPECT_EQ(server->port(), port);
  auto redis = ConnectOrDie(server->options());
  ASSERT_NE(redis, nullptr);
  auto v = redis->Get("durable");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, "yes");
  const std::string dir = server->dir();
  server.reset();
  EXPECT_NE(access(dir.c_str(), F_OK), 0) << "the temp dir is removed";
}

// ---------------------------------------------------------------------------------------------
// Authentication and database selection

TEST(RedisHiredisClientTest, AuthWithPasswordFromUrl) {
  RedisTestServerOptions options;
  options.password = kPassword;
  auto server = StartServer(options);
  ASSERT_NE(server, nullptr);
  auto url_options = RedisOptions::FromUrl(server->url());
  ASSERT_TRUE(url_options.ok()) << url_options.status().ToString();
  EXPECT_EQ(url_options->password, kPassword);
  auto redis = ConnectOrDie(*url_options);
  ASSERT_NE(redis, nullptr);
  EXPECT_TRUE(redis->Set("k", "v").ok());
  EXPECT_FALSE(Contains(redis->endpoint(), kPassword));
  // ACL form: the default user with its password.
  url_options->username = "default";
  EXPECT_NE(ConnectOrDie(*url_options), nullptr);
}

TEST(RedisHiredisClientTest, WrongPasswordIsAClearErrorWithoutThePassword) {
  RedisTestServerOptions options;
  options.password = kPassword;
  auto server = StartServer(options);
  ASSERT_NE(server, nullptr);
  RedisOptions o = server->options();
  o.password = "wrong-Pa55word-xyz";
  const Clock::time_point start = Clock::now();
  auto redis = RedisHiredisClient::Connect(o);
  ASSERT_FALSE(redis.ok());
  EXPECT_EQ(redis.status().code(), "redis_auth_failed");
  EXPECT_EQ(redis.status().type(), ErrorType::kParameterValidation);
  EXPECT_TRUE(Contains(redis.status().message(), "refused the password"))
      << redis.status().ToString();
  EXPECT_TRUE(Contains(redis.status().message(), o.endpoint()));
  EXPECT_FALSE(Contains(redis.status().message(), "wrong-Pa55word-xyz"));
  EXPECT_FALSE(Contains(redis.status().message(), kPassword));
  EXPECT_LT(MsSince(start), 1000) << "auth failures are not retried";

  o.password = "";
  redis = RedisHiredisClient::Connect(o);
  ASSERT_FALSE(redis.ok());
  EXPECT_EQ(redis.status().code(), "redis_auth_failed");
  EXPECT_TRUE(Contains(redis.status().message(), "NOAUTH")) << redis.status().ToString();
}

TEST(RedisHiredisClientTest, SelectsTheDatabase) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  RedisOptions o = server->options();
  auto db0 = ConnectOrDie(o);
  o.db = 3;
  auto db3 = ConnectOrDie(o);
  ASSERT_NE(db0, nullptr);
  ASSERT_NE(db3, nullptr);
  ASSERT_TRUE(db3->Set("k", "in-db3").ok());
  auto v = db0->Get("k");
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->has_value());
  EXPECT_EQ(db3->endpoint(), o.endpoint());
  o.db = 1000;
  auto bad = RedisHiredisClient::Connect(o);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), "redis_bad_db");
}

// ---------------------------------------------------------------------------------------------
// Reconnect

TEST(RedisHiredisClientTest, UnreachableServerExhaustsTheBudget) {
  RedisOptions o;
  o.port = UnusedPort();
  o.password = kPassword;
  o.reconnect_budget_ms = 500;
  const Clock::time_point start = Clock::now();
  auto redis = RedisHiredisClient::Connect(o);
  const int64_t elapsed = MsSince(start);
  ASSERT_FALSE(redis.ok());
  EXPECT_EQ(redis.status().code(), "redis_unavailable");
  EXPECT_EQ(redis.status().type(), ErrorType::kNetwork);
  EXPECT_TRUE(Contains(redis.status().message(), o.endpoint())) << redis.status().ToString();
  EXPECT_FALSE(Contains(redis.status().message(), kPassword));
  EXPECT_GE(elapsed, 450);
  EXPECT_LT(elapsed, 1500);
}

TEST(RedisHiredisClientTest, RestartBetweenCommandsIsInvisible) {
  RedisTestServerOptions options;
  options.appendonly = true;
  auto server = StartServer(options);
  ASSERT_NE(server, nullptr);
  auto connected = RedisHiredisClient::Connect(server->options());
  ASSERT_TRUE(connected.ok());
  auto* redis = static_cast<RedisHiredisClient*>(connected->get());
  ASSERT_TRUE(redis->Set("k", "v").ok());
  ASSERT_TRUE(server->Restart().ok());
  // Even an at-most-once command goes through: the dead connection is noticed before sending.
  auto len = redis->LPush("q", "m");
  ASSERT_TRUE(len.ok()) << len.status().ToString();
  EXPECT_EQ(*len, 1);
  auto v = redis->Get("k");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, "v");
  EXPECT_EQ(redis->reconnects(), 1u);
}

TEST(RedisHiredisClientTest, CommandWaitsForTheServerToComeBack) {
  RedisTestServerOptions options;
  options.appendonly = true;
  auto server = StartServer(options);
  ASSERT_NE(server, nullptr);
  auto redis = ConnectOrDie(server->options());
  ASSERT_NE(redis, nullptr);
  ASSERT_TRUE(redis->Set("k", "survives").ok());
  ASSERT_TRUE(server->Stop().ok());
  const Clock::time_point start = Clock::now();
  auto get = std::async(std::launch::async, [&] { return redis->Get("k"); });
  auto push = std::async(std::launch::async, [&] {
    auto other = ConnectOrDie(server->options());  // connects once the server is back
    return other ? other->LPush("q", "m") : StatusOr<int64_t>(InternalError("x", "no client"));
  });
  std::this_thread::sleep_for(milliseconds(400));
  ASSERT_TRUE(server->Restart().ok());
  auto v = get.get();
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, "survives");
  EXPECT_GE(MsSince(start), 350);
  auto len = push.get();
  ASSERT_TRUE(len.ok()) << len.status().ToString();
  EXPECT_EQ(*len, 1);
}

TEST(RedisHiredisClientTest, OutageLongerThanTheBudgetFailsWithinTheBudget) {
  RedisTestServerOptions options;
  options.password = kPassword;
  auto server = StartServer(options);
  ASSERT_NE(server, nullptr);
  RedisOptions o = server->options();
  o.reconnect_budget_ms = 600;
  auto redis = ConnectOrDie(o);
  ASSERT_NE(redis, nullptr);
  ASSERT_TRUE(server->Stop().ok());
  const Clock::time_point start = Clock::now();
  auto v = redis->Get("k");
  const int64_t elapsed = MsSince(start);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), "redis_unavailable");
  EXPECT_EQ(v.status().type(), ErrorType::kNetwork);
  EXPECT_FALSE(Contains(v.status().message(), kPassword)) << v.status().ToString();
  EXPECT_TRUE(Contains(v.status().message(), "unreachable for")) << v.status().ToString();
  EXPECT_GE(elapsed, 550);
  EXPECT_LT(elapsed, 1600);
  // And it recovers once the server is back.
  ASSERT_TRUE(server->Restart().ok());
  EXPECT_TRUE(redis->Ping().ok());
}

TEST(RedisHiredisClientTest, CancelTokenEndsTheReconnectWait) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  auto cancel = std::make_shared<CancelToken>();
  RedisOptions o = server->options();
  o.reconnect_budget_ms = 20000;
  o.cancel = cancel;
  auto redis = ConnectOrDie(o);
  ASSERT_NE(redis, nullptr);
  ASSERT_TRUE(server->Stop().ok());
  std::thread canceller([&] {
    std::this_thread::sleep_for(milliseconds(200));
    cancel->Cancel(CancelledError("shutdown", "SIGTERM"));
  });
  const Clock::time_point start = Clock::now();
  Status s = redis->Ping();
  canceller.join();
  EXPECT_EQ(s.code(), "shutdown");
  EXPECT_LT(MsSince(start), 1500);
}

// A BRPOP whose connection dies may have popped a message: it is reported, never re-sent.
TEST(RedisHiredisClientTest, BlockingPopWithALostReplyIsNotResent) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  auto redis = ConnectOrDie(server->options());
  ASSERT_NE(redis, nullptr);
  ASSERT_TRUE(redis->Ping().ok());
  auto pop = std::async(std::launch::async, [&] { return redis->BRPop({"q"}, 10000); });
  std::this_thread::sleep_for(milliseconds(200));
  const Clock::time_point killed = Clock::now();
  ASSERT_TRUE(server->Kill().ok());
  auto r = pop.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), "redis_reply_lost");
  EXPECT_EQ(r.status().type(), ErrorType::kNetwork);
  EXPECT_LT(MsSince(killed), 1000);
  ASSERT_TRUE(server->Restart().ok());
  EXPECT_TRUE(redis->Ping().ok());
}

// "A Redis restart mid-run loses nothing": a consumer's BLMOVE into its processing list survives
// a crash (SIGKILL) of an appendonly server; the moved message is still there to recover.
TEST(RedisHiredisClientTest, CrashAfterBLMoveLosesNothing) {
  RedisTestServerOptions options;
  options.appendonly = true;
  auto server = StartServer(options);
  ASSERT_NE(server, nullptr);
  auto redis = ConnectOrDie(server->options());
  ASSERT_NE(redis, nullptr);
  ASSERT_TRUE(redis->LPush("q", std::vector<std::string>{"m1", "m2", "m3"}).ok());
  auto moved = redis->BLMove("q", "proc", RedisListEnd::kRight, RedisListEnd::kLeft, 1000);
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(*moved, "m1");
  ASSERT_TRUE(server->Kill().ok());
  ASSERT_TRUE(server->Restart().ok());
  auto proc = redis->LRange("proc", 0, -1);
  ASSERT_TRUE(proc.ok()) << proc.status().ToString();
  EXPECT_EQ(*proc, (std::vector<std::string>{"m1"}));
  auto queued = redis->LRange("q", 0, -1);
  ASSERT_TRUE(queued.ok());
  EXPECT_EQ(*queued, (std::vector<std::string>{"m3", "m2"}));
}

TEST(RedisHiredisClientTest, SubscriberResubscribesAfterARestart) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  auto redis = ConnectOrDie(server->options());
  ASSERT_NE(redis, nullptr);
  auto sub = redis->Subscribe({"chan"});
  ASSERT_TRUE(sub.ok()) << sub.status().ToString();
  ASSERT_TRUE((*sub)->PSubscribe({"pat.*"}).ok());
  ASSERT_TRUE(server->Restart().ok());
  // Next() notices the loss, reconnects and resubscribes; then messages flow again.
  const Clock::time_point deadline = Clock::now() + milliseconds(3000);
  while ((*sub)->reconnects() == 0 && Clock::now() < deadline) {
    auto m = (*sub)->Next(50);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
  }
  EXPECT_EQ((*sub)->reconnects(), 1u);
  auto receivers = redis->Publish("chan", "after-restart");
  ASSERT_TRUE(receivers.ok()) << receivers.status().ToString();
  EXPECT_EQ(*receivers, 1);
  ASSERT_TRUE(redis->Publish("pat.x", "by-pattern").ok());
  auto m = (*sub)->Next(2000);
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE(m->has_value());
  EXPECT_EQ((*m)->payload, "after-restart");
  m = (*sub)->Next(2000);
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE(m->has_value());
  EXPECT_EQ((*m)->pattern, "pat.*");
}

TEST(RedisHiredisClientTest, SubscriberFailsAfterTheBudget) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  RedisOptions o = server->options();
  o.reconnect_budget_ms = 300;
  auto redis = ConnectOrDie(o);
  ASSERT_NE(redis, nullptr);
  auto sub = redis->Subscribe({"chan"});
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(server->Stop().ok());
  const Clock::time_point start = Clock::now();
  Status last;
  while (MsSince(start) < 3000) {
    auto m = (*sub)->Next(100);
    if (!m.ok()) {
      last = m.status();
      break;
    }
  }
  EXPECT_EQ(last.code(), "redis_unavailable") << last.ToString();
  EXPECT_LT(MsSince(start), 1500);
}

}  // namespace
}  // namespace veil::worker
