// Status / StatusOr: veil's error currency at module boundaries.
//
// A Status is either OK or carries an ErrorType (the SPEC §4.3 taxonomy, which decides whether
// a failure is retried), a stable machine-readable `code` (snake_case, never reworded once
// shipped), a human message, and optionally a list of field-level problems (validation) and the
// stage where it happened. Statuses are cheap to copy when OK (a null pointer).
//
// Thread safety: a Status is a value; distinct objects may be used from different threads.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace veil {

// The error taxonomy of SPEC §4.3. The names returned by ErrorTypeName are part of the contract
// (they appear in results, events and Celery FAILURE records).
enum class ErrorType {
  kOk = 0,
  kParameterValidation,  // fatal: the envelope or its data is wrong
  kClusterInit,          // link / cluster set-up failed for a reason other than the network
  kDeviceConfig,         // SPU/HEU/PYU device could not be built from the config
  kNetwork,              // retryable: peer unreachable, connection lost, receive timed out
  kResource,             // retryable after a delay: port busy, out of file descriptors
  kAlgorithm,            // fatal: the protocol or algorithm failed
  kResultSave,           // output could not be written
  kTimeout,              // a task time limit fired
  kCancelled,            // the caller asked to stop
  kInternal,             // a bug in veil
};

std::string_view ErrorTypeName(ErrorType type);
// Inverse of ErrorTypeName; unknown names map to kInternal.
ErrorType ErrorTypeFromName(std::string_view name);
// Whether the worker's retry policy may retry this type (SPEC §4.3).
bool IsRetryable(ErrorType type);

// One field-level problem, e.g. {"task_config.keys.bob", "missing_field", "…"}.
struct FieldProblem {
  std::string path;
  std::string code;
  std::string message;
};

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(ErrorType type, std::string code, std::string message);

  static Status Ok() { return Status(); }

  bool ok() const { return rep_ == nullptr; }
  ErrorType type() const { return rep_ ? rep_->type : ErrorType::kOk; }
  std::string_view type_name() const { return ErrorTypeName(type()); }
  const std::string& code() const;
  const std::string& message() const;
  const std::string& stage() const;
  const std::vector<FieldProblem>& problems() const;

  // Builders: return a copy with extra context. The message of WithContext is prefixed.
  Status WithStage(std::string stage) const;
  Status WithProblems(std::vector<FieldProblem> problems) const;
  Status WithContext(std::string_view prefix) const;

  // "ParameterValidationError[missing_field]: message"
  std::string ToString() const;

 private:
  struct Rep {
    ErrorType type;
    std::string code;
    std::string message;
    std::string stage;
    std::vector<FieldProblem> problems;
  };
  std::shared_ptr<const Rep> rep_;
};

// Named constructors, one per error type.
Status ParameterError(std::string code, std::string message);
Status ClusterInitError(std::string code, std::string message);
Status DeviceConfigError(std::string code, std::string message);
Status NetworkError(std::string code, std::string message);
Status ResourceError(std::string code, std::string message);
Status AlgorithmError(std::string code, std::string message);
Status ResultSaveError(std::string code, std::string message);
Status TimeoutError(std::string code, std::string message);
Status CancelledError(std::string code, std::string message);
Status InternalError(std::string code, std::string message);

template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(const Status& status) : v_(status) {  // NOLINT: implicit by design
    if (status.ok()) v_ = InternalError("statusor_ok", "StatusOr built from an OK Status");
  }
  StatusOr(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(v_); }
  Status status() const { return ok() ? Status() : std::get<Status>(v_); }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<Status, T> v_;
};

}  // namespace veil

#define VEIL_STATUS_CONCAT_INNER_(a, b) a##b
#define VEIL_STATUS_CONCAT_(a, b) VEIL_STATUS_CONCAT_INNER_(a, b)

#define VEIL_RETURN_IF_ERROR(expr)                       \
  do {                                                   \
    ::veil::Status veil_status_tmp_ = (expr);            \
    if (!veil_status_tmp_.ok()) return veil_status_tmp_; \
  } while (0)

#define VEIL_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                                \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()

#define VEIL_ASSIGN_OR_RETURN(lhs, rexpr) \
  VEIL_ASSIGN_OR_RETURN_IMPL_(VEIL_STATUS_CONCAT_(veil_statusor_, __LINE__), lhs, rexpr)
