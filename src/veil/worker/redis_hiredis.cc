#include "veil/worker/redis_hiredis.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <hiredis/hiredis.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "veil/base/log.h"

namespace veil::worker {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Sleeps are cut into slices this long so a cancel token is noticed quickly.
constexpr int64_t kSleepSliceMs = 20;

int64_t MsBetween(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration_cast<milliseconds>(b - a).count();
}

timeval ToTimeval(int64_t ms) {
  timeval tv;
  tv.tv_sec = static_cast<time_t>(ms / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000);
  return tv;
}

// Blocks SIGPIPE in this thread for the scope and swallows one raised meanwhile, so a write to a
// socket the server closed returns EPIPE instead of killing the process.
class ScopedSigpipeBlock {
 public:
  ScopedSigpipeBlock() {
    sigemptyset(&pipe_set_);
    sigaddset(&pipe_set_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set_, &old_set_);
  }
  ~ScopedSigpipeBlock() {
    if (sigismember(&old_set_, SIGPIPE)) return;  // it was blocked before: leave it pending
    sigset_t pending;
    sigemptyset(&pending);
    if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE)) {
      timespec zero{0, 0};
      sigtimedwait(&pipe_set_, nullptr, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old_set_, nullptr);
  }
  ScopedSigpipeBlock(const ScopedSigpipeBlock&) = delete;
  ScopedSigpipeBlock& operator=(const ScopedSigpipeBlock&) = delete;

 private:
  sigset_t pipe_set_;
  sigset_t old_set_;
};

RedisReply Convert(const redisReply* r) {
  switch (r->type) {
    case REDIS_REPLY_STRING:
      return RedisReply::String(std::string(r->str, r->len));
    case REDIS_REPLY_STATUS:
      return RedisReply::SimpleString(std::string(r->str, r->len));
    case REDIS_REPLY_ERROR:
      return RedisReply::Error(std::string(r->str, r->len));
    case REDIS_REPLY_INTEGER:
      return RedisReply::Integer(r->integer);
    case REDIS_REPLY_ARRAY: {
      std::vector<RedisReply> elements;
      elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) elements.push_back(Convert(r->element[i]));
      return RedisReply::Array(std::move(elements));
    }
    default:
      return RedisReply::Nil();
  }
}

std::string ErrorPrefix(std::string_view error_reply) {
  return std::string(error_reply.substr(0, error_reply.find(' ')));
}

// Error replies that mean "the server did not run the command, try again shortly".
bool IsNotExecutedError(const RedisReply& reply) {
  if (!reply.is_error()) return false;
  const std::string prefix = ErrorPrefix(reply.str);
  return prefix == "LOADING" || prefix == "BUSY" || prefix == "MASTERDOWN" || prefix == "TRYAGAIN";
}

bool IsUnavailable(const Status& s) { return s.code() == "redis_unavailable"; }

// Sleeps up to `ms`, in slices, returning the cancel reason if the token fires.
Status SleepCancellable(int64_t ms, const CancelToken* cancel) {
  const Clock::time_point end = Clock::now() + milliseconds(ms);
  for (;;) {
    if (cancel != nullptr && cancel->cancelled()) return cancel->reason();
    const int64_t left = MsBetween(Clock::now(), end);
    if (left <= 0) return Status();
    std::this_thread::sleep_for(milliseconds(std::min(left, kSleepSliceMs)));
  }
}

// Exponential backoff bounded by the reconnect budget, counted from the first failure.
class Backoff {
 public:
  explicit Backoff(const RedisOptions& options)
      : options_(options), next_ms_(options.initial_backoff_ms) {}

  // After a failure: sleeps and returns OK (try again), or returns `final_error` once the budget
  // is spent (or the cancel reason).
  Status Wait(const Status& final_error) {
    const Clock::time_point now = Clock::now();
    if (!failing_) {
      failing_ = true;
      first_failure_ = now;
    }
    ++failures_;
    const int64_t elapsed = MsBetween(first_failure_, now);
    if (elapsed >= options_.reconnect_budget_ms) return final_error;
    const int64_t sleep_ms = std::min(next_ms_, options_.reconnect_budget_ms - elapsed);
    next_ms_ = std::min(next_ms_ * 2, options_.max_backoff_ms);
    return SleepCancellable(sleep_ms, options_.cancel.get());
  }

