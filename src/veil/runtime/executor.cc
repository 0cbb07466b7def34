#include "veil/runtime/executor.h"

#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "veil/base/bytes.h"
#include "veil/base/exception.h"
#include "veil/base/log.h"
#include "veil/base/problems.h"
#include "veil/base/time.h"
#include "veil/link/tcp_transport.h"
#include "veil/mpc/device.h"
#include "veil/runtime/redact.h"

namespace veil::runtime {
namespace {

using nlohmann::json;

constexpr char kDigestTag[] = "veil/peer_config_digest";
constexpr char kReadyBarrierTag[] = "ready";
constexpr auto kCancelRelayPoll = std::chrono::milliseconds(20);
constexpr int kTimeDecimals = 4;
constexpr int kPercentDecimals = 1;
constexpr size_t kDigestPrefixChars = 12;  // how much of a digest error messages show

double Round(double x, int decimals) {
  const double f = std::pow(10.0, decimals);
  return std::round(x * f) / f;
}

double Percent(double part, double total) {
  return total > 0 ? Round(100.0 * part / total, kPercentDecimals) : 0.0;
}

// An error that only reflects another party's failure (its links closed, or the execution was
// cancelled because of it). Never reported when a root cause is known.
bool IsSecondary(const Status& s) { return s.code() == "peer_lost" || s.code() == kPeerFailedCode; }

// Mirrors the caller's cancel token into the execution's own token. The execution needs its own
// token because a failing local party cancels it, which must not cancel the caller's token.
class CancelRelay {
 public:
  CancelRelay(std::shared_ptr<CancelToken> from, std::shared_ptr<CancelToken> to) {
    if (!from) return;
    if (from->cancelled()) {  // no thread needed, and no window in which `to` looks alive
      to->Cancel(from->reason());
      return;
    }
    thread_ = std::thread([this, from = std::move(from), to = std::move(to)] {
      std::unique_lock<std::mutex> lock(mu_);
      while (!stop_) {
        if (from->cancelled()) {
          to->Cancel(from->reason());
          return;
        }
        cv_.wait_for(lock, kCancelRelayPoll);
      }
    });
  }
  ~CancelRelay() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  CancelRelay(const CancelRelay&) = delete;
  CancelRelay& operator=(const CancelRelay&) = delete;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// Runs fn(i) for every context, each on its own thread when there are several (local mode), in
// the calling thread when there is one (cluster mode). A failing party's links are closed and
// the execution cancelled so the others stop. Returns the first non-secondary error.
Status RunOnParties(const std::vector<std::unique_ptr<link::Context>>& ctxs, CancelToken* cancel,
                    const std::function<Status(size_t)>& fn) {
  std::mutex mu;
  std::vector<Status> failures;  // in the order they happened
  auto run_one = [&](size_t i) {
    Status s = CatchAll([&] { return fn(i); });
    if (s.ok()) return;
    {
      std::lock_guard<std::mutex> lock(mu);
      failures.push_back(s);
    }
    // Recorded before anyone can observe the consequences below, so the root cause is first.
    ctxs[i]->Abort(s);
    cancel->Cancel(CancelledError(
        kPeerFailedCode, fmt::format("party {} failed: {}", ctxs[i]->self_name(), s.message())));
  };
  if (ctxs.size() == 1) {
    run_one(0);
  } else {
    std::vector<std::thread> threads;
    threads.reserve(ctxs.size());
    for (size_t i = 0; i < ctxs.size(); ++i) threads.emplace_back(run_one, i);
    for (auto& t : threads) t.join();
  }
  if (failures.empty()) return Status();
  for (const Status& f : failures) {
    if (!IsSecondary(f)) return f;
  }
  return failures.front();
}

// The engine configuration of an (already validated) spu_config.
StatusOr<mpc::RuntimeConfig> SpuRuntimeConfig(const SpuConfig& spu) {
  mpc::RuntimeConfig c;
  c.protocol = spu.protocol;
  VEIL_ASSIGN_OR_RETURN(c.field, mpc::ParseFieldType(spu.field));
  c.fxp_fraction_bits = static_cast<int>(spu.fxp_fraction_bits.value_or(0));
  c.beaver_type = spu.beaver_type.value_or("");
  c.trunc_allow_msb_error = spu.trunc_allow_msb_error;
  return c;
}

class Execution {
 public:
  Execution(const Envelope& env, const tasks::TaskType& type, const ExecuteOptions& opts,
            EventEmitter& emitter, std::string* stage)
      : env_(env),
        type_(type),
        emitter_(emitter),
        stage_(*stage),
        external_cancel_(opts.cancel),
        cancel_(std::make_shared<CancelToken>()),
        relay_(opts.cancel, cancel_) {}

