#include "veil/runtime/envelope.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <set>
#include <system_error>

#include <fmt/format.h>

#include "veil/base/config_reader.h"
#include "veil/base/problems.h"

namespace veil::runtime {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// SecretFlow `sf.init` kwargs (SecretFlow 1.x) that mean nothing to veil: no Ray, no SecretFlow
// proxy. Accepted so that envelopes written for the Python worker keep working, and ignored
// (recorded in Envelope::notes). `cross_silo_comm_backend` is listed in SPEC §4.1.
const std::set<std::string>& IgnoredSfInitKeys() {
  static const auto* keys = new std::set<std::string>{
      "cross_silo_comm_backend",
      "cross_silo_comm_options",
      "cross_silo_grpc_retry_policy",
      "cross_silo_send_max_retries",
      "cross_silo_messages_max_size_in_bytes",
      "cross_silo_serializing_allowed_list",
      "cross_silo_timeout_in_seconds",
      "enable_waiting_for_other_parties_ready",
      "ray_mode",
      "num_cpus",
      "num_gpus",
      "log_to_driver",
      "omp_num_threads",
      "logging_level",
      "runtime_env",
      "tee_simulation",
      "job_name",
      "debug_mode",
      "tls_config",
      "auth_manager_config",
      "party_key_pair",
      "tee_party",
      "object_store_memory",
      "include_dashboard",
      "namespace",
      "_system_config",
      "_temp_dir",
  };
  return *keys;
}

const std::vector<std::string>& SpuProtocols() {
  static const auto* v = new std::vector<std::string>{"SEMI2K", "ABY3", "CHEETAH", "REF2K"};
  return *v;
}
const std::vector<std::string>& SpuFields() {
  static const auto* v = new std::vector<std::string>{"FM64", "FM128"};
  return *v;
}
// Fields SPU knows but veil's MPC engine does not implement.
const std::vector<std::string>& UnsupportedSpuFields() {
  static const auto* v = new std::vector<std::string>{"FM32"};
  return *v;
}
const std::vector<std::string>& BeaverTypes() {
  static const auto* v =
      new std::vector<std::string>{"TrustedFirstParty", "TrustedThirdParty", "MultiParty", "ot"};
  return *v;
}
const std::vector<std::string>& HeSchemas() {
  static const auto* v = new std::vector<std::string>{"paillier", "ou"};
  return *v;
}
// Known keys of SPU's RuntimeConfig that veil reads itself; every other key is kept in the raw
// runtime_config and ignored.
const std::set<std::string>& ReadRuntimeConfigKeys() {
  static const auto* s =
      new std::set<std::string>{"protocol",    "field",        "fxp_fraction_bits",
                                "beaver_type", "sigmoid_mode", "trunc_allow_msb_error"};
  return *s;
}
// Keys of SPU's LinkDesc that feed veil's LinkOptions.
constexpr const char* kLinkDescIntKeys[] = {"connect_retry_times", "connect_retry_interval_ms",
                                            "recv_timeout_ms"};

constexpr size_t kMaxPartyNameLength = 64;

std::string Upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}
std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool ValidPartyName(const std::string& name) {
  if (name.empty() || name.size() > kMaxPartyNameLength) return false;
  return std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '.' || c == '-';
  });
}

bool ValidSessionId(const std::string& id) {
  if (id.empty() || id.size() > kMaxIdLength) return false;
  return std::all_of(id.begin(), id.end(), [](unsigned char c) { return std::isgraph(c); });
}

// `path` lies inside `root` (both absolute and lexically normal).
bool Within(const fs::path& path, const fs::path& root) {
  fs::path rel = path.lexically_relative(root);
  return !rel.empty() && *rel.begin() != "..";
}

std::string Join(const std::vector<std::string>& v) {
  return fmt::format("{}", fmt::join(v, ", "));
}

// One field's location, for problems raised after parsing (logical layer).
struct Located {
  std::string value;
  std::string path;
};

class EnvelopeParser {
 public:
  EnvelopeParser(const RuntimeOptions& options, const tasks::TaskRegistry& registry)
      : options_(options), registry_(registry) {}

  StatusOr<Envelope> Parse(const json& j) {
    ConfigReader top(j, "", &problems_);
    if (!top.valid()) return problems_.ToStatus();

    ParseIds(top);
    ParseSfInit(top.Raw("sf_init_config", Required::kYes));
    ParseSpu(top.Raw("spu_config", Required::kNo));
    ParseHeu(top.Raw("heu_config", Required::kNo));
    ResolveLinkOptions();
    if (parties_ok_) {
      CheckSpuLogic();
      CheckHeuLogic();
      CheckPorts();
    }
    BuildTaskEnv();
    ParseTaskConfig(top.Raw("task_config", Required::kYes));
    top.RejectUnknown();

    if (!problems_.empty()) return problems_.ToStatus();
    return std::move(env_);
  }

