#include "veil/worker/redis_test_server.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fmt/format.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

namespace veil::worker {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int kStartAttempts = 4;         // new port after an early exit (port taken)
constexpr int64_t kStopGraceMs = 5000;    // SIGTERM → SIGKILL
constexpr int64_t kProbeIntervalMs = 10;  // PING polling while starting
constexpr size_t kLogTailBytes = 2000;

// A free TCP port on 127.0.0.1 (bound, read back, released).
StatusOr<uint16_t> PickFreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return InternalError("redis_server_failed", "socket(): " + std::string(strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::string error = strerror(errno);
    close(fd);
    return InternalError("redis_server_failed", "cannot find a free port: " + error);
  }
  close(fd);
  return static_cast<uint16_t>(ntohs(addr.sin_port));
}

std::string PercentEncode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

// Blocks SIGPIPE in this thread while probing (a write to a closing server must not kill us).
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set_, &old_);
  }
  ~SigpipeGuard() {
    if (!sigismember(&old_, SIGPIPE)) {
      sigset_t pending;
      sigemptyset(&pending);
      if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE)) {
        timespec zero{0, 0};
        sigtimedwait(&set_, nullptr, &zero);
      }
      pthread_sigmask(SIG_SETMASK, &old_, nullptr);
    }
  }

 private:
  sigset_t set_;
  sigset_t old_;
};

// One PING probe: true when the server answers PONG (after AUTH if a password is set).
bool Probe(uint16_t port, const std::string& password) {
  SigpipeGuard guard;
  timeval tv{0, 200 * 1000};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, tv);
  if (c == nullptr) return false;
  bool ok = false;
  if (c->err == 0) {
    redisSetTimeout(c, tv);
    bool authed = true;
    if (!password.empty()) {
      const char* argv[] = {"AUTH", password.data()};
      const size_t lens[] = {4, password.size()};
      auto* r = static_cast<redisReply*>(redisCommandArgv(c, 2, argv, lens));
      authed = r != nullptr && r->type == REDIS_REPLY_STATUS;
      if (r != nullptr) freeReplyObject(r);
    }
    if (authed) {
      auto* r = static_cast<redisReply*>(redisCommand(c, "PING"));
      ok = r != nullptr && r->type == REDIS_REPLY_STATUS && std::string(r->str, r->len) == "PONG";
      if (r != nullptr) freeReplyObject(r);
    }
  }
  redisFree(c);
  return ok;
}

}  // namespace

// Runs spawns on one long-lived thread, so PR_SET_PDEATHSIG (which fires when the *thread* that
// forked exits) kills the server exactly when this object goes away or the process dies.
class RedisTestServer::Spawner {
 public:
  Spawner() : thread_([this] { Loop(); }) {}
  ~Spawner() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  Spawner(const Spawner&) = delete;
  Spawner& operator=(const Spawner&) = delete;

  void Run(std::function<void()> fn) {
    std::unique_lock<std::mutex> lock(mu_);
    task_ = std::move(fn);
    done_ = false;
    cv_.notify_all();
    cv_.wait(lock, [&] { return done_; });
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stop_ || task_ != nullptr; });
      if (task_ != nullptr) {
        task_();
        task_ = nullptr;
        done_ = true;
        cv_.notify_all();
        continue;
      }
      if (stop_) return;
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::function<void()> task_;
  bool done_ = false;
  bool stop_ = false;
  std::thread thread_;
};

RedisTestServer::RedisTestServer(RedisTestServerOptions options, std::string dir, uint16_t port)
    : options_(std::move(options)),
      dir_(std::move(dir)),
      port_(port),
      spawner_(std::make_unique<Spawner>()) {}

StatusOr<std::unique_ptr<RedisTestServer>> RedisTestServer::Start(RedisTestServerOptions options) {
  if (access(options.binary.c_str(), X_OK) != 0) {
    return InternalError(
        "redis_server_missing",
        fmt::format("{} not found or not executable; install the Debian package redis-server "
                    "(the setup script does: apt-get install redis-server)",
                    options.binary));
  }
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = fmt::format("{}/veil-redis-XXXXXX", tmp != nullptr && *tmp ? tmp : "/tmp");
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) {
    return InternalError("redis_server_failed",
                         fmt::format("mkdtemp({}): {}", tmpl, strerror(errno)));
  }
  Status last;
  std::unique_ptr<RedisTestServer> server(new RedisTestServer(options, buf.data(), 0));
  for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
    VEIL_ASSIGN_OR_RETURN(server->port_, PickFreePort());
    last = server->Launch();
    if (last.ok()) last = server->WaitReady();
    if (last.ok()) return server;
    if (server->running()) break;  // it runs but does not answer: a new port will not help
  }
  return last;
}

