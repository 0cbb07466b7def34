#include "veil/worker/redis_fake.h"

#include <fnmatch.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <tuple>
#include <variant>

#include <fmt/format.h>

namespace veil::worker {

namespace {

using Clock = std::chrono::steady_clock;
using Args = std::vector<std::string>;

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

RedisReply Ok() { return RedisReply::SimpleString("OK"); }
RedisReply Err(std::string message) { return RedisReply::Error(std::move(message)); }
RedisReply WrongType() {
  return Err("WRONGTYPE Operation against a key holding the wrong kind of value");
}
RedisReply SyntaxError() { return Err("ERR syntax error"); }
RedisReply NotInteger() { return Err("ERR value is not an integer or out of range"); }
RedisReply NotFloat() { return Err("ERR value is not a valid float"); }
RedisReply Int(int64_t v) { return RedisReply::Integer(v); }
RedisReply Bulk(std::string v) { return RedisReply::String(std::move(v)); }

bool ParseI64(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

bool ParseU64(std::string_view s, uint64_t* out) {
  if (s.empty() || s[0] == '-' || s[0] == '+') return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

bool ParseDouble(const std::string& s, double* out) {
  if (s.empty() || std::isspace(static_cast<unsigned char>(s[0]))) return false;
  char* end = nullptr;
  *out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size() && !std::isnan(*out);
}

std::string FormatDouble(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return fmt::format("{}", v);
}

bool GlobMatch(const std::string& pattern, const std::string& s) {
  return fnmatch(pattern.c_str(), s.c_str(), 0) == 0;
}

struct ZSet {
  std::map<std::string, double> scores;
  std::set<std::pair<double, std::string>> order;

  bool empty() const { return scores.empty(); }
  // Returns 1 if added, 0 if updated or unchanged; *changed when the score differs.
  int Put(const std::string& member, double score, bool* changed) {
    auto it = scores.find(member);
    if (it == scores.end()) {
      scores.emplace(member, score);
      order.emplace(score, member);
      *changed = true;
      return 1;
    }
    *changed = it->second != score;
    if (*changed) {
      order.erase({it->second, member});
      it->second = score;
      order.emplace(score, member);
    }
    return 0;
  }
  bool Remove(const std::string& member) {
    auto it = scores.find(member);
    if (it == scores.end()) return false;
    order.erase({it->second, member});
    scores.erase(it);
    return true;
  }
};

struct StreamId {
  uint64_t ms = 0;
  uint64_t seq = 0;
  auto operator<=>(const StreamId&) const = default;
  std::string ToString() const { return fmt::format("{}-{}", ms, seq); }
};

struct Stream {
  std::vector<std::pair<StreamId, RedisFields>> entries;
  StreamId last;
};

using List = std::deque<std::string>;
using Hash = std::map<std::string, std::string>;

struct Entry {
  std::variant<std::string, List, Hash, ZSet, Stream> value;
  std::optional<Clock::time_point> expire_at;
};

struct SubscriberState {
  std::set<std::string> channels;
  std::set<std::string> patterns;
  std::deque<RedisMessage> queue;
  uint64_t outages_at_start = 0;
};

bool IsBlockingCommand(const std::string& upper_name) {
  return upper_name == "BRPOP" || upper_name == "BLPOP" || upper_name == "BLMOVE";
}

}  // namespace

// ---------------------------------------------------------------------------------------------

class RedisFake::State {
 public:
  // --- Called with the lock NOT held. ---

  StatusOr<RedisReply> Execute(const Args& argv, const RedisCallOptions& options) {
    if (argv.empty()) return ParameterError("redis_bad_argument", "redis: empty command");
    std::unique_lock<std::mutex> lock(mu_);
    VEIL_RETURN_IF_ERROR(WaitUntilUp(lock, argv[0]));
    const std::string name = Upper(argv[0]);
    RedisReply reply;
    if (IsBlockingCommand(name)) {
      VEIL_ASSIGN_OR_RETURN(reply, RunBlocking(lock, argv));
    } else {
      reply = Dispatch(argv);
    }
    ++commands_;
    if (lose_replies_ > 0) {
      --lose_replies_;
      if (options.retry != RedisRetry::kIdempotent) {
        cv_.notify_all();
        return NetworkError("redis_reply_lost",
                            fmt::format("redis at fake: connection lost after {} was sent "
                                        "(simulated); it may or may not have run",
                                        name));
      }
      reply = Dispatch(argv);  // the real client re-sends idempotent commands
      ++commands_;
    }
    cv_.notify_all();
    return reply;
  }

  void RegisterScript(const std::string& script, ScriptHandler handler) {
    std::lock_guard<std::mutex> lock(mu_);
    scripts_[script] = std::move(handler);
  }

  void SetDown(bool down) {
    std::lock_guard<std::mutex> lock(mu_);
    if (down && !down_) ++outages_;
    down_ = down;
    cv_.notify_all();
  }

  bool down() const {
    std::lock_guard<std::mutex> lock(mu_);
    return down_;
  }

  void set_outage_wait_ms(int64_t ms) {
    std::lock_guard<std::mutex> lock(mu_);
    outage_wait_ms_ = std::max<int64_t>(0, ms);
  }

  void LoseReplies(int count) {
    std::lock_guard<std::mutex> lock(mu_);
    lose_replies_ = std::max(0, count);
  }

  void AdvanceTime(std::chrono::milliseconds by) {
    std::lock_guard<std::mutex> lock(mu_);
    time_offset_ += by;
    cv_.notify_all();
  }

  uint64_t commands_executed() const {
    std::lock_guard<std::mutex> lock(mu_);
    return commands_;
  }

  // --- Subscribers. ---

  std::shared_ptr<SubscriberState> AddSubscriber() {
    std::lock_guard<std::mutex> lock(mu_);
    auto sub = std::make_shared<SubscriberState>();
    sub->outages_at_start = outages_;
    subscribers_.push_back(sub);
    return sub;
  }

  void RemoveSubscriber(const SubscriberState* sub) {
    std::lock_guard<std::mutex> lock(mu_);
    std::erase_if(subscribers_, [&](const std::weak_ptr<SubscriberState>& w) {
      auto s = w.lock();
      return s == nullptr || s.get() == sub;
    });
  }

  Status AddSubscriptions(SubscriberState* sub, const Args& names, bool patterns) {
    std::unique_lock<std::mutex> lock(mu_);
    VEIL_RETURN_IF_ERROR(WaitUntilUp(lock, patterns ? "PSUBSCRIBE" : "SUBSCRIBE"));
    (patterns ? sub->patterns : sub->channels).insert(names.begin(), names.end());
    return Status();
  }

  StatusOr<std::optional<RedisMessage>> NextMessage(SubscriberState* sub, int64_t timeout_ms) {
    if (timeout_ms < 0) {
      return ParameterError("redis_bad_argument", "redis subscriber: timeout_ms must be >= 0");
    }
    std::unique_lock<std::mutex> lock(mu_);
    const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      VEIL_RETURN_IF_ERROR(WaitUntilUp(lock, "subscriber"));
      if (!sub->queue.empty()) {
        RedisMessage m = std::move(sub->queue.front());
        sub->queue.pop_front();
        return std::optional<RedisMessage>(std::move(m));
      }
      if (Clock::now() >= deadline) return std::optional<RedisMessage>();
      cv_.wait_until(lock, deadline);
    }
  }

  uint64_t SubscriberReconnects(const SubscriberState* sub) const {
    std::lock_guard<std::mutex> lock(mu_);
    uint64_t n = outages_ - sub->outages_at_start;
    if (down_ && n > 0) --n;  // the current outage has not been reconnected from yet
    return n;
  }

 private:
  class Script final : public ScriptCall {
   public:
    Script(State* state, Args keys, Args args)
        : state_(state), keys_(std::move(keys)), args_(std::move(args)) {}
    const Args& keys() const override { return keys_; }
    const Args& args() const override { return args_; }
    RedisReply Call(const Args& argv) override {
      if (argv.empty())
        return Err("ERR Please specify at least one argument for this redis lib call");
      const std::string name = Upper(argv[0]);
      if (name == "EVAL" || name == "EVALSHA")
        return Err("ERR This Redis command is not allowed from script");
      return state_->Dispatch(argv);
    }

   private:
    State* state_;
    Args keys_;
    Args args_;
  };

  // While down: waits up to outage_wait_ms for the fake to come back, else redis_unavailable.
  Status WaitUntilUp(std::unique_lock<std::mutex>& lock, std::string_view what) {
    if (!down_) return Status();
    if (outage_wait_ms_ > 0) {
      cv_.wait_for(lock, std::chrono::milliseconds(outage_wait_ms_), [&] { return !down_; });
    }
    if (!down_) return Status();
    return NetworkError(
        "redis_unavailable",
        fmt::format("redis at fake: unreachable (simulated outage) for {}", Upper(what)));
  }

  StatusOr<RedisReply> RunBlocking(std::unique_lock<std::mutex>& lock, const Args& argv) {
    double timeout_s = 0;
    if (argv.size() < 3 || !ParseDouble(argv.back(), &timeout_s) || timeout_s < 0) {
      return Dispatch(argv);  // let the command report arity / timeout errors
    }
    const bool forever = timeout_s == 0;
    const Clock::time_point deadline =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(forever ? 0 : timeout_s));
    const uint64_t outages_before = outages_;
    for (;;) {
      RedisReply reply = Dispatch(argv);
      if (!reply.is_nil()) return reply;
      if (!forever && Clock::now() >= deadline) return reply;
      if (forever) {
        cv_.wait(lock);
      } else {
        cv_.wait_until(lock, deadline);
      }
      if (down_ || outages_ != outages_before) {
        return NetworkError("redis_reply_lost",
                            fmt::format("redis at fake: connection lost during {} (simulated "
                                        "outage); it may or may not have run",
                                        Upper(argv[0])));
      }
    }
  }

