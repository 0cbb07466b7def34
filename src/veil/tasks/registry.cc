#include "veil/tasks/registry.h"

#include "veil/tasks/psi_task.h"

namespace veil::tasks {

Status TaskRegistry::Register(TaskType type) {
  if (types_.count(type.name)) {
    return InternalError("duplicate_task_type", "task type '" + type.name + "' registered twice");
  }
  std::string name = type.name;
  types_.emplace(std::move(name), std::move(type));
  return Status();
}

const TaskType* TaskRegistry::Find(const std::string& name) const {
  auto it = types_.find(name);
  return it == types_.end() ? nullptr : &it->second;
}

std::vector<std::string> TaskRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& [n, t] : types_) out.push_back(n);
  return out;
}

namespace {
TaskRegistry* BuildBuiltins() {
  auto* r = new TaskRegistry();
  // Every built-in task type, in one place.
  (void)r->Register(PsiTaskType());
  return r;
}
}  // namespace

const TaskRegistry& BuiltinRegistry() {
  static const TaskRegistry* registry = BuildBuiltins();
  return *registry;
}

}  // namespace veil::tasks
