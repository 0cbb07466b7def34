// RedisOptions: where the real Redis client connects and how hard it tries (SPEC §3: REDIS_URL
// or REDIS_HOST/REDIS_PORT/REDIS_DB/REDIS_PASSWORD).
//
// URL forms accepted by FromUrl:
//   redis://host[:port][/db]
//   redis://:password@host[:port][/db]
//   redis://user:password@host[:port][/db]      (Redis 6 ACL user)
//   redis://[::1]:6379/0                        (IPv6 literal)
// User and password may be percent-encoded; the password is everything between the first ':'
// of the user info and the last '@', so unencoded '@', ':' and '/' in it also work. Refused,
// each with ParameterError "bad_redis_url" naming the problem: no or another scheme, unix
// sockets, a user without a password, an empty host, a bad port, a non-numeric db, query
// parameters. `rediss://` → ParameterError "tls_not_supported".
//
// Secrets: a password never appears in a log line or an error message; use endpoint() or
// RedactedUrl() when naming the server, and Redact() on any text that might echo it.
//
// Thread safety: a value type.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "veil/base/cancel.h"
#include "veil/base/status.h"

namespace veil::worker {

inline constexpr uint16_t kRedisDefaultPort = 6379;
inline constexpr int64_t kRedisDefaultConnectTimeoutMs = 2000;
inline constexpr int64_t kRedisDefaultCommandTimeoutMs = 10000;
inline constexpr int64_t kRedisDefaultInitialBackoffMs = 50;
inline constexpr int64_t kRedisDefaultMaxBackoffMs = 2000;
inline constexpr int64_t kRedisDefaultReconnectBudgetMs = 30000;

struct RedisOptions {
  std::string host = "127.0.0.1";
  uint16_t port = kRedisDefaultPort;
  int64_t db = 0;
  std::string username;     // empty: AUTH <password> (the "default" user)
  std::string password;     // empty: no AUTH
  std::string client_name;  // CLIENT SETNAME on every connection when non-empty

  // TCP connect timeout of one attempt.
  int64_t connect_timeout_ms = kRedisDefaultConnectTimeoutMs;
  // Read/write timeout of one command (blocking commands add their block time). A command whose
  // reply does not arrive in time counts as a lost connection (see the retry rules in
  // redis_client.h).
  int64_t command_timeout_ms = kRedisDefaultCommandTimeoutMs;
  // Reconnect backoff: initial_backoff_ms, doubled after each failed attempt up to
  // max_backoff_ms, for at most reconnect_budget_ms from the first failure of a call (0: one
  // attempt, no reconnect). Then the call fails with NetworkError "redis_unavailable". The last
  // attempt may overrun the budget by up to one connect_timeout_ms (a black-holed host).
  int64_t initial_backoff_ms = kRedisDefaultInitialBackoffMs;
  int64_t max_backoff_ms = kRedisDefaultMaxBackoffMs;
  int64_t reconnect_budget_ms = kRedisDefaultReconnectBudgetMs;

  // Optional: a cancelled token ends reconnect waits early with its reason (e.g. on SIGTERM).
  std::shared_ptr<const CancelToken> cancel;

  static StatusOr<RedisOptions> FromUrl(std::string_view url);

  // ParameterError "bad_redis_options" listing every bad field (empty host, port 0, db < 0,
  // non-positive timeouts, max_backoff_ms < initial_backoff_ms, negative budget).
  Status Validate() const;

  // "host:port/db" ("[v6]:port/db" for IPv6 literals).
  std::string endpoint() const;
  // "redis://host:port/db", with ":***@" / "user:***@" when a password is set.
  std::string RedactedUrl() const;
  // `text` with every occurrence of the password replaced by "***".
  std::string Redact(std::string_view text) const;
};

}  // namespace veil::worker
