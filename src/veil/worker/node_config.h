// Node configuration (SPEC §3): one typed, validated view of the environment variables that
// configure a `veil worker` node, read from the process environment and an optional `.env` file
// (`--env-file`).
//
// Precedence: the real environment wins over the file, like python-dotenv's override=False
// that the Python worker uses; a notice lists the variables the environment overrode.
// An empty value counts as unset (so `REDIS_PASSWORD=` in a docker env file means "none"),
// except that a required variable set to "" is reported as missing.
//
// Variables (defaults in parentheses; units are seconds unless named otherwise):
//   NODE_ID (required)          the node's unique id: letters, digits, '.', '_', '-'
//   NODE_IP (required)          IPv4/IPv6 address peers use to reach this node
//   APP_ENV (development)       development | production (production is stricter, see below)
//   DEBUG (false)               true/false/1/0/yes/no/on/off
//   REDIS_URL                   redis://[[user]:password@]host[:port][/db]; if unset:
//   REDIS_HOST (127.0.0.1), REDIS_PORT (6379), REDIS_DB (0), REDIS_PASSWORD (none).
//                               With REDIS_URL set, REDIS_HOST/PORT/DB/PASSWORD must agree with
//                               it (REDIS_PASSWORD fills in a URL without password).
//   TASK_DEFAULT_QUEUE (secretflow_queue)   the Celery queue (Redis list) consumed
//   MAX_CONCURRENT_TASKS (2)    1..64 tasks in parallel
//   DATA_PATH (./data)          existing directory; stored absolute and canonical
//   LOG_LEVEL (info; debug when DEBUG=true)  trace|debug|info|warning|error|critical|off;
//                               CELERY_LOG_LEVEL is read when LOG_LEVEL is unset
//   LOG_FORMAT (text)           text | json
//   TASK_SOFT_TIME_LIMIT (3600), TASK_TIME_LIMIT (7200)   positive, soft < hard
//   RESULT_EXPIRES (86400)      result TTL; 0 = never expire
//   SF_/SPU_/HEU_PORT_RANGE_START/END   optional inclusive ranges, both ends or neither,
//                               1..65535, START <= END, no overlap with each other or with a
//                               Redis port on this host
//   VEIL_TLS_CERT, VEIL_TLS_KEY, VEIL_TLS_CA   PEM files for mutual TLS on party links: cert
//                               and key both or neither, CA only with them; files must exist
//   VEIL_LEASE_TTL_SECONDS (60), VEIL_LEASE_RENEW_SECONDS (20)   task lease (at-most-one
//                               runner); renew at most every TTL/2
//   VEIL_SHUTDOWN_GRACE_SECONDS (30)   SIGTERM: how long running tasks may finish
//   VEIL_HEARTBEAT_INTERVAL_SECONDS (10)   node heartbeat key refresh (TTL = 3 intervals)
//   VEIL_STATUS_STREAM_MAXLEN (10000)   approximate trim length of task_status_stream
//   RAY_HEAD_ADDRESS            only checked: its host must be NODE_IP (each node is its own
//                               head, seed 000); "auto"/"local" are accepted as is
//
// Accepted and ignored, with one notice each (never an error): every RAY_* variable (veil needs
// no Ray), and the Python worker's Celery/process tuning variables (python-worker.md §4.1, e.g.
// WORKER_MAX_TASKS_PER_CHILD, CELERY_WORKER_POOL, TIMEZONE) — veil has no equivalent, and
// listing them tells an operator migrating a node that they no longer do anything. Variables in
// the .env file that veil does not know at all get one notice too (a likely typo).
//
// Production (APP_ENV=production) forbids DEBUG=true and a Redis without password on a
// non-loopback address, and notes missing TLS.
//
// Problems carry the variable name as their path (or "<file>:<line>" for .env syntax) and one of
// the codes: missing_field, invalid_value, out_of_range, overlap, conflict,
// inconsistent_value, forbidden_in_production, not_found, not_a_directory, not_a_file,
// malformed_line, unreadable_file, and the Redis URL codes of redis_options.h (bad_redis_url,
// tls_not_supported). Every problem is reported, never just the first.
//
// Thread safety: values; EnvSource::FromProcess reads `environ` and must not race with setenv.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "veil/base/problems.h"
#include "veil/base/status.h"
#include "veil/worker/redis_options.h"