 private:
  void Add(const std::string& path, const std::string& code, const std::string& message) {
    problems_.Add(path, code, message);
  }

  // A string id, or an integer id (web layers use database ids) converted to a string.
  std::optional<std::string> ReadId(ConfigReader& r, const std::string& key, Required required,
                                    bool allow_empty) {
    const json* v = r.Raw(key, required);
    if (!v) return std::nullopt;
    std::string s;
    if (v->is_string()) {
      s = v->get<std::string>();
    } else if (v->is_number_integer()) {
      s = v->dump();
    } else {
      Add(key, "wrong_type", "must be a string, got " + JsonTypeName(*v));
      return std::nullopt;
    }
    if (s.empty() && !allow_empty) {
      Add(key, "empty_value", "must not be empty");
      return std::nullopt;
    }
    if (s.size() > kMaxIdLength) {
      Add(key, "out_of_range", fmt::format("must be at most {} characters", kMaxIdLength));
      return std::nullopt;
    }
    return s;
  }

  void ParseIds(ConfigReader& top) {
    env_.task_id = ReadId(top, "task_id", Required::kYes, /*allow_empty=*/true).value_or("");
    env_.subtask_id = ReadId(top, "subtask_id", Required::kYes, /*allow_empty=*/true).value_or("");
    const bool has_exec = top.Has("execution_id");
    const bool has_legacy = top.Has("task_request_id");
    auto exec = ReadId(top, "execution_id", Required::kNo, false);
    auto legacy = ReadId(top, "task_request_id", Required::kNo, false);
    if (!has_exec && !has_legacy) {
      Add("execution_id", "missing_field", "is required (legacy name: task_request_id)");
    } else if (exec && legacy && *exec != *legacy) {
      Add("task_request_id", "conflicting_value",
          fmt::format("legacy task_request_id '{}' differs from execution_id '{}'; give one",
                      *legacy, *exec));
    }
    env_.execution_id = exec ? *exec : legacy.value_or("");
  }

  // ---- sf_init_config -------------------------------------------------------------------

  void ParseSfInit(const json* v) {
    if (!v) return;
    ConfigReader r(*v, "sf_init_config", &problems_);
    if (!r.valid()) return;
    SfInitConfig& sf = env_.sf_init;
    sf.address = r.String("address", Required::kNo, /*allow_empty=*/true).value_or("");
    const size_t before = problems_.size();
    bool parties_parsed = false;

    if (r.Has("cluster_config")) {
      sf.shape = SfInitShape::kSecretFlowCluster;
      if (r.Has("parties")) {
        r.Accept("parties");
        Add("sf_init_config.parties", "conflicting_value",
            "give the parties either in cluster_config.parties or at the top level, not both");
      }
      const json* cc = r.Raw("cluster_config", Required::kYes);
      ConfigReader c(*cc, "sf_init_config.cluster_config", &problems_);
      if (c.valid()) {
        parties_parsed = ParseClusterParties(c, "parties");
        self_party_ = ReadSelfParty(c);
        if (r.Has("self_party")) {
          auto top_self = r.String("self_party", Required::kNo);
          if (top_self && self_party_ && *top_self != self_party_->value) {
            Add("sf_init_config.self_party", "conflicting_value",
                fmt::format("'{}' differs from cluster_config.self_party '{}'", *top_self,
                            self_party_->value));
          }
        }
        c.RejectUnknown();
      }
    } else if (!r.Has("parties")) {
      r.Raw("parties", Required::kYes);  // reports missing_field
    } else {
      const json& parties = *r.Raw("parties", Required::kYes);
      if (parties.is_array()) {
        sf.shape = SfInitShape::kLocal;
        parties_parsed = ParseLocalParties(parties);
        if (!sf.address.empty() && sf.address != kLocalAddress) {
          env_.notes.push_back(fmt::format(
              "sf_init_config.parties is a list, which always means local simulation mode; "
              "address '{}' is ignored",
              sf.address));
        }
        if (r.Has("self_party")) {
          r.Accept("self_party");
          Add("sf_init_config.self_party", "invalid_value",
              "self_party is only valid in cluster mode (parties given as an object "
              "{name: {address}}); a parties list runs every party locally");
        }
      } else if (parties.is_object()) {
        sf.shape = SfInitShape::kDocumentedCluster;
        parties_parsed = ParseClusterParties(r, "parties");
        self_party_ = ReadSelfParty(r);
      } else {
        Add("sf_init_config.parties", "wrong_type",
            "must be a list of party names (local mode) or an object {party: {address, "
            "listen_addr}} (cluster mode), got " +
                JsonTypeName(parties));
      }
    }

    if (!sf.local() && self_party_) {
      bool known = std::any_of(sf.parties.begin(), sf.parties.end(),
                               [&](const auto& p) { return p.name == self_party_->value; });
      if (parties_parsed && !known) {
        Add(self_party_->path, "unknown_party",
            fmt::format("'{}' is not one of the parties: {}", self_party_->value,
                        Join(PartyNames())));
      }
      sf.self_party = self_party_->value;
    }
    parties_ok_ = parties_parsed && problems_.size() == before && !sf.parties.empty();

    // Link options (veil: ints > 0).
    sf_link_.connect_timeout_ms = r.Int("connect_timeout_ms", Required::kNo, 1, kMaxLinkTimeoutMs);
    sf_link_.recv_timeout_ms = r.Int("recv_timeout_ms", Required::kNo, 1, kMaxLinkTimeoutMs);
    sf_link_.connect_retry_interval_ms =
        r.Int("connect_retry_interval_ms", Required::kNo, 1, kMaxLinkTimeoutMs);
    sf_link_.connect_retry_times =
        r.Int("connect_retry_times", Required::kNo, 1, kMaxConnectRetryTimes);

    if (auto sid = r.String("session_id", Required::kNo)) {
      if (!ValidSessionId(*sid)) {
        Add("sf_init_config.session_id", "invalid_value",
            fmt::format("must be 1..{} printable characters without spaces", kMaxIdLength));
      } else {
        sf.session_id = *sid;
      }
    }

    std::vector<std::string> ignored;
    for (const auto& k : IgnoredSfInitKeys()) {
      if (v->contains(k)) {
        r.Accept(k);
        ignored.push_back(k);
      }
    }
    if (!ignored.empty()) {
      env_.notes.push_back("sf_init_config: SecretFlow options ignored by veil: " + Join(ignored));
    }
    r.RejectUnknown();
  }

