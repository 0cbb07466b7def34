#include "veil/worker/node_config.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include <gtest/gtest.h>

namespace veil::worker {
namespace {

namespace fs = std::filesystem;
using Vars = std::map<std::string, std::string>;

class NodeConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "veil_node_config_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    data_ = dir_ + "/data";
    fs::create_directory(data_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // A valid development configuration plus `extra` (an empty value removes a variable).
  Vars Valid(const Vars& extra = {}) const {
    Vars v = {{"NODE_ID", "node1"}, {"NODE_IP", "192.168.1.10"}, {"DATA_PATH", data_}};
    for (const auto& [k, val] : extra) v[k] = val;
    return v;
  }
  std::string Touch(const std::string& name) const {
    const std::string p = dir_ + "/" + name;
    std::ofstream(p) << "-----BEGIN X-----\n";
    return p;
  }
  static NodeConfigCheck Check(const Vars& vars) {
    return CheckNodeConfig(EnvSource::FromMap(vars));
  }
  static bool Has(const NodeConfigCheck& c, const std::string& path, const std::string& code) {
    for (const FieldProblem& p : c.problems) {
      if (p.path == path && p.code == code) return true;
    }
    return false;
  }
  static std::string Dump(const NodeConfigCheck& c) {
    std::string s;
    for (const FieldProblem& p : c.problems) s += p.path + " [" + p.code + "] " + p.message + "\n";
    return s;
  }
  static int NoticesContaining(const NodeConfig& c, const std::string& needle) {
    int n = 0;
    for (const std::string& s : c.notices) n += s.find(needle) != std::string::npos;
    return n;
  }

  std::string dir_;
  std::string data_;
};

TEST_F(NodeConfigTest, MinimalConfigurationGetsTheDocumentedDefaults) {
  auto cfg = LoadNodeConfig(EnvSource::FromMap(Valid()));
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->node_id, "node1");
  EXPECT_EQ(cfg->node_ip, "192.168.1.10");
  EXPECT_EQ(cfg->hostname(), "node1@192.168.1.10");
  EXPECT_EQ(cfg->app_env, AppEnv::kDevelopment);
  EXPECT_FALSE(cfg->debug);
  EXPECT_EQ(cfg->redis.host, "127.0.0.1");
  EXPECT_EQ(cfg->redis.port, 6379);
  EXPECT_EQ(cfg->redis.db, 0);
  EXPECT_EQ(cfg->redis.password, "");
  EXPECT_EQ(cfg->queue, "secretflow_queue");
  EXPECT_EQ(cfg->max_concurrent_tasks, 2);
  EXPECT_EQ(cfg->data_path, fs::canonical(data_).string());
  EXPECT_EQ(cfg->log_level, "info");
  EXPECT_EQ(cfg->log_format, LogFormat::kText);
  EXPECT_EQ(cfg->task_soft_time_limit_s, 3600);
  EXPECT_EQ(cfg->task_time_limit_s, 7200);
  EXPECT_EQ(cfg->result_expires_s, 86400);
  EXPECT_FALSE(cfg->sf_ports.configured());
  EXPECT_FALSE(cfg->tls_enabled());
  EXPECT_EQ(cfg->lease_ttl_s, 60);
  EXPECT_EQ(cfg->lease_renew_s, 20);
  EXPECT_EQ(cfg->shutdown_grace_s, 30);
  EXPECT_EQ(cfg->heartbeat_interval_s, 10);
  EXPECT_EQ(cfg->sources.at("NODE_ID"), "environment");
  EXPECT_TRUE(cfg->notices.empty());
}

TEST_F(NodeConfigTest, FullConfigurationIsRead) {
  const std::string cert = Touch("cert.pem"), key = Touch("key.pem"), ca = Touch("ca.pem");
  auto cfg =
      LoadNodeConfig(EnvSource::FromMap(Valid({{"APP_ENV", "Production"},
                                               {"REDIS_URL", "redis://:s3cret@10.0.0.5:60379/2"},
                                               {"MAX_CONCURRENT_TASKS", "8"},
                                               {"LOG_LEVEL", "WARNING"},
                                               {"LOG_FORMAT", "json"},
                                               {"TASK_SOFT_TIME_LIMIT", "100"},
                                               {"TASK_TIME_LIMIT", "200"},
                                               {"RESULT_EXPIRES", "0"},
                                               {"SF_PORT_RANGE_START", "19000"},
                                               {"SF_PORT_RANGE_END", "19009"},
                                               {"SPU_PORT_RANGE_START", "19500"},
                                               {"SPU_PORT_RANGE_END", "19509"},
                                               {"HEU_PORT_RANGE_START", "19800"},
                                               {"HEU_PORT_RANGE_END", "19809"},
                                               {"VEIL_TLS_CERT", cert},
                                               {"VEIL_TLS_KEY", key},
                                               {"VEIL_TLS_CA", ca},
                                               {"TASK_DEFAULT_QUEUE", "party_a_queue"},
                                               {"VEIL_LEASE_TTL_SECONDS", "30"},
                                               {"VEIL_LEASE_RENEW_SECONDS", "10"},
                                               {"RAY_HEAD_ADDRESS", "192.168.1.10:61379"}})));
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->app_env, AppEnv::kProduction);
  EXPECT_EQ(cfg->redis.host, "10.0.0.5");
  EXPECT_EQ(cfg->redis.port, 60379);
  EXPECT_EQ(cfg->redis.db, 2);
  EXPECT_EQ(cfg->redis.password, "s3cret");
  EXPECT_EQ(cfg->max_concurrent_tasks, 8);
  EXPECT_EQ(cfg->log_level, "warn");
  EXPECT_EQ(cfg->log_format, LogFormat::kJson);
  EXPECT_EQ(cfg->task_soft_time_limit_s, 100);
  EXPECT_EQ(cfg->task_time_limit_s, 200);
  EXPECT_EQ(cfg->result_expires_s, 0);
  EXPECT_EQ(cfg->sf_ports.start, 19000);
  EXPECT_EQ(cfg->sf_ports.end, 19009);
  EXPECT_TRUE(cfg->spu_ports.Contains(19505));
  EXPECT_EQ(cfg->heu_ports.end, 19809);
  EXPECT_TRUE(cfg->tls_enabled());
  EXPECT_EQ(cfg->tls_ca_path, ca);
  EXPECT_EQ(cfg->queue, "party_a_queue");
  EXPECT_EQ(cfg->lease_ttl_s, 30);
  EXPECT_EQ(cfg->lease_renew_s, 10);
  EXPECT_EQ(NoticesContaining(*cfg, "RAY_HEAD_ADDRESS"), 1);
}

