#include "veil/worker/node_config.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <arpa/inet.h>

extern char** environ;  // NOLINT: POSIX

namespace veil::worker {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kEnvironmentSource = "environment";
constexpr std::string_view kRedisDefaultHost = "127.0.0.1";
constexpr std::string_view kRedacted = "***";
constexpr size_t kMaxNodeIdChars = 128;
constexpr int64_t kMaxLeaseTtlSeconds = 86400;
constexpr int64_t kMaxShutdownGraceSeconds = 3600;
constexpr int64_t kMaxHeartbeatIntervalSeconds = 3600;
constexpr int64_t kMinStatusStreamMaxLen = 100;
constexpr int64_t kMaxStatusStreamMaxLen = 100000000;
constexpr int64_t kMaxResultExpiresSeconds = 365LL * 24 * 3600;
constexpr int64_t kMaxRedisDb = 1000000;

// Variables of the Python worker (python-worker.md §4.1) that veil accepts and ignores.
constexpr std::string_view kPythonWorkerOnlyVariables[] = {
    "CELERY_WORKER_CONCURRENCY",
    "CELERY_WORKER_POOL",
    "WORKER_MAX_TASKS_PER_CHILD",
    "WORKER_PREFETCH_MULTIPLIER",
    "WORKER_TASK_SOFT_TIME_LIMIT",
    "WORKER_TASK_TIME_LIMIT",
    "WORKER_MAX_MEMORY_PER_CHILD",
    "TIMEZONE",
    "TASK_SERIALIZER",
    "RESULT_SERIALIZER",
    "ACCEPT_CONTENT",
    "TASK_DEFAULT_EXCHANGE",
    "TASK_DEFAULT_ROUTING_KEY",
    "TASK_ACKS_LATE",
    "TASK_REJECT_ON_WORKER_LOST",
    "TASK_TRACK_STARTED",
    "WORKER_DISABLE_RATE_LIMITS",
    "WORKER_SEND_TASK_EVENTS",
    "WORKER_HIJACK_ROOT_LOGGER",
    "WORKER_LOG_FORMAT",
    "CACHE_TTL",
    "NODE_PORT",
    "CELERY_WORKER_AUTOSCALE_MAX",
    "CELERY_WORKER_AUTOSCALE_MIN",
    "WORKER_CONCURRENCY",
    "WORKER_HOSTNAME",
    "WORKER_QUEUES",
    "WORKER_POOL",
    "WORKER_TASK_ACKS_LATE",
    "WORKER_TASK_REJECT_ON_WORKER_LOST",
    "CELERY_RESULT_EXPIRES",
    "CELERY_TASK_SERIALIZER",
    "CELERY_RESULT_SERIALIZER",
    "CELERY_ACCEPT_CONTENT",
    "CELERY_DEFAULT_QUEUE",
    "CELERY_DEFAULT_EXCHANGE",
    "CELERY_DEFAULT_EXCHANGE_TYPE",
    "CELERY_DEFAULT_ROUTING_KEY",
    "WORKER_SHUTDOWN_TIMEOUT",
    "CELERY_ENABLE_UTC",
    "CELERY_TIMEZONE",
    "CELERY_MONITOR_PORT",
    "TASK_STATUS_CALLBACK_URL",
    "TASK_STATUS_CALLBACK_TIMEOUT",
    "LOG_PATH",
    "LOG_FILE",
    "SPU_PROTOCOL",
    "SPU_FIELD",
    "SPU_ENABLE_TLS",
    "MAX_MEMORY_BYTES",
    "MAX_CPU_PERCENT",
    "WORKER_CONTAINER_ID",
    "ENABLE_STATUS_NOTIFICATIONS",
    "SECRETFLOW_PARTIES",
    "SECRETFLOW_ADDRESS",
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
    "CELERY_APP",
    "PYTHONUNBUFFERED",
    "ENABLE_TASK_STATUS_LISTENER",
    "TASK_STATUS_CHANNEL",
    "TASK_STATUS_QUEUE",
};

// Every variable veil reads.
constexpr std::string_view kVeilVariables[] = {
    "NODE_ID",
    "NODE_IP",
    "APP_ENV",
    "DEBUG",
    "REDIS_URL",
    "REDIS_HOST",
    "REDIS_PORT",
    "REDIS_DB",
    "REDIS_PASSWORD",
    "TASK_DEFAULT_QUEUE",
    "MAX_CONCURRENT_TASKS",
    "DATA_PATH",
    "LOG_LEVEL",
    "CELERY_LOG_LEVEL",
    "LOG_FORMAT",
    "TASK_SOFT_TIME_LIMIT",
    "TASK_TIME_LIMIT",
    "RESULT_EXPIRES",
    "SF_PORT_RANGE_START",
    "SF_PORT_RANGE_END",
    "SPU_PORT_RANGE_START",
    "SPU_PORT_RANGE_END",
    "HEU_PORT_RANGE_START",
    "HEU_PORT_RANGE_END",
    "VEIL_TLS_CERT",
    "VEIL_TLS_KEY",
    "VEIL_TLS_CA",
    "VEIL_LEASE_TTL_SECONDS",
    "VEIL_LEASE_RENEW_SECONDS",
    "VEIL_SHUTDOWN_GRACE_SECONDS",
    "VEIL_HEARTBEAT_INTERVAL_SECONDS",
    "VEIL_STATUS_STREAM_MAXLEN",
    "RAY_HEAD_ADDRESS",
    // Not read by veil, but harmless and common in .env files of both workers.
    "PATH",
    "HOME",
    "PYTHONPATH",
    "LANG",
};

template <size_t N>
bool In(const std::string_view (&list)[N], std::string_view name) {
  return std::find(std::begin(list), std::end(list), name) != std::end(list);
}

std::string Lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::string Quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

std::string JoinComma(const std::vector<std::string>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + v[i];
  return out;
}

// ---- Addresses --------------------------------------------------------------------------------

struct IpAddress {
  int family = 0;  // AF_INET / AF_INET6
  std::array<unsigned char, 16> bytes{};
  bool operator==(const IpAddress& o) const { return family == o.family && bytes == o.bytes; }
};

std::optional<IpAddress> ParseIp(std::string_view text) {
  std::string s(text);
  IpAddress a;
  if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) {
    a.family = AF_INET;
    return a;
  }
  if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) {
    a.family = AF_INET6;
    return a;
  }
  return std::nullopt;
}