  // Closes every link before returning (sockets freed).
  ~Execution() { CloseLinks(); }

  StatusOr<json> Run() {
    const auto start = SteadyClock::now();
    const std::string started_at = NowIso8601Utc();
    for (const auto& note : env_.notes) Log().info("{} {}", Prefix(), note);

    SetStage(kStageTaskStarted);
    emitter_.Running(kStageTaskStarted, 0.0,
                     {{"task_type", type_.name}, {"started_at", started_at}});

    // ---- cluster ----
    SetStage(kStageClusterInit);
    emitter_.Running(kStageClusterInit, 0.1);
    const auto cluster_start = SteadyClock::now();
    VEIL_RETURN_IF_ERROR(CheckCancelled());
    VEIL_RETURN_IF_ERROR(SetUpLinks());
    VEIL_RETURN_IF_ERROR(RunOnParties(ctxs_, cancel_.get(), [&](size_t i) -> Status {
      link::Context& ctx = *ctxs_[i];
      const std::string digest = PeerConfigDigest(PeerConfigDocument(env_, type_));
      VEIL_RETURN_IF_ERROR(CheckPeerConfig(ctx, digest));
      return ctx.Barrier(kReadyBarrierTag);
    }));
    const double cluster_init_s = SecondsSince(cluster_start);
    emitter_.Running(kStageClusterInitialized, 0.2,
                     {{"cluster_init_time", Round(cluster_init_s, kTimeDecimals)}});

    // ---- devices ----
    SetStage(kStageDeviceCreation);
    emitter_.Running(kStageDeviceCreation, 0.3);
    const auto device_start = SteadyClock::now();
    VEIL_RETURN_IF_ERROR(CheckCancelled());
    // Devices are PYUs (one per party) plus the SPU/HEU of the config. A task that needs the
    // SPU gets it built here (configuration agreement and PRG seeds: a collective round), so
    // device_init_time is the SPU's real set-up time.
    json devices = json::array();
    for (const auto& p : env_.party_names()) devices.push_back("pyu:" + p);
    if (env_.spu_enabled()) devices.push_back("spu");
    if (env_.heu_enabled()) devices.push_back("heu");
    if (type_.needs_spu && env_.spu_enabled()) {
      VEIL_ASSIGN_OR_RETURN(const mpc::RuntimeConfig spu_config, SpuRuntimeConfig(*env_.spu));
      spus_.resize(ctxs_.size());
      VEIL_RETURN_IF_ERROR(RunOnParties(ctxs_, cancel_.get(), [&](size_t i) -> Status {
        VEIL_ASSIGN_OR_RETURN(spus_[i], mpc::SpuDevice::Create(spu_config, ctxs_[i].get()));
        return Status();
      }));
    }
    const double device_init_s = SecondsSince(device_start);
    emitter_.Running(kStageDevicesInitialized, 0.4,
                     {{"device_init_time", Round(device_init_s, kTimeDecimals)},
                      {"initialized_devices", devices}});

    // ---- task ----
    SetStage(kStageTaskExecution);
    emitter_.Running(kStageTaskExecution, kTaskProgressStart, {{"task_type", type_.name}});
    const auto run_start = SteadyClock::now();
    VEIL_RETURN_IF_ERROR(CheckCancelled());
    if (!type_.run) {
      return InternalError("task_without_run", "task type '" + type_.name + "' has no run()");
    }
    std::map<std::string, json> by_party;
    std::mutex results_mu;
    VEIL_RETURN_IF_ERROR(RunOnParties(ctxs_, cancel_.get(), [&](size_t i) -> Status {
      link::Context& ctx = *ctxs_[i];
      const std::string party = ctx.self_name();
      tasks::PartyRun run{ctx, env_.resolved_task_config, env_.env,
                          [this, party](const std::string& stage, double p, json data) {
                            ForwardProgress(party, stage, p, std::move(data));
                          }};
      if (i < spus_.size()) run.spu = spus_[i].get();
      VEIL_ASSIGN_OR_RETURN(json result, type_.run(run));
      std::lock_guard<std::mutex> lock(results_mu);
      by_party[party] = std::move(result);
      return Status();
    }));
    const double algorithm_s = SecondsSince(run_start);

    // ---- finalize ----
    SetStage(kStageTaskCompleted);
    json result;
    if (env_.local() && type_.merge) {
      result = type_.merge(by_party, env_.task_config);
    } else {
      result = by_party.at(ctxs_.front()->self_name());
    }
    json metrics = Metrics(start, cluster_init_s, device_init_s, algorithm_s);
    CloseLinks();
    const std::string completed_at = NowIso8601Utc();
    json metadata = {{"task_id", env_.task_id},
                     {"subtask_id", env_.subtask_id},
                     {"execution_id", env_.execution_id},
                     {"task_type", type_.name},
                     {"mode", env_.local() ? "local" : "cluster"},
                     {"parties", env_.party_names()},
                     {"started_at", started_at},
                     {"completed_at", completed_at},
                     {"devices_used", devices}};
    if (env_.sf_init.self_party) metadata["self_party"] = *env_.sf_init.self_party;
    return json{{"status", "success"},
                {"result", std::move(result)},
                {"performance_metrics", std::move(metrics)},
                {"task_metadata", std::move(metadata)}};
  }