TEST_F(NodeConfigTest, EveryProblemIsListedWithItsVariable) {
  const NodeConfigCheck c = Check({{"NODE_IP", "300.1.1.1"},
                                   {"APP_ENV", "staging"},
                                   {"DEBUG", "maybe"},
                                   {"MAX_CONCURRENT_TASKS", "0"},
                                   {"DATA_PATH", dir_ + "/missing"},
                                   {"LOG_FORMAT", "xml"},
                                   {"TASK_SOFT_TIME_LIMIT", "-5"},
                                   {"SF_PORT_RANGE_START", "70000"},
                                   {"SF_PORT_RANGE_END", "70010"},
                                   {"SPU_PORT_RANGE_START", "100"},
                                   {"REDIS_URL", "http://x"},
                                   {"VEIL_TLS_CERT", dir_ + "/nope.pem"}});
  EXPECT_TRUE(Has(c, "NODE_ID", "missing_field")) << Dump(c);
  EXPECT_TRUE(Has(c, "NODE_IP", "invalid_value")) << Dump(c);
  EXPECT_TRUE(Has(c, "APP_ENV", "invalid_value")) << Dump(c);
  EXPECT_TRUE(Has(c, "DEBUG", "invalid_value")) << Dump(c);
  EXPECT_TRUE(Has(c, "MAX_CONCURRENT_TASKS", "out_of_range")) << Dump(c);
  EXPECT_TRUE(Has(c, "DATA_PATH", "not_found")) << Dump(c);
  EXPECT_TRUE(Has(c, "LOG_FORMAT", "invalid_value")) << Dump(c);
  EXPECT_TRUE(Has(c, "TASK_SOFT_TIME_LIMIT", "out_of_range")) << Dump(c);
  EXPECT_TRUE(Has(c, "SF_PORT_RANGE_START", "out_of_range")) << Dump(c);
  EXPECT_TRUE(Has(c, "SF_PORT_RANGE_END", "out_of_range")) << Dump(c);
  EXPECT_TRUE(Has(c, "SPU_PORT_RANGE_END", "missing_field")) << Dump(c);
  EXPECT_TRUE(Has(c, "REDIS_URL", "bad_redis_url")) << Dump(c);
  EXPECT_TRUE(Has(c, "VEIL_TLS_KEY", "missing_field")) << Dump(c);
  EXPECT_TRUE(Has(c, "VEIL_TLS_CERT", "not_found")) << Dump(c);
  EXPECT_EQ(c.problems.size(), 14u) << Dump(c);

  const Status s = c.ToStatus();
  EXPECT_EQ(s.type(), ErrorType::kParameterValidation);
  EXPECT_EQ(s.code(), "invalid_node_config");
  EXPECT_EQ(s.stage(), "config");
  EXPECT_EQ(s.problems().size(), 14u);
  EXPECT_NE(s.message().find("MAX_CONCURRENT_TASKS"), std::string::npos);
  auto loaded = LoadNodeConfig(EnvSource::FromMap({{"NODE_IP", "1.2.3.4"}}));
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), "invalid_node_config");
}