bool IsUnspecified(const IpAddress& a) {
  const size_t n = a.family == AF_INET ? 4 : 16;
  return std::all_of(a.bytes.begin(), a.bytes.begin() + n, [](unsigned char b) { return b == 0; });
}

bool IsLoopback(const IpAddress& a) {
  if (a.family == AF_INET) return a.bytes[0] == 127;
  static constexpr std::array<unsigned char, 16> kV6Loopback = {0, 0, 0, 0, 0, 0, 0, 0,
                                                                0, 0, 0, 0, 0, 0, 0, 1};
  if (a.bytes == kV6Loopback) return true;
  // ::ffff:127.x.y.z
  const bool mapped =
      std::all_of(a.bytes.begin(), a.bytes.begin() + 10, [](unsigned char b) { return b == 0; }) &&
      a.bytes[10] == 0xff && a.bytes[11] == 0xff;
  return mapped && a.bytes[12] == 127;
}

bool IsLoopbackHost(std::string_view host) {
  if (Lower(host) == "localhost") return true;
  auto ip = ParseIp(host);
  return ip && IsLoopback(*ip);
}

// "ray://host:port", "host:port", "[v6]:port", "host" → host.
std::string HostOfAddress(std::string_view address) {
  if (size_t scheme = address.find("://"); scheme != std::string_view::npos) {
    address = address.substr(scheme + 3);
  }
  if (size_t slash = address.find('/'); slash != std::string_view::npos) {
    address = address.substr(0, slash);
  }
  if (!address.empty() && address.front() == '[') {
    const size_t close = address.find(']');
    return std::string(
        address.substr(1, close == std::string_view::npos ? address.size() - 1 : close - 1));
  }
  // A bare IPv6 literal has several ':'; only "host:port" has exactly one.
  if (std::count(address.begin(), address.end(), ':') == 1) {
    return std::string(address.substr(0, address.find(':')));
  }
  return std::string(address);
}

// ---- Typed readers that record problems ---------------------------------------------------------

class Reader {
 public:
  Reader(const EnvSource& env, Problems* problems) : env_(env), problems_(problems) {}

  std::optional<std::string> Raw(std::string_view name) const { return env_.Get(name); }

  void Problem(std::string_view name, std::string code, std::string message) {
    problems_->Add(std::string(name), std::move(code), std::move(message));
  }

  std::string Required(std::string_view name, std::string_view what) {
    auto v = env_.Get(name);
    if (!v) {
      const bool empty = !env_.SourceOf(name).empty();
      Problem(name, "missing_field",
              std::string(name) + (empty ? " is set but empty" : " is required") + ": " +
                  std::string(what));
      return "";
    }
    return Trim(*v);
  }

  std::optional<int64_t> Int(std::string_view name, int64_t min, int64_t max) {
    auto v = env_.Get(name);
    if (!v) return std::nullopt;
    const std::string s = Trim(*v);
    int64_t out = 0;
    const char* begin = s.data() + (!s.empty() && s[0] == '+' ? 1 : 0);
    auto [ptr, ec] = std::from_chars(begin, s.data() + s.size(), out);
    if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) {
      Problem(name, "invalid_value", std::string(name) + " " + Quoted(s) + " is not an integer");
      return std::nullopt;
    }
    if (out < min || out > max) {
      Problem(name, "out_of_range",
              std::string(name) + " " + std::to_string(out) + " is outside " + std::to_string(min) +
                  ".." + std::to_string(max));
      return std::nullopt;
    }
    return out;
  }

  int64_t Int(std::string_view name, int64_t fallback, int64_t min, int64_t max) {
    return Int(name, min, max).value_or(fallback);
  }

  bool Bool(std::string_view name, bool fallback) {
    auto v = env_.Get(name);
    if (!v) return fallback;
    const std::string s = Lower(Trim(*v));
    if (s == "true" || s == "1" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "0" || s == "no" || s == "off") return false;
    Problem(name, "invalid_value",
            std::string(name) + " " + Quoted(*v) + " is not a boolean (true/false)");
    return fallback;
  }

  // One of `choices` (case-insensitive); returns the lower-case choice.
  std::optional<std::string> Enum(std::string_view name, const std::vector<std::string>& choices) {
    auto v = env_.Get(name);
    if (!v) return std::nullopt;
    const std::string s = Lower(Trim(*v));
    if (std::find(choices.begin(), choices.end(), s) != choices.end()) return s;
    Problem(name, "invalid_value",
            std::string(name) + " " + Quoted(*v) + " is not one of: " + JoinComma(choices));
    return std::nullopt;
  }

 private:
  const EnvSource& env_;
  Problems* problems_;
};

