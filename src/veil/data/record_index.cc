#include "veil/data/record_index.h"

#include <fcntl.h>
#include <unistd.h>

#include <sys/mman.h>
#include <sys/stat.h>

#include "veil/base/temp_dir.h"

namespace veil::data {

namespace {
constexpr size_t kWriteBufferBytes = size_t{1} << 20;
}  // namespace

StatusOr<std::unique_ptr<RecordIndexWriter>> RecordIndexWriter::Create(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return TempIoError("cannot create", path);
  std::setvbuf(f, nullptr, _IOFBF, kWriteBufferBytes);
  return std::unique_ptr<RecordIndexWriter>(new RecordIndexWriter(path, f));
}

RecordIndexWriter::~RecordIndexWriter() {
  if (f_) std::fclose(f_);
}

Status RecordIndexWriter::Add(const RecordRef& ref) {
  if (std::fwrite(&ref, sizeof ref, 1, f_) != 1) return TempIoError("cannot write", path_);
  ++rows_;
  return Status();
}

Status RecordIndexWriter::Close() {
  if (!f_) return Status();
  int rc = std::fclose(f_);
  f_ = nullptr;
  return rc == 0 ? Status() : TempIoError("cannot close", path_);
}

StatusOr<std::unique_ptr<RecordIndex>> RecordIndex::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return TempIoError("cannot open", path);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return TempIoError("cannot stat", path);
  }
  const size_t bytes = static_cast<size_t>(st.st_size);
  if (bytes % sizeof(RecordRef) != 0) {
    ::close(fd);
    return InternalError("bad_record_index", "record index '" + path + "' is truncated");
  }
  const RecordRef* refs = nullptr;
  if (bytes > 0) {
    void* p = ::mmap(nullptr, bytes, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      ::close(fd);
      return TempIoError("cannot map", path);
    }
    refs = static_cast<const RecordRef*>(p);
  }
  ::close(fd);
  return std::unique_ptr<RecordIndex>(
      new RecordIndex(refs, static_cast<int64_t>(bytes / sizeof(RecordRef)), bytes));
}

RecordIndex::~RecordIndex() {
  if (refs_) ::munmap(const_cast<RecordRef*>(refs_), map_bytes_);
}

}  // namespace veil::data