TEST_F(NodeConfigTest, RequiredVariablesSetButEmpty) {
  const NodeConfigCheck c = Check(Valid({{"NODE_ID", ""}}));
  ASSERT_TRUE(Has(c, "NODE_ID", "missing_field")) << Dump(c);
  EXPECT_NE(c.problems[0].message.find("set but empty"), std::string::npos);
}

TEST_F(NodeConfigTest, NodeIdAndNodeIp) {
  EXPECT_TRUE(Has(Check(Valid({{"NODE_ID", "node 1"}})), "NODE_ID", "invalid_value"));
  EXPECT_TRUE(Has(Check(Valid({{"NODE_ID", "a:b"}})), "NODE_ID", "invalid_value"));
  EXPECT_TRUE(Check(Valid({{"NODE_ID", "alice-node_1.prod"}})).ok());
  EXPECT_TRUE(Check(Valid({{"NODE_IP", "fd00::1"}})).ok());
  EXPECT_TRUE(Check(Valid({{"NODE_IP", "127.0.0.1"}})).ok());
  EXPECT_TRUE(Has(Check(Valid({{"NODE_IP", "0.0.0.0"}})), "NODE_IP", "invalid_value"));
  EXPECT_TRUE(Has(Check(Valid({{"NODE_IP", "::"}})), "NODE_IP", "invalid_value"));
  EXPECT_TRUE(Has(Check(Valid({{"NODE_IP", "node1.example.com"}})), "NODE_IP", "invalid_value"));
  EXPECT_TRUE(Has(Check(Valid({{"NODE_IP", "10.0.0.1:80"}})), "NODE_IP", "invalid_value"));
}

TEST_F(NodeConfigTest, RayHeadAddressMustUseNodeIp) {
  EXPECT_TRUE(Check(Valid({{"RAY_HEAD_ADDRESS", "192.168.1.10:61379"}})).ok());
  EXPECT_TRUE(Check(Valid({{"RAY_HEAD_ADDRESS", "ray://192.168.1.10:10001"}})).ok());
  EXPECT_TRUE(Check(Valid({{"RAY_HEAD_ADDRESS", "192.168.1.10"}})).ok());
  EXPECT_TRUE(Check(Valid({{"RAY_HEAD_ADDRESS", "auto"}})).ok());
  EXPECT_TRUE(
      Check(Valid({{"NODE_IP", "fd00::1"}, {"RAY_HEAD_ADDRESS", "[fd00:0::1]:61379"}})).ok());
  EXPECT_TRUE(
      Check(Valid({{"NODE_IP", "127.0.0.1"}, {"RAY_HEAD_ADDRESS", "localhost:6379"}})).ok());
  // The seed's obsolete "worker" layout points node2 at node1's head: a misconfiguration now.
  const NodeConfigCheck c = Check(Valid({{"RAY_HEAD_ADDRESS", "192.168.1.11:61379"}}));
  ASSERT_TRUE(Has(c, "RAY_HEAD_ADDRESS", "inconsistent_value")) << Dump(c);
  EXPECT_NE(c.problems[0].message.find("192.168.1.11"), std::string::npos);
  EXPECT_NE(c.problems[0].message.find("192.168.1.10"), std::string::npos);
}

