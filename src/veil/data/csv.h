// CSV input and output for veil's data layer: a streaming reader that parses RFC 4180 files in
// bounded-memory batches, random access to raw records by byte offset, and an atomic writer.
//
// Dialect (read and written):
//   * Comma delimiter; fields optionally enclosed in double quotes. Inside quotes, `""` is one
//     literal quote and commas, CR and LF are data. A quote inside an unquoted field, or any
//     character between a closing quote and the next delimiter / end of record, is malformed.
//   * Records end with LF or CRLF; the last record may lack a newline. A CR outside quotes must
//     be followed by LF (bare CR is malformed).
//   * A UTF-8 byte order mark at the very start of the file is skipped (it is not part of the
//     first column name). The file must be valid UTF-8 (overlong forms, surrogates and code
//     points above U+10FFFF are rejected).
//   * The first non-blank record is the header: every column name non-empty and unique.
//   * Every data record has exactly as many fields as the header.
//   * Empty cells are legal: `a,,c` and `a,"",c` both give an empty middle cell.
//   * Blank lines (zero characters before the LF / CRLF) are not records and are skipped
//     silently, with one exception: in a file whose header has ONE column, a blank line after
//     the header is a record holding one empty cell (that is what RFC 4180 says it is, and
//     spreadsheet exports write it that way). CsvWriter never writes a blank line: it writes
//     `""` for an empty single cell, so its files read back unambiguously either way. Blank
//     lines before the header are always skipped.
//
// Errors (all veil::Status; nothing throws or aborts on bad input):
//   ParameterError "file_not_found"    the input path does not exist (message names the path)
//   ParameterError "file_unreadable"   open/read failed, a directory, or a file that shrank
//   ParameterError "empty_file"        no header row (zero bytes, only a BOM, only blank lines)
//   ParameterError "bad_header"        empty or duplicate column name (message names it)
//   ParameterError "malformed_csv"     syntax error or wrong field count; the message reads
//                                      "<path>: line L, column C (byte B): <what>", where L is
//                                      the 1-based physical line of the problem, C the 1-based
//                                      field index in the record and B the 1-based byte within
//                                      that physical line
//   ParameterError "invalid_utf8"      invalid UTF-8, same location format as malformed_csv
//   ParameterError "record_too_large"  one record exceeds CsvOptions::max_record_bytes
//   ParameterError "unknown_column"    ResolveColumns: names the missing column(s) and the file
//   ResultSaveError "write_failed"     CsvWriter: any create/write/sync/rename failure
//   InternalError                      API misuse by the caller (e.g. wrong field count given to
//                                      CsvWriter::WriteRow, max_rows == 0)
//
// Thread safety: CsvReader and CsvWriter are single-threaded objects. A filled RowBatch is
// immutable through its const interface, so several threads may read one batch concurrently.
// CsvRowFile's const methods may be called concurrently (they use pread, no shared position).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "veil/base/status.h"

namespace veil::data {

// Where a raw record lives in its file: the bytes [offset_bytes, offset_bytes + length_bytes),
// including the record's terminating LF / CRLF when it has one.
struct RecordRef {
  int64_t offset_bytes = 0;
  int64_t length_bytes = 0;
  friend bool operator==(const RecordRef&, const RecordRef&) = default;
};

struct CsvOptions {
  // Size of each read() from the file and the initial buffer size. The buffer only grows
  // beyond it to hold one record longer than this. Small values are for tests.
  size_t read_chunk_bytes = size_t{1} << 20;
  // A record (raw bytes, including quotes and newline) longer than this is ParameterError
  // "record_too_large"; it bounds memory against e.g. a runaway unterminated quote.
  size_t max_record_bytes = size_t{64} << 20;
};

// A batch of parsed data rows. All cells live in one arena owned by the batch; the
// string_views returned by field() stay valid until the batch is cleared, refilled by
// NextBatch or destroyed. Reusing one batch across NextBatch calls reuses its memory.
class RowBatch {
 public:
  RowBatch() = default;
  RowBatch(const RowBatch&) = delete;
  RowBatch& operator=(const RowBatch&) = delete;
  RowBatch(RowBatch&&) = default;
  RowBatch& operator=(RowBatch&&) = default;

  // One row of the batch; cheap to copy, valid as long as the batch's contents are.
  class Row {
   public:
    size_t size() const { return batch_->num_columns_; }
    std::string_view operator[](size_t column) const { return batch_->field(row_, column); }
    int64_t offset_bytes() const { return batch_->offset_bytes(row_); }
    int64_t length_bytes() const { return batch_->length_bytes(row_); }
    int64_t line() const { return batch_->line(row_); }
    RecordRef record() const { return batch_->record(row_); }

