// The `veil` binary (SPEC §2). stdout carries only the final result JSON; logs and status
// events go to stderr (or --events FILE); an error is one JSON object on stderr and a non-zero
// exit code.
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "veil/base/cancel.h"
#include "veil/base/log.h"
#include "veil/base/status.h"
#include "veil/base/time.h"
#include "veil/runtime/envelope.h"
#include "veil/runtime/events.h"
#include "veil/runtime/executor.h"
#include "veil/runtime/result.h"
#include "veil/worker/celery_codec.h"
#include "veil/worker/heartbeat.h"
#include "veil/worker/node_config.h"
#include "veil/worker/redis_hiredis.h"
#include "veil/worker/redis_options.h"
#include "veil/worker/send.h"
#include "veil/worker/worker.h"

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
      Log().warn("received signal {}, stopping", sig);
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

// ---- veil worker / send / health ---------------------------------------------------------

constexpr int kExitUnhealthy = 1;
// `veil health` gives up on an unreachable Redis after this long.
constexpr int64_t kHealthRedisBudgetMs = 2000;

StatusOr<worker::NodeConfig> LoadConfig(const std::string& env_file, worker::EnvSource* env) {
  *env = worker::EnvSource::FromProcess();
  if (!env_file.empty()) env->AddEnvFile(env_file);
  return worker::LoadNodeConfig(*env);
}

int64_t EnvInt(const worker::EnvSource& env, const char* name, int64_t fallback) {
  std::optional<std::string> v = env.Get(name);
  if (!v) return fallback;
  try {
    return std::stoll(*v);
  } catch (const std::exception&) {
    Log().warn("{}={} is not an integer; using {}", name, *v, fallback);
    return fallback;
  }
}

int WorkerCommand(const std::string& env_file) {
  worker::EnvSource env;
  StatusOr<worker::NodeConfig> config = LoadConfig(env_file, &env);
  if (!config.ok()) return PrintError(config.status());
  SetLogLevel(config->log_level == "warning" ? "warn" : config->log_level);
  for (const std::string& notice : config->notices) Log().info("config: {}", notice);
  auto stop = std::make_shared<CancelToken>();
  WatchSignals(stop);
  auto redis_abort = std::make_shared<CancelToken>();
  worker::RedisOptions redis_options = config->redis;
  redis_options.cancel = redis_abort;
  if (redis_options.client_name.empty())
    redis_options.client_name = "veil-worker-" + config->node_id;
  StatusOr<std::unique_ptr<worker::RedisClient>> redis =
      worker::RedisHiredisClient::Connect(redis_options);
  if (!redis.ok()) return PrintError(redis.status());
  worker::WorkerOptions options;
  options.config = *config;
  options.version = VEIL_VERSION;
  options.redis_abort = redis_abort;
  options.retry_backoff_ms = EnvInt(env, "VEIL_RETRY_BACKOFF_MS", worker::kDefaultRetryBackoffMs);
  options.resource_retry_delay_ms =
      EnvInt(env, "VEIL_RETRY_BACKOFF_MS", worker::kDefaultResourceRetryDelayMs);
  StatusOr<std::unique_ptr<worker::Worker>> w =
      worker::Worker::Create(std::move(options), std::move(*redis));
  if (!w.ok()) return PrintError(w.status());
  Status s = (*w)->Run(*stop);
  if (!s.ok()) return PrintError(s);
  return 0;
}

int SendCommand(const std::string& redis_url, const std::string& envelope_path, bool wait,
                double timeout_s, const std::string& queue, const std::string& task) {
  StatusOr<worker::RedisOptions> options = worker::RedisOptions::FromUrl(redis_url);
  if (!options.ok()) return PrintError(options.status());
  worker::SendRequest req;
  req.task = task;
  req.queue = queue;
  if (!envelope_path.empty()) {
    StatusOr<nlohmann::json> envelope = ReadJsonFile(envelope_path);
    if (!envelope.ok()) return PrintError(envelope.status());
    req.args = nlohmann::ordered_json::array({nlohmann::ordered_json::parse(envelope->dump())});
  }
  StatusOr<std::unique_ptr<worker::RedisClient>> redis =
      worker::RedisHiredisClient::Connect(*options);
  if (!redis.ok()) return PrintError(redis.status());
  StatusOr<worker::SendOutcome> out = worker::SendTask(
      **redis, std::move(req), wait ? static_cast<int64_t>(timeout_s * 1000.0) : 0);
  if (!out.ok()) return PrintError(out.status());
  if (!wait) {
    std::cout << nlohmann::json{{"task_id", out->task_id}}.dump() << std::endl;
    return 0;
  }
  std::cout << out->result->dump() << std::endl;
  return out->success() ? 0 : kExitTaskFailed;
}