 private:
  std::string Prefix() const {
    return fmt::format("[exec={} task={} party={}]", env_.execution_id, env_.task_id,
                       env_.sf_init.self_party.value_or("*"));
  }

  void SetStage(const char* stage) { stage_ = stage; }

  // The caller's token is checked directly too: the relay mirrors it only every few ms.
  Status CheckCancelled() const {
    if (external_cancel_ && external_cancel_->cancelled()) return external_cancel_->reason();
    return cancel_->Check();
  }

  link::ContextDesc Desc() const {
    return link::ContextDesc{env_.sf_init.session_id, env_.sf_init.parties,
                             env_.sf_init.link_options};
  }

  Status SetUpLinks() {
    const link::ContextDesc desc = Desc();
    if (env_.local()) {
      ctxs_ = link::CreateMemoryWorld(desc, cancel_);
      return Status();
    }
    const auto& parties = env_.sf_init.parties;
    auto it = std::find_if(parties.begin(), parties.end(),
                           [&](const auto& p) { return p.name == *env_.sf_init.self_party; });
    if (it == parties.end()) {
      return ParameterError("unknown_party", "self_party is not a party");
    }
    const size_t self_rank = static_cast<size_t>(it - parties.begin());
    VEIL_ASSIGN_OR_RETURN(std::unique_ptr<link::Context> ctx,
                          link::CreateTcpContext(desc, self_rank, cancel_));
    ctxs_.push_back(std::move(ctx));
    Log().info("{} connecting to {} peer(s), timeout {} ms", Prefix(), parties.size() - 1,
               desc.options.connect_timeout_ms);
    return ctxs_.front()->Connect();
  }

  void CloseLinks() {
    spus_.clear();  // devices hold their links
    for (auto& c : ctxs_) {
      if (c) c->Close();
    }
    ctxs_.clear();
  }

