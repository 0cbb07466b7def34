// VeilException carries a Status through deep protocol code, where threading StatusOr through
// every hot loop would obscure the algorithm. The runtime catches it at the task boundary and
// turns it into a typed FAILURE; it never escapes a task.
#pragma once

#include <exception>
#include <string>

#include "veil/base/status.h"

namespace veil {

class VeilException : public std::exception {
 public:
  explicit VeilException(Status status) : status_(std::move(status)), what_(status_.ToString()) {}
  const Status& status() const { return status_; }
  const char* what() const noexcept override { return what_.c_str(); }

 private:
  Status status_;
  std::string what_;
};

// Throws VeilException(status) if !status.ok().
inline void ThrowIfError(const Status& status) {
  if (!status.ok()) throw VeilException(status);
}

template <typename T>
T ValueOrThrow(StatusOr<T> v) {
  if (!v.ok()) throw VeilException(v.status());
  return std::move(v).value();
}

// Runs fn(), converting any exception into a Status (VeilException keeps its type; anything else
// becomes InternalError naming the exception).
template <typename Fn>
Status CatchAll(Fn&& fn) {
  try {
    return fn();
  } catch (const VeilException& e) {
    return e.status();
  } catch (const std::bad_alloc&) {
    return ResourceError("out_of_memory", "out of memory");
  } catch (const std::exception& e) {
    return InternalError("unexpected_exception", e.what());
  } catch (...) {
    return InternalError("unexpected_exception", "unknown exception");
  }
}

}  // namespace veil

// VEIL_ENFORCE(cond, type_ctor, code, msg): throws VeilException(type_ctor(code, msg + file:line)).
#define VEIL_ENFORCE(cond, ctor, code, msg)                                                       \
  do {                                                                                            \
    if (!(cond))                                                                                  \
      throw ::veil::VeilException(                                                                \
          ctor(code, std::string(msg) + " [" + __FILE__ + ":" + std::to_string(__LINE__) + "]")); \
  } while (0)
