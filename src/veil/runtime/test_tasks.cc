#include "veil/runtime/test_tasks.h"

#include <atomic>
#include <chrono>
#include <set>
#include <stdexcept>
#include <thread>

#include "veil/base/bytes.h"
#include "veil/mpc/device.h"

namespace veil::runtime::testing {
namespace {

using nlohmann::json;

void ValidateValues(const json& cfg, const tasks::TaskEnv& env, Problems& problems) {
  if (!cfg.contains("values") || !cfg.at("values").is_object()) {
    problems.Add("task_config.values", "missing_field", "is required");
    return;
  }
  const json& values = cfg.at("values");
  for (const auto& p : env.parties) {
    if (!values.contains(p)) {
      problems.Add("task_config.values." + p, "missing_field", "no value for party " + p);
    }
  }
  std::set<std::string> parties(env.parties.begin(), env.parties.end());
  for (const auto& [k, v] : values.items()) {
    if (!parties.count(k)) problems.Add("task_config.values." + k, "unknown_party", "not a party");
    if (!v.is_number_integer()) problems.Add("task_config.values." + k, "wrong_type", "int");
  }
}

StatusOr<json> RunSum(tasks::PartyRun& run) {
  const json& cfg = run.task_config;
  const std::string self = run.link.self_name();
  if (cfg.value("fail_party", "") == self) {
    std::this_thread::sleep_for(std::chrono::milliseconds(cfg.value("fail_delay_ms", 0)));
    return AlgorithmError("boom", "party " + self + " exploded on purpose");
  }
  if (cfg.value("throw_party", "") == self) throw std::runtime_error("kaboom");
  if (cfg.value("spin_party", "") == self) {
    while (!run.link.cancel()->cancelled()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return run.link.cancel()->reason();
  }
  run.progress("computation_progress", 0.0, {{"phase", "exchange"}});
  const int64_t mine = cfg.at("values").at(self).get<int64_t>();
  Buffer b;
  ByteWriter(&b).I64(mine);
  VEIL_ASSIGN_OR_RETURN(std::vector<Buffer> all, run.link.AllGather("sum/values", b));
  int64_t total = 0;
  for (const Buffer& x : all) {
    int64_t v = 0;
    ByteReader r(x);
    if (!r.I64(&v)) return AlgorithmError("bad_message", "short value");
    total += v;
  }
  run.progress("computation_progress", 1.0, {{"phase", "done"}});
  return json{{"sum", total}, {"party", self}};
}

json MergeSum(const std::map<std::string, json>& by_party, const json&) {
  json parties = json::array();
  int64_t sum = 0;
  for (const auto& [p, r] : by_party) {
    parties.push_back(p);
    sum = r["sum"].get<int64_t>();
  }
  return {{"sum", sum}, {"parties", parties}};
}

tasks::TaskType SumType() {
  tasks::TaskType t;
  t.name = "sum";
  t.validate = ValidateValues;
  t.peer_config = [](const json& cfg) { return json{{"values", cfg.value("values", json())}}; };
  t.run = RunSum;
  t.merge = MergeSum;
  return t;
}

tasks::TaskType FilesType() {
  tasks::TaskType t;
  t.name = "files";
  t.path_fields = {
      {"input_paths", true, false}, {"output_paths", true, true}, {"report_path", false, true}};
  t.run = [](tasks::PartyRun& run) -> StatusOr<json> {
    return json{{"input_paths", run.task_config.value("input_paths", json())},
                {"report_path", run.task_config.value("report_path", json())}};
  };
  return t;
}

tasks::TaskType Trivial(const std::string& name, bool spu, bool heu) {
  tasks::TaskType t;
  t.name = name;
  t.needs_spu = spu;
  t.needs_heu = heu;
  t.run = [](tasks::PartyRun&) -> StatusOr<json> { return json::object(); };
  return t;
}

// Multiplies (rank + 1) of every party under the SPU the runtime built (each party inputs its
// own factor), and opens the product.
tasks::TaskType SpuProductType() {
  tasks::TaskType t;
  t.name = "spu_product";
  t.needs_spu = true;
  t.run = [](tasks::PartyRun& run) -> StatusOr<json> {
    if (run.spu == nullptr) return InternalError("no_spu", "the runtime built no SPU");
    return run.spu->Visit([&]<typename T>(mpc::Protocol<T>& prot) -> StatusOr<json> {
      const mpc::Shape shape{1};
      const size_t me = prot.rank();
      mpc::Tensor<double> mine(shape);
      mine[0] = static_cast<double>(me + 1);
      auto acc = prot.InputFxp(0, shape, me == 0 ? &mine : nullptr);
      for (size_t r = 1; r < prot.world_size(); ++r) {
        acc = prot.MulFxp(acc, prot.InputFxp(r, shape, me == r ? &mine : nullptr));
      }
      return json{{"product", prot.OpenFxp(acc)[0]}, {"protocol", prot.name()}};
    });
  };
  return t;
}

tasks::TaskType DriftingType() {
  tasks::TaskType t = SumType();
  t.name = "drifting";
  static std::atomic<int> calls{0};
  t.peer_config = [](const json&) { return json{{"call", calls.fetch_add(1)}}; };
  return t;
}

tasks::TaskRegistry* Build() {
  auto* r = new tasks::TaskRegistry();
  (void)r->Register(SumType());
  (void)r->Register(FilesType());
  (void)r->Register(Trivial("spu_task", true, false));
  (void)r->Register(Trivial("heu_task", false, true));
  (void)r->Register(DriftingType());
  (void)r->Register(SpuProductType());
  return r;
}

}  // namespace

const tasks::TaskRegistry& FakeRegistry() {
  static const tasks::TaskRegistry* r = Build();
  return *r;
}

}  // namespace veil::runtime::testing