TEST_F(NodeConfigTest, RayAndPythonWorkerVariablesGetOneNoticeEach) {
  const NodeConfigCheck c = Check(Valid({{"RAY_PORT", "61379"},
                                         {"RAY_NUM_CPUS", "0"},
                                         {"RAY_NODE_TYPE", "head"},
                                         {"WORKER_MAX_TASKS_PER_CHILD", "100"},
                                         {"CELERY_WORKER_POOL", "prefork"},
                                         {"TIMEZONE", "Asia/Shanghai"}}));
  ASSERT_TRUE(c.ok()) << Dump(c);
  ASSERT_EQ(c.config.notices.size(), 2u);
  EXPECT_EQ(NoticesContaining(c.config, "RAY_NODE_TYPE, RAY_NUM_CPUS, RAY_PORT"), 1);
  EXPECT_EQ(NoticesContaining(c.config, "CELERY_WORKER_POOL, TIMEZONE, WORKER_MAX_TASKS_PER_CHILD"),
            1);
  EXPECT_EQ(c.config.sources.at("RAY_PORT"), "environment");
}

TEST_F(NodeConfigTest, PortRanges) {
  auto ranges = [&](Vars extra) { return Check(Valid(extra)); };
  EXPECT_TRUE(ranges({{"SF_PORT_RANGE_START", "19000"}, {"SF_PORT_RANGE_END", "19000"}}).ok());
  NodeConfigCheck c = ranges({{"SF_PORT_RANGE_START", "19010"}, {"SF_PORT_RANGE_END", "19000"}});
  EXPECT_TRUE(Has(c, "SF_PORT_RANGE_START", "invalid_value")) << Dump(c);
  c = ranges({{"SPU_PORT_RANGE_END", "19000"}});
  EXPECT_TRUE(Has(c, "SPU_PORT_RANGE_START", "missing_field")) << Dump(c);
  c = ranges({{"HEU_PORT_RANGE_START", "0"}, {"HEU_PORT_RANGE_END", "x"}});
  EXPECT_TRUE(Has(c, "HEU_PORT_RANGE_START", "out_of_range")) << Dump(c);
  EXPECT_TRUE(Has(c, "HEU_PORT_RANGE_END", "invalid_value")) << Dump(c);
  // The python-worker.md §4.2 plan for node2 overlaps nothing; these do.
  c = ranges({{"SF_PORT_RANGE_START", "19000"},
              {"SF_PORT_RANGE_END", "19100"},
              {"SPU_PORT_RANGE_START", "19100"},
              {"SPU_PORT_RANGE_END", "19200"},
              {"HEU_PORT_RANGE_START", "18000"},
              {"HEU_PORT_RANGE_END", "20000"}});
  EXPECT_TRUE(Has(c, "SPU_PORT_RANGE_START", "overlap")) << Dump(c);
  EXPECT_TRUE(Has(c, "HEU_PORT_RANGE_START", "overlap")) << Dump(c);
  EXPECT_EQ(c.problems.size(), 3u) << Dump(c);
  // A range containing the port of a Redis on this host.
  c = ranges({{"SF_PORT_RANGE_START", "6000"}, {"SF_PORT_RANGE_END", "7000"}});
  EXPECT_TRUE(Has(c, "SF_PORT_RANGE_START", "overlap")) << Dump(c);
  c = ranges(
      {{"SF_PORT_RANGE_START", "6000"}, {"SF_PORT_RANGE_END", "7000"}, {"REDIS_HOST", "10.9.9.9"}});
  EXPECT_TRUE(c.ok()) << Dump(c);  // a remote Redis does not collide
}

TEST_F(NodeConfigTest, ConcurrencyAndTimeLimits) {
  EXPECT_TRUE(
      Has(Check(Valid({{"MAX_CONCURRENT_TASKS", "65"}})), "MAX_CONCURRENT_TASKS", "out_of_range"));
  EXPECT_TRUE(Has(Check(Valid({{"MAX_CONCURRENT_TASKS", "2.5"}})), "MAX_CONCURRENT_TASKS",
                  "invalid_value"));
  EXPECT_EQ(Check(Valid({{"MAX_CONCURRENT_TASKS", " 64 "}})).config.max_concurrent_tasks, 64);
  NodeConfigCheck c = Check(Valid({{"TASK_SOFT_TIME_LIMIT", "7200"}}));
  EXPECT_TRUE(Has(c, "TASK_SOFT_TIME_LIMIT", "inconsistent_value")) << Dump(c);
  c = Check(Valid({{"TASK_TIME_LIMIT", "3000"}}));  // below the default soft limit
  EXPECT_TRUE(Has(c, "TASK_TIME_LIMIT", "inconsistent_value")) << Dump(c);
  c = Check(Valid({{"TASK_TIME_LIMIT", "0"}}));
  EXPECT_TRUE(Has(c, "TASK_TIME_LIMIT", "out_of_range")) << Dump(c);
  EXPECT_EQ(c.problems.size(), 1u) << Dump(c);
  c = Check(Valid({{"VEIL_LEASE_TTL_SECONDS", "30"}, {"VEIL_LEASE_RENEW_SECONDS", "20"}}));
  EXPECT_TRUE(Has(c, "VEIL_LEASE_RENEW_SECONDS", "inconsistent_value")) << Dump(c);
  c = Check(Valid({{"VEIL_LEASE_TTL_SECONDS", "10"}}));
  EXPECT_TRUE(c.ok()) << Dump(c);
  EXPECT_EQ(c.config.lease_renew_s, 5);
}

