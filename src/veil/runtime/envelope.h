// The task envelope (SPEC §4.1, python-worker.md §2.1): parsing and layered validation.
//
//   RuntimeOptions opts;                  // DATA_PATH, node port ranges, task registry
//   opts.data_root = "/data";
//   StatusOr<Envelope> env = ParseEnvelope(json, opts);
//   if (!env.ok()) { /* env.status().problems(): every problem, each with its field path */ }
//
// Validation runs in the three layers of seed 004 and collects EVERY problem of every layer into
// one ParameterValidationError (Problems::ToStatus): its problems() list {path, code, message}
// with exact dotted field paths ("sf_init_config.cluster_config.self_party",
// "spu_config.cluster_def.runtime_config.protocol", "task_config.input_paths.bob", ...).
//   1. structural: required fields, JSON types, ranges, unknown keys;
//   2. logical: party sets consistent across sf_init_config / spu_config / heu_config, SPU
//      protocol vs party count, task type registered (then the task's own validator, which checks
//      its party-keyed dicts), ports of THIS node inside the node's configured ranges;
//   3. security: every path field of the task resolves inside RuntimeOptions::data_root (no "..",
//      no escape through symlinks), inputs of the own party(ies) exist, HE keys >= 2048 bits.
// Validation never touches the network; it only stats the own party's input files.
//
// Problem codes (stable): missing_field, wrong_type, empty_value, out_of_range, unknown_field,
// invalid_value, unsupported_value, conflicting_value, invalid_party_name, duplicate_party,
// unknown_party, invalid_address, duplicate_address, party_count, port_out_of_range,
// unknown_task_type, spu_required, heu_required, weak_key, path_traversal,
// path_outside_data_root, symlink_escape, path_not_found.
//
// Strictness: veil's own keys (the envelope's top level, the party entries, spu_config,
// heu_config, cluster_def) are strict: an unknown key is an "unknown_field" problem, so a typo
// never silently changes behaviour. sf_init_config is SecretFlow's `sf.init(**kwargs)`, so the
// documented SecretFlow kwargs that have no meaning for veil (ray_mode, num_cpus, runtime_env,
// ...; see kIgnoredSfInitKeys in envelope.cc) are accepted and ignored; anything else is an
// "unknown_field". SPU's RuntimeConfig and LinkDesc carry dozens of tuning knobs, so their
// unknown keys are kept in the raw JSON and ignored (recorded in Envelope::notes).
//
// Thread safety: ParseEnvelope is reentrant; an Envelope is a value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "veil/base/status.h"
#include "veil/link/transport.h"
#include "veil/tasks/registry.h"
#include "veil/tasks/task.h"

namespace veil::runtime {

// The `address` value of the local (simulation) shape.
inline constexpr char kLocalAddress[] = "local";
// Smallest accepted HE key (Paillier and OU modulus), in bits: the security layer's floor.
inline constexpr int64_t kMinHeKeyBits = 2048;
inline constexpr int64_t kDefaultHeKeyBits = 2048;
inline constexpr int64_t kMaxHeKeyBits = 16384;
// Upper bound for every link timeout / interval (one day): larger values are typos.
inline constexpr int64_t kMaxLinkTimeoutMs = 86'400'000;
inline constexpr int64_t kMaxConnectRetryTimes = 1'000'000;
inline constexpr size_t kMaxIdLength = 256;

// An inclusive TCP port range of this node (SF_PORT_RANGE_START/END, ...).
struct PortRange {
  int64_t first = 0;
  int64_t last = 0;
  bool Contains(int64_t port) const { return port >= first && port <= last; }
};

// Facts about the node that validation needs. Built by the CLI / worker from the node config.
struct RuntimeOptions {
  // DATA_PATH: every path of a task must resolve inside it; relative paths are resolved against
  // it. Empty: paths are not restricted (relative paths resolve against the working directory).
  std::string data_root;
  // Port ranges of this node. When set, this node's own listening ports (cluster mode only: in
  // local mode no socket is opened) must lie inside them.
  std::optional<PortRange> sf_port_range;
  std::optional<PortRange> spu_port_range;
  // Task types; nullptr = tasks::BuiltinRegistry(). Not owned; must outlive the call.
  const tasks::TaskRegistry* registry = nullptr;
};

// Which of the three sf_init_config shapes was given.
enum class SfInitShape {
  kLocal,              // {"parties": [...], "address": "local"}
  kDocumentedCluster,  // {"parties": {name: {address, listen_addr?}}, "self_party"}
  kSecretFlowCluster,  // {"address", "cluster_config": {"parties": {...}, "self_party"}}
};

struct SfInitConfig {
  SfInitShape shape = SfInitShape::kLocal;
  // Rank order. Local shape: the list order. Cluster shapes: sorted by party name, because a JSON
  // object has no order (RFC 8259) and every node must derive the same ranks from its envelope.
  // Addresses are empty in local mode.
  std::vector<link::PartyAddress> parties;
  std::optional<std::string> self_party;  // cluster shapes only
  std::string address;                    // the Ray/SecretFlow "address" (informational)
  // "session_id" (veil extension), default execution_id. Every party's link must use the same
  // one, so it must be given explicitly when the parties' envelopes carry different
  // execution_ids (as in the Python worker's API examples).
  std::string session_id;
  link::LinkOptions link_options;  // sf_init_config, else spu_config.link_desc, else defaults