  void ForwardProgress(const std::string& party, const std::string& stage, double p, json data) {
    const double clamped = std::isfinite(p) ? std::clamp(p, 0.0, 1.0) : 0.0;
    json extra = data.is_object() ? std::move(data) : json{{"value", std::move(data)}};
    extra["task_progress"] = p;
    emitter_.Running(stage.empty() ? "computation_progress" : stage,
                     Round(kTaskProgressStart + kTaskProgressSpan * clamped, 4), std::move(extra),
                     party);
  }

  json Metrics(SteadyClock::time_point start, double cluster_s, double device_s,
               double algorithm_s) const {
    const double total = SecondsSince(start);
    const double overhead = std::max(0.0, total - cluster_s - device_s - algorithm_s);
    uint64_t sent = 0, received = 0, rounds = 0, messages = 0;
    json per_party = json::object();
    for (const auto& c : ctxs_) {
      const link::LinkStats s = c->stats();
      sent += s.bytes_sent;
      received += s.bytes_received;
      rounds += s.rounds;
      messages += s.messages_sent;
      per_party[c->self_name()] = {{"bytes_sent", s.bytes_sent},
                                   {"bytes_received", s.bytes_received},
                                   {"rounds", s.rounds},
                                   {"messages_sent", s.messages_sent}};
    }
    return {{"total_execution_time", Round(total, kTimeDecimals)},
            {"cluster_init_time", Round(cluster_s, kTimeDecimals)},
            {"device_init_time", Round(device_s, kTimeDecimals)},
            {"algorithm_exec_time", Round(algorithm_s, kTimeDecimals)},
            {"overhead_time", Round(overhead, kTimeDecimals)},
            {"cluster_init_percentage", Percent(cluster_s, total)},
            {"device_init_percentage", Percent(device_s, total)},
            {"algorithm_exec_percentage", Percent(algorithm_s, total)},
            {"overhead_percentage", Percent(overhead, total)},
            {"bytes_sent", sent},
            {"bytes_received", received},
            {"rounds", rounds},
            {"messages_sent", messages},
            {"per_party", std::move(per_party)}};
  }