TEST_F(NodeConfigTest, RedisVariables) {
  NodeConfigCheck c = Check(Valid({{"REDIS_HOST", "10.1.2.3"},
                                   {"REDIS_PORT", "60379"},
                                   {"REDIS_DB", "3"},
                                   {"REDIS_PASSWORD", "pw"}}));
  ASSERT_TRUE(c.ok()) << Dump(c);
  EXPECT_EQ(c.config.redis.endpoint(), "10.1.2.3:60379/3");
  EXPECT_EQ(c.config.redis.password, "pw");

  // REDIS_PASSWORD completes a URL without password (docker-style split).
  c = Check(Valid({{"REDIS_URL", "redis://10.1.2.3:60379/1"}, {"REDIS_PASSWORD", "pw"}}));
  ASSERT_TRUE(c.ok()) << Dump(c);
  EXPECT_EQ(c.config.redis.password, "pw");
  // Agreeing duplicates are fine, disagreeing ones are conflicts.
  EXPECT_TRUE(Check(Valid({{"REDIS_URL", "redis://h:1/0"}, {"REDIS_HOST", "h"}})).ok());
  c = Check(Valid({{"REDIS_URL", "redis://:a@h:1/0"},
                   {"REDIS_HOST", "other"},
                   {"REDIS_PORT", "2"},
                   {"REDIS_DB", "5"},
                   {"REDIS_PASSWORD", "b"}}));
  EXPECT_TRUE(Has(c, "REDIS_HOST", "conflict")) << Dump(c);
  EXPECT_TRUE(Has(c, "REDIS_PORT", "conflict")) << Dump(c);
  EXPECT_TRUE(Has(c, "REDIS_DB", "conflict")) << Dump(c);
  EXPECT_TRUE(Has(c, "REDIS_PASSWORD", "conflict")) << Dump(c);
  for (const FieldProblem& p : c.problems) {
    EXPECT_EQ(p.message.find("a@"), std::string::npos) << p.message;
  }
  EXPECT_TRUE(
      Has(Check(Valid({{"REDIS_URL", "rediss://h:1/0"}})), "REDIS_URL", "tls_not_supported"));
  EXPECT_TRUE(
      Has(Check(Valid({{"REDIS_URL", "redis://h:99999/0"}})), "REDIS_URL", "bad_redis_url"));
  EXPECT_TRUE(Has(Check(Valid({{"REDIS_PORT", "0"}})), "REDIS_PORT", "out_of_range"));
}

TEST_F(NodeConfigTest, ProductionRules) {
  NodeConfigCheck c = Check(Valid({{"APP_ENV", "production"}, {"DEBUG", "true"}}));
  EXPECT_TRUE(Has(c, "DEBUG", "forbidden_in_production")) << Dump(c);
  EXPECT_EQ(NoticesContaining(c.config, "not encrypted"), 1);
  // Redis without password: fine on loopback, forbidden elsewhere.
  EXPECT_TRUE(
      Check(Valid({{"APP_ENV", "production"}, {"REDIS_URL", "redis://127.0.0.1:60379/0"}})).ok());
  EXPECT_TRUE(Check(Valid({{"APP_ENV", "production"}, {"REDIS_HOST", "localhost"}})).ok());
  EXPECT_TRUE(
      Check(Valid({{"APP_ENV", "production"}, {"REDIS_URL", "redis://[::1]:6379/0"}})).ok());
  c = Check(Valid({{"APP_ENV", "production"}, {"REDIS_URL", "redis://10.0.0.5:6379/0"}}));
  EXPECT_TRUE(Has(c, "REDIS_URL", "forbidden_in_production")) << Dump(c);
  c = Check(Valid({{"APP_ENV", "production"}, {"REDIS_HOST", "redis.internal"}}));
  EXPECT_TRUE(Has(c, "REDIS_PASSWORD", "forbidden_in_production")) << Dump(c);
  EXPECT_TRUE(Check(Valid({{"APP_ENV", "production"},
                           {"REDIS_HOST", "redis.internal"},
                           {"REDIS_PASSWORD", "x"}}))
                  .ok());
  // Development allows all of it.
  EXPECT_TRUE(Check(Valid({{"DEBUG", "true"}, {"REDIS_HOST", "10.0.0.5"}})).ok());
  EXPECT_EQ(Check(Valid({{"DEBUG", "true"}})).config.log_level, "debug");
}

