// RedisClient: the one Redis interface of the worker layer (SPEC §5), with a real implementation
// over hiredis (redis_hiredis.h) and an in-memory one for unit tests of upper layers
// (redis_fake.h). It offers exactly the commands a Celery-compatible worker needs (the kombu
// queue lists and priority buckets, `celery-task-meta-*` result keys written by a Lua script,
// pub/sub, the status stream, leases) plus a generic Command() for anything else.
//
//   VEIL_ASSIGN_OR_RETURN(auto redis, RedisHiredisClient::Connect(options));
//   VEIL_ASSIGN_OR_RETURN(auto msg, redis->BLMove("secretflow_queue", "veil.processing.node1",
//                                                 RedisListEnd::kRight, RedisListEnd::kLeft,
//                                                 /*timeout_ms=*/1000));
//
// Design: every typed method builds an argv, calls the virtual Execute() with a retry class and
// parses the RESP2 reply, so both implementations share the parsing and the fake is checked
// against a real server by one conformance suite (redis_conformance_test.cc).
//
// Errors (every method):
//  - NetworkError "redis_unavailable": the server could not be reached (connect failures, lost
//    connections) for the whole reconnect budget (RedisOptions::reconnect_budget_ms).
//  - NetworkError "redis_reply_lost": the connection died after an at-most-once command was sent,
//    so it may or may not have run (see "Retry rules" below). The caller decides whether to
//    re-issue it.
//  - Redis error reply (e.g. WRONGTYPE, a script error) → "redis_error" with the server's message,
//    as ResourceError for transient server states (LOADING, BUSY, MASTERDOWN, TRYAGAIN, OOM,
//    MISCONF, CLUSTERDOWN, NOREPLICAS) and InternalError otherwise.
//  - InternalError "redis_bad_reply": the reply has an unexpected shape.
//  - ParameterError "redis_bad_argument": e.g. a non-positive blocking timeout or an empty argv.
//  - ParameterError "redis_auth_failed" / "redis_bad_db": the server refused AUTH / SELECT (the
//    real client; never retried).
//  - The cancel token's reason, if RedisOptions::cancel fires while waiting to reconnect.
// Messages name the command (argv[0]) and the endpoint, never argument values or a password.
//
// Retry rules (RedisRetry, applied by the real client; the fake simulates them):
//  1. A command that surely did not reach the server is always re-sent after reconnecting with
//     exponential backoff (50 ms doubling to 2 s by default) until the budget is spent: the
//     connect failed, the write failed, the idle connection was found closed before sending (a
//     poll for EOF before each command, so a Redis restart between commands is invisible), or the
//     server answered LOADING / BUSY / MASTERDOWN / TRYAGAIN (it did not run the command).
//  2. When the connection dies after the command was sent, the reply is lost and the command may
//     have run. kIdempotent commands are then re-sent too (running twice leaves the same state);
//     counts in the reply of a re-sent write describe the second run (Del may say 0).
//     kAtMostOnce commands fail with "redis_reply_lost" instead.
//  3. Classes of the typed methods:
//       kIdempotent: Get, Set, Del, DelKeys, Expire, Exists, LRange, LLen, HSet, HGet, HDel,
//                    HGetAll, ZAdd, ZRem, ZRangeByScore, XRange, XLen, Ping, Info.
//       kAtMostOnce: Incr, LPush, RPush, LRem, LMove, BLMove, BRPop, Publish, XAdd, Eval (unless
//                    the caller passes kIdempotent for a script that is), SetNx (see below).
//     Command() derives the class from the command name (IsIdempotentCommand).
//  4. A lost BRPOP reply loses the popped message for good; a lost BLMOVE reply leaves it in the
//     destination list. That is why the worker consumes with BLMOVE into a per-worker
//     processing list and recovers that list on restart: a lost reply then loses nothing.
//  5. SetNx resolves its own lost reply: it reads the key back and reports true when it holds
//     `value` (so lease values must be unique tokens), re-sending when the key is absent.
//
// Thread safety: implementations document theirs (RedisHiredisClient serializes calls on one
// connection with an internal mutex, so a blocking pop holds the connection for its timeout:
// give each blocking consumer its own client via NewConnection(); RedisFake is fully
// thread-safe). A RedisSubscriber is used by one thread at a time.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "veil/base/status.h"