  Clock::time_point Now() const { return Clock::now() + time_offset_; }

  // --- Key access (lock held). ---

  Entry* Find(const std::string& key) {
    auto it = db_.find(key);
    if (it == db_.end()) return nullptr;
    if (it->second.expire_at.has_value() && *it->second.expire_at <= Now()) {
      db_.erase(it);
      return nullptr;
    }
    return &it->second;
  }

  // nullptr and *wrong_type=false when missing; nullptr and *wrong_type=true when another type.
  template <typename T>
  T* FindAs(const std::string& key, bool* wrong_type) {
    *wrong_type = false;
    Entry* e = Find(key);
    if (e == nullptr) return nullptr;
    T* v = std::get_if<T>(&e->value);
    if (v == nullptr) *wrong_type = true;
    return v;
  }

  template <typename T>
  T* GetOrCreate(const std::string& key, bool* wrong_type) {
    T* v = FindAs<T>(key, wrong_type);
    if (v != nullptr || *wrong_type) return v;
    Entry& e = db_[key];
    e.value = T();
    e.expire_at.reset();
    return &std::get<T>(e.value);
  }

  // Redis deletes aggregates that become empty.
  void DropIfEmpty(const std::string& key) {
    auto it = db_.find(key);
    if (it == db_.end()) return;
    bool empty = std::visit(
        [](const auto& v) {
          using V = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<V, std::string> || std::is_same_v<V, Stream>) {
            return false;
          } else {
            return v.empty();
          }
        },
        it->second.value);
    if (empty) db_.erase(it);
  }

  static RedisReply WrongArity(const Args& a) {
    return Err(fmt::format("ERR wrong number of arguments for '{}' command", Lower(a[0])));
  }

  // --- The interpreter (lock held; never blocks). ---

  using Handler = RedisReply (State::*)(const Args&);