void ReadPortRange(Reader* r, std::string_view prefix, PortRange* out) {
  const std::string start_name = std::string(prefix) + "_PORT_RANGE_START";
  const std::string end_name = std::string(prefix) + "_PORT_RANGE_END";
  const bool has_start = r->Raw(start_name).has_value();
  const bool has_end = r->Raw(end_name).has_value();
  auto start = r->Int(start_name, 1, 65535);
  auto end = r->Int(end_name, 1, 65535);
  if (has_start != has_end) {
    const std::string& missing = has_start ? end_name : start_name;
    r->Problem(missing, "missing_field",
               missing + " is required when " + (has_start ? start_name : end_name) +
                   " is set (a range needs both ends)");
    return;
  }
  if (!start || !end) return;
  if (*start > *end) {
    r->Problem(start_name, "invalid_value",
               start_name + " " + std::to_string(*start) + " is greater than " + end_name + " " +
                   std::to_string(*end));
    return;
  }
  out->start = static_cast<uint16_t>(*start);
  out->end = static_cast<uint16_t>(*end);
}

std::string RangeText(const PortRange& r) {
  return std::to_string(r.start) + "-" + std::to_string(r.end);
}

void CheckFile(Reader* r, std::string_view name, const std::string& path) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) {
    r->Problem(name, "not_found", std::string(name) + " " + Quoted(path) + " does not exist");
  } else if (!fs::is_regular_file(st)) {
    r->Problem(name, "not_a_file", std::string(name) + " " + Quoted(path) + " is not a file");
  }
}

void ReadRedis(Reader* r, AppEnv app_env, NodeConfig* c) {
  const auto url = r->Raw("REDIS_URL");
  const auto host = r->Raw("REDIS_HOST");
  const auto port = r->Int("REDIS_PORT", 1, 65535);
  const auto db = r->Int("REDIS_DB", 0, kMaxRedisDb);
  const auto password = r->Raw("REDIS_PASSWORD");
  bool redis_ok = true;
  if (url) {
    auto parsed = RedisOptions::FromUrl(Trim(*url));
    if (!parsed.ok()) {
      std::string msg = parsed.status().message();
      if (msg.rfind("REDIS_URL: ", 0) != 0) msg = "REDIS_URL: " + msg;
      r->Problem("REDIS_URL", parsed.status().code(), msg);
      redis_ok = false;
    } else {
      c->redis = *parsed;
      auto conflict = [&](std::string_view name, const std::string& value,
                          const std::string& in_url) {
        r->Problem(name, "conflict",
                   std::string(name) + " " + Quoted(value) + " conflicts with REDIS_URL's " +
                       in_url + "; set only REDIS_URL, or make them agree");
      };
      if (host && Trim(*host) != c->redis.host) {
        conflict("REDIS_HOST", Trim(*host), "host " + Quoted(c->redis.host));
      }
      if (port && *port != c->redis.port) {
        conflict("REDIS_PORT", std::to_string(*port), "port " + std::to_string(c->redis.port));
      }
      if (db && *db != c->redis.db) {
        conflict("REDIS_DB", std::to_string(*db), "db " + std::to_string(c->redis.db));
      }
      if (password) {
        if (c->redis.password.empty()) {
          c->redis.password = *password;
        } else if (*password != c->redis.password) {
          r->Problem("REDIS_PASSWORD", "conflict",
                     "REDIS_PASSWORD differs from the password in REDIS_URL (values not shown); "
                     "set it in one place");
        }
      }
    }
  } else {
    c->redis.host = host ? Trim(*host) : std::string(kRedisDefaultHost);
    if (port) c->redis.port = static_cast<uint16_t>(*port);
    if (db) c->redis.db = *db;
    if (password) c->redis.password = *password;
    if (c->redis.host.empty()) {
      r->Problem("REDIS_HOST", "invalid_value", "REDIS_HOST is empty");
      redis_ok = false;
    }
  }
  if (redis_ok && app_env == AppEnv::kProduction && c->redis.password.empty() &&
      !IsLoopbackHost(c->redis.host)) {
    r->Problem(url ? "REDIS_URL" : "REDIS_PASSWORD", "forbidden_in_production",
               "production forbids a Redis without password on a non-loopback address (" +
                   c->redis.endpoint() + "); set REDIS_PASSWORD or a password in REDIS_URL");
  }
}

}  // namespace

std::string_view AppEnvName(AppEnv env) {
  return env == AppEnv::kProduction ? "production" : "development";
}

