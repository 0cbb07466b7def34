#include "veil/base/record_file.h"

#include <algorithm>
#include <cstring>

#include "veil/base/temp_dir.h"

namespace veil {

StatusOr<std::unique_ptr<RecordFileWriter>> RecordFileWriter::Create(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return TempIoError("cannot create", path);
  return std::unique_ptr<RecordFileWriter>(new RecordFileWriter(path, f));
}

RecordFileWriter::RecordFileWriter(std::string path, std::FILE* f) : path_(std::move(path)), f_(f) {
  buf_.reserve(kRecordFileIoBytes + 4096);
}

RecordFileWriter::~RecordFileWriter() {
  if (f_) std::fclose(f_);
}

Status RecordFileWriter::Add(std::string_view record) {
  if (record.size() > UINT32_MAX) return InternalError("record_too_large", "record over 4 GiB");
  const uint32_t n = static_cast<uint32_t>(record.size());
  buf_.append(reinterpret_cast<const char*>(&n), sizeof n);
  buf_.append(record);
  return buf_.size() >= kRecordFileIoBytes ? Flush() : Status();
}

Status RecordFileWriter::Flush() {
  if (!buf_.empty() && std::fwrite(buf_.data(), 1, buf_.size(), f_) != buf_.size()) {
    return TempIoError("cannot write", path_);
  }
  buf_.clear();
  return Status();
}

Status RecordFileWriter::Close() {
  if (!f_) return Status();
  Status st = Flush();
  const int rc = std::fclose(f_);
  f_ = nullptr;
  if (!st.ok()) return st;
  return rc == 0 ? Status() : TempIoError("cannot close", path_);
}

StatusOr<std::unique_ptr<RecordFileReader>> RecordFileReader::Open(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return TempIoError("cannot open", path);
  std::setvbuf(f, nullptr, _IONBF, 0);
  return std::unique_ptr<RecordFileReader>(new RecordFileReader(path, f));
}

RecordFileReader::~RecordFileReader() {
  if (f_) std::fclose(f_);
}

StatusOr<bool> RecordFileReader::Advance() {
  pos_ += cur_len_;
  cur_len_ = 0;
  VEIL_ASSIGN_OR_RETURN(bool any, Ensure(sizeof(uint32_t)));
  if (!any) {
    if (pos_ != end_) return TempIoError("truncated record", path_);
    return false;
  }
  uint32_t n;
  std::memcpy(&n, buf_.data() + pos_, sizeof n);
  pos_ += sizeof n;
  VEIL_ASSIGN_OR_RETURN(bool whole, Ensure(n));
  if (!whole) return TempIoError("truncated record", path_);
  cur_len_ = n;
  return true;
}

StatusOr<bool> RecordFileReader::Ensure(size_t bytes) {
  if (end_ - pos_ >= bytes) return true;
  std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
  end_ -= pos_;
  pos_ = 0;
  const size_t want = std::max(kRecordFileIoBytes, bytes);
  if (buf_.size() < want) buf_.resize(want);
  while (end_ < bytes) {
    const size_t got = std::fread(buf_.data() + end_, 1, buf_.size() - end_, f_);
    if (got == 0) {
      if (std::ferror(f_)) return TempIoError("cannot read", path_);
      return false;
    }
    end_ += got;
  }
  return true;
}

}  // namespace veil