  RedisReply Dispatch(const Args& a) {
    static const std::map<std::string, Handler> kCommands = {
        {"PING", &State::Ping},
        {"ECHO", &State::Echo},
        {"INFO", &State::Info},
        {"SELECT", &State::Select},
        {"DBSIZE", &State::DbSize},
        {"FLUSHDB", &State::FlushDb},
        {"FLUSHALL", &State::FlushDb},
        {"KEYS", &State::Keys},
        {"TYPE", &State::Type},
        {"GET", &State::Get},
        {"SET", &State::Set},
        {"SETEX", &State::SetEx},
        {"PSETEX", &State::SetEx},
        {"SETNX", &State::SetNx},
        {"MGET", &State::MGet},
        {"DEL", &State::Del},
        {"UNLINK", &State::Del},
        {"EXISTS", &State::Exists},
        {"EXPIRE", &State::Expire},
        {"PEXPIRE", &State::Expire},
        {"PERSIST", &State::Persist},
        {"TTL", &State::Ttl},
        {"PTTL", &State::Ttl},
        {"INCR", &State::IncrBy},
        {"INCRBY", &State::IncrBy},
        {"DECR", &State::IncrBy},
        {"LPUSH", &State::Push},
        {"RPUSH", &State::Push},
        {"LPOP", &State::Pop},
        {"RPOP", &State::Pop},
        {"LINDEX", &State::LIndex},
        {"LRANGE", &State::LRange},
        {"LLEN", &State::LLen},
        {"LREM", &State::LRem},
        {"LMOVE", &State::LMove},
        {"RPOPLPUSH", &State::LMove},
        {"BLMOVE", &State::LMove},
        {"BRPOP", &State::BPop},
        {"BLPOP", &State::BPop},
        {"HSET", &State::HSet},
        {"HMSET", &State::HSet},
        {"HGET", &State::HGet},
        {"HDEL", &State::HDel},
        {"HGETALL", &State::HGetAll},
        {"HLEN", &State::HLen},
        {"HEXISTS", &State::HExists},
        {"ZADD", &State::ZAdd},
        {"ZREM", &State::ZRem},
        {"ZSCORE", &State::ZScore},
        {"ZCARD", &State::ZCard},
        {"ZRANGEBYSCORE", &State::ZRangeByScore},
        {"PUBLISH", &State::Publish},
        {"XADD", &State::XAdd},
        {"XRANGE", &State::XRange},
        {"XLEN", &State::XLen},
        {"EVAL", &State::Eval},
    };
    auto it = kCommands.find(Upper(a[0]));
    if (it == kCommands.end()) {
      return Err(fmt::format("ERR unknown command '{}' (not supported by RedisFake)", a[0]));
    }
    return (this->*(it->second))(a);
  }

  RedisReply Ping(const Args& a) {
    if (a.size() > 2) return WrongArity(a);
    return a.size() == 2 ? Bulk(a[1]) : RedisReply::SimpleString("PONG");
  }

  RedisReply Echo(const Args& a) {
    if (a.size() != 2) return WrongArity(a);
    return Bulk(a[1]);
  }

  RedisReply Info(const Args& a) {
    if (a.size() > 2) return WrongArity(a);
    return Bulk(fmt::format(
        "# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\nveil_fake:1\r\n\r\n"
        "# Keyspace\r\ndb0:keys={}\r\n",
        db_.size()));
  }

  RedisReply Select(const Args& a) {
    int64_t db = 0;
    if (a.size() != 2) return WrongArity(a);
    if (!ParseI64(a[1], &db)) return NotInteger();
    return Ok();
  }

  RedisReply DbSize(const Args& a) {
    if (a.size() != 1) return WrongArity(a);
    return Int(static_cast<int64_t>(AllKeys("*").size()));
  }

  RedisReply FlushDb(const Args& a) {
    db_.clear();
    return Ok();
  }

  std::vector<std::string> AllKeys(const std::string& pattern) {
    std::vector<std::string> keys;
    for (auto it = db_.begin(); it != db_.end();) {
      if (it->second.expire_at.has_value() && *it->second.expire_at <= Now()) {
        it = db_.erase(it);
        continue;
      }
      if (GlobMatch(pattern, it->first)) keys.push_back(it->first);
      ++it;
    }
    return keys;
  }

  RedisReply Keys(const Args& a) {
    if (a.size() != 2) return WrongArity(a);
    std::vector<RedisReply> out;
    for (std::string& k : AllKeys(a[1])) out.push_back(Bulk(std::move(k)));
    return RedisReply::Array(std::move(out));
  }

  RedisReply Type(const Args& a) {
    if (a.size() != 2) return WrongArity(a);
    Entry* e = Find(a[1]);
    if (e == nullptr) return RedisReply::SimpleString("none");
    static const char* kNames[] = {"string", "list", "hash", "zset", "stream"};
    return RedisReply::SimpleString(kNames[e->value.index()]);
  }

  // --- Strings. ---

  RedisReply Get(const Args& a) {
    if (a.size() != 2) return WrongArity(a);
    bool wrong = false;
    std::string* v = FindAs<std::string>(a[1], &wrong);
    if (wrong) return WrongType();
    return v ? Bulk(*v) : RedisReply::Nil();
  }

  void PutString(const std::string& key, const std::string& value,
                 std::optional<Clock::time_point> expire_at) {
    Entry& e = db_[key];
    e.value = value;
    e.expire_at = expire_at;
  }