std::string_view LogFormatName(LogFormat format) {
  return format == LogFormat::kJson ? "json" : "text";
}

// ---- .env parsing -------------------------------------------------------------------------------

std::vector<DotEnvEntry> ParseDotEnv(std::string_view text, const std::string& file_name,
                                     Problems* problems) {
  std::vector<DotEnvEntry> entries;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 BOM
  size_t pos = 0;
  int line = 1;
  auto at_end = [&] { return pos >= text.size(); };
  auto is_blank = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  // Skips to the start of the next line, counting it.
  auto next_line = [&] {
    while (!at_end() && text[pos] != '\n') ++pos;
    if (!at_end()) ++pos;
    ++line;
  };
  auto bad = [&](int at_line, const std::string& why) {
    problems->Add(file_name + ":" + std::to_string(at_line), "malformed_line",
                  file_name + " line " + std::to_string(at_line) + ": " + why);
  };

  while (!at_end()) {
    const int start_line = line;
    while (!at_end() && is_blank(text[pos])) ++pos;
    if (at_end()) break;
    if (text[pos] == '\n' || text[pos] == '#') {
      next_line();
      continue;
    }
    if (text.substr(pos, 6) == "export" && pos + 6 < text.size() &&
        (text[pos + 6] == ' ' || text[pos + 6] == '\t')) {
      pos += 6;
      while (!at_end() && is_blank(text[pos])) ++pos;
    }
    const size_t key_start = pos;
    if (!at_end() && (std::isalpha(static_cast<unsigned char>(text[pos])) || text[pos] == '_')) {
      ++pos;
      while (!at_end() &&
             (std::isalnum(static_cast<unsigned char>(text[pos])) || text[pos] == '_')) {
        ++pos;
      }
    }
    const std::string key(text.substr(key_start, pos - key_start));
    if (key.empty()) {
      bad(start_line, "expected KEY=VALUE (a key is letters, digits and '_')");
      next_line();
      continue;
    }
    while (!at_end() && is_blank(text[pos])) ++pos;
    if (at_end() || text[pos] != '=') {
      bad(start_line, "expected '=' after " + Quoted(key));
      next_line();
      continue;
    }
    ++pos;
    while (!at_end() && (text[pos] == ' ' || text[pos] == '\t')) ++pos;

    std::string value;
    bool ok = true;
    if (!at_end() && (text[pos] == '"' || text[pos] == '\'')) {
      const char quote = text[pos++];
      bool closed = false;
      while (!at_end()) {
        char ch = text[pos];
        if (ch == quote) {
          closed = true;
          ++pos;
          break;
        }
        if (ch == '\n') ++line;
        if (ch == '\\' && pos + 1 < text.size()) {
          const char n = text[pos + 1];
          if (quote == '\'') {
            if (n == '\'' || n == '\\') {
              value += n;
              pos += 2;
              continue;
            }
          } else {
            const char* map = nullptr;
            switch (n) {
              case 'n':
                map = "\n";
                break;
              case 't':
                map = "\t";
                break;
              case 'r':
                map = "\r";
                break;
              case 'a':
                map = "\a";
                break;
              case 'b':
                map = "\b";
                break;
              case 'f':
                map = "\f";
                break;
              case 'v':
                map = "\v";
                break;
              case '"':
                map = "\"";
                break;
              case '\'':
                map = "'";
                break;
              case '\\':
                map = "\\";
                break;
              case '$':
                map = "$";
                break;
              default:
                break;
            }
            if (map != nullptr) {
              value += map;
              pos += 2;
              continue;
            }
          }
        }
        value += ch;
        ++pos;
      }
      if (!closed) {
        bad(start_line, "unterminated " + std::string(quote == '"' ? "double" : "single") +
                            "-quoted value of " + Quoted(key));
        return entries;  // the rest of the file is inside the quote
      }
      while (!at_end() && is_blank(text[pos])) ++pos;
      if (!at_end() && text[pos] != '\n' && text[pos] != '#') {
        bad(line, "unexpected text after the closing quote of " + Quoted(key));
        ok = false;
      }
      next_line();
    } else {
      const size_t end = std::min(text.find('\n', pos), text.size());
      std::string_view raw = text.substr(pos, end - pos);
      // An inline comment starts at a '#' preceded by whitespace.
      for (size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] == '#' && (i == 0 || raw[i - 1] == ' ' || raw[i - 1] == '\t')) {
          raw = raw.substr(0, i);
          break;
        }
      }
      value = Trim(raw);
      pos = end;
      next_line();
    }
    if (ok) entries.push_back({key, std::move(value), start_line});
  }
  return entries;
}

// ---- EnvSource ----------------------------------------------------------------------------------

EnvSource EnvSource::FromProcess() {
  EnvSource env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv(*e);
    const size_t eq = kv.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    env.vars_[std::string(kv.substr(0, eq))] = {std::string(kv.substr(eq + 1)),
                                                std::string(kEnvironmentSource), false};
  }
  return env;
}

EnvSource EnvSource::FromMap(const std::map<std::string, std::string>& vars) {
  EnvSource env;
  for (const auto& [k, v] : vars) env.vars_[k] = {v, std::string(kEnvironmentSource), false};
  return env;
}