   private:
    friend class RowBatch;
    Row(const RowBatch* batch, size_t row) : batch_(batch), row_(row) {}
    const RowBatch* batch_;
    size_t row_;
  };

  size_t num_rows() const { return rows_.size(); }
  bool empty() const { return rows_.empty(); }
  size_t num_columns() const { return num_columns_; }
  Row row(size_t row) const { return Row(this, row); }

  // The unescaped cell at (row, column); both indices 0-based and unchecked.
  std::string_view field(size_t row, size_t column) const {
    const Span& s = spans_[row * num_columns_ + column];
    return std::string_view(arena_.get() + s.offset, s.size);
  }
  // Byte offset in the file of the record's first byte.
  int64_t offset_bytes(size_t row) const { return rows_[row].offset_bytes; }
  // Raw record length in bytes, including its LF / CRLF terminator when present.
  int64_t length_bytes(size_t row) const { return rows_[row].length_bytes; }
  // 1-based physical line on which the record starts.
  int64_t line(size_t row) const { return rows_[row].line; }
  RecordRef record(size_t row) const { return {rows_[row].offset_bytes, rows_[row].length_bytes}; }

  // Drops all rows, keeping the allocated memory for reuse.
  void Clear();

 private:
  friend class CsvReader;
  struct Span {
    size_t offset;
    size_t size;
  };
  struct RowInfo {
    int64_t offset_bytes;
    int64_t length_bytes;
    int64_t line;
  };
  // Guarantees room for `n` more arena bytes.
  void ReserveArena(size_t n);

  size_t num_columns_ = 0;
  std::unique_ptr<char[]> arena_;
  size_t arena_size_ = 0;
  size_t arena_capacity_ = 0;
  std::vector<Span> spans_;
  std::vector<RowInfo> rows_;
};

// Streams a CSV file (see the dialect above) in batches. Memory is bounded by the read buffer
// (CsvOptions::read_chunk_bytes, or one longer record) plus the caller's batch; the file is
// never loaded whole. Single-threaded; owns an open file descriptor.
class CsvReader {
 public:
  // Opens `path` and parses its header. Errors: file_not_found, file_unreadable, empty_file,
  // bad_header, malformed_csv, invalid_utf8, record_too_large (see the file comment).
  static StatusOr<std::unique_ptr<CsvReader>> Open(const std::string& path,
                                                   CsvOptions options = {});
  ~CsvReader();
  CsvReader(const CsvReader&) = delete;
  CsvReader& operator=(const CsvReader&) = delete;

  const std::string& path() const { return path_; }
  const std::vector<std::string>& header() const { return header_; }
  size_t num_columns() const { return header_.size(); }
  // Where the header record lives in the file (after a BOM, if any).
  RecordRef header_record() const { return header_record_; }
  // 0-based index of column `name` (exact, case-sensitive match), or nullopt.
  std::optional<size_t> ColumnIndex(std::string_view name) const;
  // Indices of `names`, in order. ParameterError "unknown_column" names every missing column
  // and the file.
  StatusOr<std::vector<size_t>> ResolveColumns(const std::vector<std::string>& names) const;

  // Replaces the contents of *batch with up to max_rows (> 0) next data rows. Returns true if
  // at least one row was read, false at end of file (then *batch is empty). A record that
  // fails to parse makes this return the error; rows before it in the same call are
  // discarded, and the reader stays failed: every later call returns the same error.
  StatusOr<bool> NextBatch(size_t max_rows, RowBatch* batch);

  // Data rows returned so far.
  int64_t rows_read() const { return rows_read_; }

 private:
  enum class Parse { kRecord, kBlank, kNeedMore, kError };
  CsvReader(std::string path, CsvOptions options, int fd);
  Status ReadHeader();
  // Compacts the buffer and reads more bytes; grows the buffer when one record fills it.
  Status Refill();
  // Parses one record at buf_[begin_] into *batch (expected_fields == 0 accepts any count).
  Parse ParseRecord(size_t expected_fields, RowBatch* batch, Status* error);
  Status SyntaxError(std::string_view code, const char* record_start, const char* where,
                     size_t field_index, std::string_view what) const;

