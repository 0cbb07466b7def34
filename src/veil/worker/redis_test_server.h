// RedisTestServer: a private redis-server for tests, so no test depends on a server started by
// hand. It runs /usr/bin/redis-server (Debian package redis-server) on a free 127.0.0.1 port
// with its own temporary directory:
//
//   --port P --bind 127.0.0.1 --save "" --appendonly yes|no --appendfsync always --dir <tmp>
//   --daemonize no [--requirepass <password>]
//
//   auto server = RedisTestServer::Start({.appendonly = true});
//   ASSERT_TRUE(server.ok()) << server.status().ToString();   // missing binary → a clear failure
//   auto redis = RedisHiredisClient::Connect((*server)->options());
//   (*server)->Stop();  ...  (*server)->Restart();            // same port and dir
//
// With appendonly (and appendfsync always) every acknowledged write survives Stop or Kill +
// Restart, which is what "a Redis restart mid-run loses nothing" tests need. Without it a
// restart starts empty.
//
// Process hygiene: the server is started by a helper thread owned by this object with
// PR_SET_PDEATHSIG, so it is killed if the test process dies; the destructor kills it (SIGKILL)
// and removes the directory. The server's stdout/stderr go to <dir>/redis.log, whose tail is
// included in start errors.
//
// Errors: InternalError "redis_server_missing" when the binary is absent (install the Debian
// package redis-server; the setup script does), "redis_server_failed" when it exits or does not
// answer PING within start_timeout_ms.
//
// Thread safety: none; drive one server from one thread at a time (any thread).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <sys/types.h>

#include "veil/base/status.h"
#include "veil/worker/redis_options.h"

namespace veil::worker {

inline constexpr char kRedisServerBinary[] = "/usr/bin/redis-server";
inline constexpr int64_t kRedisTestServerStartTimeoutMs = 10000;

struct RedisTestServerOptions {
  bool appendonly = false;
  std::string password;  // requirepass when non-empty
  std::string binary = kRedisServerBinary;
  int64_t start_timeout_ms = kRedisTestServerStartTimeoutMs;
};

class RedisTestServer {
 public:
  // Starts the server and waits until it answers PING.
  static StatusOr<std::unique_ptr<RedisTestServer>> Start(RedisTestServerOptions options = {});

  ~RedisTestServer();
  RedisTestServer(const RedisTestServer&) = delete;
  RedisTestServer& operator=(const RedisTestServer&) = delete;

  uint16_t port() const { return port_; }
  const std::string& dir() const { return dir_; }
  bool running() const { return pid_ > 0; }
  // "redis://[:password@]127.0.0.1:<port>/0" (test servers only: it carries the password).
  std::string url() const;
  // Options for RedisHiredisClient::Connect (with the password), with a short reconnect budget
  // suitable for tests (kTestReconnectBudgetMs).
  RedisOptions options() const;
  static constexpr int64_t kTestReconnectBudgetMs = 5000;

  // Graceful stop (SIGTERM: the AOF is flushed), waiting for the process to exit (SIGKILL after
  // 5 s). No-op when not running.
  Status Stop();
  // Crash: SIGKILL, then reap.
  Status Kill();
  // Stop (if running) and start again on the same port and directory.
  Status Restart();

 private:
  class Spawner;
  RedisTestServer(RedisTestServerOptions options, std::string dir, uint16_t port);
  Status Launch();
  Status WaitReady();
  std::string LogTail() const;

  RedisTestServerOptions options_;
  std::string dir_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
  std::unique_ptr<Spawner> spawner_;
};

}  // namespace veil::worker
