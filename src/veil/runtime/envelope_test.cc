#include "veil/runtime/envelope.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "veil/base/random.h"
#include "veil/runtime/redact.h"
#include "veil/runtime/test_tasks.h"

namespace veil::runtime {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

RuntimeOptions Opts() {
  RuntimeOptions o;
  o.registry = &testing::FakeRegistry();
  return o;
}

json SumTask() { return {{"task_type", "sum"}, {"values", {{"alice", 1}, {"bob", 2}}}}; }

json LocalEnvelope() {
  return {{"task_id", "t1"},
          {"subtask_id", "s1"},
          {"execution_id", "e1"},
          {"sf_init_config", {{"parties", {"alice", "bob"}}, {"address", "local"}}},
          {"task_config", SumTask()}};
}

json ClusterParties() {
  return {{"alice", {{"address", "10.0.0.1:9001"}, {"listen_addr", "0.0.0.0:9001"}}},
          {"bob", {{"address", "10.0.0.2:9002"}}}};
}

// Documented cluster shape, self = alice.
json ClusterEnvelope() {
  json e = LocalEnvelope();
  e["sf_init_config"] = {{"parties", ClusterParties()}, {"self_party", "alice"}};
  return e;
}

// SecretFlow cluster shape, self = alice.
json SfClusterEnvelope() {
  json e = LocalEnvelope();
  e["sf_init_config"] = {
      {"address", "127.0.0.1:7701"},
      {"cluster_config", {{"parties", ClusterParties()}, {"self_party", "alice"}}}};
  return e;
}

json SpuSection(std::vector<std::string> parties, std::string protocol = "SEMI2K",
                std::string field = "FM64") {
  json nodes = json::array();
  int port = 12345;
  for (const auto& p : parties) {
    nodes.push_back({{"party", p}, {"address", "127.0.0.1:" + std::to_string(port++)}});
  }
  return {{"cluster_def",
           {{"nodes", nodes}, {"runtime_config", {{"protocol", protocol}, {"field", field}}}}}};
}

Envelope Good(const json& e, const RuntimeOptions& o = Opts()) {
  auto r = ParseEnvelope(e, o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return Envelope{};
  return std::move(r).value();
}

Status Bad(const json& e, const RuntimeOptions& o = Opts()) {
  auto r = ParseEnvelope(e, o);
  EXPECT_FALSE(r.ok()) << "expected a validation failure";
  if (r.ok()) return InternalError("test", "parsed unexpectedly");
  EXPECT_EQ(r.status().type(), ErrorType::kParameterValidation);
  return r.status();
}

std::string Dump(const Status& s) {
  std::string out;
  for (const auto& p : s.problems()) out += "\n  " + p.path + " [" + p.code + "] " + p.message;
  return out;
}

bool HasProblem(const Status& s, const std::string& path, const std::string& code) {
  for (const auto& p : s.problems()) {
    if (p.path == path && p.code == code) return true;
  }
  return false;
}

// The envelope has exactly one problem, at `path` with `code`; the status code is that code.
void ExpectOnly(const json& e, const std::string& path, const std::string& code,
                const RuntimeOptions& o = Opts()) {
  Status s = Bad(e, o);
  EXPECT_TRUE(HasProblem(s, path, code)) << "missing " << path << " [" << code << "] in" << Dump(s);
  EXPECT_EQ(s.problems().size(), 1u) << Dump(s);
  EXPECT_EQ(s.code(), code);
}

// ---- top level ----------------------------------------------------------------------------

TEST(EnvelopeTest, ParsesLocalEnvelope) {
  Envelope e = Good(LocalEnvelope());
  EXPECT_EQ(e.task_id, "t1");
  EXPECT_EQ(e.subtask_id, "s1");
  EXPECT_EQ(e.execution_id, "e1");
  EXPECT_TRUE(e.local());
  EXPECT_EQ(e.party_names(), (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ(e.own_parties(), (std::vector<std::string>{"alice", "bob"}));
  EXPECT_FALSE(e.sf_init.self_party);
  EXPECT_EQ(e.sf_init.session_id, "e1");  // default: execution_id
  EXPECT_EQ(e.task_type, "sum");
  EXPECT_FALSE(e.spu);
  EXPECT_FALSE(e.heu);
  EXPECT_EQ(e.env.parties, e.party_names());
  EXPECT_FALSE(e.env.has_spu);
  EXPECT_EQ(e.sf_init.link_options.recv_timeout_ms, link::kDefaultRecvTimeoutMs);
}

TEST(EnvelopeTest, RejectsNonObject) { ExpectOnly(json::array(), "", "wrong_type"); }

TEST(EnvelopeTest, RequiredTopLevelFields) {
  for (const char* key : {"task_id", "subtask_id", "sf_init_config", "task_config"}) {
    json e = LocalEnvelope();
    e.erase(key);
    ExpectOnly(e, key, "missing_field");
  }
  json e = LocalEnvelope();
  e.erase("execution_id");
  ExpectOnly(e, "execution_id", "missing_field");
}

TEST(EnvelopeTest, IdTypesAndEmptiness) {
  json e = LocalEnvelope();
  e["task_id"] = "";     // may be empty (python-worker §2.1)
  e["subtask_id"] = 42;  // database ids are accepted as integers
  Envelope ok = Good(e);
  EXPECT_EQ(ok.task_id, "");
  EXPECT_EQ(ok.subtask_id, "42");

  e = LocalEnvelope();
  e["execution_id"] = "";
  ExpectOnly(e, "execution_id", "empty_value");
  e["execution_id"] = json::array();
  ExpectOnly(e, "execution_id", "wrong_type");
  e["execution_id"] = std::string(kMaxIdLength + 1, 'x');
  ExpectOnly(e, "execution_id", "out_of_range");
  e = LocalEnvelope();
  e["task_id"] = 1.5;
  ExpectOnly(e, "task_id", "wrong_type");
}

TEST(EnvelopeTest, LegacyTaskRequestId) {
  json e = LocalEnvelope();
  e.erase("execution_id");
  e["task_request_id"] = "legacy-1";
  EXPECT_EQ(Good(e).execution_id, "legacy-1");
  EXPECT_EQ(Good(e).sf_init.session_id, "legacy-1");

  e["execution_id"] = "legacy-1";  // both, equal: fine
  EXPECT_EQ(Good(e).execution_id, "legacy-1");

  e["execution_id"] = "other";
  ExpectOnly(e, "task_request_id", "conflicting_value");
}

TEST(EnvelopeTest, UnknownTopLevelKey) {
  json e = LocalEnvelope();
  e["task_confg"] = json::object();
  ExpectOnly(e, "task_confg", "unknown_field");
}

TEST(EnvelopeTest, ListsEveryProblemOfEveryLayer) {
  json e = LocalEnvelope();
  e.erase("subtask_id");                                             // structural
  e["sf_init_config"]["connect_timeout_ms"] = 0;                     // structural
  e["spu_config"] = SpuSection({"alice", "carol"}, "ABY3", "FM32");  // logical + structural
  e["heu_config"] = {{"schema", "paillier"}, {"key_size", 1024}};    // security
  e["task_config"]["values"].erase("bob");                           // task validator
  Status s = Bad(e);
  EXPECT_EQ(s.code(), "invalid_envelope");
  EXPECT_TRUE(HasProblem(s, "subtask_id", "missing_field")) << Dump(s);
  EXPECT_TRUE(HasProblem(s, "sf_init_config.connect_timeout_ms", "out_of_range")) << Dump(s);
  EXPECT_TRUE(HasProblem(s, "spu_config.cluster_def.runtime_config.field", "unsupported_value"));
  EXPECT_TRUE(HasProblem(s, "spu_config.cluster_def.nodes[1].party", "unknown_party")) << Dump(s);
  EXPECT_TRUE(HasProblem(s, "spu_config.cluster_def.runtime_config.protocol", "party_count"));
  EXPECT_TRUE(HasProblem(s, "heu_config.key_size", "weak_key")) << Dump(s);
  EXPECT_TRUE(HasProblem(s, "task_config.values.bob", "missing_field")) << Dump(s);
  EXPECT_EQ(s.problems().size(), 7u) << Dump(s);
  // The message names every problem too.
  EXPECT_NE(s.message().find("7 problem(s)"), std::string::npos);
  EXPECT_NE(s.message().find("heu_config.key_size"), std::string::npos);
}

// ---- sf_init_config shapes ------------------------------------------------------------------

TEST(SfInitTest, ThreeShapesGiveSamePartiesAndAddresses) {
  Envelope local = Good(LocalEnvelope());
  Envelope documented = Good(ClusterEnvelope());
  Envelope secretflow = Good(SfClusterEnvelope());
  EXPECT_EQ(local.sf_init.shape, SfInitShape::kLocal);
  EXPECT_EQ(documented.sf_init.shape, SfInitShape::kDocumentedCluster);
  EXPECT_EQ(secretflow.sf_init.shape, SfInitShape::kSecretFlowCluster);
  for (const Envelope* e : {&local, &documented, &secretflow}) {
    EXPECT_EQ(e->party_names(), (std::vector<std::string>{"alice", "bob"}));
  }
  for (const Envelope* e : {&documented, &secretflow}) {
    EXPECT_FALSE(e->local());
    ASSERT_TRUE(e->sf_init.self_party);
    EXPECT_EQ(*e->sf_init.self_party, "alice");
    EXPECT_EQ(e->env.self_party, "alice");
    EXPECT_EQ(e->own_parties(), (std::vector<std::string>{"alice"}));
    EXPECT_EQ(e->sf_init.parties[0].address, "10.0.0.1:9001");
    EXPECT_EQ(e->sf_init.parties[0].listen_addr, "0.0.0.0:9001");
    EXPECT_EQ(e->sf_init.parties[1].address, "10.0.0.2:9002");
    EXPECT_EQ(e->sf_init.parties[1].listen_addr, "");
  }
  EXPECT_EQ(secretflow.sf_init.address, "127.0.0.1:7701");
}

TEST(SfInitTest, ClusterRanksAreSortedPartyNames) {
  json e = ClusterEnvelope();
  e["sf_init_config"]["parties"] = {{"zed", {{"address", "h:1"}}},
                                    {"bob", {{"address", "h:2"}}},
                                    {"alice", {{"address", "h:3"}}}};
  e["task_config"]["values"] = {{"alice", 1}, {"bob", 2}, {"zed", 3}};
  EXPECT_EQ(Good(e).party_names(), (std::vector<std::string>{"alice", "bob", "zed"}));
}

TEST(SfInitTest, LocalListKeepsGivenOrder) {
  json e = LocalEnvelope();
  e["sf_init_config"]["parties"] = {"bob", "alice"};
  EXPECT_EQ(Good(e).party_names(), (std::vector<std::string>{"bob", "alice"}));
}

TEST(SfInitTest, PartiesListWithRemoteAddressIsStillLocal) {
  json e = LocalEnvelope();
  e["sf_init_config"]["address"] = "ray://10.0.0.1:10001";
  Envelope env = Good(e);
  EXPECT_TRUE(env.local());
  bool noted = false;
  for (const auto& n : env.notes) noted |= n.find("local simulation") != std::string::npos;
  EXPECT_TRUE(noted);
}

TEST(SfInitTest, StructuralProblems) {
  json e = LocalEnvelope();
  e["sf_init_config"] = "local";
  ExpectOnly(e, "sf_init_config", "wrong_type");
  e["sf_init_config"] = {{"address", "local"}};
  ExpectOnly(e, "sf_init_config.parties", "missing_field");
  e["sf_init_config"] = {{"parties", "alice,bob"}};
  ExpectOnly(e, "sf_init_config.parties", "wrong_type");
  e["sf_init_config"] = {{"parties", json::array()}};
  ExpectOnly(e, "sf_init_config.parties", "empty_value");
}

TEST(SfInitTest, PartyNames) {
  json e = LocalEnvelope();
  e["sf_init_config"]["parties"] = {"alice", 7};
  ExpectOnly(e, "sf_init_config.parties[1]", "wrong_type");
  e["sf_init_config"]["parties"] = {"al ice", "bob"};
  ExpectOnly(e, "sf_init_config.parties[0]", "invalid_party_name");
  e["sf_init_config"]["parties"] = {"alice", ""};
  ExpectOnly(e, "sf_init_config.parties[1]", "invalid_party_name");
  e["sf_init_config"]["parties"] = {"alice", "bob", "alice"};
  ExpectOnly(e, "sf_init_config.parties[2]", "duplicate_party");

  json c = ClusterEnvelope();
  c["sf_init_config"]["parties"]["b/ob"] = c["sf_init_config"]["parties"]["bob"];
  c["sf_init_config"]["parties"].erase("bob");
  ExpectOnly(c, "sf_init_config.parties.b/ob", "invalid_party_name");
}

TEST(SfInitTest, SelfPartyRules) {
  json e = LocalEnvelope();
  e["sf_init_config"]["self_party"] = "alice";
  ExpectOnly(e, "sf_init_config.self_party", "invalid_value");

  json c = ClusterEnvelope();
  c["sf_init_config"].erase("self_party");
  ExpectOnly(c, "sf_init_config.self_party", "missing_field");
  c["sf_init_config"]["self_party"] = "carol";
  ExpectOnly(c, "sf_init_config.self_party", "unknown_party");

  json s = SfClusterEnvelope();
  s["sf_init_config"]["cluster_config"].erase("self_party");
  ExpectOnly(s, "sf_init_config.cluster_config.self_party", "missing_field");
  s["sf_init_config"]["cluster_config"]["self_party"] = "carol";
  ExpectOnly(s, "sf_init_config.cluster_config.self_party", "unknown_party");
  s["sf_init_config"]["cluster_config"]["self_party"] = "alice";
  s["sf_init_config"]["self_party"] = "alice";  // repeated at the top level, same: fine
  Good(s);
  s["sf_init_config"]["self_party"] = "bob";
  ExpectOnly(s, "sf_init_config.self_party", "conflicting_value");
}

TEST(SfInitTest, ClusterPartyEntries) {
  auto with = [](const std::function<void(json&)>& edit) {
    json c = ClusterEnvelope();
    edit(c["sf_init_config"]["parties"]);
    return c;
  };
  ExpectOnly(with([](json& p) { p["bob"] = "10.0.0.2:9002"; }), "sf_init_config.parties.bob",
             "wrong_type");
  ExpectOnly(with([](json& p) { p["bob"].erase("address"); }), "sf_init_config.parties.bob.address",
             "missing_field");
  ExpectOnly(with([](json& p) { p["bob"]["address"] = "10.0.0.2"; }),
             "sf_init_config.parties.bob.address", "invalid_address");
  ExpectOnly(with([](json& p) { p["bob"]["address"] = "10.0.0.2:0"; }),
             "sf_init_config.parties.bob.address", "invalid_address");
  ExpectOnly(with([](json& p) { p["bob"]["address"] = "10.0.0.2:70000"; }),
             "sf_init_config.parties.bob.address", "invalid_address");
  ExpectOnly(with([](json& p) { p["bob"]["address"] = ":9002"; }),
             "sf_init_config.parties.bob.address", "invalid_address");
  ExpectOnly(with([](json& p) { p["alice"]["listen_addr"] = "0.0.0.0:x"; }),
             "sf_init_config.parties.alice.listen_addr", "invalid_address");
  ExpectOnly(with([](json& p) { p["alice"]["port"] = 9001; }), "sf_init_config.parties.alice.port",
             "unknown_field");
  ExpectOnly(with([](json& p) { p["bob"]["address"] = "10.0.0.1:9001"; }),
             "sf_init_config.parties.bob.address", "duplicate_address");
  ExpectOnly(with([](json& p) { p = json::object(); }), "sf_init_config.parties", "empty_value");
  // IPv6 and scheme-prefixed addresses are fine.
  Good(with([](json& p) {
    p["alice"]["address"] = "[::1]:9001";
    p["bob"]["address"] = "http://10.0.0.2:9002";
  }));
}

TEST(SfInitTest, SecretFlowShapeRules) {
  json s = SfClusterEnvelope();
  s["sf_init_config"]["cluster_config"] = "alice";
  ExpectOnly(s, "sf_init_config.cluster_config", "wrong_type");

  s = SfClusterEnvelope();
  s["sf_init_config"]["cluster_config"]["extra"] = 1;
  ExpectOnly(s, "sf_init_config.cluster_config.extra", "unknown_field");

  s = SfClusterEnvelope();
  s["sf_init_config"]["parties"] = {"alice", "bob"};
  ExpectOnly(s, "sf_init_config.parties", "conflicting_value");

  s = SfClusterEnvelope();
  s["sf_init_config"]["cluster_config"].erase("parties");
  ExpectOnly(s, "sf_init_config.cluster_config.parties", "missing_field");
}

TEST(SfInitTest, LinkOptions) {
  json e = LocalEnvelope();
  e["sf_init_config"]["connect_timeout_ms"] = 5000;
  e["sf_init_config"]["recv_timeout_ms"] = 7000;
  e["sf_init_config"]["connect_retry_times"] = 3;
  e["sf_init_config"]["connect_retry_interval_ms"] = 200;
  Envelope env = Good(e);
  EXPECT_EQ(env.sf_init.link_options.connect_timeout_ms, 5000);
  EXPECT_EQ(env.sf_init.link_options.recv_timeout_ms, 7000);
  EXPECT_EQ(env.sf_init.link_options.connect_retry_times, 3);
  EXPECT_EQ(env.sf_init.link_options.connect_retry_interval_ms, 200);

  for (const char* key : {"connect_timeout_ms", "recv_timeout_ms", "connect_retry_times",
                          "connect_retry_interval_ms"}) {
    json b = LocalEnvelope();
    b["sf_init_config"][key] = 0;
    ExpectOnly(b, std::string("sf_init_config.") + key, "out_of_range");
    b["sf_init_config"][key] = -5;
    ExpectOnly(b, std::string("sf_init_config.") + key, "out_of_range");
    b["sf_init_config"][key] = "100";
    ExpectOnly(b, std::string("sf_init_config.") + key, "wrong_type");
  }
  json b = LocalEnvelope();
  b["sf_init_config"]["connect_timeout_ms"] = 1000;
  b["sf_init_config"]["connect_retry_interval_ms"] = 2000;
  ExpectOnly(b, "sf_init_config.connect_retry_interval_ms", "out_of_range");
}

TEST(SfInitTest, SessionId) {
  json e = LocalEnvelope();
  e["sf_init_config"]["session_id"] = "job-7/alice";
  EXPECT_EQ(Good(e).sf_init.session_id, "job-7/alice");
  e["sf_init_config"]["session_id"] = "has space";
  ExpectOnly(e, "sf_init_config.session_id", "invalid_value");
  e["sf_init_config"]["session_id"] = 5;
  ExpectOnly(e, "sf_init_config.session_id", "wrong_type");
}

TEST(SfInitTest, SecretFlowKwargsAcceptedUnknownRejected) {
  json e = LocalEnvelope();
  auto& sf = e["sf_init_config"];
  sf["cross_silo_comm_backend"] = "brpc_link";
  sf["ray_mode"] = false;
  sf["num_cpus"] = 8;
  sf["log_to_driver"] = true;
  sf["omp_num_threads"] = 4;
  sf["runtime_env"] = {{"env_vars", {{"PYTHONPATH", "/app/src"}}}};
  sf["logging_level"] = "info";
  sf["enable_waiting_for_other_parties_ready"] = true;
  sf["cross_silo_comm_options"] = {{"timeout_in_ms", 1000}};
  sf["tee_simulation"] = false;
  sf["job_name"] = "j";
  Envelope env = Good(e);
  bool noted = false;
  for (const auto& n : env.notes) noted |= n.find("ray_mode") != std::string::npos;
  EXPECT_TRUE(noted);

  e["sf_init_config"]["parites"] = {"alice"};
  ExpectOnly(e, "sf_init_config.parites", "unknown_field");
}

// ---- spu_config ---------------------------------------------------------------------------

TEST(SpuConfigTest, ParsesSection) {
  json e = LocalEnvelope();
  e["spu_config"] = SpuSection({"alice", "bob"}, "semi2k", "FM128");
  e["spu_config"]["cluster_def"]["runtime_config"]["fxp_fraction_bits"] = 40;
  e["spu_config"]["cluster_def"]["runtime_config"]["beaver_type"] = "TrustedFirstParty";
  e["spu_config"]["cluster_def"]["runtime_config"]["enable_pphlo_trace"] = false;  // kept
  Envelope env = Good(e);
  ASSERT_TRUE(env.spu);
  EXPECT_TRUE(env.spu_enabled());
  EXPECT_TRUE(env.env.has_spu);
  EXPECT_EQ(env.spu->protocol, "SEMI2K");
  EXPECT_EQ(env.spu->field, "FM128");
  EXPECT_EQ(env.spu->fxp_fraction_bits, 40);
  EXPECT_EQ(env.spu->beaver_type, "TrustedFirstParty");
  EXPECT_EQ(env.spu->nodes.size(), 2u);
  EXPECT_EQ(env.spu->nodes[1].party, "bob");
  EXPECT_EQ(env.spu->runtime_config["enable_pphlo_trace"], false);
  EXPECT_EQ(env.spu->raw, e["spu_config"]);
}

TEST(SpuConfigTest, AbsentNullOrDisabled) {
  json e = LocalEnvelope();
  e["spu_config"] = nullptr;
  EXPECT_FALSE(Good(e).spu);
  e["spu_config"] = {{"enable_spu", false}};  // disabled: cluster_def not needed
  Envelope env = Good(e);
  ASSERT_TRUE(env.spu);
  EXPECT_FALSE(env.spu_enabled());
  EXPECT_FALSE(env.env.has_spu);
}

TEST(SpuConfigTest, StructuralProblems) {
  auto with = [](const std::function<void(json&)>& edit) {
    json e = LocalEnvelope();
    e["spu_config"] = SpuSection({"alice", "bob"});
    edit(e["spu_config"]);
    return e;
  };
  const std::string cd = "spu_config.cluster_def";
  ExpectOnly(with([](json& s) { s = "SEMI2K"; }), "spu_config", "wrong_type");
  ExpectOnly(with([](json& s) { s["enable_spu"] = "yes"; }), "spu_config.enable_spu", "wrong_type");
  ExpectOnly(with([](json& s) { s.erase("cluster_def"); }), cd, "missing_field");
  ExpectOnly(with([](json& s) { s["extra"] = 1; }), "spu_config.extra", "unknown_field");
  ExpectOnly(with([](json& s) { s["cluster_def"]["extra"] = 1; }), cd + ".extra", "unknown_field");
  ExpectOnly(with([](json& s) { s["cluster_def"].erase("nodes"); }), cd + ".nodes",
             "missing_field");
  ExpectOnly(with([](json& s) { s["cluster_def"]["nodes"] = json::array(); }), cd + ".nodes",
             "empty_value");
  ExpectOnly(with([](json& s) { s["cluster_def"]["nodes"] = "alice"; }), cd + ".nodes",
             "wrong_type");
  ExpectOnly(with([](json& s) { s["cluster_def"]["nodes"][1] = "bob"; }), cd + ".nodes[1]",
             "wrong_type");
  ExpectOnly(with([](json& s) { s["cluster_def"]["nodes"][1].erase("party"); }),
             cd + ".nodes[1].party", "missing_field");
  ExpectOnly(with([](json& s) { s["cluster_def"]["nodes"][1]["address"] = "nohost"; }),
             cd + ".nodes[1].address", "invalid_address");
  ExpectOnly(with([](json& s) { s["cluster_def"]["nodes"][1]["id"] = "x"; }), cd + ".nodes[1].id",
             "unknown_field");
  ExpectOnly(with([](json& s) { s["cluster_def"]["nodes"][1]["party"] = "alice"; }),
             cd + ".nodes[1].party", "duplicate_party");
  ExpectOnly(with([](json& s) { s["cluster_def"].erase("runtime_config"); }),
             cd + ".runtime_config", "missing_field");
  ExpectOnly(with([](json& s) { s["cluster_def"]["runtime_config"]["protocol"] = "SPDZ"; }),
             cd + ".runtime_config.protocol", "invalid_value");
  ExpectOnly(with([](json& s) { s["cluster_def"]["runtime_config"].erase("field"); }),
             cd + ".runtime_config.field", "missing_field");
  ExpectOnly(with([](json& s) { s["cluster_def"]["runtime_config"]["field"] = "FM16"; }),
             cd + ".runtime_config.field", "invalid_value");
  ExpectOnly(with([](json& s) { s["cluster_def"]["runtime_config"]["fxp_fraction_bits"] = 0; }),
             cd + ".runtime_config.fxp_fraction_bits", "out_of_range");
  ExpectOnly(with([](json& s) { s["cluster_def"]["runtime_config"]["fxp_fraction_bits"] = 64; }),
             cd + ".runtime_config.fxp_fraction_bits", "out_of_range");
  ExpectOnly(with([](json& s) { s["cluster_def"]["runtime_config"]["beaver_type"] = "Magic"; }),
             cd + ".runtime_config.beaver_type", "invalid_value");
}

TEST(SpuConfigTest, Fm32IsRejectedWithAClearMessage) {
  json e = LocalEnvelope();
  e["spu_config"] = SpuSection({"alice", "bob"}, "SEMI2K", "FM32");
  Status s = Bad(e);
  ASSERT_TRUE(HasProblem(s, "spu_config.cluster_def.runtime_config.field", "unsupported_value"));
  EXPECT_NE(s.problems()[0].message.find("FM64, FM128"), std::string::npos)
      << s.problems()[0].message;
}

TEST(SpuConfigTest, ProtocolVersusPartyCount) {
  const std::string path = "spu_config.cluster_def.runtime_config.protocol";
  json e = LocalEnvelope();
  e["spu_config"] = SpuSection({"alice"}, "SEMI2K");
  ExpectOnly(e, path, "party_count");

  e["spu_config"] = SpuSection({"alice", "bob"}, "ABY3");
  ExpectOnly(e, path, "party_count");

  json three = LocalEnvelope();
  three["sf_init_config"]["parties"] = {"alice", "bob", "carol"};
  three["task_config"]["values"]["carol"] = 3;
  three["spu_config"] = SpuSection({"alice", "bob", "carol"}, "ABY3");
  Good(three);
  three["spu_config"] = SpuSection({"alice", "bob", "carol"}, "CHEETAH");
  ExpectOnly(three, path, "party_count");
  three["spu_config"] = SpuSection({"alice", "bob", "carol"}, "SEMI2K");
  Good(three);
}

TEST(SpuConfigTest, NodePartiesMustBeSfInitParties) {
  json e = LocalEnvelope();
  e["spu_config"] = SpuSection({"alice", "carol"});
  ExpectOnly(e, "spu_config.cluster_def.nodes[1].party", "unknown_party");
}

TEST(SpuConfigTest, PartiesComeFromSfInitNotSpu) {
  // The Python worker derived PYUs from the SPU nodes; veil takes parties from sf_init_config.
  json e = LocalEnvelope();
  e["sf_init_config"]["parties"] = {"alice", "bob", "carol"};
  e["task_config"]["values"]["carol"] = 3;
  e["spu_config"] = SpuSection({"alice", "bob"});
  EXPECT_EQ(Good(e).party_names(), (std::vector<std::string>{"alice", "bob", "carol"}));
}

TEST(SpuConfigTest, LinkDesc) {
  json e = LocalEnvelope();
  e["spu_config"] = SpuSection({"alice", "bob"});
  e["spu_config"]["link_desc"] = {
      {"connect_retry_times", 9}, {"recv_timeout_ms", 1234}, {"http_max_payload_size", 1 << 20}};
  Envelope env = Good(e);
  EXPECT_EQ(env.sf_init.link_options.connect_retry_times, 9);
  EXPECT_EQ(env.sf_init.link_options.recv_timeout_ms, 1234);
  e["sf_init_config"]["recv_timeout_ms"] = 999;  // sf_init_config wins
  EXPECT_EQ(Good(e).sf_init.link_options.recv_timeout_ms, 999);

  e["spu_config"]["link_desc"]["recv_timeout_ms"] = 0;
  ExpectOnly(e, "spu_config.link_desc.recv_timeout_ms", "out_of_range");
  e["spu_config"]["link_desc"] = "fast";
  ExpectOnly(e, "spu_config.link_desc", "wrong_type");
}

// ---- heu_config ---------------------------------------------------------------------------

json WithHeu(json heu) {
  json e = LocalEnvelope();
  e["heu_config"] = std::move(heu);
  return e;
}

TEST(HeuConfigTest, ParsesSection) {
  Envelope env = Good(WithHeu({{"enable_heu", true},
                               {"schema", "Paillier"},
                               {"key_size", 3072},
                               {"sk_keeper", {{"party", "alice"}}},
                               {"evaluators", {"bob"}},
                               {"mode", "PHEU"}}));
  ASSERT_TRUE(env.heu);
  EXPECT_TRUE(env.heu_enabled());
  EXPECT_TRUE(env.env.has_heu);
  EXPECT_EQ(env.heu->schema, "paillier");
  EXPECT_EQ(env.heu->key_size_bits, 3072);
  EXPECT_EQ(env.heu->sk_keeper, "alice");
  EXPECT_EQ(env.heu->evaluators, (std::vector<std::string>{"bob"}));
  EXPECT_EQ(Good(WithHeu({{"schema", "ou"}})).heu->key_size_bits, kDefaultHeKeyBits);
}

TEST(HeuConfigTest, WeakKeysAreASecurityProblem) {
  ExpectOnly(WithHeu({{"schema", "paillier"}, {"key_size", 1024}}), "heu_config.key_size",
             "weak_key");
  ExpectOnly(WithHeu({{"schema", "ou"}, {"key_size", 1024}}), "heu_config.key_size", "weak_key");
  Good(WithHeu({{"schema", "paillier"}, {"key_size", 2048}}));
}

TEST(HeuConfigTest, StructuralAndLogicalProblems) {
  ExpectOnly(WithHeu("paillier"), "heu_config", "wrong_type");
  ExpectOnly(WithHeu({{"key_size", 2048}}), "heu_config.schema", "missing_field");
  ExpectOnly(WithHeu({{"schema", "elgamal"}}), "heu_config.schema", "unsupported_value");
  ExpectOnly(WithHeu({{"schema", "ou"}, {"key_size", "2048"}}), "heu_config.key_size",
             "wrong_type");
  ExpectOnly(WithHeu({{"schema", "ou"}, {"key_size", 1 << 20}}), "heu_config.key_size",
             "out_of_range");
  ExpectOnly(WithHeu({{"schema", "ou"}, {"enable_heu", 1}}), "heu_config.enable_heu", "wrong_type");
  ExpectOnly(WithHeu({{"schema", "ou"}, {"sk_keeper", "carol"}}), "heu_config.sk_keeper",
             "unknown_party");
  ExpectOnly(WithHeu({{"schema", "ou"}, {"sk_keeper", 3}}), "heu_config.sk_keeper", "wrong_type");
  ExpectOnly(WithHeu({{"schema", "ou"}, {"evaluators", {"bob", "carol"}}}),
             "heu_config.evaluators[1]", "unknown_party");
  ExpectOnly(WithHeu({{"schema", "ou"}, {"evaluators", {"bob", "bob"}}}),
             "heu_config.evaluators[1]", "duplicate_party");
  ExpectOnly(WithHeu({{"schema", "ou"}, {"evaluators", "bob"}}), "heu_config.evaluators",
             "wrong_type");
  ExpectOnly(WithHeu({{"schema", "ou"}, {"sk_keeper", "alice"}, {"evaluators", {"alice"}}}),
             "heu_config.evaluators[0]", "conflicting_value");
  ExpectOnly(WithHeu({{"schema", "ou"}, {"spu_field_type", "FM64"}}), "heu_config.spu_field_type",
             "unknown_field");
  // Disabled: schema not needed.
  EXPECT_FALSE(Good(WithHeu({{"enable_heu", false}})).heu_enabled());
}

// ---- task_config --------------------------------------------------------------------------

TEST(TaskConfigTest, StructuralProblems) {
  json e = LocalEnvelope();
  e["task_config"] = "psi";
  ExpectOnly(e, "task_config", "wrong_type");
  e["task_config"] = {{"values", 1}};
  ExpectOnly(e, "task_config.task_type", "missing_field");
  e["task_config"] = {{"task_type", ""}};
  ExpectOnly(e, "task_config.task_type", "empty_value");
}

TEST(TaskConfigTest, UnknownTaskTypeListsSupportedTypes) {
  json e = LocalEnvelope();
  e["task_config"]["task_type"] = "ss_magic";
  Status s = Bad(e);
  ASSERT_TRUE(HasProblem(s, "task_config.task_type", "unknown_task_type")) << Dump(s);
  EXPECT_NE(s.message().find("drifting, files, heu_task, spu_product, spu_task, sum"),
            std::string::npos)
      << s.message();
}

TEST(TaskConfigTest, TaskValidatorRunsWithTheParties) {
  json e = LocalEnvelope();
  e["task_config"]["values"].erase("bob");
  e["task_config"]["values"]["carol"] = 3;
  Status s = Bad(e);
  EXPECT_TRUE(HasProblem(s, "task_config.values.bob", "missing_field")) << Dump(s);
  EXPECT_TRUE(HasProblem(s, "task_config.values.carol", "unknown_party")) << Dump(s);
}

TEST(TaskConfigTest, TaskValidatorSkippedWhenPartiesAreBroken) {
  json e = LocalEnvelope();
  e["sf_init_config"]["parties"] = {"alice", "alice"};
  e["task_config"]["values"] = json::object();
  ExpectOnly(e, "sf_init_config.parties[1]", "duplicate_party");
}

TEST(TaskConfigTest, SpuAndHeuRequirements) {
  json e = LocalEnvelope();
  e["task_config"] = {{"task_type", "spu_task"}};
  ExpectOnly(e, "spu_config", "spu_required");
  e["spu_config"] = {{"enable_spu", false}};
  ExpectOnly(e, "spu_config", "spu_required");
  e["spu_config"] = SpuSection({"alice", "bob"});
  Good(e);

  e = LocalEnvelope();
  e["task_config"] = {{"task_type", "heu_task"}};
  ExpectOnly(e, "heu_config", "heu_required");
  e["heu_config"] = {{"schema", "paillier"}};
  Good(e);
}

// ---- ports --------------------------------------------------------------------------------

TEST(PortRangeTest, OwnListenPortMustBeInsideTheNodeRange) {
  RuntimeOptions o = Opts();
  o.sf_port_range = PortRange{9000, 9009};
  Good(ClusterEnvelope(), o);  // alice listens on 9001
  json e = ClusterEnvelope();
  e["sf_init_config"]["parties"]["alice"]["listen_addr"] = "0.0.0.0:9100";
  ExpectOnly(e, "sf_init_config.parties.alice.listen_addr", "port_out_of_range", o);
  // Without listen_addr the port of `address` is the listening port.
  e["sf_init_config"]["parties"]["alice"].erase("listen_addr");
  e["sf_init_config"]["parties"]["alice"]["address"] = "10.0.0.1:9200";
  ExpectOnly(e, "sf_init_config.parties.alice.address", "port_out_of_range", o);
  // Other parties' ports belong to other nodes' ranges (bob is on 9002 anyway).
  e = ClusterEnvelope();
  e["sf_init_config"]["parties"]["bob"]["address"] = "10.0.0.2:30000";
  Good(e, o);
  // Local mode opens no sockets.
  Good(LocalEnvelope(), o);
}

TEST(PortRangeTest, OwnSpuNodePortMustBeInsideTheSpuRange) {
  RuntimeOptions o = Opts();
  o.spu_port_range = PortRange{12345, 12345};
  json e = ClusterEnvelope();
  e["spu_config"] = SpuSection({"alice", "bob"});  // alice 12345, bob 12346
  Good(e, o);
  e["spu_config"]["cluster_def"]["nodes"][0]["listen_addr"] = "0.0.0.0:12400";
  ExpectOnly(e, "spu_config.cluster_def.nodes[0].listen_addr", "port_out_of_range", o);
}

// ---- paths (security layer) ---------------------------------------------------------------

class PathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() / ("veil_runtime_paths_" + RandomUuid());
    root_ = base_ / "data";
    outside_ = base_ / "outside";
    fs::create_directories(root_ / "in");
    fs::create_directories(outside_);
    Touch(root_ / "in" / "alice.csv");
    Touch(root_ / "in" / "bob.csv");
    Touch(outside_ / "secret.csv");
    fs::create_directory_symlink(outside_, root_ / "escape");
    opts_ = Opts();
    opts_.data_root = root_.string();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(base_, ec);
  }
  static void Touch(const fs::path& p) { std::ofstream(p) << "id\n1\n"; }

  json FilesEnvelope(bool cluster) {
    json e = cluster ? ClusterEnvelope() : LocalEnvelope();
    e["task_config"] = {{"task_type", "files"},
                        {"input_paths", {{"alice", "in/alice.csv"}, {"bob", "in/bob.csv"}}},
                        {"output_paths", {{"alice", "out/alice.csv"}, {"bob", "out/bob.csv"}}},
                        {"report_path", "out/report.json"}};
    return e;
  }

  fs::path base_, root_, outside_;
  RuntimeOptions opts_;
};

TEST_F(PathTest, RelativePathsResolveInsideDataRoot) {
  Envelope env = Good(FilesEnvelope(false), opts_);
  const json& r = env.resolved_task_config;
  EXPECT_EQ(r["input_paths"]["alice"], (root_ / "in" / "alice.csv").string());
  EXPECT_EQ(r["input_paths"]["bob"], (root_ / "in" / "bob.csv").string());
  EXPECT_EQ(r["output_paths"]["bob"], (root_ / "out" / "bob.csv").string());
  EXPECT_EQ(r["report_path"], (root_ / "out" / "report.json").string());
  // The original stays as given (it feeds the peer-config digest).
  EXPECT_EQ(env.task_config["input_paths"]["alice"], "in/alice.csv");
  // Absolute paths inside the root are fine too.
  json e = FilesEnvelope(false);
  e["task_config"]["input_paths"]["alice"] = (root_ / "in" / "alice.csv").string();
  Good(e, opts_);
}

TEST_F(PathTest, DotDotIsRejected) {
  json e = FilesEnvelope(false);
  e["task_config"]["input_paths"]["alice"] = "in/../in/alice.csv";
  ExpectOnly(e, "task_config.input_paths.alice", "path_traversal", opts_);
  e = FilesEnvelope(false);
  e["task_config"]["report_path"] = "../outside/report.json";
  ExpectOnly(e, "task_config.report_path", "path_traversal", opts_);
}

TEST_F(PathTest, AbsolutePathOutsideDataRootIsRejected) {
  json e = FilesEnvelope(false);
  e["task_config"]["input_paths"]["bob"] = (outside_ / "secret.csv").string();
  ExpectOnly(e, "task_config.input_paths.bob", "path_outside_data_root", opts_);
  e = FilesEnvelope(false);
  e["task_config"]["output_paths"]["alice"] = "/etc/passwd";
  ExpectOnly(e, "task_config.output_paths.alice", "path_outside_data_root", opts_);
}

TEST_F(PathTest, SymlinkEscapeIsRejected) {
  json e = FilesEnvelope(false);
  e["task_config"]["input_paths"]["alice"] = "escape/secret.csv";
  ExpectOnly(e, "task_config.input_paths.alice", "symlink_escape", opts_);
  e = FilesEnvelope(false);
  e["task_config"]["output_paths"]["bob"] = "escape/new.csv";  // output not yet existing
  ExpectOnly(e, "task_config.output_paths.bob", "symlink_escape", opts_);
}

TEST_F(PathTest, MissingInputOfOwnPartyIsRejected) {
  json e = FilesEnvelope(false);  // local mode: every party is own
  e["task_config"]["input_paths"]["bob"] = "in/missing.csv";
  ExpectOnly(e, "task_config.input_paths.bob", "path_not_found", opts_);

  e = FilesEnvelope(true);  // cluster mode, self = alice
  e["task_config"]["input_paths"]["alice"] = "in/missing.csv";
  ExpectOnly(e, "task_config.input_paths.alice", "path_not_found", opts_);
}

TEST_F(PathTest, OtherPartiesPathsAreNotCheckedInClusterMode) {
  json e = FilesEnvelope(true);  // self = alice
  e["task_config"]["input_paths"]["bob"] = "/their/node/bob.csv";
  e["task_config"]["output_paths"]["bob"] = "/their/node/out.csv";
  Envelope env = Good(e, opts_);
  EXPECT_EQ(env.resolved_task_config["input_paths"]["bob"], "/their/node/bob.csv");
  EXPECT_EQ(env.resolved_task_config["input_paths"]["alice"],
            (root_ / "in" / "alice.csv").string());
}

TEST_F(PathTest, OutputsNeedNotExist) {
  json e = FilesEnvelope(false);
  e["task_config"]["output_paths"]["alice"] = "deep/new/dir/alice.csv";
  Good(e, opts_);
}

TEST_F(PathTest, EmptyDataRootOnlyChecksExistence) {
  RuntimeOptions o = Opts();
  json e = FilesEnvelope(false);
  e["task_config"]["input_paths"] = {{"alice", (outside_ / "secret.csv").string()},
                                     {"bob", (root_ / "in" / "bob.csv").string()}};
  Good(e, o);
  e["task_config"]["input_paths"]["bob"] = (root_ / "in" / "nope.csv").string();
  ExpectOnly(e, "task_config.input_paths.bob", "path_not_found", o);
}

// ---- helpers ------------------------------------------------------------------------------

TEST(SplitHostPortTest, Forms) {
  std::string host;
  int64_t port = 0;
  EXPECT_TRUE(SplitHostPort("127.0.0.1:80", &host, &port));
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 80);
  EXPECT_TRUE(SplitHostPort("[::1]:65535", &host, &port));
  EXPECT_EQ(host, "::1");
  EXPECT_TRUE(SplitHostPort("tcp://node-1.example:9000/x", &host, &port));
  EXPECT_EQ(host, "node-1.example");
  EXPECT_EQ(port, 9000);
  for (const char* bad : {"", "host", "host:", ":1", "h:0", "h:65536", "h:-1", "h:1x", "::1:80",
                          "[::1]80", "h h:80"}) {
    EXPECT_FALSE(SplitHostPort(bad, &host, &port)) << bad;
  }
}

TEST(RedactTest, MasksSecretKeysAtAnyDepth) {
  json in = {{"task_id", "t"},
             {"redis", {{"password", "hunter2"}, {"REDIS_PASSWORD", "x"}, {"host", "h"}}},
             {"list", json::array({json{{"client_secret", "s"}}, json{{"access_token", "tok"}}})},
             {"private_key", {{"pem", "..."}}},
             {"sk", "123"},
             {"apiKey", "k"},
             {"sk_keeper", "alice"},
             {"secretflow_version", "1.0"},
             {"keys", {{"alice", {"id"}}}},
             {"password_hint", nullptr}};
  json out = RedactSecrets(in);
  EXPECT_EQ(out["task_id"], "t");
  EXPECT_EQ(out["redis"]["password"], kRedacted);
  EXPECT_EQ(out["redis"]["REDIS_PASSWORD"], kRedacted);
  EXPECT_EQ(out["redis"]["host"], "h");
  EXPECT_EQ(out["list"][0]["client_secret"], kRedacted);
  EXPECT_EQ(out["list"][1]["access_token"], kRedacted);
  EXPECT_EQ(out["private_key"], kRedacted);
  EXPECT_EQ(out["sk"], kRedacted);
  EXPECT_EQ(out["apiKey"], kRedacted);
  EXPECT_EQ(out["sk_keeper"], "alice");
  EXPECT_EQ(out["secretflow_version"], "1.0");
  EXPECT_EQ(out["keys"], in["keys"]);
  EXPECT_TRUE(out["password_hint"].is_null());
  // The input is not modified.
  EXPECT_EQ(in["redis"]["password"], "hunter2");
}

TEST(RedactTest, MasksUrlPasswordsAndPemKeys) {
  json out =
      RedactSecrets({{"url", "redis://:hunter2@10.0.0.1:6379/0"},
                     {"u2", "postgres://veil:pw@db/veil"},
                     {"plain", "redis://10.0.0.1:6379"},
                     {"cert", "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----"}});
  EXPECT_EQ(out["url"], "redis://:***@10.0.0.1:6379/0");
  EXPECT_EQ(out["u2"], "postgres://veil:***@db/veil");
  EXPECT_EQ(out["plain"], "redis://10.0.0.1:6379");
  EXPECT_EQ(out["cert"], kRedacted);
  EXPECT_TRUE(IsSecretKey("db_passwd"));
  EXPECT_FALSE(IsSecretKey("task"));
  EXPECT_FALSE(IsSecretKey("tokens_per_batch"));
}

}  // namespace
}  // namespace veil::runtime