TEST_F(NodeConfigTest, TlsFiles) {
  const std::string cert = Touch("cert.pem"), key = Touch("key.pem");
  EXPECT_TRUE(Check(Valid({{"VEIL_TLS_CERT", cert}, {"VEIL_TLS_KEY", key}})).ok());
  NodeConfigCheck c = Check(Valid({{"VEIL_TLS_KEY", key}}));
  EXPECT_TRUE(Has(c, "VEIL_TLS_CERT", "missing_field")) << Dump(c);
  c = Check(Valid({{"VEIL_TLS_CA", dir_ + "/ca.pem"}}));
  EXPECT_TRUE(Has(c, "VEIL_TLS_CA", "inconsistent_value")) << Dump(c);
  EXPECT_TRUE(Has(c, "VEIL_TLS_CA", "not_found")) << Dump(c);
  c = Check(Valid({{"VEIL_TLS_CERT", dir_}, {"VEIL_TLS_KEY", key}}));
  EXPECT_TRUE(Has(c, "VEIL_TLS_CERT", "not_a_file")) << Dump(c);
}

TEST_F(NodeConfigTest, DataPath) {
  const std::string file = Touch("plain.txt");
  EXPECT_TRUE(Has(Check(Valid({{"DATA_PATH", file}})), "DATA_PATH", "not_a_directory"));
  fs::create_directory_symlink(data_, dir_ + "/link");
  const NodeConfigCheck c = Check(Valid({{"DATA_PATH", dir_ + "/link/../data/."}}));
  ASSERT_TRUE(c.ok()) << Dump(c);
  EXPECT_EQ(c.config.data_path, fs::canonical(data_).string());
}

TEST_F(NodeConfigTest, LogLevels) {
  EXPECT_EQ(Check(Valid({{"LOG_LEVEL", "Error"}})).config.log_level, "error");
  EXPECT_EQ(Check(Valid({{"CELERY_LOG_LEVEL", "DEBUG"}})).config.log_level, "debug");
  EXPECT_EQ(Check(Valid({{"LOG_LEVEL", "info"}, {"CELERY_LOG_LEVEL", "DEBUG"}})).config.log_level,
            "info");
  EXPECT_TRUE(Has(Check(Valid({{"LOG_LEVEL", "loud"}})), "LOG_LEVEL", "invalid_value"));
  EXPECT_TRUE(
      Has(Check(Valid({{"CELERY_LOG_LEVEL", "loud"}})), "CELERY_LOG_LEVEL", "invalid_value"));
}

// ---- .env files ---------------------------------------------------------------------------------

TEST(NodeConfigDotEnv, Syntax) {
  Problems problems;
  const auto entries = ParseDotEnv(
      "\xEF\xBB\xBF# comment\n"
      "\n"
      "PLAIN=value\n"
      "  SPACED = spaced value   # trailing comment\n"
      "export EXPORTED=1\n"
      "HASH=a#b\n"
      "EMPTY=\n"
      "DOUBLE=\"line1\\nline2\\t\\\"q\\\" \\$HOME \\x\"  # ok\n"
      "MULTI=\"first\n"
      "second\"\n"
      "CRLF=crlf\r\n"
      "LAST=end",
      "node.env", &problems);
  EXPECT_TRUE(problems.empty()) << problems.ToStatus().ToString();
  std::map<std::string, std::string> kv;
  std::map<std::string, int> line;
  for (const auto& e : entries) {
    kv[e.key] = e.value;
    line[e.key] = e.line;
  }
  EXPECT_EQ(kv["PLAIN"], "value");
  EXPECT_EQ(kv["SPACED"], "spaced value");
  EXPECT_EQ(kv["EXPORTED"], "1");
  EXPECT_EQ(kv["HASH"], "a#b");
  EXPECT_EQ(kv["EMPTY"], "");
  EXPECT_EQ(kv["DOUBLE"], "line1\nline2\t\"q\" $HOME \\x");
  EXPECT_EQ(kv["MULTI"], "first\nsecond");
  EXPECT_EQ(kv["CRLF"], "crlf");
  EXPECT_EQ(kv["LAST"], "end");
  EXPECT_EQ(line["PLAIN"], 3);
  EXPECT_EQ(line["MULTI"], 9);
  EXPECT_EQ(line["CRLF"], 11);
  EXPECT_EQ(line["LAST"], 12);
}

