#include "veil/base/status.h"

namespace veil {

std::string_view ErrorTypeName(ErrorType type) {
  switch (type) {
    case ErrorType::kOk:
      return "Ok";
    case ErrorType::kParameterValidation:
      return "ParameterValidationError";
    case ErrorType::kClusterInit:
      return "ClusterInitError";
    case ErrorType::kDeviceConfig:
      return "DeviceConfigError";
    case ErrorType::kNetwork:
      return "NetworkError";
    case ErrorType::kResource:
      return "ResourceError";
    case ErrorType::kAlgorithm:
      return "AlgorithmError";
    case ErrorType::kResultSave:
      return "ResultSaveError";
    case ErrorType::kTimeout:
      return "TimeoutError";
    case ErrorType::kCancelled:
      return "CancelledError";
    case ErrorType::kInternal:
      return "InternalError";
  }
  return "InternalError";
}

ErrorType ErrorTypeFromName(std::string_view name) {
  for (int t = static_cast<int>(ErrorType::kOk); t <= static_cast<int>(ErrorType::kInternal); ++t) {
    if (ErrorTypeName(static_cast<ErrorType>(t)) == name) return static_cast<ErrorType>(t);
  }
  return ErrorType::kInternal;
}

bool IsRetryable(ErrorType type) {
  return type == ErrorType::kNetwork || type == ErrorType::kResource;
}

namespace {
const std::string& EmptyString() {
  static const std::string* s = new std::string();
  return *s;
}
const std::vector<FieldProblem>& EmptyProblems() {
  static const auto* v = new std::vector<FieldProblem>();
  return *v;
}
}  // namespace

Status::Status(ErrorType type, std::string code, std::string message) {
  if (type == ErrorType::kOk) return;
  rep_ = std::make_shared<const Rep>(Rep{type, std::move(code), std::move(message), {}, {}});
}

const std::string& Status::code() const { return rep_ ? rep_->code : EmptyString(); }
const std::string& Status::message() const { return rep_ ? rep_->message : EmptyString(); }
const std::string& Status::stage() const { return rep_ ? rep_->stage : EmptyString(); }
const std::vector<FieldProblem>& Status::problems() const {
  return rep_ ? rep_->problems : EmptyProblems();
}

Status Status::WithStage(std::string stage) const {
  if (ok()) return *this;
  Rep r = *rep_;
  r.stage = std::move(stage);
  Status s;
  s.rep_ = std::make_shared<const Rep>(std::move(r));
  return s;
}

Status Status::WithProblems(std::vector<FieldProblem> problems) const {
  if (ok()) return *this;
  Rep r = *rep_;
  r.problems = std::move(problems);
  Status s;
  s.rep_ = std::make_shared<const Rep>(std::move(r));
  return s;
}

Status Status::WithContext(std::string_view prefix) const {
  if (ok()) return *this;
  Rep r = *rep_;
  r.message = std::string(prefix) + ": " + r.message;
  Status s;
  s.rep_ = std::make_shared<const Rep>(std::move(r));
  return s;
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string out(type_name());
  out += "[" + rep_->code + "]: " + rep_->message;
  for (const auto& p : rep_->problems)
    out += "\n  " + p.path + ": " + p.message + " (" + p.code + ")";
  return out;
}

Status ParameterError(std::string c, std::string m) {
  return {ErrorType::kParameterValidation, std::move(c), std::move(m)};
}
Status ClusterInitError(std::string c, std::string m) {
  return {ErrorType::kClusterInit, std::move(c), std::move(m)};
}
Status DeviceConfigError(std::string c, std::string m) {
  return {ErrorType::kDeviceConfig, std::move(c), std::move(m)};
}
Status NetworkError(std::string c, std::string m) {
  return {ErrorType::kNetwork, std::move(c), std::move(m)};
}
Status ResourceError(std::string c, std::string m) {
  return {ErrorType::kResource, std::move(c), std::move(m)};
}
Status AlgorithmError(std::string c, std::string m) {
  return {ErrorType::kAlgorithm, std::move(c), std::move(m)};
}
Status ResultSaveError(std::string c, std::string m) {
  return {ErrorType::kResultSave, std::move(c), std::move(m)};
}
Status TimeoutError(std::string c, std::string m) {
  return {ErrorType::kTimeout, std::move(c), std::move(m)};
}
Status CancelledError(std::string c, std::string m) {
  return {ErrorType::kCancelled, std::move(c), std::move(m)};
}
Status InternalError(std::string c, std::string m) {
  return {ErrorType::kInternal, std::move(c), std::move(m)};
}

}  // namespace veil