namespace veil::worker {

// One RESP2 reply. Strings are binary-safe (may hold NUL bytes).
struct RedisReply {
  enum class Type { kNil, kInteger, kString, kStatus, kError, kArray };

  Type type = Type::kNil;
  int64_t integer = 0;               // kInteger
  std::string str;                   // kString (bulk), kStatus ("OK"), kError ("ERR ...")
  std::vector<RedisReply> elements;  // kArray

  static RedisReply Nil() { return RedisReply(); }
  static RedisReply Integer(int64_t v);
  static RedisReply String(std::string v);
  static RedisReply SimpleString(std::string v);  // a status reply such as "OK" or "PONG"
  static RedisReply Error(std::string v);
  static RedisReply Array(std::vector<RedisReply> v);

  bool is_nil() const { return type == Type::kNil; }
  bool is_error() const { return type == Type::kError; }
  bool operator==(const RedisReply& other) const = default;

  // For test failures and logs: strings escaped and cut at 200 bytes.
  std::string DebugString() const;
};

// See "Retry rules" above.
enum class RedisRetry {
  kIdempotent,  // re-sent after a lost reply
  kAtMostOnce,  // re-sent only when it surely did not reach the server
};

struct RedisCallOptions {
  RedisRetry retry = RedisRetry::kAtMostOnce;
  // For blocking commands (BRPOP, BLMOVE): how long the server may hold the reply. The real
  // client extends its read timeout by this much; the fake waits at most this long.
  int64_t block_ms = 0;
};

// Whether Command() may re-send `argv` after a lost reply: read-only commands and pure
// overwrites (SET without NX/XX/GET, SETEX, DEL, EXPIRE, HSET, HDEL, ZADD without INCR, ZREM, ...).
bool IsIdempotentCommand(const std::vector<std::string>& argv);

// Converts an error reply of command `command` to a Status ("redis_error", see above).
Status RedisErrorStatus(std::string_view command, std::string_view error_reply);

enum class RedisListEnd { kLeft, kRight };

enum class RedisZAddMode {
  kUpsert,      // add or update
  kUpdateOnly,  // XX: only update members that exist (lease refresh of `unacked_index`)
  kAddOnly,     // NX: only add new members
};

struct RedisKeyValue {
  std::string key;
  std::string value;
  bool operator==(const RedisKeyValue&) const = default;
};

struct RedisScoredMember {
  std::string member;
  double score = 0;
  bool operator==(const RedisScoredMember&) const = default;
};

using RedisFields = std::vector<std::pair<std::string, std::string>>;

struct RedisStreamEntry {
  std::string id;  // "<ms>-<seq>"
  RedisFields fields;
  bool operator==(const RedisStreamEntry&) const = default;
};

struct RedisMessage {
  std::string channel;
  std::string payload;
  std::string pattern;  // the matching pattern for PSUBSCRIBE deliveries, else empty
  bool operator==(const RedisMessage&) const = default;
};

// A pub/sub connection. Subscribe/PSubscribe return once the server confirmed every
// subscription, so a message published afterwards is delivered. The real subscriber reconnects
// and resubscribes on connection loss; messages published while it was disconnected are lost
// (pub/sub has no memory), so a caller that must not miss a result re-reads the key after
// reconnects() changed (what Celery's ResultConsumer does).
//
// Thread safety: one thread at a time. Destroying the subscriber unsubscribes and disconnects.
class RedisSubscriber {
 public:
  virtual ~RedisSubscriber() = default;