namespace veil::worker {

inline constexpr int64_t kDefaultMaxConcurrentTasks = 2;
inline constexpr int64_t kMaxConcurrentTasksLimit = 64;
inline constexpr int64_t kDefaultTaskSoftTimeLimitSeconds = 3600;  // Python worker's global
inline constexpr int64_t kDefaultTaskTimeLimitSeconds = 7200;      // task_(soft_)time_limit
inline constexpr int64_t kMaxTaskTimeLimitSeconds = 30LL * 24 * 3600;
inline constexpr int64_t kDefaultNodeResultExpiresSeconds = 86400;
inline constexpr int64_t kDefaultLeaseTtlSeconds = 60;
inline constexpr int64_t kDefaultLeaseRenewSeconds = 20;
inline constexpr int64_t kDefaultShutdownGraceSeconds = 30;
inline constexpr int64_t kDefaultHeartbeatIntervalSeconds = 10;
inline constexpr int64_t kDefaultStatusStreamMaxLen = 10000;
inline constexpr std::string_view kDefaultDataPath = "./data";
inline constexpr std::string_view kDefaultNodeQueue = "secretflow_queue";
// `veil config check` exit statuses.
inline constexpr int kConfigCheckExitOk = 0;
inline constexpr int kConfigCheckExitProblems = 1;

enum class AppEnv { kDevelopment, kProduction };
enum class LogFormat { kText, kJson };

std::string_view AppEnvName(AppEnv env);
std::string_view LogFormatName(LogFormat format);

// An inclusive port range; start == 0 means "not configured".
struct PortRange {
  uint16_t start = 0;
  uint16_t end = 0;
  bool configured() const { return start != 0; }
  bool Contains(uint16_t port) const { return configured() && port >= start && port <= end; }
  bool Overlaps(const PortRange& o) const {
    return configured() && o.configured() && start <= o.end && o.start <= end;
  }
};

struct NodeConfig {
  std::string node_id;
  std::string node_ip;
  AppEnv app_env = AppEnv::kDevelopment;
  bool debug = false;
  RedisOptions redis;  // from REDIS_URL or REDIS_HOST/PORT/DB/PASSWORD
  std::string queue = std::string(kDefaultNodeQueue);
  int64_t max_concurrent_tasks = kDefaultMaxConcurrentTasks;
  std::string data_path;           // absolute, canonical
  std::string log_level = "info";  // spdlog level name (SetLogLevel accepts it)
  LogFormat log_format = LogFormat::kText;
  int64_t task_soft_time_limit_s = kDefaultTaskSoftTimeLimitSeconds;
  int64_t task_time_limit_s = kDefaultTaskTimeLimitSeconds;
  int64_t result_expires_s = kDefaultNodeResultExpiresSeconds;  // 0: never
  PortRange sf_ports;
  PortRange spu_ports;
  PortRange heu_ports;
  std::string tls_cert_path;  // empty: no TLS
  std::string tls_key_path;
  std::string tls_ca_path;
  int64_t lease_ttl_s = kDefaultLeaseTtlSeconds;
  int64_t lease_renew_s = kDefaultLeaseRenewSeconds;
  int64_t shutdown_grace_s = kDefaultShutdownGraceSeconds;
  int64_t heartbeat_interval_s = kDefaultHeartbeatIntervalSeconds;
  int64_t status_stream_max_len = kDefaultStatusStreamMaxLen;
  std::optional<std::string> ray_head_address;  // only validated

