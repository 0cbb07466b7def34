#include "veil/tasks/task_test_util.h"

#include <future>

#include "veil/link/context.h"
#include "veil/mpc/device.h"

namespace veil::tasks::testing {

std::vector<StatusOr<nlohmann::json>> RunParties(const TaskType& type, const nlohmann::json& cfg,
                                                 const std::vector<std::string>& parties,
                                                 const mpc::RuntimeConfig& spu) {
  link::ContextDesc desc;
  desc.session_id = "t";
  for (const auto& p : parties) desc.parties.push_back({p, "", ""});
  desc.options.recv_timeout_ms = 20'000;
  auto world = link::CreateMemoryWorld(desc, nullptr);
  TaskEnv env;
  env.parties = parties;
  env.has_spu = type.needs_spu;
  std::vector<std::future<StatusOr<nlohmann::json>>> fut;
  for (size_t r = 0; r < parties.size(); ++r) {
    fut.push_back(std::async(std::launch::async, [&, r]() -> StatusOr<nlohmann::json> {
      std::unique_ptr<mpc::SpuDevice> device;
      if (type.needs_spu) {
        auto created = mpc::SpuDevice::Create(spu, world[r].get());
        if (!created.ok()) {
          world[r]->Abort(created.status());
          return created.status();
        }
        device = std::move(created).value();
      }
      PartyRun run{*world[r], cfg, env, nullptr, device.get()};
      auto res = type.run(run);
      if (!res.ok()) world[r]->Abort(res.status());
      return res;
    }));
  }
  std::vector<StatusOr<nlohmann::json>> out;
  for (auto& f : fut) out.push_back(f.get());
  return out;
}

}  // namespace veil::tasks::testing