  RedisReply Set(const Args& a) {
    if (a.size() < 3) return WrongArity(a);
    bool nx = false, xx = false, get = false, keep_ttl = false;
    std::optional<int64_t> ttl_ms;
    for (size_t i = 3; i < a.size(); ++i) {
      const std::string opt = Upper(a[i]);
      if (opt == "NX") {
        nx = true;
      } else if (opt == "XX") {
        xx = true;
      } else if (opt == "GET") {
        get = true;
      } else if (opt == "KEEPTTL") {
        keep_ttl = true;
      } else if ((opt == "EX" || opt == "PX") && i + 1 < a.size() && !ttl_ms.has_value()) {
        int64_t n = 0;
        if (!ParseI64(a[++i], &n)) return NotInteger();
        if (n <= 0) return Err("ERR invalid expire time in 'set' command");
        ttl_ms = opt == "EX" ? n * 1000 : n;
      } else {
        return SyntaxError();
      }
    }
    if ((nx && xx) || (keep_ttl && ttl_ms.has_value())) return SyntaxError();
    Entry* existing = Find(a[1]);
    RedisReply old = RedisReply::Nil();
    if (existing != nullptr && get) {
      auto* s = std::get_if<std::string>(&existing->value);
      if (s == nullptr) return WrongType();
      old = Bulk(*s);
    }
    if ((nx && existing != nullptr) || (xx && existing == nullptr)) {
      return get ? old : RedisReply::Nil();
    }
    std::optional<Clock::time_point> expire_at;
    if (ttl_ms.has_value()) expire_at = Now() + std::chrono::milliseconds(*ttl_ms);
    if (keep_ttl && existing != nullptr) expire_at = existing->expire_at;
    PutString(a[1], a[2], expire_at);
    return get ? old : Ok();
  }

  RedisReply SetEx(const Args& a) {
    if (a.size() != 4) return WrongArity(a);
    int64_t n = 0;
    if (!ParseI64(a[2], &n)) return NotInteger();
    if (n <= 0) return Err(fmt::format("ERR invalid expire time in '{}' command", Lower(a[0])));
    const int64_t ms = Upper(a[0]) == "SETEX" ? n * 1000 : n;
    PutString(a[1], a[3], Now() + std::chrono::milliseconds(ms));
    return Ok();
  }

  RedisReply SetNx(const Args& a) {
    if (a.size() != 3) return WrongArity(a);
    if (Find(a[1]) != nullptr) return Int(0);
    PutString(a[1], a[2], std::nullopt);
    return Int(1);
  }

  RedisReply MGet(const Args& a) {
    if (a.size() < 2) return WrongArity(a);
    std::vector<RedisReply> out;
    for (size_t i = 1; i < a.size(); ++i) {
      Entry* e = Find(a[i]);
      auto* s = e ? std::get_if<std::string>(&e->value) : nullptr;
      out.push_back(s ? Bulk(*s) : RedisReply::Nil());
    }
    return RedisReply::Array(std::move(out));
  }

  RedisReply Del(const Args& a) {
    if (a.size() < 2) return WrongArity(a);
    int64_t n = 0;
    for (size_t i = 1; i < a.size(); ++i) {
      if (Find(a[i]) != nullptr) {
        db_.erase(a[i]);
        ++n;
      }
    }
    return Int(n);
  }

  RedisReply Exists(const Args& a) {
    if (a.size() < 2) return WrongArity(a);
    int64_t n = 0;
    for (size_t i = 1; i < a.size(); ++i) n += Find(a[i]) != nullptr ? 1 : 0;
    return Int(n);
  }

  RedisReply Expire(const Args& a) {
    if (a.size() != 3) return WrongArity(a);
    int64_t n = 0;
    if (!ParseI64(a[2], &n)) return NotInteger();
    Entry* e = Find(a[1]);
    if (e == nullptr) return Int(0);
    const int64_t ms = Upper(a[0]) == "EXPIRE" ? n * 1000 : n;
    if (ms <= 0) {
      db_.erase(a[1]);
      return Int(1);
    }
    e->expire_at = Now() + std::chrono::milliseconds(ms);
    return Int(1);
  }

  RedisReply Persist(const Args& a) {
    if (a.size() != 2) return WrongArity(a);
    Entry* e = Find(a[1]);
    if (e == nullptr || !e->expire_at.has_value()) return Int(0);
    e->expire_at.reset();
    return Int(1);
  }

  RedisReply Ttl(const Args& a) {
    if (a.size() != 2) return WrongArity(a);
    Entry* e = Find(a[1]);
    if (e == nullptr) return Int(-2);
    if (!e->expire_at.has_value()) return Int(-1);
    const int64_t ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(*e->expire_at - Now()).count();
    return Int(Upper(a[0]) == "PTTL" ? ms : (ms + 500) / 1000);
  }

  RedisReply IncrBy(const Args& a) {
    const std::string name = Upper(a[0]);
    int64_t by = name == "DECR" ? -1 : 1;
    if (name == "INCRBY") {
      if (a.size() != 3) return WrongArity(a);
      if (!ParseI64(a[2], &by)) return NotInteger();
    } else if (a.size() != 2) {
      return WrongArity(a);
    }
    bool wrong = false;
    std::string* v = FindAs<std::string>(a[1], &wrong);
    if (wrong) return WrongType();
    int64_t current = 0;
    if (v != nullptr && !ParseI64(*v, &current)) return NotInteger();
    int64_t result = 0;
    if (__builtin_add_overflow(current, by, &result)) {
      return Err("ERR increment or decrement would overflow");
    }
    if (v != nullptr) {
      *v = std::to_string(result);
    } else {
      PutString(a[1], std::to_string(result), std::nullopt);
    }
    return Int(result);
  }

  // --- Lists. ---

  RedisReply Push(const Args& a) {
    if (a.size() < 3) return WrongArity(a);
    bool wrong = false;
    List* list = GetOrCreate<List>(a[1], &wrong);
    if (wrong) return WrongType();
    const bool left = Upper(a[0]) == "LPUSH";
    for (size_t i = 2; i < a.size(); ++i) {
      if (left) {
        list->push_front(a[i]);
      } else {
        list->push_back(a[i]);
      }
    }
    return Int(static_cast<int64_t>(list->size()));
  }