  bool failing() const { return failing_; }
  int failures() const { return failures_; }
  int64_t elapsed_ms() const { return failing_ ? MsBetween(first_failure_, Clock::now()) : 0; }

 private:
  const RedisOptions& options_;
  int64_t next_ms_;
  bool failing_ = false;
  int failures_ = 0;
  Clock::time_point first_failure_;
};

Status Unavailable(const RedisOptions& options, std::string_view detail) {
  return NetworkError("redis_unavailable",
                      options.Redact(fmt::format("redis at {}: {}", options.endpoint(), detail)));
}

Status UnavailableAfter(const RedisOptions& options, const Backoff& backoff, const Status& last) {
  return Unavailable(options,
                     fmt::format("unreachable for {} ms ({} attempts): {}", backoff.elapsed_ms(),
                                 backoff.failures() + 1, last.message()));
}

// One hiredis connection with the handshake. Not thread-safe.
class Connection {
 public:
  enum class Outcome { kReply, kNotSent, kReplyLost };
  struct CallResult {
    Outcome outcome = Outcome::kNotSent;
    RedisReply reply;
    std::string error;  // for kNotSent / kReplyLost
  };

  explicit Connection(const RedisOptions& options) : options_(options) {}
  ~Connection() { Close(); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool connected() const { return ctx_ != nullptr; }
  int fd() const { return ctx_ ? ctx_->fd : -1; }
  redisContext* ctx() { return ctx_; }

  void Close() {
    if (ctx_ != nullptr) redisFree(ctx_);
    ctx_ = nullptr;
  }

  // One connect attempt plus the handshake. NetworkError "redis_unavailable" when worth
  // retrying; ParameterError for a refused AUTH or SELECT.
  Status Open() {
    Close();
    ScopedSigpipeBlock no_sigpipe;
    redisContext* c = redisConnectWithTimeout(options_.host.c_str(), options_.port,
                                              ToTimeval(options_.connect_timeout_ms));
    if (c == nullptr) return Unavailable(options_, "cannot allocate a connection");
    if (c->err != 0) {
      std::string error = c->errstr;
      redisFree(c);
      return Unavailable(options_, fmt::format("cannot connect: {}", error));
    }
    redisEnableKeepAlive(c);
    ctx_ = c;
    if (!options_.password.empty()) {
      std::vector<std::string> auth = {"AUTH"};
      if (!options_.username.empty()) auth.push_back(options_.username);
      auth.push_back(options_.password);
      VEIL_RETURN_IF_ERROR(Handshake(auth));
    }
    if (options_.db != 0) VEIL_RETURN_IF_ERROR(Handshake({"SELECT", std::to_string(options_.db)}));
    if (!options_.client_name.empty()) {
      VEIL_RETURN_IF_ERROR(Handshake({"CLIENT", "SETNAME", options_.client_name}));
    }
    return Handshake({"PING"});
  }

  // Whether the idle connection still looks usable: no EOF, no error, no unexpected bytes.
  bool IdleAndAlive() {
    if (ctx_ == nullptr || ctx_->err != 0) return false;
    char byte;
    const ssize_t n = recv(ctx_->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) return false;  // EOF: the server closed the connection
    if (n > 0) return false;   // unsolicited bytes: out of sync, start afresh
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  }

  // Sends argv and reads one reply, the socket timeouts set to timeout_ms.
  CallResult Call(const std::vector<std::string>& argv, int64_t timeout_ms) {
    CallResult result;
    if (!Send(argv, timeout_ms, &result.error)) {
      result.outcome = Outcome::kNotSent;
      return result;
    }
    return ReadReply();
  }

  // Appends and flushes one command; false (with `error`) if it was not completely written.
  bool Send(const std::vector<std::string>& argv, int64_t timeout_ms, std::string* error) {
    ScopedSigpipeBlock no_sigpipe;
    redisSetTimeout(ctx_, ToTimeval(timeout_ms));
    std::vector<const char*> ptrs;
    std::vector<size_t> lens;
    ptrs.reserve(argv.size());
    lens.reserve(argv.size());
    for (const std::string& a : argv) {
      ptrs.push_back(a.data());
      lens.push_back(a.size());
    }
    if (redisAppendCommandArgv(ctx_, static_cast<int>(argv.size()), ptrs.data(), lens.data()) !=
        REDIS_OK) {
      *error = ctx_->errstr;
      return false;
    }
    int done = 0;
    while (!done) {
      if (redisBufferWrite(ctx_, &done) != REDIS_OK) {
        *error = ctx_->errstr;
        return false;
      }
    }
    return true;
  }

  // Blocking read of one reply (socket timeout as last set).
  CallResult ReadReply() {
    ScopedSigpipeBlock no_sigpipe;
    CallResult result;
    void* raw = nullptr;
    if (redisGetReply(ctx_, &raw) != REDIS_OK || raw == nullptr) {
      result.outcome = Outcome::kReplyLost;
      result.error = ctx_->err != 0 ? ctx_->errstr : "no reply";
      if (ctx_->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        result.error = "timed out waiting for the reply";
      }
      if (raw != nullptr) freeReplyObject(raw);
      return result;
    }
    result.outcome = Outcome::kReply;
    result.reply = Convert(static_cast<redisReply*>(raw));
    freeReplyObject(raw);
    return result;
  }

  // Reads one reply if it arrives before `deadline`. nullopt on timeout; Status on I/O errors.
  StatusOr<std::optional<RedisReply>> ReadReplyUntil(Clock::time_point deadline) {
    ScopedSigpipeBlock no_sigpipe;
    for (;;) {
      void* raw = nullptr;
      if (redisGetReplyFromReader(ctx_, &raw) != REDIS_OK) {
        return Unavailable(options_, fmt::format("protocol error: {}", ctx_->errstr));
      }
      if (raw != nullptr) {
        RedisReply reply = Convert(static_cast<redisReply*>(raw));
        freeReplyObject(raw);
        return std::optional<RedisReply>(std::move(reply));
      }
      const int64_t left = std::max<int64_t>(0, MsBetween(Clock::now(), deadline));
      pollfd pfd{ctx_->fd, POLLIN, 0};
      const int ready = poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left, 1 << 30)));
      if (ready < 0 && errno == EINTR) continue;
      if (ready < 0) return Unavailable(options_, fmt::format("poll: {}", std::strerror(errno)));
      if (ready == 0) return std::optional<RedisReply>();
      if (redisBufferRead(ctx_) != REDIS_OK) {
        return Unavailable(options_, fmt::format("connection lost: {}", ctx_->errstr));
      }
    }
  }

 private:
  // One handshake command; a lost connection → unavailable, an error reply → a typed error.
  Status Handshake(const std::vector<std::string>& argv) {
    CallResult r = Call(argv, options_.command_timeout_ms);
    if (r.outcome != Outcome::kReply) {
      Close();
      return Unavailable(options_, fmt::format("connection lost during {}: {}", argv[0], r.error));
    }
    if (!r.reply.is_error()) return Status();
    Close();
    const std::string prefix = ErrorPrefix(r.reply.str);
    const std::string message = options_.Redact(r.reply.str);
    if (IsNotExecutedError(r.reply)) {
      return Unavailable(options_, fmt::format("server not ready: {}", message));
    }
    if (prefix == "NOAUTH") {
      return ParameterError(
          "redis_auth_failed",
          fmt::format("redis at {} requires a password (NOAUTH); set it in REDIS_URL "
                      "(redis://:password@host:port/db) or REDIS_PASSWORD",
                      options_.endpoint()));
    }
    if (argv[0] == "AUTH" || prefix == "WRONGPASS") {
      return ParameterError(
          "redis_auth_failed",
          fmt::format("redis at {} refused the password{}: {}", options_.endpoint(),
                      options_.username.empty() ? std::string()
                                                : fmt::format(" of user '{}'", options_.username),
                      message));
    }
    if (argv[0] == "SELECT") {
      return ParameterError("redis_bad_db", fmt::format("redis at {} refused SELECT {}: {}",
                                                        options_.endpoint(), options_.db, message));
    }
    return RedisErrorStatus(argv[0], message).WithContext(options_.endpoint() + ": ");
  }

  const RedisOptions& options_;
  redisContext* ctx_ = nullptr;
};

