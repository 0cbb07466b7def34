#include "veil/worker/builtin_tasks.h"

#include <chrono>
#include <cmath>
#include <sstream>
#include <thread>

#include "veil/base/time.h"

namespace veil::worker {

namespace {

using nlohmann::json;

constexpr int64_t kCancelPollMs = 20;

// kwargs[name], else args[index], else nullptr.
const json* Arg(const CeleryTaskMessage& m, const char* name, size_t index) {
  if (m.kwargs.is_object() && m.kwargs.contains(name)) return &m.kwargs.at(name);
  if (m.args.is_array() && m.args.size() > index) return &m.args.at(index);
  return nullptr;
}

double Round3(double v) { return std::round(v * 1000.0) / 1000.0; }

std::string PythonTypeName(const json& v) {
  switch (v.type()) {
    case json::value_t::string:
      return "str";
    case json::value_t::boolean:
      return "bool";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "int";
    case json::value_t::number_float:
      return "float";
    case json::value_t::array:
      return "list";
    case json::value_t::object:
      return "dict";
    default:
      return "NoneType";
  }
}

json Hello(const CeleryTaskMessage& m, const BuiltinTaskContext& ctx) {
  const auto start = SteadyClock::now();
  const std::string start_time = NowIso8601Utc();
  std::string name = "SecretFlow";
  if (const json* a = Arg(m, "name", 0); a && a->is_string()) name = a->get<std::string>();
  return {{"message", "Hello, " + name + "! Greetings from the veil worker."},
          {"task_name", "hello_task"},
          {"execution_time", Round3(SecondsSince(start))},
          {"start_time", start_time},
          {"end_time", NowIso8601Utc()},
          {"status", "success"},
          {"greeting_target", name},
          {"system_info",
           {{"python_version", nullptr},
            {"veil_version", ctx.version},
            {"task_queue", ctx.config ? ctx.config->queue : std::string(kDefaultTaskQueue)},
            {"worker_type", "veil"}}}};
}

json Ping() {
  return {{"message", "Pong! The veil worker is alive"},
          {"task_name", "ping_task"},
          {"timestamp", NowIso8601Utc()},
          {"status", "healthy"},
          {"response_time_ms", 1}};
}

json Echo(const json& data) {
  size_t length = 0;
  if (data.is_string()) {
    length = data.get<std::string>().size();
  } else if (data.is_array() || data.is_object()) {
    length = data.size();
  } else {
    length = data.dump().size();
  }
  return {{"message", "Echo: " + (data.is_string() ? data.get<std::string>() : data.dump())},
          {"task_name", "echo_task"},
          {"timestamp", NowIso8601Utc()},
          {"echoed_data", data},
          {"data_type", PythonTypeName(data)},
          {"data_length", length},
          {"status", "success"}};
}

// "key:value" of an INFO reply.
std::string InfoField(const std::string& info, const std::string& key) {
  std::istringstream in(info);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind(key + ":", 0) == 0) return line.substr(key.size() + 1);
  }
  return "";
}

json HealthCheck(const BuiltinTaskContext& ctx) {
  const auto start = SteadyClock::now();
  const std::string start_time = NowIso8601Utc();
  json redis = {{"status", "error"}, {"details", json::object()}};
  if (ctx.redis) {
    const auto ping_start = SteadyClock::now();
    Status ping = ctx.redis->Ping();
    if (ping.ok()) {
      json details = {{"latency_ms", Round3(SecondsSince(ping_start) * 1000.0)}};
      StatusOr<std::string> info = ctx.redis->Info();
      if (info.ok()) {
        details["used_memory_human"] = InfoField(*info, "used_memory_human");
        details["connected_clients"] = InfoField(*info, "connected_clients");
        details["redis_version"] = InfoField(*info, "redis_version");
      }
      redis = {{"status", "healthy"}, {"details", details}};
    } else {
      redis["details"] = {{"error", ping.message()}};
    }
  }
  json worker = {{"status", "healthy"},
                 {"details", ctx.worker_details ? ctx.worker_details() : json::object()}};
  const std::string overall = redis["status"] == "healthy" ? "healthy" : "error";
  json node = json::object();
  if (ctx.config) {
    node = {{"node_id", ctx.config->node_id},
            {"node_ip", ctx.config->node_ip},
            {"app_env", std::string(AppEnvName(ctx.config->app_env))}};
  }
  return {{"message", "Health check completed"},
          {"task_name", "health_check_task"},
          {"execution_time", Round3(SecondsSince(start))},
          {"start_time", start_time},
          {"end_time", NowIso8601Utc()},
          {"status", "success"},
          {"overall_status", overall},
          {"components", {{"redis", redis}, {"worker", worker}}},
          {"node_info", node}};
}

}  // namespace

bool IsBuiltinTask(std::string_view name) {
  return name == kHelloTaskName || name == kPingTaskName || name == kEchoTaskName ||
         name == kHealthCheckTaskName;
}

StatusOr<json> RunBuiltinTask(const CeleryTaskMessage& m, const BuiltinTaskContext& ctx) {
  if (m.task == kPingTaskName) return Ping();
  if (m.task == kEchoTaskName) {
    const json* data = Arg(m, "data", 0);
    if (!data) return ParameterError("missing_argument", "echo_task() missing argument: 'data'");
    return Echo(*data);
  }
  if (m.task == kHealthCheckTaskName) return HealthCheck(ctx);
  if (m.task == kHelloTaskName) {
    const auto until = SteadyClock::now() + std::chrono::milliseconds(kHelloSleepMs);
    json result = Hello(m, ctx);
    while (SteadyClock::now() < until) {
      if (ctx.cancel && ctx.cancel->cancelled()) return ctx.cancel->reason();
      std::this_thread::sleep_for(std::chrono::milliseconds(kCancelPollMs));
    }
    result["execution_time"] = Round3(static_cast<double>(kHelloSleepMs) / 1000.0);
    result["end_time"] = NowIso8601Utc();
    return result;
  }
  return InternalError("not_a_builtin_task", "not a built-in task: " + m.task);
}

}  // namespace veil::worker