  RedisReply Pop(const Args& a) {
    if (a.size() != 2 && a.size() != 3) return WrongArity(a);
    std::optional<int64_t> count;
    if (a.size() == 3) {
      int64_t n = 0;
      if (!ParseI64(a[2], &n) || n < 0) return Err("ERR value is out of range, must be positive");
      count = n;
    }
    bool wrong = false;
    List* list = FindAs<List>(a[1], &wrong);
    if (wrong) return WrongType();
    if (list == nullptr) return RedisReply::Nil();
    const bool left = Upper(a[0]) == "LPOP";
    std::vector<RedisReply> out;
    const int64_t n = count.value_or(1);
    for (int64_t i = 0; i < n && !list->empty(); ++i) {
      if (left) {
        out.push_back(Bulk(std::move(list->front())));
        list->pop_front();
      } else {
        out.push_back(Bulk(std::move(list->back())));
        list->pop_back();
      }
    }
    DropIfEmpty(a[1]);
    if (count.has_value()) return RedisReply::Array(std::move(out));
    return out.empty() ? RedisReply::Nil() : std::move(out[0]);
  }

  RedisReply LIndex(const Args& a) {
    if (a.size() != 3) return WrongArity(a);
    int64_t i = 0;
    if (!ParseI64(a[2], &i)) return NotInteger();
    bool wrong = false;
    List* list = FindAs<List>(a[1], &wrong);
    if (wrong) return WrongType();
    if (list == nullptr) return RedisReply::Nil();
    const int64_t len = static_cast<int64_t>(list->size());
    if (i < 0) i += len;
    if (i < 0 || i >= len) return RedisReply::Nil();
    return Bulk((*list)[static_cast<size_t>(i)]);
  }

  RedisReply LRange(const Args& a) {
    if (a.size() != 4) return WrongArity(a);
    int64_t start = 0, stop = 0;
    if (!ParseI64(a[2], &start) || !ParseI64(a[3], &stop)) return NotInteger();
    bool wrong = false;
    List* list = FindAs<List>(a[1], &wrong);
    if (wrong) return WrongType();
    std::vector<RedisReply> out;
    if (list != nullptr) {
      const int64_t len = static_cast<int64_t>(list->size());
      if (start < 0) start += len;
      if (stop < 0) stop += len;
      if (start < 0) start = 0;
      if (stop >= len) stop = len - 1;
      for (int64_t i = start; i <= stop; ++i) out.push_back(Bulk((*list)[static_cast<size_t>(i)]));
    }
    return RedisReply::Array(std::move(out));
  }

  RedisReply LLen(const Args& a) {
    if (a.size() != 2) return WrongArity(a);
    bool wrong = false;
    List* list = FindAs<List>(a[1], &wrong);
    if (wrong) return WrongType();
    return Int(list ? static_cast<int64_t>(list->size()) : 0);
  }

  RedisReply LRem(const Args& a) {
    if (a.size() != 4) return WrongArity(a);
    int64_t count = 0;
    if (!ParseI64(a[2], &count)) return NotInteger();
    bool wrong = false;
    List* list = FindAs<List>(a[1], &wrong);
    if (wrong) return WrongType();
    if (list == nullptr) return Int(0);
    int64_t removed = 0;
    const int64_t limit = count == 0 ? std::numeric_limits<int64_t>::max() : std::abs(count);
    if (count >= 0) {
      for (auto it = list->begin(); it != list->end() && removed < limit;) {
        if (*it == a[3]) {
          it = list->erase(it);
          ++removed;
        } else {
          ++it;
        }
      }
    } else {
      for (size_t i = list->size(); i > 0 && removed < limit; --i) {
        if ((*list)[i - 1] == a[3]) {
          list->erase(list->begin() + static_cast<std::ptrdiff_t>(i - 1));
          ++removed;
        }
      }
    }
    DropIfEmpty(a[1]);
    return Int(removed);
  }

  // LMOVE src dst from to | RPOPLPUSH src dst | BLMOVE src dst from to timeout (one try).
  RedisReply LMove(const Args& a) {
    const std::string name = Upper(a[0]);
    bool from_left = false, to_left = true;
    if (name == "RPOPLPUSH") {
      if (a.size() != 3) return WrongArity(a);
    } else {
      if (a.size() != (name == "BLMOVE" ? 6u : 5u)) return WrongArity(a);
      const std::string from = Upper(a[3]), to = Upper(a[4]);
      if ((from != "LEFT" && from != "RIGHT") || (to != "LEFT" && to != "RIGHT")) {
        return SyntaxError();
      }
      from_left = from == "LEFT";
      to_left = to == "LEFT";
      if (name == "BLMOVE") {
        double t = 0;
        if (!ParseDouble(a[5], &t) || t < 0)
          return Err("ERR timeout is not a float or out of range");
      }
    }
    bool wrong = false;
    List* src = FindAs<List>(a[1], &wrong);
    if (wrong) return WrongType();
    if (src == nullptr) return RedisReply::Nil();
    FindAs<List>(a[2], &wrong);  // Redis checks the destination type before popping
    if (wrong) return WrongType();
    std::string value;
    if (from_left) {
      value = std::move(src->front());
      src->pop_front();
    } else {
      value = std::move(src->back());
      src->pop_back();
    }
    DropIfEmpty(a[1]);
    List* dst = GetOrCreate<List>(a[2], &wrong);
    if (to_left) {
      dst->push_front(value);
    } else {
      dst->push_back(value);
    }
    return Bulk(std::move(value));
  }

  // BRPOP/BLPOP key... timeout (one try).
  RedisReply BPop(const Args& a) {
    if (a.size() < 3) return WrongArity(a);
    double t = 0;
    if (!ParseDouble(a.back(), &t) || t < 0)
      return Err("ERR timeout is not a float or out of range");
    const bool left = Upper(a[0]) == "BLPOP";
    for (size_t i = 1; i + 1 < a.size(); ++i) {
      bool wrong = false;
      List* list = FindAs<List>(a[i], &wrong);
      if (wrong) return WrongType();
      if (list == nullptr || list->empty()) continue;
      std::string value;
      if (left) {
        value = std::move(list->front());
        list->pop_front();
      } else {
        value = std::move(list->back());
        list->pop_back();
      }
      DropIfEmpty(a[i]);
      return RedisReply::Array({Bulk(a[i]), Bulk(std::move(value))});
    }
    return RedisReply::Nil();
  }

  // --- Hashes. ---