  // Where each variable that was set came from: "environment" or "<file>:<line>".
  std::map<std::string, std::string> sources;
  // Informational lines (ignored variables, overrides, production hints); never errors.
  std::vector<std::string> notices;

  bool tls_enabled() const { return !tls_cert_path.empty(); }
  // The Celery worker hostname the Python worker used: "<NODE_ID>@<NODE_IP>".
  std::string hostname() const { return node_id + "@" + node_ip; }
};

// One KEY=VALUE of a .env file.
struct DotEnvEntry {
  std::string key;
  std::string value;
  int line = 0;  // 1-based line where the entry starts
};

// Parses .env text: blank lines, `# comments`, `KEY=VALUE`, `export KEY=VALUE`, spaces around
// '=', unquoted values (trimmed; " #..." starts a comment), 'single-quoted' (literal except
// \' and \\), "double-quoted" (escapes \n \t \r \" \\ \' \$ \a \b \f \v; may span lines). No
// ${VAR} interpolation. A malformed line adds a "malformed_line" problem at
// "<file_name>:<line>" and is skipped; parsing continues.
std::vector<DotEnvEntry> ParseDotEnv(std::string_view text, const std::string& file_name,
                                     Problems* problems);

// The variables a node configuration is read from: the process environment (or a given map),
// plus .env files that only fill variables the environment does not set.
class EnvSource {
 public:
  static EnvSource FromProcess();
  static EnvSource FromMap(const std::map<std::string, std::string>& vars);

  // Adds a .env file below the environment. An unreadable file ("unreadable_file" at the file
  // path) and malformed lines are recorded in problems() and reported by LoadNodeConfig with
  // every other problem.
  void AddEnvFile(const std::string& path);
  // The same from text; `file_name` names it in problems and sources.
  void AddEnvText(std::string_view text, const std::string& file_name);

  // The value, or nullopt when unset or empty.
  std::optional<std::string> Get(std::string_view name) const;
  // "environment", "<file>:<line>", or "" when unset.
  std::string SourceOf(std::string_view name) const;
  // Every set variable, sorted.
  std::vector<std::string> Names() const;
  // Variables that came from a file (not overridden by the environment).
  std::vector<std::string> FileNames() const;
  const std::vector<FieldProblem>& problems() const { return problems_.list(); }
  const std::vector<std::string>& notices() const { return notices_; }

 private:
  struct Value {
    std::string value;
    std::string source;
    bool from_file = false;
  };
  std::map<std::string, Value, std::less<>> vars_;
  Problems problems_;
  std::vector<std::string> notices_;
};

// The outcome of reading a configuration: the best-effort config (defaults where a variable was
// invalid), every problem, and the notices.
struct NodeConfigCheck {
  NodeConfig config;
  std::vector<FieldProblem> problems;
  bool ok() const { return problems.empty(); }
  // OK, or ParameterValidationError "invalid_node_config" (stage "config") listing every problem.
  Status ToStatus() const;
};

NodeConfigCheck CheckNodeConfig(const EnvSource& env);
// The validated configuration, or the ToStatus() error of CheckNodeConfig.
StatusOr<NodeConfig> LoadNodeConfig(const EnvSource& env);

// Every field, secrets redacted (the Redis password never appears; REDIS_URL as "…:***@…").
nlohmann::json NodeConfigToJson(const NodeConfig& config);

enum class ReportFormat { kText, kJson };
struct ConfigCheckResult {
  int exit_code = kConfigCheckExitOk;  // kConfigCheckExitOk or kConfigCheckExitProblems
  std::string report;                  // for stdout
};
// `veil config check`: every problem with its variable name, the notices, and the effective
// configuration (redacted). JSON: {"ok", "problems": [{"variable", "code", "message"}],
// "notices": [...], "config": {...}}.
ConfigCheckResult ConfigCheckReport(const EnvSource& env, ReportFormat format);

}  // namespace veil::worker