TEST(NodeConfigDotEnv, SingleQuotesAreLiteral) {
  Problems problems;
  const auto entries = ParseDotEnv("A='x ${Y} \\n \\' \\\\ z'\n", "f", &problems);
  ASSERT_TRUE(problems.empty()) << problems.ToStatus().ToString();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].value, "x ${Y} \\n ' \\ z");
}

TEST(NodeConfigDotEnv, MalformedLinesNameFileAndLine) {
  Problems problems;
  const auto entries = ParseDotEnv(
      "GOOD=1\n"
      "just some words\n"
      "1BAD=x\n"
      "NOEQ\n"
      "Q=\"closed\" trailing\n"
      "ALSO_GOOD=2\n"
      "OPEN=\"never closed\n"
      "HIDDEN=3\n",
      "/etc/veil/node.env", &problems);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].key, "GOOD");
  EXPECT_EQ(entries[1].key, "ALSO_GOOD");
  EXPECT_TRUE(problems.Has("/etc/veil/node.env:2", "malformed_line"));
  EXPECT_TRUE(problems.Has("/etc/veil/node.env:3", "malformed_line"));
  EXPECT_TRUE(problems.Has("/etc/veil/node.env:4", "malformed_line"));
  EXPECT_TRUE(problems.Has("/etc/veil/node.env:5", "malformed_line"));
  EXPECT_TRUE(problems.Has("/etc/veil/node.env:7", "malformed_line"));
  EXPECT_EQ(problems.size(), 5u);
  EXPECT_NE(problems.list()[4].message.find("unterminated double-quoted value of 'OPEN'"),
            std::string::npos);
  EXPECT_NE(problems.list()[0].message.find("/etc/veil/node.env line 2"), std::string::npos);
}

TEST_F(NodeConfigTest, EnvironmentWinsOverTheFile) {
  EnvSource env = EnvSource::FromMap({{"NODE_ID", "from-env"}, {"DATA_PATH", data_}});
  env.AddEnvText(
      "NODE_ID=from-file\n"
      "NODE_IP=10.0.0.7\n"
      "MAX_CONCURRENT_TASKS=4\n"
      "MAX_CONCURRENT_TASKS=5\n"
      "REDIS_PASSWORD=\n"
      "DATA_PATH=${HOME}/data\n"
      "SOME_TYPO_VAR=1\n"
      "RAY_PORT=61379\n",
      "node.env");
  const NodeConfigCheck c = CheckNodeConfig(env);
  ASSERT_TRUE(c.ok()) << Dump(c);
  EXPECT_EQ(c.config.node_id, "from-env");
  EXPECT_EQ(c.config.node_ip, "10.0.0.7");
  EXPECT_EQ(c.config.max_concurrent_tasks, 5);
  EXPECT_EQ(c.config.redis.password, "");  // empty = unset
  EXPECT_EQ(c.config.sources.at("NODE_ID"), "environment");
  EXPECT_EQ(c.config.sources.at("NODE_IP"), "node.env:2");
  EXPECT_EQ(c.config.sources.at("MAX_CONCURRENT_TASKS"), "node.env:4");
  EXPECT_EQ(NoticesContaining(c.config, "overrides node.env for: DATA_PATH, NODE_ID"), 1);
  EXPECT_EQ(NoticesContaining(c.config, "MAX_CONCURRENT_TASKS (lines 3 and 4)"), 1);
  EXPECT_EQ(NoticesContaining(c.config, "not interpolated"), 1);
  EXPECT_EQ(NoticesContaining(c.config, "(typo?): SOME_TYPO_VAR"), 1);
  EXPECT_EQ(NoticesContaining(c.config, "RAY_PORT"), 1);
}

TEST_F(NodeConfigTest, FileProblemsAreReportedWithEveryOtherProblem) {
  EnvSource env = EnvSource::FromMap({});
  env.AddEnvText("NODE_ID=n1\nthis is not valid\n", "a.env");
  env.AddEnvFile(dir_ + "/does-not-exist.env");
  const NodeConfigCheck c = CheckNodeConfig(env);
  EXPECT_TRUE(Has(c, "a.env:2", "malformed_line")) << Dump(c);
  EXPECT_TRUE(Has(c, dir_ + "/does-not-exist.env", "unreadable_file")) << Dump(c);
  EXPECT_TRUE(Has(c, "NODE_IP", "missing_field")) << Dump(c);
  EXPECT_EQ(c.config.node_id, "n1");
}