  std::optional<Located> ReadSelfParty(ConfigReader& r) {
    auto s = r.String("self_party", Required::kYes);
    if (!s) return std::nullopt;
    return Located{*s, r.PathOf("self_party")};
  }

  bool ParseLocalParties(const json& list) {
    if (list.empty()) {
      Add("sf_init_config.parties", "empty_value", "must name at least one party");
      return false;
    }
    bool ok = true;
    std::set<std::string> seen;
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string path = fmt::format("sf_init_config.parties[{}]", i);
      const json& e = list[i];
      if (!e.is_string()) {
        Add(path, "wrong_type", "must be a party name (string), got " + JsonTypeName(e));
        ok = false;
        continue;
      }
      const std::string name = e.get<std::string>();
      if (!CheckPartyName(name, path)) {
        ok = false;
        continue;
      }
      if (!seen.insert(name).second) {
        Add(path, "duplicate_party", fmt::format("party '{}' is listed twice", name));
        ok = false;
        continue;
      }
      env_.sf_init.parties.push_back({name, "", ""});
    }
    return ok;
  }

  bool CheckPartyName(const std::string& name, const std::string& path) {
    if (ValidPartyName(name)) return true;
    Add(path, "invalid_party_name",
        fmt::format("party name '{}' must be 1..{} characters of [A-Za-z0-9_.-]", name,
                    kMaxPartyNameLength));
    return false;
  }

  // parties: {name: {"address": "host:port", "listen_addr"?: "host:port"}} read from `r`'s
  // object. Ranks follow the (sorted) key order.
  bool ParseClusterParties(ConfigReader& r, const std::string& key) {
    const json* v = r.Raw(key, Required::kYes);
    if (!v) return false;
    const std::string path = r.PathOf(key);
    if (!v->is_object()) {
      Add(path, "wrong_type",
          "must be an object {party: {address, listen_addr}}, got " + JsonTypeName(*v));
      return false;
    }
    if (v->empty()) {
      Add(path, "empty_value", "must name at least one party");
      return false;
    }
    bool ok = true;
    std::map<std::string, std::string> address_owner;
    for (const auto& [name, entry] : v->items()) {
      const std::string ppath = path + "." + name;
      if (!CheckPartyName(name, ppath)) {
        ok = false;
        continue;
      }
      ConfigReader e(entry, ppath, &problems_);
      if (!e.valid()) {
        ok = false;
        continue;
      }
      link::PartyAddress pa{name, "", ""};
      auto address = e.String("address", Required::kYes);
      auto listen = e.String("listen_addr", Required::kNo);
      e.RejectUnknown();
      if (!address) {
        ok = false;
      } else if (!CheckAddress(*address, e.PathOf("address"))) {
        ok = false;
      } else {
        pa.address = *address;
        auto [it, fresh] = address_owner.emplace(*address, name);
        if (!fresh) {
          Add(e.PathOf("address"), "duplicate_address",
              fmt::format("'{}' is also the address of party '{}'", *address, it->second));
          ok = false;
        }
      }
      if (listen) {
        if (CheckAddress(*listen, e.PathOf("listen_addr"))) {
          pa.listen_addr = *listen;
        } else {
          ok = false;
        }
      }
      party_paths_[name] = {e.PathOf("address"), e.PathOf("listen_addr")};
      env_.sf_init.parties.push_back(std::move(pa));
    }
    return ok;
  }

  bool CheckAddress(const std::string& address, const std::string& path) {
    std::string host;
    int64_t port = 0;
    if (SplitHostPort(address, &host, &port)) return true;
    Add(path, "invalid_address",
        fmt::format("'{}' must be host:port with a port in 1..65535", address));
    return false;
  }

  std::vector<std::string> PartyNames() const {
    std::vector<std::string> names;
    for (const auto& p : env_.sf_init.parties) names.push_back(p.name);
    return names;
  }
  bool IsParty(const std::string& name) const {
    const auto& ps = env_.sf_init.parties;
    return std::any_of(ps.begin(), ps.end(), [&](const auto& p) { return p.name == name; });
  }

  // ---- spu_config ------------------------------------------------------------------------

  void ParseSpu(const json* v) {
    if (!v) return;
    ConfigReader r(*v, "spu_config", &problems_);
    if (!r.valid()) return;
    SpuConfig spu;
    spu.raw = *v;
    spu.enabled = r.Bool("enable_spu", true);
    const json* cd = r.Raw("cluster_def", spu.enabled ? Required::kYes : Required::kNo);
    if (cd) {
      ConfigReader c(*cd, "spu_config.cluster_def", &problems_);
      if (c.valid()) {
        ParseSpuNodes(c, &spu);
        ParseRuntimeConfig(c, &spu);
        c.RejectUnknown();
      }
    }
    if (const json* ld = r.Raw("link_desc", Required::kNo)) {
      spu.link_desc = *ld;
      ConfigReader l(*ld, "spu_config.link_desc", &problems_);
      if (l.valid()) {
        spu_link_.connect_retry_times =
            l.Int("connect_retry_times", Required::kNo, 1, kMaxConnectRetryTimes);
        spu_link_.connect_retry_interval_ms =
            l.Int("connect_retry_interval_ms", Required::kNo, 1, kMaxLinkTimeoutMs);
        spu_link_.recv_timeout_ms = l.Int("recv_timeout_ms", Required::kNo, 1, kMaxLinkTimeoutMs);
        std::vector<std::string> ignored;
        for (const auto& [k, unused] : ld->items()) {
          if (std::find(std::begin(kLinkDescIntKeys), std::end(kLinkDescIntKeys), k) ==
              std::end(kLinkDescIntKeys)) {
            ignored.push_back(k);
          }
        }
        if (!ignored.empty()) {
          env_.notes.push_back("spu_config.link_desc: SPU link options ignored by veil: " +
                               Join(ignored));
        }
      }
    }
    r.Accept("log_options");  // SecretFlow's SPU(log_options=...): accepted, ignored
    r.RejectUnknown();
    env_.spu = std::move(spu);
  }

  void ParseSpuNodes(ConfigReader& c, SpuConfig* spu) {
    const json* nodes = c.Raw("nodes", Required::kYes);
    if (!nodes) return;
    const std::string path = c.PathOf("nodes");
    if (!nodes->is_array()) {
      Add(path, "wrong_type", "must be a list of {party, address}, got " + JsonTypeName(*nodes));
      spu_nodes_ok_ = false;
      return;
    }
    if (nodes->empty()) {
      Add(path, "empty_value", "must list at least one node");
      spu_nodes_ok_ = false;
      return;
    }
    std::set<std::string> seen;
    for (size_t i = 0; i < nodes->size(); ++i) {
      const std::string npath = fmt::format("{}[{}]", path, i);
      ConfigReader n((*nodes)[i], npath, &problems_);
      if (!n.valid()) {
        spu_nodes_ok_ = false;
        continue;
      }
      SpuNode node;
      auto party = n.String("party", Required::kYes);
      auto address = n.String("address", Required::kYes);
      auto listen = n.String("listen_addr", Required::kNo);
      n.RejectUnknown();
      if (!party || !CheckPartyName(*party, n.PathOf("party"))) {
        spu_nodes_ok_ = false;
      } else if (!seen.insert(*party).second) {
        Add(n.PathOf("party"), "duplicate_party",
            fmt::format("party '{}' has two SPU nodes", *party));
        spu_nodes_ok_ = false;
      } else {
        node.party = *party;
      }
      if (address && CheckAddress(*address, n.PathOf("address"))) node.address = *address;
      if (listen && CheckAddress(*listen, n.PathOf("listen_addr"))) node.listen_addr = *listen;
      spu_node_paths_.push_back(npath);
      spu->nodes.push_back(std::move(node));
    }
  }

  void ParseRuntimeConfig(ConfigReader& c, SpuConfig* spu) {
    const json* rc = c.Raw("runtime_config", Required::kYes);
    if (!rc) return;
    spu->runtime_config = *rc;
    ConfigReader r(*rc, c.PathOf("runtime_config"), &problems_);
    if (!r.valid()) return;
    protocol_path_ = r.PathOf("protocol");
    if (auto protocol = r.String("protocol", Required::kYes)) {
      std::string p = Upper(*protocol);
      if (std::find(SpuProtocols().begin(), SpuProtocols().end(), p) == SpuProtocols().end()) {
        Add(protocol_path_, "invalid_value",
            fmt::format("'{}' is not one of: {}", *protocol, Join(SpuProtocols())));
      } else {
        spu->protocol = p;
      }
    }
    int max_fxp_bits = 30;  // the engine's limit: k/2 - 2 for a k-bit ring
    if (auto field = r.String("field", Required::kYes)) {
      std::string f = Upper(*field);
      if (std::find(UnsupportedSpuFields().begin(), UnsupportedSpuFields().end(), f) !=
          UnsupportedSpuFields().end()) {
        Add(r.PathOf("field"), "unsupported_value",
            fmt::format("field '{}' is not supported by veil's MPC engine; use one of: {}", *field,
                        Join(SpuFields())));
      } else if (std::find(SpuFields().begin(), SpuFields().end(), f) == SpuFields().end()) {
        Add(r.PathOf("field"), "invalid_value",
            fmt::format("'{}' is not one of: {}", *field, Join(SpuFields())));
      } else {
        spu->field = f;
        if (f == "FM128") max_fxp_bits = 62;
      }
    }
    spu->fxp_fraction_bits = r.Int("fxp_fraction_bits", Required::kNo, 1, max_fxp_bits);
    spu->beaver_type = r.Enum("beaver_type", Required::kNo, BeaverTypes());
    spu->trunc_allow_msb_error = r.Bool("trunc_allow_msb_error", false);
    r.String("sigmoid_mode", Required::kNo);
    std::vector<std::string> ignored;
    for (const auto& [k, unused] : rc->items()) {
      if (!ReadRuntimeConfigKeys().count(k)) {
        r.Accept(k);
        ignored.push_back(k);
      }
    }
    if (!ignored.empty()) {
      env_.notes.push_back("spu_config.cluster_def.runtime_config: options kept but ignored: " +
                           Join(ignored));
    }
  }

  void CheckSpuLogic() {
    if (!env_.spu || !env_.spu->enabled) return;
    const SpuConfig& spu = *env_.spu;
    for (size_t i = 0; i < spu.nodes.size(); ++i) {
      const std::string& party = spu.nodes[i].party;
      if (party.empty()) continue;  // already reported
      if (!IsParty(party)) {
        Add(spu_node_paths_[i] + ".party", "unknown_party",
            fmt::format("SPU node party '{}' is not a party of sf_init_config ({})", party,
                        Join(PartyNames())));
      }
    }
    if (!spu_nodes_ok_ || spu.protocol.empty() || spu.nodes.empty()) return;
    const size_t n = spu.nodes.size();
    if (spu.protocol == "SEMI2K" && n < 2) {
      Add(protocol_path_, "party_count",
          fmt::format("SEMI2K needs at least 2 SPU parties, cluster_def has {}", n));
    } else if (spu.protocol == "ABY3" && n != 3) {
      Add(protocol_path_, "party_count",
          fmt::format("ABY3 needs exactly 3 SPU parties, cluster_def has {}", n));
    } else if (spu.protocol == "CHEETAH" && n != 2) {
      Add(protocol_path_, "party_count",
          fmt::format("CHEETAH needs exactly 2 SPU parties, cluster_def has {}", n));
    }
  }

  // ---- heu_config ------------------------------------------------------------------------

  // "alice" or {"party": "alice"} (SecretFlow's shape).
  std::optional<std::string> ReadPartyRef(const json& v, const std::string& path) {
    if (v.is_string() && !v.get<std::string>().empty()) return v.get<std::string>();
    if (v.is_object() && v.contains("party") && v.at("party").is_string() && v.size() == 1) {
      return v.at("party").get<std::string>();
    }
    Add(path, "wrong_type", "must be a party name or {\"party\": name}, got " + JsonTypeName(v));
    return std::nullopt;
  }

  void ParseHeu(const json* v) {
    if (!v) return;
    ConfigReader r(*v, "heu_config", &problems_);
    if (!r.valid()) return;
    HeuConfig heu;
    heu.raw = *v;
    heu.enabled = r.Bool("enable_heu", true);
    if (auto schema = r.String("schema", heu.enabled ? Required::kYes : Required::kNo)) {
      std::string s = Lower(*schema);
      if (std::find(HeSchemas().begin(), HeSchemas().end(), s) == HeSchemas().end()) {
        Add("heu_config.schema", "unsupported_value",
            fmt::format("HE schema '{}' is not supported; use one of: {}", *schema,
                        Join(HeSchemas())));
      } else {
        heu.schema = s;
      }
    }
    heu.key_size_bits = r.Int("key_size", kDefaultHeKeyBits, 1, kMaxHeKeyBits);
    if (r.Has("key_size") && heu.key_size_bits < kMinHeKeyBits && !heu.schema.empty()) {
      // Security layer: short moduli are factorable.
      Add("heu_config.key_size", "weak_key",
          fmt::format("{} key of {} bits is too weak; at least {} bits are required", heu.schema,
                      heu.key_size_bits, kMinHeKeyBits));
    }
    if (const json* sk = r.Raw("sk_keeper", Required::kNo)) {
      heu.sk_keeper = ReadPartyRef(*sk, "heu_config.sk_keeper");
    }
    if (const json* ev = r.Raw("evaluators", Required::kNo)) {
      if (!ev->is_array()) {
        Add("heu_config.evaluators", "wrong_type",
            "must be a list of party names, got " + JsonTypeName(*ev));
      } else {
        for (size_t i = 0; i < ev->size(); ++i) {
          const std::string path = fmt::format("heu_config.evaluators[{}]", i);
          auto p = ReadPartyRef((*ev)[i], path);
          if (!p) continue;
          if (std::find(heu.evaluators.begin(), heu.evaluators.end(), *p) != heu.evaluators.end()) {
            Add(path, "duplicate_party", fmt::format("party '{}' is listed twice", *p));
          } else if (heu.sk_keeper && *heu.sk_keeper == *p) {
            Add(path, "conflicting_value",
                fmt::format("'{}' is the sk_keeper and cannot also be an evaluator", *p));
          } else {
            heu.evaluators.push_back(*p);
          }
        }
      }
    }
    r.String("mode", Required::kNo);  // SecretFlow's "PHEU": accepted, ignored
    r.RejectUnknown();
    env_.heu = std::move(heu);
  }

  void CheckHeuLogic() {
    if (!env_.heu || !env_.heu->enabled) return;
    const HeuConfig& heu = *env_.heu;
    if (heu.sk_keeper && !IsParty(*heu.sk_keeper)) {
      Add("heu_config.sk_keeper", "unknown_party",
          fmt::format("'{}' is not a party of sf_init_config ({})", *heu.sk_keeper,
                      Join(PartyNames())));
    }
    for (size_t i = 0; i < heu.evaluators.size(); ++i) {
      if (!IsParty(heu.evaluators[i])) {
        Add(fmt::format("heu_config.evaluators[{}]", i), "unknown_party",
            fmt::format("'{}' is not a party of sf_init_config ({})", heu.evaluators[i],
                        Join(PartyNames())));
      }
    }
  }

  // ---- link options and ports ------------------------------------------------------------

  struct OptionalLink {
    std::optional<int64_t> connect_timeout_ms, recv_timeout_ms, connect_retry_interval_ms,
        connect_retry_times;
  };

  void ResolveLinkOptions() {
    link::LinkOptions& o = env_.sf_init.link_options;
    auto apply = [](const OptionalLink& l, link::LinkOptions* o) {
      if (l.connect_timeout_ms) o->connect_timeout_ms = *l.connect_timeout_ms;
      if (l.recv_timeout_ms) o->recv_timeout_ms = *l.recv_timeout_ms;
      if (l.connect_retry_interval_ms) o->connect_retry_interval_ms = *l.connect_retry_interval_ms;
      if (l.connect_retry_times) o->connect_retry_times = *l.connect_retry_times;
    };
    apply(spu_link_, &o);  // SPU's link_desc first, sf_init_config wins
    apply(sf_link_, &o);
    if (sf_link_.connect_retry_interval_ms &&
        *sf_link_.connect_retry_interval_ms > o.connect_timeout_ms) {
      Add("sf_init_config.connect_retry_interval_ms", "out_of_range",
          fmt::format("{} ms exceeds connect_timeout_ms ({} ms)",
                      *sf_link_.connect_retry_interval_ms, o.connect_timeout_ms));
    }
    if (env_.sf_init.session_id.empty()) env_.sf_init.session_id = env_.execution_id;
  }

  // The port this node listens on for `address` / `listen_addr` (listen_addr wins).
  void CheckPortIn(const PortRange& range, const std::string& address,
                   const std::string& listen_addr, const std::string& address_path,
                   const std::string& listen_path, const char* range_name) {
    const bool use_listen = !listen_addr.empty();
    std::string host;
    int64_t port = 0;
    if (!SplitHostPort(use_listen ? listen_addr : address, &host, &port)) return;
    if (!range.Contains(port)) {
      Add(use_listen ? listen_path : address_path, "port_out_of_range",
          fmt::format("port {} is outside this node's {} [{}, {}]", port, range_name, range.first,
                      range.last));
    }
  }

  void CheckPorts() {
    // Local mode opens no socket, so only a cluster-mode party's own ports are checked.
    const SfInitConfig& sf = env_.sf_init;
    if (sf.local() || !sf.self_party) return;
    if (options_.sf_port_range) {
      for (const auto& p : sf.parties) {
        if (p.name != *sf.self_party) continue;
        const auto& paths = party_paths_[p.name];
        CheckPortIn(*options_.sf_port_range, p.address, p.listen_addr, paths.first, paths.second,
                    "SF port range");
      }
    }
    if (options_.spu_port_range && env_.spu && env_.spu->enabled) {
      for (size_t i = 0; i < env_.spu->nodes.size(); ++i) {
        const SpuNode& n = env_.spu->nodes[i];
        if (n.party != *sf.self_party) continue;
        CheckPortIn(*options_.spu_port_range, n.address, n.listen_addr,
                    spu_node_paths_[i] + ".address", spu_node_paths_[i] + ".listen_addr",
                    "SPU port range");
      }
    }
  }

  // ---- task_config -----------------------------------------------------------------------

  void BuildTaskEnv() {
    tasks::TaskEnv& e = env_.env;
    e.parties = PartyNames();
    e.self_party = env_.sf_init.self_party;
    e.data_root = options_.data_root;
    e.has_spu = env_.spu_enabled();
    e.has_heu = env_.heu_enabled();
  }

  void ParseTaskConfig(const json* v) {
    if (!v) return;
    env_.task_config = *v;
    env_.resolved_task_config = *v;
    ConfigReader t(*v, "task_config", &problems_);
    if (!t.valid()) return;
    auto type_name = t.String("task_type", Required::kYes);
    if (!type_name) return;
    env_.task_type = *type_name;
    const tasks::TaskType* type = registry_.Find(*type_name);
    if (!type) {
      Add("task_config.task_type", "unknown_task_type",
          fmt::format("unknown task type '{}'; supported: {}", *type_name,
                      Join(registry_.names())));
      return;
    }
    if (type->needs_spu && !env_.spu_enabled()) {
      Add("spu_config", "spu_required",
          fmt::format("task type '{}' needs an SPU: give spu_config with enable_spu true and a "
                      "cluster_def",
                      type->name));
    } else if (type->needs_spu && spu_nodes_ok_ && parties_ok_) {
      // veil's SPU spans every party of the execution (ranks in sf_init_config order).
      std::vector<std::string> nodes;
      for (const auto& n : env_.spu->nodes) nodes.push_back(n.party);
      std::vector<std::string> parties = PartyNames();
      std::sort(nodes.begin(), nodes.end());
      std::sort(parties.begin(), parties.end());
      if (nodes != parties) {
        Add("spu_config.cluster_def.nodes", "spu_parties_mismatch",
            fmt::format("task type '{}' runs its SPU on every party ({}); cluster_def.nodes "
                        "names {}",
                        type->name, Join(PartyNames()), Join(nodes)));
      }
    }
    if (type->needs_heu && !env_.heu_enabled()) {
      Add("heu_config", "heu_required",
          fmt::format("task type '{}' needs HEU: give heu_config with enable_heu true",
                      type->name));
    }
    // The task validator checks its party-keyed dicts against the parties; without a valid
    // party list its findings would only be noise, so it runs once sf_init_config is sound.
    if (!parties_ok_) return;
    if (type->validate) type->validate(*v, env_.env, problems_);
    CheckPaths(*type);
  }

  // ---- security: paths -------------------------------------------------------------------

  void CheckPaths(const tasks::TaskType& type) {
    const std::vector<std::string> own = env_.own_parties();
    std::optional<fs::path> root, canonical_root;
    if (!options_.data_root.empty()) {
      std::error_code ec;
      root = fs::absolute(fs::path(options_.data_root), ec).lexically_normal();
      if (ec) root = fs::path(options_.data_root).lexically_normal();
      fs::path c = fs::weakly_canonical(*root, ec);
      canonical_root = ec ? *root : c.lexically_normal();
    }
    json& resolved = env_.resolved_task_config;
    for (const tasks::PathField& f : type.path_fields) {
      if (!resolved.is_object() || !resolved.contains(f.name)) continue;
      json& field = resolved[f.name];
      const std::string path = "task_config." + f.name;
      if (f.party_keyed) {
        if (!field.is_object()) continue;  // the task validator reports the shape
        for (auto it = field.begin(); it != field.end(); ++it) {
          if (std::find(own.begin(), own.end(), it.key()) == own.end()) continue;
          CheckOnePath(path + "." + it.key(), &it.value(), f.is_output, root, canonical_root);
        }
      } else {
        CheckOnePath(path, &field, f.is_output, root, canonical_root);
      }
    }
  }

  void CheckOnePath(const std::string& path, json* value, bool is_output,
                    const std::optional<fs::path>& root,
                    const std::optional<fs::path>& canonical_root) {
    if (!value->is_string() || value->get<std::string>().empty()) return;
    const fs::path given(value->get<std::string>());
    for (const auto& part : given) {
      if (part == "..") {
        Add(path, "path_traversal",
            fmt::format("'{}' contains '..'; paths must not leave their directory",
                        given.string()));
        return;
      }
    }
    std::error_code ec;
    fs::path abs;
    if (given.is_absolute()) {
      abs = given;
    } else if (root) {
      abs = *root / given;
    } else {
      abs = fs::absolute(given, ec);
      if (ec) abs = given;
    }
    abs = abs.lexically_normal();
    if (root) {
      if (!Within(abs, *root)) {
        Add(path, "path_outside_data_root",
            fmt::format("'{}' is outside the data root '{}'", given.string(), root->string()));
        return;
      }
      fs::path canonical = fs::weakly_canonical(abs, ec);
      if (!ec && !Within(canonical.lexically_normal(), *canonical_root)) {
        Add(path, "symlink_escape",
            fmt::format("'{}' resolves through a symbolic link to '{}', outside the data root",
                        given.string(), canonical.string()));
        return;
      }
    }
    if (!is_output && !fs::exists(abs, ec)) {
      Add(path, "path_not_found", fmt::format("input '{}' does not exist", given.string()));
      return;
    }
    *value = abs.string();
  }

  const RuntimeOptions& options_;
  const tasks::TaskRegistry& registry_;
  Problems problems_;
  Envelope env_;
  bool parties_ok_ = false;
  bool spu_nodes_ok_ = true;
  std::optional<Located> self_party_;
  // party -> {address path, listen_addr path}
  std::map<std::string, std::pair<std::string, std::string>> party_paths_;
  std::vector<std::string> spu_node_paths_;
  std::string protocol_path_ = "spu_config.cluster_def.runtime_config.protocol";
  OptionalLink sf_link_, spu_link_;
};

}  // namespace