int HealthCommand(const std::string& env_file) {
  worker::EnvSource env;
  StatusOr<worker::NodeConfig> config = LoadConfig(env_file, &env);
  if (!config.ok()) return PrintError(config.status());
  nlohmann::json report = {
      {"healthy", false},
      {"node_id", config->node_id},
      {"redis",
       {{"reachable", false}, {"endpoint", config->redis.endpoint()}, {"latency_ms", nullptr}}},
      {"heartbeat", nullptr},
      {"running_tasks", nlohmann::json::array()}};
  worker::RedisOptions options = config->redis;
  options.reconnect_budget_ms = kHealthRedisBudgetMs;
  options.connect_timeout_ms = std::min<int64_t>(options.connect_timeout_ms, kHealthRedisBudgetMs);
  StatusOr<std::unique_ptr<worker::RedisClient>> redis =
      worker::RedisHiredisClient::Connect(options);
  if (!redis.ok()) {
    report["redis"]["error"] = redis.status().message();
  } else {
    const auto start = SteadyClock::now();
    Status ping = (*redis)->Ping();
    if (ping.ok()) {
      report["redis"]["reachable"] = true;
      report["redis"]["latency_ms"] = std::round(SecondsSince(start) * 1e6) / 1e3;
      StatusOr<std::optional<nlohmann::json>> hb = worker::ReadHeartbeat(**redis, config->node_id);
      if (hb.ok() && *hb) {
        report["heartbeat"] = **hb;
        report["running_tasks"] = (**hb).value("running_tasks", nlohmann::json::array());
        report["healthy"] = true;
      } else if (!hb.ok()) {
        report["redis"]["error"] = hb.status().message();
      }
    } else {
      report["redis"]["error"] = ping.message();
    }
  }
  std::cout << report.dump(2) << std::endl;
  return report["healthy"].get<bool>() ? 0 : kExitUnhealthy;
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

  auto* worker_cmd = app.add_subcommand(
      "worker", "Run the node daemon: consume Celery tasks from Redis until SIGTERM");
  std::string worker_env_file;
  worker_cmd->add_option("--env-file", worker_env_file, ".env file read below the environment");

  auto* send = app.add_subcommand("send", "Push a Celery task message to Redis, optionally wait");
  std::string send_redis, send_envelope, send_queue = std::string(veil::worker::kDefaultTaskQueue),
                                         send_task = std::string(veil::worker::kExecuteTaskName);
  bool send_wait = false;
  double send_timeout_s = 300;
  send->add_option("--redis", send_redis, "Redis URL (redis://[:password@]host:port/db)")
      ->required();
  send->add_option("envelope", send_envelope,
                   "Task envelope JSON file (sent as the single argument; optional for tasks "
                   "without arguments)");
  send->add_flag("--wait", send_wait, "Wait for the result and print it (exit 0 only on SUCCESS)");
  send->add_option("--timeout", send_timeout_s, "Seconds to wait with --wait (default 300)");
  send->add_option("--queue", send_queue, "Queue (default secretflow_queue)");
  send->add_option("--task", send_task, "Celery task name (default tasks.secretflow.execute_task)");

  auto* health = app.add_subcommand(
      "health", "Check a node: Redis reachable and a fresh worker heartbeat (exit 0 when healthy)");
  std::string health_env_file;
  health->add_option("--env-file", health_env_file, ".env file read below the environment");

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
  if (worker_cmd->parsed()) return veil::cli::WorkerCommand(worker_env_file);
  if (send->parsed()) {
    return veil::cli::SendCommand(send_redis, send_envelope, send_wait, send_timeout_s, send_queue,
                                  send_task);
  }
  if (health->parsed()) return veil::cli::HealthCommand(health_env_file);
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
