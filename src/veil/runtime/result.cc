#include "veil/runtime/result.h"

#include "veil/runtime/redact.h"

namespace veil::runtime {

nlohmann::json ErrorToJson(const Status& status) {
  if (status.ok()) return {{"error", nullptr}};
  nlohmann::json problems = nlohmann::json::array();
  for (const auto& p : status.problems()) {
    problems.push_back({{"path", p.path}, {"code", p.code}, {"message", RedactString(p.message)}});
  }
  return {{"error",
           {{"type", std::string(status.type_name())},
            {"code", status.code()},
            {"message", RedactString(status.message())},
            {"stage", status.stage()},
            {"problems", std::move(problems)}}}};
}

}  // namespace veil::runtime