std::vector<std::string> Envelope::party_names() const {
  std::vector<std::string> out;
  for (const auto& p : sf_init.parties) out.push_back(p.name);
  return out;
}

std::vector<std::string> Envelope::own_parties() const {
  if (local() || !sf_init.self_party) return party_names();
  return {*sf_init.self_party};
}

bool SplitHostPort(const std::string& address_in, std::string* host, int64_t* port) {
  // Like the TCP transport: an optional "scheme://" prefix and "/path" suffix are ignored.
  std::string address = address_in;
  if (size_t scheme = address.find("://"); scheme != std::string::npos) {
    address = address.substr(scheme + 3);
  }
  if (size_t slash = address.find('/'); slash != std::string::npos) address.resize(slash);
  size_t colon;
  if (!address.empty() && address.front() == '[') {
    size_t close = address.find(']');
    if (close == std::string::npos || close + 1 >= address.size() || address[close + 1] != ':') {
      return false;
    }
    *host = address.substr(1, close - 1);
    colon = close + 1;
  } else {
    colon = address.rfind(':');
    if (colon == std::string::npos) return false;
    *host = address.substr(0, colon);
    if (host->find(':') != std::string::npos) return false;  // bare IPv6 needs brackets
  }
  if (host->empty() ||
      std::any_of(host->begin(), host->end(), [](unsigned char c) { return std::isspace(c); })) {
    return false;
  }
  const std::string digits = address.substr(colon + 1);
  if (digits.empty() || digits.size() > 5 ||
      !std::all_of(digits.begin(), digits.end(), [](unsigned char c) { return std::isdigit(c); })) {
    return false;
  }
  *port = std::stoll(digits);
  return *port >= 1 && *port <= 65535;
}

StatusOr<Envelope> ParseEnvelope(const nlohmann::json& envelope, const RuntimeOptions& options) {
  const tasks::TaskRegistry& registry =
      options.registry ? *options.registry : tasks::BuiltinRegistry();
  EnvelopeParser parser(options, registry);
  return parser.Parse(envelope);
}

}  // namespace veil::runtime