RedisTestServer::~RedisTestServer() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  spawner_.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string RedisTestServer::url() const {
  const std::string auth = options_.password.empty()
                               ? std::string()
                               : fmt::format(":{}@", PercentEncode(options_.password));
  return fmt::format("redis://{}127.0.0.1:{}/0", auth, port_);
}

RedisOptions RedisTestServer::options() const {
  RedisOptions o;
  o.host = "127.0.0.1";
  o.port = port_;
  o.password = options_.password;
  o.reconnect_budget_ms = kTestReconnectBudgetMs;
  return o;
}

Status RedisTestServer::Launch() {
  std::vector<std::string> args = {options_.binary,
                                   "--port",
                                   std::to_string(port_),
                                   "--bind",
                                   "127.0.0.1",
                                   "--save",
                                   "",
                                   "--appendonly",
                                   options_.appendonly ? "yes" : "no",
                                   "--appendfsync",
                                   "always",
                                   "--dir",
                                   dir_,
                                   "--daemonize",
                                   "no",
                                   "--protected-mode",
                                   "no"};
  if (!options_.password.empty()) {
    args.emplace_back("--requirepass");
    args.push_back(options_.password);
  }
  // Everything the child touches is prepared before fork (only async-signal-safe calls after).
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string log_path = dir_ + "/redis.log";
  const pid_t parent = getpid();
  pid_t pid = -1;
  int fork_errno = 0;
  spawner_->Run([&] {
    pid = fork();
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(1);
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (null >= 0) dup2(null, 0);
      if (log >= 0) {
        dup2(log, 1);
        dup2(log, 2);
      }
      close_range(3, ~0U, 0);
      execv(argv[0], argv.data());
      _exit(127);
    }
    fork_errno = errno;
  });
  if (pid < 0) {
    return InternalError("redis_server_failed", fmt::format("fork: {}", strerror(fork_errno)));
  }
  pid_ = pid;
  return Status();
}

Status RedisTestServer::WaitReady() {
  const Clock::time_point deadline = Clock::now() + milliseconds(options_.start_timeout_ms);
  while (Clock::now() < deadline) {
    int wstatus = 0;
    if (waitpid(pid_, &wstatus, WNOHANG) == pid_) {
      pid_ = -1;
      return InternalError(
          "redis_server_failed",
          fmt::format("{} exited ({}) before answering PING on port {}; log tail:\n{}",
                      options_.binary,
                      WIFEXITED(wstatus) ? fmt::format("status {}", WEXITSTATUS(wstatus))
                                         : fmt::format("signal {}", WTERMSIG(wstatus)),
                      port_, LogTail()));
    }
    if (Probe(port_, options_.password)) return Status();
    std::this_thread::sleep_for(milliseconds(kProbeIntervalMs));
  }
  return InternalError("redis_server_failed",
                       fmt::format("{} did not answer PING on port {} within {} ms; log tail:\n{}",
                                   options_.binary, port_, options_.start_timeout_ms, LogTail()));
}

std::string RedisTestServer::LogTail() const {
  std::ifstream in(dir_ + "/redis.log", std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  if (text.size() > kLogTailBytes) text = text.substr(text.size() - kLogTailBytes);
  return text;
}

Status RedisTestServer::Stop() {
  if (pid_ <= 0) return Status();
  kill(pid_, SIGTERM);
  const Clock::time_point deadline = Clock::now() + milliseconds(kStopGraceMs);
  for (;;) {
    pid_t r = waitpid(pid_, nullptr, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) break;
    if (Clock::now() >= deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      break;
    }
    std::this_thread::sleep_for(milliseconds(2));
  }
  pid_ = -1;
  return Status();
}

Status RedisTestServer::Kill() {
  if (pid_ <= 0) return Status();
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
  return Status();
}

Status RedisTestServer::Restart() {
  VEIL_RETURN_IF_ERROR(Stop());
  VEIL_RETURN_IF_ERROR(Launch());
  return WaitReady();
}

}  // namespace veil::worker