  virtual Status Subscribe(const std::vector<std::string>& channels) = 0;
  // Glob patterns as Redis understands them ("/0.celery.pidbox*").
  virtual Status PSubscribe(const std::vector<std::string>& patterns) = 0;
  // The next message, waiting at most timeout_ms (>= 0); nullopt when none arrived in time.
  // While the server is unreachable it keeps reconnecting; after the reconnect budget it fails
  // with NetworkError "redis_unavailable".
  virtual StatusOr<std::optional<RedisMessage>> Next(int64_t timeout_ms) = 0;
  // How many times the connection was re-established (messages may have been missed).
  virtual uint64_t reconnects() const = 0;
};

// TTL value meaning "no expiry".
inline constexpr int64_t kRedisNoTtl = 0;

class RedisClient {
 public:
  virtual ~RedisClient() = default;

  // --- The primitives every implementation provides. ---

  // Runs one command and returns its raw reply. An error reply is returned as a kError reply
  // (not a Status); transport failures are Statuses. Retries follow options.retry.
  virtual StatusOr<RedisReply> Execute(const std::vector<std::string>& argv,
                                       const RedisCallOptions& options) = 0;
  // A new pub/sub connection to the same server (no subscriptions yet).
  virtual StatusOr<std::unique_ptr<RedisSubscriber>> NewSubscriber() = 0;
  // A new independent client to the same server with the same options (e.g. one per blocking
  // consumer thread).
  virtual StatusOr<std::unique_ptr<RedisClient>> NewConnection() = 0;
  // "host:port/db" (or "fake"), for logs; never contains a password.
  virtual std::string endpoint() const = 0;

  // --- Generic. ---

  // Any command; a top-level error reply becomes a "redis_error" Status (nested errors, e.g. in
  // a script's table, stay kError elements). Re-sent after a lost reply only when
  // IsIdempotentCommand(argv).
  StatusOr<RedisReply> Command(const std::vector<std::string>& argv);
  Status Ping();
  // INFO [section]: the raw "field:value\r\n" text.
  StatusOr<std::string> Info(std::string_view section = {});

  // --- Strings. TTLs: kRedisNoTtl or > 0. ---

  StatusOr<std::optional<std::string>> Get(std::string_view key);
  // SET, or SET EX ttl_s when ttl_s > 0 (SETEX semantics).
  Status Set(std::string_view key, std::string_view value, int64_t ttl_s = kRedisNoTtl);
  // SET key value NX PX ttl_ms (ttl_ms > 0): true if the key was absent and is now `value`.
  // `value` should be unique per caller (a lease token), see retry rule 5.
  StatusOr<bool> SetNx(std::string_view key, std::string_view value, int64_t ttl_ms);
  // True if the key existed.
  StatusOr<bool> Del(std::string_view key);
  // Number of keys that existed.
  StatusOr<int64_t> DelKeys(const std::vector<std::string>& keys);
  // True if the key exists (and now expires in ttl_s > 0 seconds).
  StatusOr<bool> Expire(std::string_view key, int64_t ttl_s);
  StatusOr<bool> Exists(std::string_view key);
  // The value after the increment (a missing key counts as 0).
  StatusOr<int64_t> Incr(std::string_view key);

  // --- Lists. Push methods return the list length after the push. ---

