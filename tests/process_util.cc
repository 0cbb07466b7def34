#include "process_util.h"

#include <fcntl.h>
#include <spawn.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

extern char** environ;

namespace veil::systest {

std::string VeilBin() {
  const char* p = std::getenv("VEIL_BIN");
  return p ? p : "build/bin/veil";
}

int Spawn(const std::vector<std::string>& argv, const std::string& out_path,
          const std::string& err_path) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw std::runtime_error("posix_spawn failed for " + argv[0]);
  return pid;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

ProcessResult Wait(int pid, const std::string& out_path, const std::string& err_path) {
  int status = 0;
  struct rusage usage {};
  wait4(pid, &status, 0, &usage);
  ProcessResult r;
  r.max_rss_kb = usage.ru_maxrss;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = ReadFile(out_path);
  r.err = ReadFile(err_path);
  return r;
}

ProcessResult RunProcess(const std::vector<std::string>& argv, const std::string& scratch_prefix) {
  std::string o = scratch_prefix + ".out", e = scratch_prefix + ".err";
  return Wait(Spawn(argv, o, e), o, e);
}

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

PairResult RunTwoParties(const std::string& veil, const std::string& dir,
                         const std::string& execution_id, const nlohmann::json& task_config,
                         const nlohmann::json& spu_config) {
  auto path = [&](const std::string& n) { return dir + "/" + n; };
  const int pa = FreePort(), pb = FreePort();
  const nlohmann::json parties = {{"alice", {{"address", "127.0.0.1:" + std::to_string(pa)}}},
                                  {"bob", {{"address", "127.0.0.1:" + std::to_string(pb)}}}};
  for (const char* self : {"alice", "bob"}) {
    nlohmann::json env = {{"task_id", "t"},
                          {"subtask_id", "s"},
                          {"execution_id", execution_id},
                          {"sf_init_config", {{"parties", parties}, {"self_party", self}}},
                          {"task_config", task_config}};
    if (!spu_config.is_null()) env["spu_config"] = spu_config;
    WriteFile(path(std::string(self) + ".json"), env.dump());
  }
  const auto t0 = std::chrono::steady_clock::now();
  const int a = Spawn({veil, "run", path("alice.json")}, path("a.out"), path("a.err"));
  const int b = Spawn({veil, "run", path("bob.json")}, path("b.out"), path("b.err"));
  PairResult r;
  r.alice = Wait(a, path("a.out"), path("a.err"));
  r.bob = Wait(b, path("b.out"), path("b.err"));
  r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace veil::systest
