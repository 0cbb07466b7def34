// ScopedTempDir: a fresh private directory (mode 0700) removed with everything in it when the
// object is destroyed. Created under `parent` or, when empty, $TMPDIR / the system temp dir.
// TempIoError: the error of a failed I/O call on a temporary (spill, index, run) file.
#pragma once

#include <memory>
#include <string>

#include "veil/base/status.h"

namespace veil {

class ScopedTempDir {
 public:
  static StatusOr<std::unique_ptr<ScopedTempDir>> Create(const std::string& parent = "",
                                                         const std::string& prefix = "veil");
  ~ScopedTempDir();
  ScopedTempDir(const ScopedTempDir&) = delete;
  ScopedTempDir& operator=(const ScopedTempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  explicit ScopedTempDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// ResourceError "temp_io" "<what> '<path>': <strerror(errno)>"; call right after the failed call.
Status TempIoError(const std::string& what, const std::string& path);

}  // namespace veil
