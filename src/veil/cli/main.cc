// The `veil` binary (SPEC §2). stdout carries only the final result JSON; logs and status
// events go to stderr (or --events FILE); an error is one JSON object on stderr and a non-zero
// exit code.
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <thread>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "veil/base/cancel.h"
#include "veil/base/log.h"
#include "veil/base/status.h"
#include "veil/runtime/envelope.h"
#include "veil/runtime/events.h"
#include "veil/runtime/executor.h"
#include "veil/runtime/result.h"
#include "veil/worker/node_config.h"

#ifndef VEIL_VERSION
#define VEIL_VERSION "0.0.0"
#endif

namespace veil::cli {
namespace {

// Exit codes: 0 success; 1 the task failed; 2 bad command line or envelope.
constexpr int kExitTaskFailed = 1;
constexpr int kExitBadInput = 2;

int PrintError(const Status& status) {
  std::cerr << runtime::ErrorToJson(status).dump() << std::endl;
  return status.type() == ErrorType::kParameterValidation ? kExitBadInput : kExitTaskFailed;
}

StatusOr<nlohmann::json> ReadJsonFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return ParameterError("file_not_found", "cannot open envelope file '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    return nlohmann::json::parse(ss.str());
  } catch (const nlohmann::json::parse_error& e) {
    return ParameterError("invalid_json",
                          "envelope file '" + path + "' is not valid JSON: " + e.what());
  }
}

// Turns SIGINT/SIGTERM into a cancellation, so links close and ports are freed.
void WatchSignals(std::shared_ptr<CancelToken> cancel) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set, cancel]() {
    int sig = 0;
    if (sigwait(&set, &sig) == 0) {
      Log().warn("received signal {}, cancelling the task", sig);
      cancel->Cancel(CancelledError("interrupted", "interrupted by signal " + std::to_string(sig)));
    }
  }).detach();
}

int RunCommand(const std::string& envelope_path, const std::string& events_path) {
  auto cancel = std::make_shared<CancelToken>();
  WatchSignals(cancel);
  auto envelope = ReadJsonFile(envelope_path);
  if (!envelope.ok()) return PrintError(envelope.status());

  std::unique_ptr<runtime::EventSink> sink;
  if (events_path.empty() || events_path == "-") {
    sink = std::make_unique<runtime::JsonLinesSink>(stderr);
  } else {
    auto file_sink = runtime::JsonLinesSink::Open(events_path);
    if (!file_sink.ok()) return PrintError(file_sink.status());
    sink = std::move(*file_sink);
  }
  runtime::RuntimeOptions rt;
  if (const char* data = std::getenv("DATA_PATH")) rt.data_root = data;
  runtime::ExecuteOptions ex;
  ex.events = sink.get();
  ex.cancel = cancel;
  if (const char* node = std::getenv("NODE_ID")) ex.node_id = node;
  auto result = runtime::ParseAndExecute(*envelope, rt, ex);
  if (!result.ok()) return PrintError(result.status());
  std::cout << result->dump(2) << std::endl;
  return 0;
}

}  // namespace
}  // namespace veil::cli

int main(int argc, char** argv) {
  CLI::App app{
      "veil: privacy-preserving computation (PSI, MPC, HE) compatible with the SecretFlow worker "
      "contract"};
  app.require_subcommand(1);
  std::string log_level = std::getenv("LOG_LEVEL") ? std::getenv("LOG_LEVEL") : "info";
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error|off (env LOG_LEVEL)");

  std::string envelope_path, events_path;
  auto* run =
      app.add_subcommand("run",
                         "Execute a task envelope (local mode: all parties in this process; "
                         "cluster mode: this process's self_party over TCP)");
  run->add_option("envelope", envelope_path, "Task envelope JSON file")->required();
  run->add_option("--events", events_path,
                  "Write status events as JSON lines to FILE (default: stderr)");

  auto* config = app.add_subcommand("config", "Node configuration");
  config->require_subcommand(1);
  auto* config_check = config->add_subcommand(
      "check", "Validate the node configuration (environment and --env-file); lists every problem");
  std::string env_file;
  bool config_json = false;
  config_check->add_option("--env-file", env_file, ".env file read below the environment");
  config_check->add_flag("--json", config_json, "Print the report as JSON");

  auto* version = app.add_subcommand("version", "Print the version");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::cerr
        << veil::runtime::ErrorToJson(veil::ParameterError("bad_command_line", e.what())).dump()
        << std::endl;
    return 2;
  }
  veil::SetLogLevel(log_level);
  if (version->parsed()) {
    std::cout << nlohmann::json{{"name", "veil"}, {"version", VEIL_VERSION}}.dump() << std::endl;
    return 0;
  }
  if (run->parsed()) return veil::cli::RunCommand(envelope_path, events_path);
  if (config_check->parsed()) {
    auto env = veil::worker::EnvSource::FromProcess();
    if (!env_file.empty()) env.AddEnvFile(env_file);
    auto result = veil::worker::ConfigCheckReport(
        env, config_json ? veil::worker::ReportFormat::kJson : veil::worker::ReportFormat::kText);
    std::cout << result.report << std::flush;
    return result.exit_code;
  }
  return 2;
}