  RedisReply HSet(const Args& a) {
    if (a.size() < 4 || a.size() % 2 != 0) return WrongArity(a);
    bool wrong = false;
    Hash* h = GetOrCreate<Hash>(a[1], &wrong);
    if (wrong) return WrongType();
    int64_t added = 0;
    for (size_t i = 2; i + 1 < a.size(); i += 2) {
      added += h->insert_or_assign(a[i], a[i + 1]).second ? 1 : 0;
    }
    return Upper(a[0]) == "HMSET" ? Ok() : Int(added);
  }

  RedisReply HGet(const Args& a) {
    if (a.size() != 3) return WrongArity(a);
    bool wrong = false;
    Hash* h = FindAs<Hash>(a[1], &wrong);
    if (wrong) return WrongType();
    if (h == nullptr) return RedisReply::Nil();
    auto it = h->find(a[2]);
    return it == h->end() ? RedisReply::Nil() : Bulk(it->second);
  }

  RedisReply HDel(const Args& a) {
    if (a.size() < 3) return WrongArity(a);
    bool wrong = false;
    Hash* h = FindAs<Hash>(a[1], &wrong);
    if (wrong) return WrongType();
    if (h == nullptr) return Int(0);
    int64_t n = 0;
    for (size_t i = 2; i < a.size(); ++i) n += static_cast<int64_t>(h->erase(a[i]));
    DropIfEmpty(a[1]);
    return Int(n);
  }

  RedisReply HGetAll(const Args& a) {
    if (a.size() != 2) return WrongArity(a);
    bool wrong = false;
    Hash* h = FindAs<Hash>(a[1], &wrong);
    if (wrong) return WrongType();
    std::vector<RedisReply> out;
    if (h != nullptr) {
      for (const auto& [f, v] : *h) {
        out.push_back(Bulk(f));
        out.push_back(Bulk(v));
      }
    }
    return RedisReply::Array(std::move(out));
  }

  RedisReply HLen(const Args& a) {
    if (a.size() != 2) return WrongArity(a);
    bool wrong = false;
    Hash* h = FindAs<Hash>(a[1], &wrong);
    if (wrong) return WrongType();
    return Int(h ? static_cast<int64_t>(h->size()) : 0);
  }

  RedisReply HExists(const Args& a) {
    if (a.size() != 3) return WrongArity(a);
    bool wrong = false;
    Hash* h = FindAs<Hash>(a[1], &wrong);
    if (wrong) return WrongType();
    return Int(h != nullptr && h->count(a[2]) ? 1 : 0);
  }

  // --- Sorted sets. ---

  RedisReply ZAdd(const Args& a) {
    if (a.size() < 4) return WrongArity(a);
    bool nx = false, xx = false, ch = false;
    size_t i = 2;
    for (; i < a.size(); ++i) {
      const std::string opt = Upper(a[i]);
      if (opt == "NX") {
        nx = true;
      } else if (opt == "XX") {
        xx = true;
      } else if (opt == "CH") {
        ch = true;
      } else if (opt == "INCR" || opt == "GT" || opt == "LT") {
        return Err(fmt::format("ERR RedisFake: ZADD {} is not supported", opt));
      } else {
        break;
      }
    }
    if (nx && xx) return Err("ERR XX and NX options at the same time are not compatible");
    if (i >= a.size() || (a.size() - i) % 2 != 0) return SyntaxError();
    std::vector<std::pair<double, std::string>> items;
    for (; i + 1 < a.size(); i += 2) {
      double score = 0;
      if (!ParseDouble(a[i], &score)) return NotFloat();
      items.emplace_back(score, a[i + 1]);
    }
    bool wrong = false;
    ZSet* z = FindAs<ZSet>(a[1], &wrong);
    if (wrong) return WrongType();
    if (z == nullptr) {
      if (xx) return Int(0);
      z = GetOrCreate<ZSet>(a[1], &wrong);
    }
    int64_t added = 0, changed = 0;
    for (const auto& [score, member] : items) {
      const bool exists = z->scores.count(member) > 0;
      if ((nx && exists) || (xx && !exists)) continue;
      bool did_change = false;
      added += z->Put(member, score, &did_change);
      changed += did_change ? 1 : 0;
    }
    DropIfEmpty(a[1]);
    return Int(ch ? changed : added);
  }

  RedisReply ZRem(const Args& a) {
    if (a.size() < 3) return WrongArity(a);
    bool wrong = false;
    ZSet* z = FindAs<ZSet>(a[1], &wrong);
    if (wrong) return WrongType();
    if (z == nullptr) return Int(0);
    int64_t n = 0;
    for (size_t i = 2; i < a.size(); ++i) n += z->Remove(a[i]) ? 1 : 0;
    DropIfEmpty(a[1]);
    return Int(n);
  }

  RedisReply ZScore(const Args& a) {
    if (a.size() != 3) return WrongArity(a);
    bool wrong = false;
    ZSet* z = FindAs<ZSet>(a[1], &wrong);
    if (wrong) return WrongType();
    if (z == nullptr) return RedisReply::Nil();
    auto it = z->scores.find(a[2]);
    return it == z->scores.end() ? RedisReply::Nil() : Bulk(FormatDouble(it->second));
  }

  RedisReply ZCard(const Args& a) {
    if (a.size() != 2) return WrongArity(a);
    bool wrong = false;
    ZSet* z = FindAs<ZSet>(a[1], &wrong);
    if (wrong) return WrongType();
    return Int(z ? static_cast<int64_t>(z->scores.size()) : 0);
  }

  static bool ParseScoreBound(const std::string& s, double* value, bool* exclusive) {
    *exclusive = !s.empty() && s[0] == '(';
    return ParseDouble(*exclusive ? s.substr(1) : s, value);
  }

