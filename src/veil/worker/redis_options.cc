#include "veil/worker/redis_options.h"

#include <cctype>
#include <charconv>
#include <vector>

#include <fmt/format.h>

namespace veil::worker {

namespace {

constexpr std::string_view kRedactedPassword = "***";

Status BadUrl(std::string_view problem) {
  return ParameterError("bad_redis_url", fmt::format("REDIS_URL: {}", problem));
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding of the user info; `what` names the part for the error (never its value).
StatusOr<std::string> PercentDecode(std::string_view s, std::string_view what) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) {
      return BadUrl(fmt::format("bad percent-encoding in the {}", what));
    }
    int hi = HexValue(s[i + 1]);
    int lo = HexValue(s[i + 2]);
    if (hi < 0 || lo < 0) return BadUrl(fmt::format("bad percent-encoding in the {}", what));
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

template <typename Int>
bool ParseInt(std::string_view s, Int* out) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

}  // namespace

StatusOr<RedisOptions> RedisOptions::FromUrl(std::string_view url) {
  RedisOptions options;
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    return BadUrl("missing scheme; expected redis://[:password@]host[:port][/db]");
  }
  std::string scheme(url.substr(0, scheme_end));
  for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme == "rediss") {
    return ParameterError("tls_not_supported",
                          "REDIS_URL: rediss:// (Redis over TLS) is not supported yet; use "
                          "redis:// on a trusted network or a TLS tunnel");
  }
  if (scheme == "unix" || scheme == "redis+socket") {
    return BadUrl("unix sockets are not supported; use redis://host:port/db");
  }
  if (scheme != "redis") {
    return BadUrl(fmt::format("unsupported scheme '{}'; expected redis://", scheme));
  }
  std::string_view rest = url.substr(scheme_end + 3);

  // User info: everything up to the last '@' (so an unencoded '@' in the password works).
  const size_t at = rest.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const size_t colon = userinfo.find(':');
    if (colon == std::string_view::npos) {
      return BadUrl(
          "user name without a password; write redis://:password@host or "
          "redis://user:password@host");
    }
    VEIL_ASSIGN_OR_RETURN(options.username, PercentDecode(userinfo.substr(0, colon), "user"));
    VEIL_ASSIGN_OR_RETURN(options.password, PercentDecode(userinfo.substr(colon + 1), "password"));
    if (options.password.empty()) {
      return BadUrl("empty password after ':'; omit the user info for no password");
    }
  }

  if (rest.find('?') != std::string_view::npos) {
    return BadUrl("query parameters are not supported; write the database as /db");
  }
  if (rest.find('#') != std::string_view::npos) return BadUrl("unexpected '#' fragment");

  std::string_view hostport = rest;
  std::string_view path;
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
    hostport = rest.substr(0, slash);
    path = rest.substr(slash + 1);
  }

  std::string_view port_text;
  if (!hostport.empty() && hostport.front() == '[') {
    const size_t close = hostport.find(']');
    if (close == std::string_view::npos) return BadUrl("unterminated IPv6 address '['");
    options.host = std::string(hostport.substr(1, close - 1));
    std::string_view after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return BadUrl("unexpected text after the IPv6 address");
      port_text = after.substr(1);
      if (port_text.empty()) return BadUrl("empty port after ':'");
    }
  } else {
    const size_t colon = hostport.rfind(':');
    if (colon != std::string_view::npos) {
      options.host = std::string(hostport.substr(0, colon));
      port_text = hostport.substr(colon + 1);
      if (port_text.empty()) return BadUrl("empty port after ':'");
    } else {
      options.host = std::string(hostport);
    }
  }
  if (options.host.empty()) return BadUrl("missing host");
  if (!port_text.empty()) {
    uint32_t port = 0;
    if (!ParseInt(port_text, &port) || port == 0 || port > 65535) {
      return BadUrl(fmt::format("port '{}' is not a number in 1..65535", port_text));
    }
    options.port = static_cast<uint16_t>(port);
  }
  if (!path.empty()) {
    if (!ParseInt(path, &options.db)) {
      return BadUrl(fmt::format("database '{}' is not a non-negative number", path));
    }
  }
  VEIL_RETURN_IF_ERROR(options.Validate());
  return options;
}

Status RedisOptions::Validate() const {
  std::vector<std::string> problems;
  if (host.empty()) problems.emplace_back("host is empty");
  if (port == 0) problems.emplace_back("port is 0");
  if (db < 0) problems.emplace_back("db is negative");
  if (connect_timeout_ms <= 0) problems.emplace_back("connect_timeout_ms must be > 0");
  if (command_timeout_ms <= 0) problems.emplace_back("command_timeout_ms must be > 0");
  if (initial_backoff_ms <= 0) problems.emplace_back("initial_backoff_ms must be > 0");
  if (max_backoff_ms < initial_backoff_ms) {
    problems.emplace_back("max_backoff_ms must be >= initial_backoff_ms");
  }
  if (reconnect_budget_ms < 0) problems.emplace_back("reconnect_budget_ms must be >= 0");
  if (problems.empty()) return Status();
  return ParameterError("bad_redis_options", fmt::format("redis options for {}: {}", endpoint(),
                                                         fmt::join(problems, "; ")));
}

std::string RedisOptions::endpoint() const {
  const bool v6 = host.find(':') != std::string::npos;
  return v6 ? fmt::format("[{}]:{}/{}", host, port, db) : fmt::format("{}:{}/{}", host, port, db);
}

std::string RedisOptions::RedactedUrl() const {
  std::string userinfo;
  if (!password.empty()) userinfo = fmt::format("{}:{}@", username, kRedactedPassword);
  return fmt::format("redis://{}{}", userinfo, endpoint());
}

std::string RedisOptions::Redact(std::string_view text) const {
  std::string out(text);
  if (password.empty()) return out;
  size_t pos = 0;
  while ((pos = out.find(password, pos)) != std::string::npos) {
    out.replace(pos, password.size(), kRedactedPassword);
    pos += kRedactedPassword.size();
  }
  return out;
}

}  // namespace veil::worker