// ---------------------------------------------------------------------------------------------

class HiredisSubscriber final : public RedisSubscriber {
 public:
  explicit HiredisSubscriber(RedisOptions options)
      : options_(std::move(options)), conn_(options_) {}

  ~HiredisSubscriber() override = default;
  HiredisSubscriber(const HiredisSubscriber&) = delete;
  HiredisSubscriber& operator=(const HiredisSubscriber&) = delete;

  // Connects with the reconnect budget.
  Status Start() {
    Backoff backoff(options_);
    for (;;) {
      Status st = conn_.Open();
      if (st.ok()) return Status();
      if (!IsUnavailable(st)) return st;
      VEIL_RETURN_IF_ERROR(backoff.Wait(UnavailableAfter(options_, backoff, st)));
    }
  }

  Status Subscribe(const std::vector<std::string>& channels) override {
    return AddSubscriptions("SUBSCRIBE", channels, &channels_);
  }

  Status PSubscribe(const std::vector<std::string>& patterns) override {
    return AddSubscriptions("PSUBSCRIBE", patterns, &patterns_);
  }

  StatusOr<std::optional<RedisMessage>> Next(int64_t timeout_ms) override {
    if (timeout_ms < 0) {
      return ParameterError("redis_bad_argument", "redis subscriber: timeout_ms must be >= 0");
    }
    const Clock::time_point deadline = Clock::now() + milliseconds(timeout_ms);
    for (;;) {
      if (!pending_.empty()) {
        RedisMessage m = std::move(pending_.front());
        pending_.pop_front();
        return std::optional<RedisMessage>(std::move(m));
      }
      if (!conn_.connected()) {
        VEIL_ASSIGN_OR_RETURN(bool up, TryReconnect(deadline));
        if (!up) return std::optional<RedisMessage>();
        continue;
      }
      StatusOr<std::optional<RedisReply>> reply = conn_.ReadReplyUntil(deadline);
      if (!reply.ok()) {
        LostConnection(reply.status());
        continue;
      }
      if (!reply->has_value()) return std::optional<RedisMessage>();
      Dispatch(**reply);
    }
  }