void EnvSource::AddEnvFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    problems_.Add(path, "unreadable_file",
                  "env file " + Quoted(path) + " cannot be read: " + std::strerror(err));
    return;
  }
  std::ostringstream text;
  text << in.rdbuf();
  AddEnvText(text.str(), path);
}

void EnvSource::AddEnvText(std::string_view text, const std::string& file_name) {
  const std::vector<DotEnvEntry> entries = ParseDotEnv(text, file_name, &problems_);
  std::map<std::string, int> first_line;
  std::vector<std::string> overridden;
  std::vector<std::string> duplicates;
  std::vector<std::string> interpolations;
  for (const DotEnvEntry& e : entries) {
    const std::string source = file_name + ":" + std::to_string(e.line);
    if (auto [it, inserted] = first_line.emplace(e.key, e.line); !inserted) {
      duplicates.push_back(e.key + " (lines " + std::to_string(it->second) + " and " +
                           std::to_string(e.line) + ")");
    }
    if (e.value.find("${") != std::string::npos) interpolations.push_back(e.key);
    auto it = vars_.find(e.key);
    if (it != vars_.end() && !it->second.from_file) {
      if (it->second.value != e.value) overridden.push_back(e.key);
      continue;  // the real environment wins
    }
    vars_[e.key] = {e.value, source, true};
  }
  auto unique = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    return v;
  };
  if (!overridden.empty()) {
    notices_.push_back("the environment overrides " + file_name +
                       " for: " + JoinComma(unique(overridden)));
  }
  if (!duplicates.empty()) {
    notices_.push_back(file_name +
                       " sets a variable twice, the last one wins: " + JoinComma(duplicates));
  }
  if (!interpolations.empty()) {
    notices_.push_back(file_name +
                       ": ${...} is not interpolated, these values keep it literally: " +
                       JoinComma(unique(interpolations)));
  }
}

std::optional<std::string> EnvSource::Get(std::string_view name) const {
  auto it = vars_.find(name);
  if (it == vars_.end() || it->second.value.empty()) return std::nullopt;
  return it->second.value;
}

std::string EnvSource::SourceOf(std::string_view name) const {
  auto it = vars_.find(name);
  return it == vars_.end() ? std::string() : it->second.source;
}

std::vector<std::string> EnvSource::Names() const {
  std::vector<std::string> names;
  for (const auto& [k, v] : vars_) names.push_back(k);
  return names;
}

std::vector<std::string> EnvSource::FileNames() const {
  std::vector<std::string> names;
  for (const auto& [k, v] : vars_) {
    if (v.from_file) names.push_back(k);
  }
  return names;
}

// ---- Loading and validation ---------------------------------------------------------------------

Status NodeConfigCheck::ToStatus() const {
  if (problems.empty()) return Status();
  std::string msg = "node configuration: " + std::to_string(problems.size()) + " problem(s): ";
  for (size_t i = 0; i < problems.size(); ++i) {
    msg += (i ? "; " : "") + problems[i].path + ": " + problems[i].message;
  }
  return ParameterError("invalid_node_config", msg).WithStage("config").WithProblems(problems);
}

