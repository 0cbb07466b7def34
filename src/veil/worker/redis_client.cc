#include "veil/worker/redis_client.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

namespace veil::worker {

namespace {

constexpr size_t kDebugStringMaxBytes = 200;

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string Escape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < kDebugStringMaxBytes; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > kDebugStringMaxBytes) out += fmt::format("...({} bytes)", s.size());
  return out;
}

Status BadReply(std::string_view command, const RedisReply& reply) {
  return InternalError("redis_bad_reply",
                       fmt::format("redis {}: unexpected reply {}", command, reply.DebugString()));
}

Status BadArgument(std::string_view command, std::string_view what) {
  return ParameterError("redis_bad_argument", fmt::format("redis {}: {}", command, what));
}

std::string FormatScore(double score) {
  if (std::isinf(score)) return score > 0 ? "+inf" : "-inf";
  return fmt::format("{}", score);
}

// Decimal seconds with millisecond precision, as BRPOP/BLMOVE accept since Redis 6.0.
std::string FormatBlockTimeout(int64_t timeout_ms) {
  return fmt::format("{}.{:03d}", timeout_ms / 1000, static_cast<int>(timeout_ms % 1000));
}

const char* EndName(RedisListEnd end) { return end == RedisListEnd::kLeft ? "LEFT" : "RIGHT"; }

StatusOr<int64_t> AsInteger(std::string_view command, const RedisReply& reply) {
  if (reply.type != RedisReply::Type::kInteger) return BadReply(command, reply);
  return reply.integer;
}

StatusOr<std::optional<std::string>> AsOptionalString(std::string_view command,
                                                      const RedisReply& reply) {
  if (reply.is_nil()) return std::optional<std::string>();
  if (reply.type != RedisReply::Type::kString) return BadReply(command, reply);
  return std::optional<std::string>(reply.str);
}

StatusOr<std::vector<std::string>> AsStringArray(std::string_view command,
                                                 const RedisReply& reply) {
  if (reply.type != RedisReply::Type::kArray) return BadReply(command, reply);
  std::vector<std::string> out;
  out.reserve(reply.elements.size());
  for (const RedisReply& e : reply.elements) {
    if (e.type != RedisReply::Type::kString) return BadReply(command, reply);
    out.push_back(e.str);
  }
  return out;
}