  uint64_t reconnects() const override { return reconnects_; }

 private:
  Status AddSubscriptions(const char* command, const std::vector<std::string>& names,
                          std::set<std::string>* registry) {
    if (names.empty()) return Status();
    registry->insert(names.begin(), names.end());
    if (!conn_.connected()) return ReconnectBlocking();
    Status st = SendAndConfirm(command, names);
    if (st.ok()) return st;
    LostConnection(st);
    return ReconnectBlocking();  // resubscribes everything, including `names`
  }

  // Sends SUBSCRIBE/PSUBSCRIBE and waits for one confirmation per name; messages arriving
  // meanwhile are queued.
  Status SendAndConfirm(const char* command, const std::vector<std::string>& names) {
    std::vector<std::string> argv = {command};
    argv.insert(argv.end(), names.begin(), names.end());
    std::string error;
    if (!conn_.Send(argv, options_.command_timeout_ms, &error)) {
      return Unavailable(options_, fmt::format("{} not sent: {}", command, error));
    }
    const std::string confirmation =
        command == std::string("SUBSCRIBE") ? "subscribe" : "psubscribe";
    size_t confirmed = 0;
    const Clock::time_point deadline = Clock::now() + milliseconds(options_.command_timeout_ms);
    while (confirmed < names.size()) {
      VEIL_ASSIGN_OR_RETURN(std::optional<RedisReply> reply, conn_.ReadReplyUntil(deadline));
      if (!reply.has_value()) {
        return Unavailable(options_, fmt::format("{} not confirmed in time", command));
      }
      if (reply->is_error()) {
        return RedisErrorStatus(command, options_.Redact(reply->str));
      }
      if (reply->type == RedisReply::Type::kArray && !reply->elements.empty() &&
          reply->elements[0].str == confirmation) {
        ++confirmed;
        continue;
      }
      Dispatch(*reply);
    }
    return Status();
  }

  // Opens a connection and restores every subscription; one attempt.
  Status ReconnectOnce() {
    VEIL_RETURN_IF_ERROR(conn_.Open());
    Status st;
    if (!channels_.empty()) {
      st =
          SendAndConfirm("SUBSCRIBE", std::vector<std::string>(channels_.begin(), channels_.end()));
    }
    if (st.ok() && !patterns_.empty()) {
      st = SendAndConfirm("PSUBSCRIBE",
                          std::vector<std::string>(patterns_.begin(), patterns_.end()));
    }
    if (!st.ok()) {
      conn_.Close();
      return st;
    }
    if (down_) {
      ++reconnects_;
      Log().info("redis subscriber {}: reconnected and resubscribed", options_.endpoint());
    }
    down_ = false;
    return Status();
  }