TEST_F(NodeConfigTest, EnvFileFromDisk) {
  const std::string path = dir_ + "/node.env";
  std::ofstream(path) << "export NODE_ID=disk\nNODE_IP=\"10.0.0.8\"\nDATA_PATH='" << data_ << "'\n";
  EnvSource env = EnvSource::FromMap({});
  env.AddEnvFile(path);
  auto cfg = LoadNodeConfig(env);
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->node_id, "disk");
  EXPECT_EQ(cfg->sources.at("NODE_IP"), path + ":2");
}

TEST(NodeConfigEnv, FromProcessReadsTheEnvironment) {
  ASSERT_EQ(setenv("VEIL_NODE_CONFIG_TEST_VAR", "hello", 1), 0);
  const EnvSource env = EnvSource::FromProcess();
  EXPECT_EQ(env.Get("VEIL_NODE_CONFIG_TEST_VAR"), "hello");
  EXPECT_EQ(env.SourceOf("VEIL_NODE_CONFIG_TEST_VAR"), "environment");
  unsetenv("VEIL_NODE_CONFIG_TEST_VAR");
}

// ---- Output -------------------------------------------------------------------------------------

TEST_F(NodeConfigTest, JsonRedactsSecrets) {
  auto cfg = LoadNodeConfig(
      EnvSource::FromMap(Valid({{"REDIS_URL", "redis://admin:Sup3rS3cret@10.0.0.5:6379/1"}})));
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  const nlohmann::json j = NodeConfigToJson(*cfg);
  EXPECT_EQ(j.dump().find("Sup3rS3cret"), std::string::npos) << j.dump();
  EXPECT_EQ(j["redis"]["url"], "redis://admin:***@10.0.0.5:6379/1");
  EXPECT_EQ(j["redis"]["password"], "***");
  EXPECT_EQ(j["node_id"], "node1");
  EXPECT_EQ(j["max_concurrent_tasks"], 2);
  EXPECT_TRUE(j["sf_port_range"].is_null());
  EXPECT_EQ(j["app_env"], "development");
}

TEST_F(NodeConfigTest, ConfigCheckReport) {
  EnvSource bad = EnvSource::FromMap({{"NODE_IP", "nope"},
                                      {"REDIS_PASSWORD", "TopSecret"},
                                      {"SF_PORT_RANGE_START", "5"},
                                      {"SF_PORT_RANGE_END", "4"},
                                      {"DATA_PATH", data_},
                                      {"RAY_PORT", "1"}});
  const ConfigCheckResult text = ConfigCheckReport(bad, ReportFormat::kText);
  EXPECT_EQ(text.exit_code, kConfigCheckExitProblems);
  for (const char* var :
       {"NODE_ID [missing_field]", "NODE_IP [invalid_value]", "SF_PORT_RANGE_START [invalid_value]",
        "3 problem(s)", "notices:", "RAY_PORT", "effective configuration"}) {
    EXPECT_NE(text.report.find(var), std::string::npos) << var << "\n" << text.report;
  }
  EXPECT_EQ(text.report.find("TopSecret"), std::string::npos) << text.report;

  const ConfigCheckResult js = ConfigCheckReport(bad, ReportFormat::kJson);
  EXPECT_EQ(js.exit_code, kConfigCheckExitProblems);
  const nlohmann::json j = nlohmann::json::parse(js.report);
  EXPECT_FALSE(j["ok"].get<bool>());
  ASSERT_EQ(j["problems"].size(), 3u);
  EXPECT_EQ(j["problems"][0]["variable"], "NODE_ID");
  EXPECT_EQ(j["problems"][0]["code"], "missing_field");
  EXPECT_EQ(j["notices"].size(), 1u);
  EXPECT_EQ(j["config"]["redis"]["password"], "***");
  EXPECT_EQ(js.report.find("TopSecret"), std::string::npos);

  const ConfigCheckResult good =
      ConfigCheckReport(EnvSource::FromMap(Valid()), ReportFormat::kText);
  EXPECT_EQ(good.exit_code, kConfigCheckExitOk);
  EXPECT_EQ(good.report.rfind("veil config check: OK\n", 0), 0u) << good.report;
}

}  // namespace
}  // namespace veil::worker
