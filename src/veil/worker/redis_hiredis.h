// RedisHiredisClient: the real RedisClient, over hiredis (Debian libhiredis-dev 0.14, RESP2,
// blocking sockets). Nothing hiredis-specific leaks into this header.
//
//   VEIL_ASSIGN_OR_RETURN(RedisOptions options, RedisOptions::FromUrl(url));
//   VEIL_ASSIGN_OR_RETURN(std::unique_ptr<RedisClient> redis,
//   RedisHiredisClient::Connect(options));
//
// Connection: TCP connect (connect_timeout_ms), TCP keep-alive, then AUTH [user] password when a
// password is set, SELECT db when db != 0, CLIENT SETNAME when client_name is set, and a PING.
// The same handshake runs on every reconnect. Arguments are sent binary-safe (lengths, not C
// strings), so keys and values may hold NUL bytes and kombu's "\x06\x16" separators.
//
// Reconnect and retry: see "Retry rules" in redis_client.h. In short, before each command the
// idle socket is checked for EOF (a restarted server is noticed before anything is sent); a
// command that did not reach the server is re-sent after reconnecting with exponential backoff
// (initial_backoff_ms doubling to max_backoff_ms) for up to reconnect_budget_ms; after a lost
// reply only RedisRetry::kIdempotent commands are re-sent, others fail with NetworkError
// "redis_reply_lost". A Redis restart between commands (or during a connect) therefore loses
// nothing; with appendonly on the server, neither does a restart during a BLMOVE (the element
// stays in the destination list).
//
// Errors specific to this client: ParameterError "redis_auth_failed" (wrong password, or the
// server requires one: NOAUTH) and "redis_bad_db" (SELECT refused), both at connect and never
// retried; ParameterError "bad_redis_options" from RedisOptions::Validate. Messages name the
// endpoint ("host:port/db"), never the password.
//
// Signals: writes to a socket the server closed would raise SIGPIPE; the client blocks SIGPIPE
// in the calling thread around its socket I/O and discards a pending one, so the process's signal
// disposition is left alone.
//
// Thread safety: all methods may be called concurrently; they are serialized on the single
// connection by an internal mutex, so a blocking BRPop/BLMove holds the connection (and delays
// other callers) for up to its timeout. Use NewConnection() for each blocking consumer thread.
// Subscribers have their own connection each.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "veil/base/status.h"
#include "veil/worker/redis_client.h"
#include "veil/worker/redis_options.h"

namespace veil::worker {

class RedisHiredisClient final : public RedisClient {
 public:
  // Validates the options and connects, retrying within the reconnect budget while the server
  // is unreachable (so a worker may start before Redis). Errors: NetworkError
  // "redis_unavailable", ParameterError "bad_redis_options" / "redis_auth_failed" /
  // "redis_bad_db", the cancel token's reason.
  static StatusOr<std::unique_ptr<RedisClient>> Connect(const RedisOptions& options);

  ~RedisHiredisClient() override;
  RedisHiredisClient(const RedisHiredisClient&) = delete;
  RedisHiredisClient& operator=(const RedisHiredisClient&) = delete;

  StatusOr<RedisReply> Execute(const std::vector<std::string>& argv,
                               const RedisCallOptions& options) override;
  StatusOr<std::unique_ptr<RedisSubscriber>> NewSubscriber() override;
  StatusOr<std::unique_ptr<RedisClient>> NewConnection() override;
  std::string endpoint() const override;

  // How many times this client re-established its connection (for logs and tests).
  uint64_t reconnects() const;

 private:
  class Impl;
  explicit RedisHiredisClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace veil::worker