  Status ReconnectBlocking() {
    Backoff backoff(options_);
    for (;;) {
      Status st = ReconnectOnce();
      if (st.ok()) return st;
      if (!IsUnavailable(st)) return st;
      VEIL_RETURN_IF_ERROR(backoff.Wait(UnavailableAfter(options_, backoff, st)));
    }
  }

  // Within Next(): reconnect attempts spaced by the backoff until `deadline`; false when still
  // down at the deadline; redis_unavailable once down for longer than the budget.
  StatusOr<bool> TryReconnect(Clock::time_point deadline) {
    for (;;) {
      if (options_.cancel != nullptr && options_.cancel->cancelled()) {
        return options_.cancel->reason();
      }
      const Clock::time_point now = Clock::now();
      if (now >= next_attempt_) {
        Status st = ReconnectOnce();
        if (st.ok()) return true;
        if (!IsUnavailable(st)) return st;
        last_error_ = st;
        if (MsBetween(down_since_, Clock::now()) >= options_.reconnect_budget_ms) {
          return Unavailable(options_,
                             fmt::format("subscriber unreachable for {} ms: {}",
                                         MsBetween(down_since_, Clock::now()), st.message()));
        }
        next_attempt_ = Clock::now() + milliseconds(backoff_ms_);
        backoff_ms_ = std::min(backoff_ms_ * 2, options_.max_backoff_ms);
      }
      if (Clock::now() >= deadline) return false;
      const int64_t wait_ms =
          std::min(MsBetween(Clock::now(), std::min(deadline, next_attempt_)), kSleepSliceMs);
      std::this_thread::sleep_for(milliseconds(std::max<int64_t>(wait_ms, 1)));
    }
  }

  void LostConnection(const Status& why) {
    conn_.Close();
    if (!down_) {
      down_ = true;
      down_since_ = Clock::now();
      next_attempt_ = down_since_;
      backoff_ms_ = options_.initial_backoff_ms;
      Log().warn("redis subscriber {}: {}; reconnecting", options_.endpoint(),
                 options_.Redact(why.message()));
    }
  }

  void Dispatch(const RedisReply& reply) {
    if (reply.type != RedisReply::Type::kArray || reply.elements.empty()) return;
    const std::string& kind = reply.elements[0].str;
    if (kind == "message" && reply.elements.size() == 3) {
      pending_.push_back(RedisMessage{reply.elements[1].str, reply.elements[2].str, ""});
    } else if (kind == "pmessage" && reply.elements.size() == 4) {
      pending_.push_back(
          RedisMessage{reply.elements[2].str, reply.elements[3].str, reply.elements[1].str});
    }
  }

  RedisOptions options_;
  Connection conn_;
  std::set<std::string> channels_;
  std::set<std::string> patterns_;
  std::deque<RedisMessage> pending_;
  uint64_t reconnects_ = 0;
  bool down_ = false;
  Clock::time_point down_since_;
  Clock::time_point next_attempt_;
  int64_t backoff_ms_ = 0;
  Status last_error_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------

class RedisHiredisClient::Impl {
 public:
  explicit Impl(RedisOptions options) : options_(std::move(options)), conn_(options_) {}

  const RedisOptions& options() const { return options_; }
  uint64_t reconnects() const { return reconnects_.load(); }

  Status ConnectInitially() {
    std::lock_guard<std::mutex> lock(mu_);
    Backoff backoff(options_);
    for (;;) {
      Status st = conn_.Open();
      if (st.ok()) {
        ever_connected_ = true;
        return st;
      }
      if (!IsUnavailable(st)) return st;
      if (!backoff.failing()) {
        Log().warn("redis {}: {}; retrying for up to {} ms", options_.endpoint(), st.message(),
                   options_.reconnect_budget_ms);
      }
      VEIL_RETURN_IF_ERROR(backoff.Wait(UnavailableAfter(options_, backoff, st)));
    }
  }