NodeConfigCheck CheckNodeConfig(const EnvSource& env) {
  NodeConfigCheck check;
  NodeConfig& c = check.config;
  Problems problems;
  for (const FieldProblem& p : env.problems()) problems.Add(p.path, p.code, p.message);
  c.notices = env.notices();
  Reader r(env, &problems);

  // Identity.
  c.node_id = r.Required("NODE_ID", "the node's unique id, e.g. node1");
  if (!c.node_id.empty()) {
    const bool charset_ok = std::all_of(c.node_id.begin(), c.node_id.end(), [](char ch) {
      return std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-';
    });
    if (!charset_ok || c.node_id.size() > kMaxNodeIdChars) {
      r.Problem("NODE_ID", "invalid_value",
                "NODE_ID " + Quoted(c.node_id) + " must be 1.." + std::to_string(kMaxNodeIdChars) +
                    " letters, digits, '.', '_' or '-' (it names Redis keys and the hostname)");
    }
  }
  c.node_ip = r.Required("NODE_IP", "the IPv4/IPv6 address other nodes use to reach this node");
  std::optional<IpAddress> node_ip;
  if (!c.node_ip.empty()) {
    node_ip = ParseIp(c.node_ip);
    if (!node_ip) {
      r.Problem("NODE_IP", "invalid_value",
                "NODE_IP " + Quoted(c.node_ip) + " is not an IPv4 or IPv6 address");
    } else if (IsUnspecified(*node_ip)) {
      r.Problem("NODE_IP", "invalid_value",
                "NODE_IP " + Quoted(c.node_ip) +
                    " is a listen-on-all address; set the address peers connect to");
      node_ip.reset();
    }
  }
  if (auto ray = r.Raw("RAY_HEAD_ADDRESS")) {
    c.ray_head_address = Trim(*ray);
    const std::string host = HostOfAddress(*c.ray_head_address);
    const std::string lower = Lower(host);
    if (node_ip && lower != "auto" && lower != "local") {
      const auto ray_ip = ParseIp(host);
      const bool consistent =
          ray_ip ? *ray_ip == *node_ip : (lower == "localhost" && IsLoopback(*node_ip));
      if (!consistent) {
        r.Problem("RAY_HEAD_ADDRESS", "inconsistent_value",
                  "RAY_HEAD_ADDRESS host " + Quoted(host) + " differs from NODE_IP " +
                      Quoted(c.node_ip) +
                      "; every node is its own head, so its address must use NODE_IP");
      }
    }
  }

  // Environment.
  if (auto e = r.Enum("APP_ENV", {"development", "production"})) {
    c.app_env = *e == "production" ? AppEnv::kProduction : AppEnv::kDevelopment;
  }
  c.debug = r.Bool("DEBUG", false);
  if (c.debug && c.app_env == AppEnv::kProduction) {
    r.Problem("DEBUG", "forbidden_in_production", "production forbids DEBUG=true");
  }

  ReadRedis(&r, c.app_env, &c);

  if (auto q = r.Raw("TASK_DEFAULT_QUEUE")) {
    const std::string queue = Trim(*q);
    const bool ok = !queue.empty() && std::none_of(queue.begin(), queue.end(), [](char ch) {
      return std::isspace(static_cast<unsigned char>(ch)) ||
             std::iscntrl(static_cast<unsigned char>(ch));
    });
    if (ok) {
      c.queue = queue;
    } else {
      r.Problem("TASK_DEFAULT_QUEUE", "invalid_value",
                "TASK_DEFAULT_QUEUE " + Quoted(queue) +
                    " must be a queue name without spaces or control characters");
    }
  }
  c.max_concurrent_tasks =
      r.Int("MAX_CONCURRENT_TASKS", kDefaultMaxConcurrentTasks, 1, kMaxConcurrentTasksLimit);

  // Data directory.
  {
    const std::string raw = r.Raw("DATA_PATH").value_or(std::string(kDefaultDataPath));
    std::error_code ec;
    fs::path p = fs::absolute(fs::path(raw), ec);
    if (ec) p = fs::path(raw);
    const fs::file_status st = fs::status(p, ec);
    if (ec || !fs::exists(st)) {
      r.Problem("DATA_PATH", "not_found",
                "DATA_PATH " + Quoted(p.string()) + (r.Raw("DATA_PATH") ? "" : " (the default)") +
                    " does not exist");
      c.data_path = p.lexically_normal().string();
    } else if (!fs::is_directory(st)) {
      r.Problem("DATA_PATH", "not_a_directory",
                "DATA_PATH " + Quoted(p.string()) + " is not a directory");
      c.data_path = p.lexically_normal().string();
    } else {
      fs::path canonical = fs::canonical(p, ec);
      c.data_path = (ec ? p.lexically_normal() : canonical).string();
    }
  }

  // Logging.
  {
    const bool has_level = r.Raw("LOG_LEVEL").has_value();
    const std::string_view level_var = has_level ? "LOG_LEVEL" : "CELERY_LOG_LEVEL";
    auto level = r.Enum(level_var,
                        {"trace", "debug", "info", "warning", "warn", "error", "critical", "off"});
    if (level) {
      c.log_level = *level == "warning" ? "warn" : *level;
    } else {
      c.log_level = c.debug ? "debug" : "info";
    }
  }
  if (auto f = r.Enum("LOG_FORMAT", {"text", "json"})) {
    c.log_format = *f == "json" ? LogFormat::kJson : LogFormat::kText;
  }

  // Time limits and retention.
  const auto soft = r.Int("TASK_SOFT_TIME_LIMIT", 1, kMaxTaskTimeLimitSeconds);
  const auto hard = r.Int("TASK_TIME_LIMIT", 1, kMaxTaskTimeLimitSeconds);
  const bool soft_bad = r.Raw("TASK_SOFT_TIME_LIMIT") && !soft;
  const bool hard_bad = r.Raw("TASK_TIME_LIMIT") && !hard;
  c.task_soft_time_limit_s = soft.value_or(kDefaultTaskSoftTimeLimitSeconds);
  c.task_time_limit_s = hard.value_or(kDefaultTaskTimeLimitSeconds);
  if (!soft_bad && !hard_bad && c.task_soft_time_limit_s >= c.task_time_limit_s) {
    r.Problem(soft ? "TASK_SOFT_TIME_LIMIT" : "TASK_TIME_LIMIT", "inconsistent_value",
              "TASK_SOFT_TIME_LIMIT (" + std::to_string(c.task_soft_time_limit_s) +
                  " s) must be less than TASK_TIME_LIMIT (" + std::to_string(c.task_time_limit_s) +
                  " s): the soft limit cancels cleanly before the hard one");
  }
  c.result_expires_s =
      r.Int("RESULT_EXPIRES", kDefaultNodeResultExpiresSeconds, 0, kMaxResultExpiresSeconds);

  // Port ranges.
  ReadPortRange(&r, "SF", &c.sf_ports);
  ReadPortRange(&r, "SPU", &c.spu_ports);
  ReadPortRange(&r, "HEU", &c.heu_ports);
  const std::array<std::pair<std::string_view, const PortRange*>, 3> ranges = {
      {{"SF", &c.sf_ports}, {"SPU", &c.spu_ports}, {"HEU", &c.heu_ports}}};
  for (size_t i = 0; i < ranges.size(); ++i) {
    for (size_t j = i + 1; j < ranges.size(); ++j) {
      if (ranges[i].second->Overlaps(*ranges[j].second)) {
        r.Problem(std::string(ranges[j].first) + "_PORT_RANGE_START", "overlap",
                  std::string(ranges[j].first) + " ports " + RangeText(*ranges[j].second) +
                      " overlap " + std::string(ranges[i].first) + " ports " +
                      RangeText(*ranges[i].second));
      }
    }
  }
  const bool redis_on_this_host =
      IsLoopbackHost(c.redis.host) ||
      (node_ip && ParseIp(c.redis.host) && *ParseIp(c.redis.host) == *node_ip);
  if (redis_on_this_host) {
    for (const auto& [name, range] : ranges) {
      if (range->Contains(c.redis.port)) {
        r.Problem(std::string(name) + "_PORT_RANGE_START", "overlap",
                  std::string(name) + " ports " + RangeText(*range) +
                      " contain the port of the Redis on this host (" +
                      std::to_string(c.redis.port) + ")");
      }
    }
  }

  // TLS.
  c.tls_cert_path = r.Raw("VEIL_TLS_CERT").value_or("");
  c.tls_key_path = r.Raw("VEIL_TLS_KEY").value_or("");
  c.tls_ca_path = r.Raw("VEIL_TLS_CA").value_or("");
  if (c.tls_cert_path.empty() != c.tls_key_path.empty()) {
    const bool has_cert = !c.tls_cert_path.empty();
    r.Problem(has_cert ? "VEIL_TLS_KEY" : "VEIL_TLS_CERT", "missing_field",
              std::string(has_cert ? "VEIL_TLS_KEY" : "VEIL_TLS_CERT") + " is required when " +
                  (has_cert ? "VEIL_TLS_CERT" : "VEIL_TLS_KEY") +
                  " is set (TLS needs both the certificate and its key)");
  }
  if (!c.tls_ca_path.empty() && c.tls_cert_path.empty() && c.tls_key_path.empty()) {
    r.Problem("VEIL_TLS_CA", "inconsistent_value",
              "VEIL_TLS_CA is set without VEIL_TLS_CERT and VEIL_TLS_KEY; mutual TLS needs all "
              "three (links would stay unencrypted)");
  }
  if (!c.tls_cert_path.empty()) CheckFile(&r, "VEIL_TLS_CERT", c.tls_cert_path);
  if (!c.tls_key_path.empty()) CheckFile(&r, "VEIL_TLS_KEY", c.tls_key_path);
  if (!c.tls_ca_path.empty()) CheckFile(&r, "VEIL_TLS_CA", c.tls_ca_path);

  // Worker mechanics.
  c.lease_ttl_s = r.Int("VEIL_LEASE_TTL_SECONDS", kDefaultLeaseTtlSeconds, 2, kMaxLeaseTtlSeconds);
  const auto renew = r.Int("VEIL_LEASE_RENEW_SECONDS", 1, kMaxLeaseTtlSeconds);
  c.lease_renew_s =
      renew.value_or(std::max<int64_t>(1, std::min(kDefaultLeaseRenewSeconds, c.lease_ttl_s / 2)));
  if (c.lease_renew_s * 2 > c.lease_ttl_s) {
    r.Problem(renew ? "VEIL_LEASE_RENEW_SECONDS" : "VEIL_LEASE_TTL_SECONDS", "inconsistent_value",
              "VEIL_LEASE_RENEW_SECONDS (" + std::to_string(c.lease_renew_s) +
                  ") must be at most half of VEIL_LEASE_TTL_SECONDS (" +
                  std::to_string(c.lease_ttl_s) + ") so that one missed renewal is survivable");
  }
  c.shutdown_grace_s = r.Int("VEIL_SHUTDOWN_GRACE_SECONDS", kDefaultShutdownGraceSeconds, 0,
                             kMaxShutdownGraceSeconds);
  c.heartbeat_interval_s = r.Int("VEIL_HEARTBEAT_INTERVAL_SECONDS",
                                 kDefaultHeartbeatIntervalSeconds, 1, kMaxHeartbeatIntervalSeconds);
  c.status_stream_max_len = r.Int("VEIL_STATUS_STREAM_MAXLEN", kDefaultStatusStreamMaxLen,
                                  kMinStatusStreamMaxLen, kMaxStatusStreamMaxLen);

  // Notices: ignored variables (one notice per group), production hints.
  std::vector<std::string> ray, python_only, unknown_in_file;
  for (const std::string& name : env.Names()) {
    if (name.rfind("RAY_", 0) == 0)
      ray.push_back(name);
    else if (In(kPythonWorkerOnlyVariables, name))
      python_only.push_back(name);
  }
  for (const std::string& name : env.FileNames()) {
    if (name.rfind("RAY_", 0) != 0 && !In(kPythonWorkerOnlyVariables, name) &&
        !In(kVeilVariables, name)) {
      unknown_in_file.push_back(name);
    }
  }
  if (!ray.empty()) {
    c.notices.push_back("RAY_* variables are accepted and ignored (veil needs no Ray" +
                        std::string(c.ray_head_address
                                        ? "; RAY_HEAD_ADDRESS is only checked against NODE_IP"
                                        : "") +
                        "): " + JoinComma(ray));
  }
  if (!python_only.empty()) {
    c.notices.push_back(
        "settings of the Python Celery worker are accepted and ignored (veil has no "
        "equivalent): " +
        JoinComma(python_only));
  }
  if (!unknown_in_file.empty()) {
    c.notices.push_back("the env file sets variables veil does not know (typo?): " +
                        JoinComma(unknown_in_file));
  }
  if (c.app_env == AppEnv::kProduction && !c.tls_enabled()) {
    c.notices.push_back(
        "production without VEIL_TLS_CERT/VEIL_TLS_KEY: links between parties are not encrypted");
  }
  if (c.app_env == AppEnv::kProduction && node_ip && IsLoopback(*node_ip)) {
    c.notices.push_back("production with a loopback NODE_IP (" + c.node_ip +
                        "): other nodes cannot reach this one");
  }

  for (const std::string& name : env.Names()) {
    if (In(kVeilVariables, name) || name.rfind("RAY_", 0) == 0 ||
        In(kPythonWorkerOnlyVariables, name)) {
      c.sources[name] = env.SourceOf(name);
    }
  }
  check.problems = problems.list();
  return check;
}