StatusOr<RedisFields> AsFieldPairs(std::string_view command, const RedisReply& reply) {
  VEIL_ASSIGN_OR_RETURN(std::vector<std::string> flat, AsStringArray(command, reply));
  if (flat.size() % 2 != 0) return BadReply(command, reply);
  RedisFields out;
  out.reserve(flat.size() / 2);
  for (size_t i = 0; i < flat.size(); i += 2) out.emplace_back(flat[i], flat[i + 1]);
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// RedisReply

RedisReply RedisReply::Integer(int64_t v) {
  RedisReply r;
  r.type = Type::kInteger;
  r.integer = v;
  return r;
}

RedisReply RedisReply::String(std::string v) {
  RedisReply r;
  r.type = Type::kString;
  r.str = std::move(v);
  return r;
}

RedisReply RedisReply::SimpleString(std::string v) {
  RedisReply r;
  r.type = Type::kStatus;
  r.str = std::move(v);
  return r;
}

RedisReply RedisReply::Error(std::string v) {
  RedisReply r;
  r.type = Type::kError;
  r.str = std::move(v);
  return r;
}

RedisReply RedisReply::Array(std::vector<RedisReply> v) {
  RedisReply r;
  r.type = Type::kArray;
  r.elements = std::move(v);
  return r;
}

std::string RedisReply::DebugString() const {
  switch (type) {
    case Type::kNil:
      return "(nil)";
    case Type::kInteger:
      return fmt::format("(integer) {}", integer);
    case Type::kString:
      return fmt::format("\"{}\"", Escape(str));
    case Type::kStatus:
      return fmt::format("(status) {}", Escape(str));
    case Type::kError:
      return fmt::format("(error) {}", Escape(str));
    case Type::kArray: {
      std::string out = "[";
      for (size_t i = 0; i < elements.size(); ++i) {
        if (i > 0) out += ", ";
        if (i == 16) {
          out += fmt::format("...({} elements)", elements.size());
          break;
        }
        out += elements[i].DebugString();
      }
      return out + "]";
    }
  }
  return "?";
}

// ---------------------------------------------------------------------------------------------
// Free functions

bool IsIdempotentCommand(const std::vector<std::string>& argv) {
  // Read-only commands, and writes whose second run leaves the same state as the first.
  static constexpr std::string_view kIdempotent =
      " DBSIZE ECHO EXISTS EXPIRETIME GET GETRANGE HEXISTS HGET HGETALL HKEYS HLEN HMGET HSCAN"
      " HVALS INFO KEYS LINDEX LLEN LPOS LRANGE MGET PEXPIRETIME PING PTTL PUBSUB SCAN SCARD"
      " SISMEMBER SMEMBERS SSCAN STRLEN TIME TTL TYPE XINFO XLEN XPENDING XRANGE XREVRANGE ZCARD"
      " ZCOUNT ZRANGE ZRANGEBYSCORE ZRANK ZREVRANGE ZREVRANGEBYSCORE ZSCAN ZSCORE"
      " DEL UNLINK EXPIRE PEXPIRE EXPIREAT PEXPIREAT PERSIST SETEX PSETEX HSET HMSET HDEL SADD"
      " SREM ZREM MSET ";
  if (argv.empty()) return false;
  const std::string name = Upper(argv[0]);
  if (name.find(' ') == std::string::npos &&
      kIdempotent.find(" " + name + " ") != std::string_view::npos) {
    return true;
  }
  if (name == "SET") {
    // SET NX/XX/GET: the answer (who got the lock, the old value) differs the second time.
    for (size_t i = 3; i < argv.size(); ++i) {
      const std::string opt = Upper(argv[i]);
      if (opt == "NX" || opt == "XX" || opt == "GET") return false;
    }
    return true;
  }
  if (name == "ZADD") {
    // ZADD INCR adds twice (a member literally named "INCR" is classified conservatively).
    for (size_t i = 2; i < argv.size(); ++i) {
      if (Upper(argv[i]) == "INCR") return false;
    }
    return true;
  }
  return false;
}

Status RedisErrorStatus(std::string_view command, std::string_view error_reply) {
  static constexpr std::string_view kTransient =
      " LOADING BUSY MASTERDOWN TRYAGAIN OOM MISCONF CLUSTERDOWN NOREPLICAS ";
  std::string_view prefix = error_reply.substr(0, error_reply.find(' '));
  std::string message = fmt::format("redis {}: {}", Upper(command), error_reply);
  if (!prefix.empty() && kTransient.find(fmt::format(" {} ", prefix)) != std::string_view::npos) {
    return ResourceError("redis_error", std::move(message));
  }
  return InternalError("redis_error", std::move(message));
}

// ---------------------------------------------------------------------------------------------
// RedisClient typed helpers

StatusOr<RedisReply> RedisClient::Run(std::vector<std::string> argv, RedisRetry retry,
                                      int64_t block_ms) {
  RedisCallOptions options;
  options.retry = retry;
  options.block_ms = block_ms;
  VEIL_ASSIGN_OR_RETURN(RedisReply reply, Execute(argv, options));
  if (reply.is_error()) return RedisErrorStatus(argv[0], reply.str);
  return reply;
}

StatusOr<RedisReply> RedisClient::Command(const std::vector<std::string>& argv) {
  if (argv.empty()) return BadArgument("COMMAND", "empty argv");
  return Run(argv, IsIdempotentCommand(argv) ? RedisRetry::kIdempotent : RedisRetry::kAtMostOnce);
}

Status RedisClient::Ping() {
  VEIL_ASSIGN_OR_RETURN(RedisReply reply, Run({"PING"}, RedisRetry::kIdempotent));
  if (reply.type != RedisReply::Type::kStatus || reply.str != "PONG")
    return BadReply("PING", reply);
  return Status();
}

StatusOr<std::string> RedisClient::Info(std::string_view section) {
  std::vector<std::string> argv = {"INFO"};
  if (!section.empty()) argv.emplace_back(section);
  VEIL_ASSIGN_OR_RETURN(RedisReply reply, Run(std::move(argv), RedisRetry::kIdempotent));
  if (reply.type != RedisReply::Type::kString) return BadReply("INFO", reply);
  return reply.str;
}

StatusOr<std::optional<std::string>> RedisClient::Get(std::string_view key) {
  VEIL_ASSIGN_OR_RETURN(RedisReply reply, Run({"GET", std::string(key)}, RedisRetry::kIdempotent));
  return AsOptionalString("GET", reply);
}

Status RedisClient::Set(std::string_view key, std::string_view value, int64_t ttl_s) {
  if (ttl_s < 0) return BadArgument("SET", "ttl_s must be >= 0");
  std::vector<std::string> argv = {"SET", std::string(key), std::string(value)};
  if (ttl_s > 0) {
    argv.emplace_back("EX");
    argv.push_back(std::to_string(ttl_s));
  }
  VEIL_ASSIGN_OR_RETURN(RedisReply reply, Run(std::move(argv), RedisRetry::kIdempotent));
  if (reply.type != RedisReply::Type::kStatus) return BadReply("SET", reply);
  return Status();
}

StatusOr<bool> RedisClient::SetNx(std::string_view key, std::string_view value, int64_t ttl_ms) {
  if (ttl_ms <= 0) return BadArgument("SET", "SetNx needs ttl_ms > 0");
  const std::vector<std::string> argv = {"SET", std::string(key),      std::string(value), "NX",
                                         "PX",  std::to_string(ttl_ms)};
  // One re-send at most: the key was absent after a lost reply, so the first SET did not land
  // (or its lease already expired).
  for (int attempt = 0; attempt < 2; ++attempt) {
    StatusOr<RedisReply> reply = Run(argv, RedisRetry::kAtMostOnce);
    if (reply.ok()) {
      if (reply->is_nil()) return false;
      if (reply->type == RedisReply::Type::kStatus) return true;
      return BadReply("SET", *reply);
    }
    if (reply.status().code() != "redis_reply_lost") return reply.status();
    // Lost reply: read back (Get is re-sent after reconnecting) to learn whether it landed.
    VEIL_ASSIGN_OR_RETURN(std::optional<std::string> current, Get(key));
    if (current.has_value()) return *current == value;
  }
  return NetworkError("redis_reply_lost",
                      "redis SET NX: the reply was lost twice; the lease state is unknown");
}

StatusOr<bool> RedisClient::Del(std::string_view key) {
  VEIL_ASSIGN_OR_RETURN(int64_t n, DelKeys({std::string(key)}));
  return n > 0;
}

StatusOr<int64_t> RedisClient::DelKeys(const std::vector<std::string>& keys) {
  if (keys.empty()) return int64_t{0};
  std::vector<std::string> argv = {"DEL"};
  argv.insert(argv.end(), keys.begin(), keys.end());
  VEIL_ASSIGN_OR_RETURN(RedisReply reply, Run(std::move(argv), RedisRetry::kIdempotent));
  return AsInteger("DEL", reply);
}

StatusOr<bool> RedisClient::Expire(std::string_view key, int64_t ttl_s) {
  if (ttl_s <= 0) return BadArgument("EXPIRE", "ttl_s must be > 0");
  VEIL_ASSIGN_OR_RETURN(RedisReply reply, Run({"EXPIRE", std::string(key), std::to_string(ttl_s)},
                                              RedisRetry::kIdempotent));
  VEIL_ASSIGN_OR_RETURN(int64_t n, AsInteger("EXPIRE", reply));
  return n == 1;
}

StatusOr<bool> RedisClient::Exists(std::string_view key) {
  VEIL_ASSIGN_OR_RETURN(RedisReply reply,
                        Run({"EXISTS", std::string(key)}, RedisRetry::kIdempotent));
  VEIL_ASSIGN_OR_RETURN(int64_t n, AsInteger("EXISTS", reply));
  return n > 0;
}

StatusOr<int64_t> RedisClient::Incr(std::string_view key) {
  VEIL_ASSIGN_OR_RETURN(RedisReply reply, Run({"INCR", std::string(key)}, RedisRetry::kAtMostOnce));
  return AsInteger("INCR", reply);
}

StatusOr<int64_t> RedisClient::LPush(std::string_view key, std::string_view value) {
  return LPush(key, std::vector<std::string>{std::string(value)});
}

StatusOr<int64_t> RedisClient::LPush(std::string_view key, const std::vector<std::string>& values) {
  if (values.empty()) return BadArgument("LPUSH", "no values");
  std::vector<std::string> argv = {"LPUSH", std::string(key)};
  argv.insert(argv.end(), values.begin(), values.end());
  VEIL_ASSIGN_OR_RETURN(RedisReply reply, Run(std::move(argv), RedisRetry::kAtMostOnce));
  return AsInteger("LPUSH", reply);
}

StatusOr<int64_t> RedisClient::RPush(std::string_view key, std::string_view value) {
  return RPush(key, std::vector<std::string>{std::string(value)});
}

StatusOr<int64_t> RedisClient::RPush(std::string_view key, const std::vector<std::string>& values) {
  if (values.empty()) return BadArgument("RPUSH", "no values");
  std::vector<std::string> argv = {"RPUSH", std::string(key)};
  argv.insert(argv.end(), values.begin(), values.end());
  VEIL_ASSIGN_OR_RETURN(RedisReply reply, Run(std::move(argv), RedisRetry::kAtMostOnce));
  return AsInteger("RPUSH", reply);
}

StatusOr<std::optional<RedisKeyValue>> RedisClient::BRPop(const std::vector<std::string>& keys,
                                                          int64_t timeout_ms) {
  if (keys.empty()) return BadArgument("BRPOP", "no keys");
  if (timeout_ms <= 0) return BadArgument("BRPOP", "timeout_ms must be > 0");
  std::vector<std::string> argv = {"BRPOP"};
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.push_back(FormatBlockTimeout(timeout_ms));
  VEIL_ASSIGN_OR_RETURN(RedisReply reply,
                        Run(std::move(argv), RedisRetry::kAtMostOnce, timeout_ms));
  if (reply.is_nil()) return std::optional<RedisKeyValue>();
  VEIL_ASSIGN_OR_RETURN(std::vector<std::string> kv, AsStringArray("BRPOP", reply));
  if (kv.size() != 2) return BadReply("BRPOP", reply);
  return std::optional<RedisKeyValue>(RedisKeyValue{std::move(kv[0]), std::move(kv[1])});
}

StatusOr<std::vector<std::string>> RedisClient::LRange(std::string_view key, int64_t start,
                                                       int64_t stop) {
  VEIL_ASSIGN_OR_RETURN(RedisReply reply, Run({"LRANGE", std::string(key), std::to_string(start),
                                               std::to_string(stop)},
                                              RedisRetry::kIdempotent));
  return AsStringArray("LRANGE", reply);
}

StatusOr<int64_t> RedisClient::LLen(std::string_view key) {
  VEIL_ASSIGN_OR_RETURN(RedisReply reply, Run({"LLEN", std::string(key)}, RedisRetry::kIdempotent));
  return AsInteger("LLEN", reply);
}

StatusOr<int64_t> RedisClient::LRem(std::string_view key, int64_t count, std::string_view value) {
  VEIL_ASSIGN_OR_RETURN(RedisReply reply,
                        Run({"LREM", std::string(key), std::to_string(count), std::string(value)},
                            RedisRetry::kAtMostOnce));
  return AsInteger("LREM", reply);
}

StatusOr<std::optional<std::string>> RedisClient::LMove(std::string_view src, std::string_view dst,
                                                        RedisListEnd from, RedisListEnd to) {
  VEIL_ASSIGN_OR_RETURN(RedisReply reply, Run({"LMOVE", std::string(src), std::string(dst),
                                               EndName(from), EndName(to)},
                                              RedisRetry::kAtMostOnce));
  return AsOptionalString("LMOVE", reply);
}

StatusOr<std::optional<std::string>> RedisClient::BLMove(std::string_view src, std::string_view dst,
                                                         RedisListEnd from, RedisListEnd to,
                                                         int64_t timeout_ms) {
  if (timeout_ms <= 0) return BadArgument("BLMOVE", "timeout_ms must be > 0");
  VEIL_ASSIGN_OR_RETURN(RedisReply reply,
                        Run({"BLMOVE", std::string(src), std::string(dst), EndName(from),
                             EndName(to), FormatBlockTimeout(timeout_ms)},
                            RedisRetry::kAtMostOnce, timeout_ms));
  return AsOptionalString("BLMOVE", reply);
}

StatusOr<int64_t> RedisClient::HSet(std::string_view key, std::string_view field,
                                    std::string_view value) {
  return HSet(key, RedisFields{{std::string(field), std::string(value)}});
}

StatusOr<int64_t> RedisClient::HSet(std::string_view key, const RedisFields& fields) {
  if (fields.empty()) return BadArgument("HSET", "no fields");
  std::vector<std::string> argv = {"HSET", std::string(key)};
  for (const auto& [f, v] : fields) {
    argv.push_back(f);
    argv.push_back(v);
  }
  VEIL_ASSIGN_OR_RETURN(RedisReply reply, Run(std::move(argv), RedisRetry::kIdempotent));
  return AsInteger("HSET", reply);
}

StatusOr<std::optional<std::string>> RedisClient::HGet(std::string_view key,
                                                       std::string_view field) {
  VEIL_ASSIGN_OR_RETURN(RedisReply reply, Run({"HGET", std::string(key), std::string(field)},
                                              RedisRetry::kIdempotent));
  return AsOptionalString("HGET", reply);
}

StatusOr<int64_t> RedisClient::HDel(std::string_view key, std::string_view field) {
  VEIL_ASSIGN_OR_RETURN(RedisReply reply, Run({"HDEL", std::string(key), std::string(field)},
                                              RedisRetry::kIdempotent));
  return AsInteger("HDEL", reply);
}

StatusOr<std::map<std::string, std::string>> RedisClient::HGetAll(std::string_view key) {
  VEIL_ASSIGN_OR_RETURN(RedisReply reply,
                        Run({"HGETALL", std::string(key)}, RedisRetry::kIdempotent));
  VEIL_ASSIGN_OR_RETURN(RedisFields pairs, AsFieldPairs("HGETALL", reply));
  return std::map<std::string, std::string>(pairs.begin(), pairs.end());
}

StatusOr<int64_t> RedisClient::ZAdd(std::string_view key, double score, std::string_view member,
                                    RedisZAddMode mode) {
  if (std::isnan(score)) return BadArgument("ZADD", "score is NaN");
  std::vector<std::string> argv = {"ZADD", std::string(key)};
  if (mode == RedisZAddMode::kUpdateOnly) argv.emplace_back("XX");
  if (mode == RedisZAddMode::kAddOnly) argv.emplace_back("NX");
  argv.emplace_back("CH");
  argv.push_back(FormatScore(score));
  argv.emplace_back(member);
  VEIL_ASSIGN_OR_RETURN(RedisReply reply, Run(std::move(argv), RedisRetry::kIdempotent));
  return AsInteger("ZADD", reply);
}

StatusOr<int64_t> RedisClient::ZRem(std::string_view key, std::string_view member) {
  VEIL_ASSIGN_OR_RETURN(RedisReply reply, Run({"ZREM", std::string(key), std::string(member)},
                                              RedisRetry::kIdempotent));
  return AsInteger("ZREM", reply);
}

StatusOr<std::vector<RedisScoredMember>> RedisClient::ZRangeByScore(std::string_view key,
                                                                    double min_score,
                                                                    double max_score,
                                                                    int64_t limit) {
  if (std::isnan(min_score) || std::isnan(max_score)) {
    return BadArgument("ZRANGEBYSCORE", "score bound is NaN");
  }
  std::vector<std::string> argv = {"ZRANGEBYSCORE", std::string(key), FormatScore(min_score),
                                   FormatScore(max_score), "WITHSCORES"};
  if (limit >= 0) {
    argv.insert(argv.end(), {"LIMIT", "0", std::to_string(limit)});
  }
  VEIL_ASSIGN_OR_RETURN(RedisReply reply, Run(std::move(argv), RedisRetry::kIdempotent));
  VEIL_ASSIGN_OR_RETURN(RedisFields pairs, AsFieldPairs("ZRANGEBYSCORE", reply));
  std::vector<RedisScoredMember> out;
  out.reserve(pairs.size());
  for (auto& [member, score_text] : pairs) {
    char* end = nullptr;
    double score = std::strtod(score_text.c_str(), &end);
    if (end == score_text.c_str() || *end != '\0') return BadReply("ZRANGEBYSCORE", reply);
    out.push_back(RedisScoredMember{std::move(member), score});
  }
  return out;
}

StatusOr<int64_t> RedisClient::Publish(std::string_view channel, std::string_view message) {
  VEIL_ASSIGN_OR_RETURN(
      RedisReply reply,
      Run({"PUBLISH", std::string(channel), std::string(message)}, RedisRetry::kAtMostOnce));
  return AsInteger("PUBLISH", reply);
}

StatusOr<std::unique_ptr<RedisSubscriber>> RedisClient::Subscribe(
    const std::vector<std::string>& channels) {
  VEIL_ASSIGN_OR_RETURN(std::unique_ptr<RedisSubscriber> subscriber, NewSubscriber());
  VEIL_RETURN_IF_ERROR(subscriber->Subscribe(channels));
  return subscriber;
}

StatusOr<std::string> RedisClient::XAdd(std::string_view key, const RedisFields& fields,
                                        int64_t max_len, bool approximate) {
  if (fields.empty()) return BadArgument("XADD", "no fields");
  if (max_len < 0) return BadArgument("XADD", "max_len must be >= 0");
  std::vector<std::string> argv = {"XADD", std::string(key)};
  if (max_len > 0) {
    argv.emplace_back("MAXLEN");
    argv.emplace_back(approximate ? "~" : "=");
    argv.push_back(std::to_string(max_len));
  }
  argv.emplace_back("*");
  for (const auto& [f, v] : fields) {
    argv.push_back(f);
    argv.push_back(v);
  }
  VEIL_ASSIGN_OR_RETURN(RedisReply reply, Run(std::move(argv), RedisRetry::kAtMostOnce));
  if (reply.type != RedisReply::Type::kString) return BadReply("XADD", reply);
  return reply.str;
}

StatusOr<std::vector<RedisStreamEntry>> RedisClient::XRange(std::string_view key,
                                                            std::string_view start,
                                                            std::string_view end, int64_t count) {
  std::vector<std::string> argv = {"XRANGE", std::string(key), std::string(start),
                                   std::string(end)};
  if (count >= 0) {
    argv.emplace_back("COUNT");
    argv.push_back(std::to_string(count));
  }
  VEIL_ASSIGN_OR_RETURN(RedisReply reply, Run(std::move(argv), RedisRetry::kIdempotent));
  if (reply.type != RedisReply::Type::kArray) return BadReply("XRANGE", reply);
  std::vector<RedisStreamEntry> out;
  out.reserve(reply.elements.size());
  for (const RedisReply& e : reply.elements) {
    if (e.type != RedisReply::Type::kArray || e.elements.size() != 2 ||
        e.elements[0].type != RedisReply::Type::kString) {
      return BadReply("XRANGE", reply);
    }
    VEIL_ASSIGN_OR_RETURN(RedisFields fields, AsFieldPairs("XRANGE", e.elements[1]));
    out.push_back(RedisStreamEntry{e.elements[0].str, std::move(fields)});
  }
  return out;
}

StatusOr<int64_t> RedisClient::XLen(std::string_view key) {
  VEIL_ASSIGN_OR_RETURN(RedisReply reply, Run({"XLEN", std::string(key)}, RedisRetry::kIdempotent));
  return AsInteger("XLEN", reply);
}

StatusOr<RedisReply> RedisClient::Eval(std::string_view script,
                                       const std::vector<std::string>& keys,
                                       const std::vector<std::string>& args, RedisRetry retry) {
  std::vector<std::string> argv = {"EVAL", std::string(script), std::to_string(keys.size())};
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  return Run(std::move(argv), retry);
}

}  // namespace veil::worker