  StatusOr<RedisReply> Execute(const std::vector<std::string>& argv, const RedisCallOptions& call) {
    if (argv.empty()) return ParameterError("redis_bad_argument", "redis: empty command");
    if (call.block_ms < 0) {
      return ParameterError("redis_bad_argument", "redis: block_ms must be >= 0");
    }
    const std::string& name = argv[0];
    std::lock_guard<std::mutex> lock(mu_);
    Backoff backoff(options_);
    for (;;) {
      if (options_.cancel != nullptr && options_.cancel->cancelled()) {
        return options_.cancel->reason();
      }
      if (!conn_.IdleAndAlive()) {
        Status st = conn_.Open();
        if (!st.ok()) {
          if (!IsUnavailable(st)) return st;
          NoteFailure(backoff, name, st.message());
          VEIL_RETURN_IF_ERROR(backoff.Wait(UnavailableAfter(options_, backoff, st)));
          continue;
        }
        if (ever_connected_) ++reconnects_;
        if (backoff.failing()) {
          Log().info("redis {}: reconnected after {} ms", options_.endpoint(),
                     backoff.elapsed_ms());
        }
      }
      ever_connected_ = true;
      Connection::CallResult r = conn_.Call(argv, options_.command_timeout_ms + call.block_ms);
      switch (r.outcome) {
        case Connection::Outcome::kNotSent: {
          conn_.Close();
          Status st = Unavailable(options_, fmt::format("{} not sent: {}", name, r.error));
          NoteFailure(backoff, name, st.message());
          VEIL_RETURN_IF_ERROR(backoff.Wait(UnavailableAfter(options_, backoff, st)));
          continue;
        }
        case Connection::Outcome::kReplyLost: {
          conn_.Close();
          Status st = Unavailable(options_, fmt::format("reply to {} lost: {}", name, r.error));
          if (call.retry != RedisRetry::kIdempotent) {
            Log().warn("redis {}: reply to {} lost ({}); not re-sent (it may have run)",
                       options_.endpoint(), name, r.error);
            return NetworkError(
                "redis_reply_lost",
                options_.Redact(fmt::format(
                    "redis at {}: connection lost after {} was sent ({}); it may or may not "
                    "have run",
                    options_.endpoint(), name, r.error)));
          }
          NoteFailure(backoff, name, st.message());
          VEIL_RETURN_IF_ERROR(backoff.Wait(UnavailableAfter(options_, backoff, st)));
          continue;
        }
        case Connection::Outcome::kReply:
          if (IsNotExecutedError(r.reply)) {
            Status st = RedisErrorStatus(name, options_.Redact(r.reply.str));
            NoteFailure(backoff, name, st.message());
            VEIL_RETURN_IF_ERROR(backoff.Wait(st));
            continue;
          }
          return std::move(r.reply);
      }
    }
  }

 private:
  void NoteFailure(const Backoff& backoff, const std::string& name, const std::string& message) {
    if (backoff.failing()) return;  // log once per call
    Log().warn("redis {}: {} failed: {}; retrying for up to {} ms", options_.endpoint(), name,
               options_.Redact(message), options_.reconnect_budget_ms);
  }

  RedisOptions options_;
  std::mutex mu_;
  Connection conn_;
  bool ever_connected_ = false;
  std::atomic<uint64_t> reconnects_{0};
};

StatusOr<std::unique_ptr<RedisClient>> RedisHiredisClient::Connect(const RedisOptions& options) {
  VEIL_RETURN_IF_ERROR(options.Validate());
  auto impl = std::make_unique<Impl>(options);
  VEIL_RETURN_IF_ERROR(impl->ConnectInitially());
  return std::unique_ptr<RedisClient>(new RedisHiredisClient(std::move(impl)));
}

RedisHiredisClient::RedisHiredisClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RedisHiredisClient::~RedisHiredisClient() = default;

StatusOr<RedisReply> RedisHiredisClient::Execute(const std::vector<std::string>& argv,
                                                 const RedisCallOptions& options) {
  return impl_->Execute(argv, options);
}

StatusOr<std::unique_ptr<RedisSubscriber>> RedisHiredisClient::NewSubscriber() {
  auto subscriber = std::make_unique<HiredisSubscriber>(impl_->options());
  VEIL_RETURN_IF_ERROR(subscriber->Start());
  return std::unique_ptr<RedisSubscriber>(std::move(subscriber));
}

StatusOr<std::unique_ptr<RedisClient>> RedisHiredisClient::NewConnection() {
  return Connect(impl_->options());
}

std::string RedisHiredisClient::endpoint() const { return impl_->options().endpoint(); }

uint64_t RedisHiredisClient::reconnects() const { return impl_->reconnects(); }

}  // namespace veil::worker
