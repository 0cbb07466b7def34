// Test helpers to run the veil binary as a child process.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace veil::systest {

struct ProcessResult {
  int exit_code = -1;
  std::string out;
  std::string err;
  int64_t max_rss_kb = 0;  // peak resident set size of the child
};

// Path of the veil binary under test (env VEIL_BIN, set by CMake).
std::string VeilBin();
// Starts `argv` with stdout/stderr redirected to files; returns the pid.
int Spawn(const std::vector<std::string>& argv, const std::string& out_path,
          const std::string& err_path);
// Waits for pid and collects its exit code and the two files.
ProcessResult Wait(int pid, const std::string& out_path, const std::string& err_path);
// Spawn + Wait.
ProcessResult RunProcess(const std::vector<std::string>& argv, const std::string& scratch_prefix);
// A TCP port on 127.0.0.1 that was free a moment ago.
int FreePort();
// Runs `task_config` as a cluster-mode execution of two parties, alice and bob, each a
// `veil run` process (envelope files and outputs under `dir`, fresh loopback ports), with
// `spu_config` when it is not null. Returns both processes' results (alice first) and the wall
// time from spawn to both exits.
struct PairResult {
  ProcessResult alice, bob;
  double wall_s = 0;
};
PairResult RunTwoParties(const std::string& veil, const std::string& dir,
                         const std::string& execution_id, const nlohmann::json& task_config,
                         const nlohmann::json& spu_config = nullptr);
std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& text);

}  // namespace veil::systest