  const Envelope& env_;
  const tasks::TaskType& type_;
  EventEmitter& emitter_;
  std::string& stage_;
  std::shared_ptr<CancelToken> external_cancel_;
  std::shared_ptr<CancelToken> cancel_;
  CancelRelay relay_;
  std::vector<std::unique_ptr<link::Context>> ctxs_;
  std::vector<std::unique_ptr<mpc::SpuDevice>> spus_;  // by ctxs_ index; empty without SPU
};

EventIds IdsOf(const Envelope& env) {
  return EventIds{env.execution_id, env.task_id, env.subtask_id};
}

std::string IdString(const json& raw, const char* key) {
  if (!raw.is_object() || !raw.contains(key)) return "";
  const json& v = raw.at(key);
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return v.dump();
  return "";
}

}  // namespace

json PeerConfigDocument(const Envelope& envelope, const tasks::TaskType& type) {
  json doc = {{"protocol_version", kPeerProtocolVersion},
              {"task_type", type.name},
              {"parties", envelope.party_names()},
              {"peer_config", type.peer_config ? type.peer_config(envelope.task_config) : json()},
              {"spu", nullptr}};
  if (type.needs_spu && envelope.spu_enabled()) {
    doc["spu"] = {{"protocol", envelope.spu->protocol},
                  {"field", envelope.spu->field},
                  {"runtime_config", envelope.spu->runtime_config}};
  }
  return doc;
}

std::string PeerConfigDigest(const json& document) {
  // nlohmann::json keeps object keys sorted, so dump() is canonical for a given document.
  const std::string canonical = document.dump(-1, ' ', false, json::error_handler_t::replace);
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(canonical.data()),
                     canonical.size());
  return ToHex(digest, sizeof digest);
}

Status CheckPeerConfig(link::Context& ctx, const std::string& digest_hex) {
  VEIL_ASSIGN_OR_RETURN(std::vector<Buffer> all,
                        ctx.AllGather(kDigestTag, Buffer(digest_hex.begin(), digest_hex.end())));
  std::vector<FieldProblem> problems;
  std::vector<std::string> names;
  for (size_t r = 0; r < all.size(); ++r) {
    if (r == ctx.rank()) continue;
    const std::string theirs(all[r].begin(), all[r].end());
    if (theirs == digest_hex) continue;
    names.push_back(ctx.party_name(r));
    problems.push_back(
        {"peer_config." + ctx.party_name(r), "peer_config_mismatch",
         fmt::format("party {}'s configuration (digest {}) differs from {}'s (digest {}): "
                     "task_config, parties and SPU settings must be identical on every party",
                     ctx.party_name(r), theirs.substr(0, kDigestPrefixChars), ctx.self_name(),
                     digest_hex.substr(0, kDigestPrefixChars))});
  }
  if (problems.empty()) return Status();
  return ParameterError(
             "peer_config_mismatch",
             fmt::format("the configuration of {} differs from {}'s: {}", fmt::join(names, ", "),
                         ctx.self_name(), problems.front().message))
      .WithProblems(std::move(problems));
}

StatusOr<json> Execute(const Envelope& envelope, const ExecuteOptions& options) {
  const auto start = SteadyClock::now();
  std::optional<EventEmitter> own_emitter;
  EventEmitter* emitter = options.emitter;
  if (!emitter) {
    own_emitter.emplace(options.events, IdsOf(envelope), options.node_id);
    emitter = &*own_emitter;
  }
  std::string stage = kStageValidation;
  json result;
  Status status = CatchAll([&]() -> Status {
    const tasks::TaskRegistry& registry =
        options.registry ? *options.registry : tasks::BuiltinRegistry();
    const tasks::TaskType* type = registry.Find(envelope.task_type);
    if (!type) {
      return ParameterError("unknown_task_type",
                            fmt::format("unknown task type '{}'; supported: {}", envelope.task_type,
                                        fmt::join(registry.names(), ", ")));
    }
    // The Execution (and with it every link) ends here, before the terminal event.
    Execution execution(envelope, *type, options, *emitter, &stage);
    VEIL_ASSIGN_OR_RETURN(result, execution.Run());
    return Status();
  });
  if (!status.ok()) {
    if (status.stage().empty()) status = status.WithStage(stage);
    Log().error("[exec={} task={}] {} failed at {}: {}", envelope.execution_id, envelope.task_id,
                envelope.task_type, status.stage(), RedactString(status.ToString()));
    if (options.emit_failure_event)
      emitter->Failure(status, Round(SecondsSince(start), kTimeDecimals));
    return status;
  }
  Log().info("[exec={} task={}] {} completed in {} s", envelope.execution_id, envelope.task_id,
             envelope.task_type, result["performance_metrics"]["total_execution_time"].dump());
  emitter->Success({{"result", result["result"]},
                    {"performance_metrics", result["performance_metrics"]},
                    {"completed_at", result["task_metadata"]["completed_at"]}});
  return result;
}

StatusOr<json> ParseAndExecute(const json& envelope, const RuntimeOptions& runtime_options,
                               const ExecuteOptions& options) {
  StatusOr<Envelope> parsed = ParseEnvelope(envelope, runtime_options);
  if (!parsed.ok()) {
    Status status = parsed.status().WithStage(kStageValidation);
    std::string exec_id = IdString(envelope, "execution_id");
    if (exec_id.empty()) exec_id = IdString(envelope, "task_request_id");
    if (exec_id.empty()) exec_id = "unknown";
    std::optional<EventEmitter> own_emitter;
    EventEmitter* emitter = options.emitter;
    if (!emitter) {
      own_emitter.emplace(
          options.events,
          EventIds{exec_id, IdString(envelope, "task_id"), IdString(envelope, "subtask_id")},
          options.node_id);
      emitter = &*own_emitter;
    }
    Log().error("[exec={}] invalid envelope: {}", exec_id, RedactString(status.ToString()));
    if (options.emit_failure_event) emitter->Failure(status, 0.0);
    return status;
  }
  ExecuteOptions opts = options;
  if (!opts.registry) opts.registry = runtime_options.registry;
  return Execute(*parsed, opts);
}

}  // namespace veil::runtime
