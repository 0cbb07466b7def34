#include "veil/base/temp_dir.h"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "veil/base/random.h"

namespace veil {

StatusOr<std::unique_ptr<ScopedTempDir>> ScopedTempDir::Create(const std::string& parent,
                                                               const std::string& prefix) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path base = parent.empty() ? fs::temp_directory_path(ec) : fs::path(parent);
  if (ec) return ResourceError("temp_io", "no temporary directory: " + ec.message());
  fs::path dir = base / (prefix + "-" + RandomUuid());
  if (!fs::create_directories(dir, ec) || ec) {
    return ResourceError("temp_io", "cannot create '" + dir.string() + "': " + ec.message());
  }
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  return std::unique_ptr<ScopedTempDir>(new ScopedTempDir(dir.string()));
}

ScopedTempDir::~ScopedTempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

Status TempIoError(const std::string& what, const std::string& path) {
  return ResourceError("temp_io", what + " '" + path + "': " + std::strerror(errno));
}

}  // namespace veil