  bool local() const { return shape == SfInitShape::kLocal; }
};

struct SpuNode {
  std::string party;
  std::string address;
  std::string listen_addr;  // may be empty
};

struct SpuConfig {
  bool enabled = true;  // "enable_spu", default true when the section is present
  std::vector<SpuNode> nodes;
  std::string protocol;  // SEMI2K | ABY3 | CHEETAH | REF2K
  std::string field;     // FM64 | FM128
  std::optional<int64_t> fxp_fraction_bits;
  std::optional<std::string> beaver_type;
  bool trunc_allow_msb_error = false;  // SPU's option (2-party SEMI2K truncation)
  nlohmann::json runtime_config;  // raw cluster_def.runtime_config (all keys, incl. ignored ones)
  nlohmann::json link_desc;       // raw link_desc, null when absent
  nlohmann::json raw;             // the whole section as given
};

struct HeuConfig {
  bool enabled = true;  // "enable_heu", default true when the section is present
  std::string schema;   // paillier | ou
  int64_t key_size_bits = kDefaultHeKeyBits;
  std::optional<std::string> sk_keeper;  // party holding the secret key
  std::vector<std::string> evaluators;
  nlohmann::json raw;
};

struct Envelope {
  std::string task_id;       // may be empty (python-worker §2.1)
  std::string subtask_id;    // may be empty
  std::string execution_id;  // non-empty; legacy "task_request_id" accepted
  SfInitConfig sf_init;
  std::optional<SpuConfig> spu;  // absent or null section: nullopt
  std::optional<HeuConfig> heu;
  std::string task_type;
  // task_config exactly as given: validated, and the input of TaskType::peer_config.
  nlohmann::json task_config;
  // task_config as the task's run() receives it: the own party(ies)' path fields replaced by
  // their resolved absolute paths (relative paths anchored at data_root). Other parties' paths
  // are left as given.
  nlohmann::json resolved_task_config;
  tasks::TaskEnv env;
  // Non-fatal remarks for the log (ignored keys, a parties list with a non-local address, ...).
  std::vector<std::string> notes;

  bool local() const { return sf_init.local(); }
  bool spu_enabled() const { return spu && spu->enabled; }
  bool heu_enabled() const { return heu && heu->enabled; }
  std::vector<std::string> party_names() const;
  // The parties this process runs: every party in local mode, self_party in cluster mode.
  std::vector<std::string> own_parties() const;
};

// Parses and validates `envelope` (all three layers). On failure returns one
// ParameterValidationError listing every problem found. Task types are looked up in
// options.registry (default: the built-in registry).
StatusOr<Envelope> ParseEnvelope(const nlohmann::json& envelope, const RuntimeOptions& options);

// Splits "host:port" / "[v6]:port" (an optional "scheme://" prefix and "/path" suffix are ignored,
// as by the TCP transport). Returns false if the host is empty or the port is not an integer in
// 1..65535.
bool SplitHostPort(const std::string& address, std::string* host, int64_t* port);

}  // namespace veil::runtime
