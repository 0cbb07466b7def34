// The executor registry: task types by name. New types are added in one place,
// RegisterBuiltinTasks() in registry.cc.
//
// Thread safety: BuiltinRegistry() is built once and is read-only afterwards.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "veil/base/status.h"
#include "veil/tasks/task.h"

namespace veil::tasks {

class TaskRegistry {
 public:
  // Fails with InternalError "duplicate_task_type" if the name is taken.
  Status Register(TaskType type);
  const TaskType* Find(const std::string& name) const;
  std::vector<std::string> names() const;

 private:
  std::map<std::string, TaskType> types_;
};

// The registry holding every built-in task type.
const TaskRegistry& BuiltinRegistry();

}  // namespace veil::tasks