  RedisReply ZRangeByScore(const Args& a) {
    if (a.size() < 4) return WrongArity(a);
    double min = 0, max = 0;
    bool min_ex = false, max_ex = false;
    if (!ParseScoreBound(a[2], &min, &min_ex) || !ParseScoreBound(a[3], &max, &max_ex)) {
      return Err("ERR min or max is not a float");
    }
    bool with_scores = false;
    int64_t offset = 0, count = -1;
    for (size_t i = 4; i < a.size(); ++i) {
      const std::string opt = Upper(a[i]);
      if (opt == "WITHSCORES") {
        with_scores = true;
      } else if (opt == "LIMIT" && i + 2 < a.size()) {
        if (!ParseI64(a[i + 1], &offset) || !ParseI64(a[i + 2], &count)) return NotInteger();
        i += 2;
      } else {
        return SyntaxError();
      }
    }
    bool wrong = false;
    ZSet* z = FindAs<ZSet>(a[1], &wrong);
    if (wrong) return WrongType();
    std::vector<RedisReply> out;
    if (z != nullptr && offset >= 0) {
      int64_t skipped = 0, taken = 0;
      for (const auto& [score, member] : z->order) {
        if (score < min || (min_ex && score == min)) continue;
        if (score > max || (max_ex && score == max)) break;
        if (skipped < offset) {
          ++skipped;
          continue;
        }
        if (count >= 0 && taken >= count) break;
        ++taken;
        out.push_back(Bulk(member));
        if (with_scores) out.push_back(Bulk(FormatDouble(score)));
      }
    }
    return RedisReply::Array(std::move(out));
  }

  // --- Pub/sub. ---

  RedisReply Publish(const Args& a) {
    if (a.size() != 3) return WrongArity(a);
    int64_t receivers = 0;
    std::erase_if(subscribers_,
                  [](const std::weak_ptr<SubscriberState>& w) { return w.expired(); });
    for (const std::weak_ptr<SubscriberState>& w : subscribers_) {
      std::shared_ptr<SubscriberState> sub = w.lock();
      if (sub == nullptr) continue;
      if (sub->channels.count(a[1])) {
        sub->queue.push_back(RedisMessage{a[1], a[2], ""});
        ++receivers;
      }
      for (const std::string& pattern : sub->patterns) {
        if (GlobMatch(pattern, a[1])) {
          sub->queue.push_back(RedisMessage{a[1], a[2], pattern});
          ++receivers;
        }
      }
    }
    return Int(receivers);
  }

  // --- Streams. ---

  static bool ParseStreamId(const std::string& s, bool is_end, StreamId* id) {
    if (s == "-") {
      *id = StreamId{0, 0};
      return true;
    }
    if (s == "+") {
      *id = StreamId{UINT64_MAX, UINT64_MAX};
      return true;
    }
    const size_t dash = s.find('-');
    if (dash == std::string::npos) {
      id->seq = is_end ? UINT64_MAX : 0;
      return ParseU64(s, &id->ms);
    }
    return ParseU64(s.substr(0, dash), &id->ms) && ParseU64(s.substr(dash + 1), &id->seq);
  }

  RedisReply XAdd(const Args& a) {
    if (a.size() < 5) return WrongArity(a);
    size_t i = 2;
    std::optional<int64_t> max_len;
    bool no_mkstream = false;
    for (; i < a.size(); ++i) {
      const std::string opt = Upper(a[i]);
      if (opt == "NOMKSTREAM") {
        no_mkstream = true;
      } else if (opt == "MAXLEN") {
        if (i + 1 < a.size() && (a[i + 1] == "~" || a[i + 1] == "=")) ++i;
        int64_t n = 0;
        if (i + 1 >= a.size() || !ParseI64(a[i + 1], &n) || n < 0) {
          return Err("ERR The MAXLEN argument must be >= 0.");
        }
        max_len = n;
        ++i;
      } else if (opt == "MINID" || opt == "LIMIT") {
        return Err(fmt::format("ERR RedisFake: XADD {} is not supported", opt));
      } else {
        break;
      }
    }
    if (i >= a.size() || (a.size() - i - 1) < 2 || (a.size() - i - 1) % 2 != 0) {
      return WrongArity(a);
    }
    bool wrong = false;
    Stream* stream = FindAs<Stream>(a[1], &wrong);
    if (wrong) return WrongType();
    if (stream == nullptr && no_mkstream) return RedisReply::Nil();
    StreamId last = stream ? stream->last : StreamId{};
    StreamId id;
    if (a[i] == "*") {
      const uint64_t now_ms =
          static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count());
      id = now_ms > last.ms ? StreamId{now_ms, 0} : StreamId{last.ms, last.seq + 1};
    } else {
      if (!ParseStreamId(a[i], false, &id)) {
        return Err("ERR Invalid stream ID specified as stream command argument");
      }
      if (id == StreamId{0, 0}) return Err("ERR The ID specified in XADD must be greater than 0-0");
      if (id <= last) {
        return Err(
            "ERR The ID specified in XADD is equal or smaller than the target stream top "
            "item");
      }
    }
    if (stream == nullptr) stream = GetOrCreate<Stream>(a[1], &wrong);
    RedisFields fields;
    for (size_t j = i + 1; j + 1 < a.size(); j += 2) fields.emplace_back(a[j], a[j + 1]);
    stream->entries.emplace_back(id, std::move(fields));
    stream->last = id;
    if (max_len.has_value() && stream->entries.size() > static_cast<size_t>(*max_len)) {
      const size_t drop = stream->entries.size() - static_cast<size_t>(*max_len);
      stream->entries.erase(stream->entries.begin(),
                            stream->entries.begin() + static_cast<std::ptrdiff_t>(drop));
    }
    return Bulk(id.ToString());
  }

  RedisReply XRange(const Args& a) {
    if (a.size() != 4 && a.size() != 6) return WrongArity(a);
    StreamId start, end;
    const bool start_ex = a[2].size() > 1 && a[2][0] == '(';
    const bool end_ex = a[3].size() > 1 && a[3][0] == '(';
    if (!ParseStreamId(start_ex ? a[2].substr(1) : a[2], false, &start) ||
        !ParseStreamId(end_ex ? a[3].substr(1) : a[3], true, &end)) {
      return Err("ERR Invalid stream ID specified as stream command argument");
    }
    int64_t count = -1;
    if (a.size() == 6) {
      if (Upper(a[4]) != "COUNT") return SyntaxError();
      if (!ParseI64(a[5], &count)) return NotInteger();
    }
    bool wrong = false;
    Stream* stream = FindAs<Stream>(a[1], &wrong);
    if (wrong) return WrongType();
    std::vector<RedisReply> out;
    if (stream != nullptr && count != 0) {
      for (const auto& [id, fields] : stream->entries) {
        if (id < start || (start_ex && id == start)) continue;
        if (id > end || (end_ex && id == end)) break;
        std::vector<RedisReply> flat;
        for (const auto& [f, v] : fields) {
          flat.push_back(Bulk(f));
          flat.push_back(Bulk(v));
        }
        out.push_back(RedisReply::Array({Bulk(id.ToString()), RedisReply::Array(std::move(flat))}));
        if (count > 0 && static_cast<int64_t>(out.size()) >= count) break;
      }
    }
    return RedisReply::Array(std::move(out));
  }

  RedisReply XLen(const Args& a) {
    if (a.size() != 2) return WrongArity(a);
    bool wrong = false;
    Stream* stream = FindAs<Stream>(a[1], &wrong);
    if (wrong) return WrongType();
    return Int(stream ? static_cast<int64_t>(stream->entries.size()) : 0);
  }

  // --- Scripting. ---

  RedisReply Eval(const Args& a) {
    if (a.size() < 3) return WrongArity(a);
    int64_t numkeys = 0;
    if (!ParseI64(a[2], &numkeys) || numkeys < 0) {
      return Err("ERR Number of keys can't be negative");
    }
    if (static_cast<size_t>(numkeys) > a.size() - 3) {
      return Err("ERR Number of keys can't be greater than number of args");
    }
    auto it = scripts_.find(a[1]);
    if (it == scripts_.end()) {
      return Err("ERR RedisFake: no handler registered for this script (RegisterScript)");
    }
    const auto keys_end = a.begin() + 3 + numkeys;
    Script call(this, Args(a.begin() + 3, keys_end), Args(keys_end, a.end()));
    return it->second(call);
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Entry> db_;
  std::map<std::string, ScriptHandler> scripts_;
  std::vector<std::weak_ptr<SubscriberState>> subscribers_;
  bool down_ = false;
  uint64_t outages_ = 0;
  int64_t outage_wait_ms_ = 0;
  int lose_replies_ = 0;
  uint64_t commands_ = 0;
  Clock::duration time_offset_{0};
};