StatusOr<NodeConfig> LoadNodeConfig(const EnvSource& env) {
  NodeConfigCheck check = CheckNodeConfig(env);
  if (!check.ok()) return check.ToStatus();
  return std::move(check.config);
}

nlohmann::json NodeConfigToJson(const NodeConfig& c) {
  auto range = [](const PortRange& r) -> nlohmann::json {
    if (!r.configured()) return nullptr;
    return {{"start", r.start}, {"end", r.end}};
  };
  auto or_null = [](const std::string& s) -> nlohmann::json {
    return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s);
  };
  nlohmann::json j = {
      {"node_id", c.node_id},
      {"node_ip", c.node_ip},
      {"hostname", c.hostname()},
      {"app_env", std::string(AppEnvName(c.app_env))},
      {"debug", c.debug},
      {"redis",
       {{"url", c.redis.RedactedUrl()},
        {"host", c.redis.host},
        {"port", c.redis.port},
        {"db", c.redis.db},
        {"username", or_null(c.redis.username)},
        {"password", c.redis.password.empty() ? nlohmann::json(nullptr)
                                              : nlohmann::json(std::string(kRedacted))}}},
      {"queue", c.queue},
      {"max_concurrent_tasks", c.max_concurrent_tasks},
      {"data_path", c.data_path},
      {"log_level", c.log_level},
      {"log_format", std::string(LogFormatName(c.log_format))},
      {"task_soft_time_limit_s", c.task_soft_time_limit_s},
      {"task_time_limit_s", c.task_time_limit_s},
      {"result_expires_s", c.result_expires_s},
      {"sf_port_range", range(c.sf_ports)},
      {"spu_port_range", range(c.spu_ports)},
      {"heu_port_range", range(c.heu_ports)},
      {"tls",
       {{"enabled", c.tls_enabled()},
        {"cert", or_null(c.tls_cert_path)},
        {"key", or_null(c.tls_key_path)},
        {"ca", or_null(c.tls_ca_path)}}},
      {"lease_ttl_s", c.lease_ttl_s},
      {"lease_renew_s", c.lease_renew_s},
      {"shutdown_grace_s", c.shutdown_grace_s},
      {"heartbeat_interval_s", c.heartbeat_interval_s},
      {"status_stream_max_len", c.status_stream_max_len},
      {"ray_head_address",
       c.ray_head_address ? nlohmann::json(*c.ray_head_address) : nlohmann::json(nullptr)},
      {"sources", c.sources},
  };
  return j;
}