  StatusOr<int64_t> LPush(std::string_view key, std::string_view value);
  StatusOr<int64_t> LPush(std::string_view key, const std::vector<std::string>& values);
  StatusOr<int64_t> RPush(std::string_view key, std::string_view value);
  StatusOr<int64_t> RPush(std::string_view key, const std::vector<std::string>& values);
  // BRPOP keys... timeout: pops the tail of the first non-empty list in `keys` order (kombu's
  // priority buckets), waiting up to timeout_ms (> 0; sent with millisecond precision).
  // nullopt on timeout.
  StatusOr<std::optional<RedisKeyValue>> BRPop(const std::vector<std::string>& keys,
                                               int64_t timeout_ms);
  // LRANGE with Redis's inclusive, negative-from-the-end indices.
  StatusOr<std::vector<std::string>> LRange(std::string_view key, int64_t start, int64_t stop);
  StatusOr<int64_t> LLen(std::string_view key);
  // Removes up to |count| occurrences of value (count > 0 from the head, < 0 from the tail, 0
  // all); returns how many were removed.
  StatusOr<int64_t> LRem(std::string_view key, int64_t count, std::string_view value);
  // Atomically moves one element from `from` end of src to `to` end of dst; nullopt if src is
  // empty. LMove(q, processing, kRight, kLeft) is the reliable-queue pop (RPOPLPUSH).
  StatusOr<std::optional<std::string>> LMove(std::string_view src, std::string_view dst,
                                             RedisListEnd from, RedisListEnd to);
  // Blocking LMove (Redis >= 6.2), waiting up to timeout_ms (> 0). nullopt on timeout.
  StatusOr<std::optional<std::string>> BLMove(std::string_view src, std::string_view dst,
                                              RedisListEnd from, RedisListEnd to,
                                              int64_t timeout_ms);

  // --- Hashes. HSet returns how many fields were new. ---

  StatusOr<int64_t> HSet(std::string_view key, std::string_view field, std::string_view value);
  StatusOr<int64_t> HSet(std::string_view key, const RedisFields& fields);
  StatusOr<std::optional<std::string>> HGet(std::string_view key, std::string_view field);
  // How many fields were removed (0 or 1).
  StatusOr<int64_t> HDel(std::string_view key, std::string_view field);
  StatusOr<std::map<std::string, std::string>> HGetAll(std::string_view key);

  // --- Sorted sets. ---

  // ZADD [XX|NX] CH: the number of members added or whose score changed (0 or 1).
  StatusOr<int64_t> ZAdd(std::string_view key, double score, std::string_view member,
                         RedisZAddMode mode = RedisZAddMode::kUpsert);
  // How many members were removed (0 or 1).
  StatusOr<int64_t> ZRem(std::string_view key, std::string_view member);
  // Members with min <= score <= max (±infinity allowed) in score order, at most `limit` of them
  // when limit >= 0.
  StatusOr<std::vector<RedisScoredMember>> ZRangeByScore(std::string_view key, double min_score,
                                                         double max_score, int64_t limit = -1);

  // --- Pub/sub. ---

  // How many subscribers received the message.
  StatusOr<int64_t> Publish(std::string_view channel, std::string_view message);
  // NewSubscriber() + Subscribe(channels).
  StatusOr<std::unique_ptr<RedisSubscriber>> Subscribe(const std::vector<std::string>& channels);

  // --- Streams. ---

  // XADD key [MAXLEN [~|=] max_len] * field value...: the new entry's id. max_len 0 = no
  // trimming; `approximate` (~) lets Redis keep more than max_len entries (whole nodes are
  // trimmed) and is much cheaper; the fake always trims exactly.
  StatusOr<std::string> XAdd(std::string_view key, const RedisFields& fields, int64_t max_len = 0,
                             bool approximate = true);
  // XRANGE key start end [COUNT count] (count < 0: all).
  StatusOr<std::vector<RedisStreamEntry>> XRange(std::string_view key, std::string_view start = "-",
                                                 std::string_view end = "+", int64_t count = -1);
  StatusOr<int64_t> XLen(std::string_view key);

  // --- Scripting. ---

  // EVAL script numkeys keys... args...: the script's reply (a script error → "redis_error").
  // Pass RedisRetry::kIdempotent only for scripts that may safely run twice. The fake runs a
  // C++ handler registered for the exact script text (RedisFake::RegisterScript).
  StatusOr<RedisReply> Eval(std::string_view script, const std::vector<std::string>& keys,
                            const std::vector<std::string>& args,
                            RedisRetry retry = RedisRetry::kAtMostOnce);

 private:
  // Execute + top-level error → Status.
  StatusOr<RedisReply> Run(std::vector<std::string> argv, RedisRetry retry, int64_t block_ms = 0);
};

}  // namespace veil::worker
