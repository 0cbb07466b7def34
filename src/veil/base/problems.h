// Problems: collects every validation problem of an input (not just the first), each with the
// dotted path of the field, a stable code and a message. ToStatus() turns them into one
// ParameterValidationError whose problems() list them all.
#pragma once

#include <string>
#include <vector>

#include "veil/base/status.h"

namespace veil {

class Problems {
 public:
  void Add(std::string path, std::string code, std::string message) {
    list_.push_back({std::move(path), std::move(code), std::move(message)});
  }
  bool empty() const { return list_.empty(); }
  size_t size() const { return list_.size(); }
  const std::vector<FieldProblem>& list() const { return list_; }
  bool Has(std::string_view path, std::string_view code) const {
    for (const auto& p : list_)
      if (p.path == path && p.code == code) return true;
    return false;
  }
  // OK when empty; otherwise ParameterValidationError. Its code is the first problem's code
  // when there is one problem, else "invalid_envelope"; the message lists every problem.
  Status ToStatus() const {
    if (list_.empty()) return Status();
    std::string msg = std::to_string(list_.size()) + " problem(s): ";
    for (size_t i = 0; i < list_.size(); ++i) {
      if (i) msg += "; ";
      msg += list_[i].path + ": " + list_[i].message;
    }
    return ParameterError(list_.size() == 1 ? list_[0].code : "invalid_envelope", msg)
        .WithProblems(list_);
  }

 private:
  std::vector<FieldProblem> list_;
};

}  // namespace veil