  std::string path_;
  CsvOptions options_;
  int fd_ = -1;
  std::unique_ptr<char[]> buf_;
  size_t capacity_ = 0;
  size_t begin_ = 0;             // first unconsumed byte in buf_
  size_t end_ = 0;               // one past the last valid byte in buf_
  bool eof_ = false;             // read() reported end of file
  int64_t begin_offset_ = 0;     // file offset of buf_[begin_]
  int64_t line_ = 1;             // physical line of buf_[begin_]
  size_t record_bytes_ = 0;      // set by ParseRecord: raw length of the parsed record
  int64_t record_newlines_ = 0;  // set by ParseRecord: LFs inside the parsed record
  std::vector<std::string> header_;
  RecordRef header_record_;
  int64_t rows_read_ = 0;
  Status failed_;  // sticky error
};

// Counts the data rows of a CSV file (header excluded), validating it fully while streaming.
StatusOr<int64_t> CountRows(const std::string& path, CsvOptions options = {});

class CsvWriter;

// Random read access to the raw bytes of records of a file, addressed by RecordRef (as
// reported by RowBatch). Raw copies preserve the original quoting and line ending exactly.
// Const methods are thread-safe (pread). Owns an open file descriptor.
class CsvRowFile {
 public:
  // Errors: file_not_found, file_unreadable.
  static StatusOr<std::unique_ptr<CsvRowFile>> Open(const std::string& path);
  ~CsvRowFile();
  CsvRowFile(const CsvRowFile&) = delete;
  CsvRowFile& operator=(const CsvRowFile&) = delete;

  const std::string& path() const { return path_; }
  // Size when opened; -1 if it is not a regular file.
  int64_t size_bytes() const { return size_bytes_; }

  // Appends the raw bytes of each record to *out, in the order given (duplicates allowed).
  // Nearby records are fetched with one pread. A ref outside the file (e.g. the file shrank
  // since it was read) is ParameterError "file_unreadable"; a negative ref is InternalError.
  Status AppendRecords(std::span<const RecordRef> refs, std::string* out) const;
  Status AppendRecord(RecordRef ref, std::string* out) const {
    return AppendRecords(std::span<const RecordRef>(&ref, 1), out);
  }
  // Streams the records, in order, to writer->WriteRaw with bounded memory.
  Status CopyRecords(std::span<const RecordRef> refs, CsvWriter* writer) const;

 private:
  CsvRowFile(std::string path, int fd, int64_t size_bytes)
      : path_(std::move(path)), fd_(fd), size_bytes_(size_bytes) {}
  // file_unreadable for a read error `err`, or (err == 0) for a file shorter than end_offset.
  Status ReadError(int err, int64_t end_offset) const;
  // Calls sink(raw) for each ref in order, with reads coalesced.
  template <typename Sink>
  Status ForEachRecord(std::span<const RecordRef> refs, Sink&& sink) const;

  std::string path_;
  int fd_;
  int64_t size_bytes_;
};

// Writes a CSV file atomically: rows go (buffered) to a temporary file in the destination
// directory, which Finish() syncs and renames to the final path. Until Finish() succeeds
// nothing exists under the final name (an existing file there is left untouched); destroying
// an unfinished writer removes the temporary file. Fields are quoted when they contain a comma,
// quote, CR or LF (quotes doubled); a row of a one-column file holding an empty cell is
// written as `""` so it is never a blank line. Rows end with LF. UTF-8 is not re-validated.
// After any error the writer is failed and every later call returns that error.
// Single-threaded; owns an open file descriptor.
class CsvWriter {
 public:
  // Creates missing parent directories and writes the header. The header must be non-empty
  // with unique, non-empty names (ParameterError "bad_header"), so the output reads back.
  // I/O failures are ResultSaveError "write_failed" naming `path`.
  static StatusOr<std::unique_ptr<CsvWriter>> Create(const std::string& path,
                                                     const std::vector<std::string>& header);
  ~CsvWriter();
  CsvWriter(const CsvWriter&) = delete;
  CsvWriter& operator=(const CsvWriter&) = delete;

  const std::string& path() const { return path_; }
  size_t num_columns() const { return num_columns_; }
  // Data rows written so far (WriteRow, WriteRaw and WriteEmptyRow each count one).
  int64_t rows_written() const { return rows_written_; }

  // Writes one row; fields.size() must equal num_columns() (else InternalError).
  Status WriteRow(const std::vector<std::string_view>& fields);
  // Appends a raw record verbatim (e.g. from CsvRowFile), adding "\n" if it does not end with
  // one. The caller vouches that it has num_columns() fields.
  Status WriteRaw(std::string_view raw_record);
  // Writes a row of empty cells: num_columns() - 1 commas, or `""` for one column.
  Status WriteEmptyRow();
  // Flushes, fsyncs, closes and renames the temporary file to path(). Calling anything after
  // Finish() is InternalError.
  Status Finish();

 private:
  CsvWriter(std::string path, std::string temp_path, int fd, size_t num_columns);
  void AppendField(std::string_view field, bool first_in_file);
  Status MaybeFlush();
  Status Flush();
  Status Fail(std::string_view what, int err);
  Status CheckWritable() const;

  std::string path_;
  std::string temp_path_;
  int fd_;
  size_t num_columns_;
  std::string buffer_;
  int64_t rows_written_ = 0;
  bool finished_ = false;
  Status failed_;
};

}  // namespace veil::data