ConfigCheckResult ConfigCheckReport(const EnvSource& env, ReportFormat format) {
  const NodeConfigCheck check = CheckNodeConfig(env);
  ConfigCheckResult result;
  result.exit_code = check.ok() ? kConfigCheckExitOk : kConfigCheckExitProblems;
  const nlohmann::json config = NodeConfigToJson(check.config);
  if (format == ReportFormat::kJson) {
    nlohmann::json problems = nlohmann::json::array();
    for (const FieldProblem& p : check.problems) {
      problems.push_back({{"variable", p.path}, {"code", p.code}, {"message", p.message}});
    }
    nlohmann::json report = {{"ok", check.ok()},
                             {"problems", std::move(problems)},
                             {"notices", check.config.notices},
                             {"config", config}};
    result.report = report.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    return result;
  }
  std::string out;
  if (check.ok()) {
    out += "veil config check: OK\n";
  } else {
    out += "veil config check: " + std::to_string(check.problems.size()) + " problem(s)\n";
    for (const FieldProblem& p : check.problems) {
      out += "  " + p.path + " [" + p.code + "]: " + p.message + "\n";
    }
  }
  if (!check.config.notices.empty()) {
    out += "notices:\n";
    for (const std::string& n : check.config.notices) out += "  - " + n + "\n";
  }
  out += "effective configuration (secrets redacted):\n" +
         config.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  result.report = std::move(out);
  return result;
}

}  // namespace veil::worker