// ---------------------------------------------------------------------------------------------

namespace {

class FakeSubscriber final : public RedisSubscriber {
 public:
  explicit FakeSubscriber(std::shared_ptr<RedisFake::State> state)
      : state_(std::move(state)), sub_(state_->AddSubscriber()) {}
  ~FakeSubscriber() override { state_->RemoveSubscriber(sub_.get()); }
  FakeSubscriber(const FakeSubscriber&) = delete;
  FakeSubscriber& operator=(const FakeSubscriber&) = delete;

  Status Subscribe(const std::vector<std::string>& channels) override {
    return state_->AddSubscriptions(sub_.get(), channels, /*patterns=*/false);
  }
  Status PSubscribe(const std::vector<std::string>& patterns) override {
    return state_->AddSubscriptions(sub_.get(), patterns, /*patterns=*/true);
  }
  StatusOr<std::optional<RedisMessage>> Next(int64_t timeout_ms) override {
    return state_->NextMessage(sub_.get(), timeout_ms);
  }
  uint64_t reconnects() const override { return state_->SubscriberReconnects(sub_.get()); }

 private:
  std::shared_ptr<RedisFake::State> state_;
  std::shared_ptr<SubscriberState> sub_;
};

// A client handle sharing a fake's state.
class FakeHandle final : public RedisClient {
 public:
  explicit FakeHandle(std::shared_ptr<RedisFake::State> state) : state_(std::move(state)) {}

  StatusOr<RedisReply> Execute(const std::vector<std::string>& argv,
                               const RedisCallOptions& options) override {
    return state_->Execute(argv, options);
  }
  StatusOr<std::unique_ptr<RedisSubscriber>> NewSubscriber() override {
    return std::unique_ptr<RedisSubscriber>(new FakeSubscriber(state_));
  }
  StatusOr<std::unique_ptr<RedisClient>> NewConnection() override {
    return std::unique_ptr<RedisClient>(new FakeHandle(state_));
  }
  std::string endpoint() const override { return "fake"; }

 private:
  std::shared_ptr<RedisFake::State> state_;
};

}  // namespace

RedisFake::RedisFake() : state_(std::make_shared<State>()) {}
RedisFake::~RedisFake() = default;

StatusOr<RedisReply> RedisFake::Execute(const std::vector<std::string>& argv,
                                        const RedisCallOptions& options) {
  return state_->Execute(argv, options);
}

StatusOr<std::unique_ptr<RedisSubscriber>> RedisFake::NewSubscriber() {
  return std::unique_ptr<RedisSubscriber>(new FakeSubscriber(state_));
}

StatusOr<std::unique_ptr<RedisClient>> RedisFake::NewConnection() {
  return std::unique_ptr<RedisClient>(new FakeHandle(state_));
}

void RedisFake::RegisterScript(const std::string& script, ScriptHandler handler) {
  state_->RegisterScript(script, std::move(handler));
}

void RedisFake::SetDown(bool down) { state_->SetDown(down); }
bool RedisFake::down() const { return state_->down(); }
void RedisFake::set_outage_wait_ms(int64_t ms) { state_->set_outage_wait_ms(ms); }
void RedisFake::LoseReplies(int count) { state_->LoseReplies(count); }
void RedisFake::AdvanceTime(std::chrono::milliseconds by) { state_->AdvanceTime(by); }
uint64_t RedisFake::commands_executed() const { return state_->commands_executed(); }

}  // namespace veil::worker
