// RecordFileWriter / RecordFileReader: a spill file of variable-length byte records,
// [u32 length][bytes]…, written once front to back and then read front to back. What
// ExternalSorter's runs are made of, and what bounded-memory code uses to park per-row state on
// disk in order and stream it back. Both sides move data through kRecordFileIoBytes buffers of
// their own (one fwrite/fread per buffer rather than two per record).
//
// Errors: ResourceError "temp_io" naming the file for any I/O failure, including a file that
// ends inside a record (a record over 4 GiB is InternalError "record_too_large").
// Single-threaded; the file is not removed by either class.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "veil/base/status.h"

namespace veil {

// Bytes buffered per open record file.
inline constexpr size_t kRecordFileIoBytes = size_t{1} << 20;

class RecordFileWriter {
 public:
  // Creates `path` (truncating).
  static StatusOr<std::unique_ptr<RecordFileWriter>> Create(const std::string& path);
  ~RecordFileWriter();
  RecordFileWriter(const RecordFileWriter&) = delete;
  RecordFileWriter& operator=(const RecordFileWriter&) = delete;

  Status Add(std::string_view record);
  // Flushes and closes; the file can then be read. Without Close, buffered records are lost.
  Status Close();

 private:
  RecordFileWriter(std::string path, std::FILE* f);
  Status Flush();

  std::string path_;
  std::FILE* f_;
  std::string buf_;
};

class RecordFileReader {
 public:
  static StatusOr<std::unique_ptr<RecordFileReader>> Open(const std::string& path);
  ~RecordFileReader();
  RecordFileReader(const RecordFileReader&) = delete;
  RecordFileReader& operator=(const RecordFileReader&) = delete;

  // Loads the next record into current(); false at the end.
  StatusOr<bool> Advance();
  // The record loaded by the last successful Advance(); valid until the next call.
  std::string_view current() const { return std::string_view(buf_.data() + pos_, cur_len_); }

 private:
  RecordFileReader(std::string path, std::FILE* f) : path_(std::move(path)), f_(f) {}
  // Makes `bytes` bytes available at pos_ (refilling the buffer); false at the end of the file.
  StatusOr<bool> Ensure(size_t bytes);

  std::string path_;
  std::FILE* f_;
  std::string buf_;
  size_t pos_ = 0, end_ = 0, cur_len_ = 0;
};

}  // namespace veil
