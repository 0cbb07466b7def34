#include "veil/data/csv.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

#include <sys/stat.h>

#include "veil/base/bytes.h"
#include "veil/base/random.h"

namespace veil::data {
namespace {

// Byte classes for the parser's scan loops. 0 means "ordinary data byte, keep scanning".
enum : uint8_t { kPlain = 0, kSpecial = 1, kHigh = 2 };

// Outside quotes: delimiter, quote, CR and LF stop the scan; so do non-ASCII bytes (validated).
constexpr std::array<uint8_t, 256> MakeUnquotedTable() {
  std::array<uint8_t, 256> t{};
  t[','] = kSpecial;
  t['"'] = kSpecial;
  t['\r'] = kSpecial;
  t['\n'] = kSpecial;
  for (int c = 0x80; c < 256; ++c) t[c] = kHigh;
  return t;
}
// Inside quotes: only the quote (close or escape) and LF (line counting) are special.
constexpr std::array<uint8_t, 256> MakeQuotedTable() {
  std::array<uint8_t, 256> t{};
  t['"'] = kSpecial;
  t['\n'] = kSpecial;
  for (int c = 0x80; c < 256; ++c) t[c] = kHigh;
  return t;
}
// Bytes that force the writer to quote a field.
constexpr std::array<bool, 256> MakeQuoteNeededTable() {
  std::array<bool, 256> t{};
  t[','] = true;
  t['"'] = true;
  t['\r'] = true;
  t['\n'] = true;
  return t;
}
constexpr std::array<uint8_t, 256> kUnquoted = MakeUnquotedTable();
constexpr std::array<uint8_t, 256> kQuoted = MakeQuotedTable();
constexpr std::array<bool, 256> kNeedsQuote = MakeQuoteNeededTable();

constexpr char kSentinel = '\n';  // stored at buf_[end_]; special in both scan tables
constexpr std::string_view kBom = "\xEF\xBB\xBF";

// Validates one UTF-8 sequence starting at p (*p >= 0x80). Returns its length (2..4), 0 if
// invalid (bad lead byte, bad continuation, overlong, surrogate, > U+10FFFF), or -1 if the
// bytes up to `end` are a valid but incomplete prefix.
int Utf8Sequence(const unsigned char* p, const unsigned char* end) {
  const unsigned char c = p[0];
  int len;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;  // overlong
    if (c == 0xED) hi = 0x9F;  // surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;  // overlong
    if (c == 0xF4) hi = 0x8F;  // > U+10FFFF
  } else {
    return 0;
  }
  for (int i = 1; i < len; ++i) {
    if (p + i >= end) return -1;
    const unsigned char b = p[i];
    if (i == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) return 0;
  }
  return len;
}

std::string ErrnoText(int err) { return std::error_code(err, std::generic_category()).message(); }

// Maps an open() failure to file_not_found / file_unreadable.
Status OpenError(const std::string& path, int err) {
  if (err == ENOENT || err == ENOTDIR) {
    return ParameterError("file_not_found", "file '" + path + "' does not exist");
  }
  return ParameterError("file_unreadable", "cannot open '" + path + "': " + ErrnoText(err));
}

// Opens a regular file (or pipe) for reading; rejects directories.
StatusOr<int> OpenForRead(const std::string& path, int64_t* size_bytes) {
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return OpenError(path, errno);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return ParameterError("file_unreadable", "cannot stat '" + path + "': " + ErrnoText(err));
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return ParameterError("file_unreadable", "'" + path + "' is a directory, not a file");
  }
  if (size_bytes != nullptr) *size_bytes = S_ISREG(st.st_mode) ? st.st_size : int64_t{-1};
  return fd;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// RowBatch

void RowBatch::Clear() {
  rows_.clear();
  spans_.clear();
  arena_size_ = 0;
}

void RowBatch::ReserveArena(size_t n) {
  if (arena_capacity_ - arena_size_ >= n) return;
  size_t capacity = std::max({arena_capacity_ * 2, arena_size_ + n, size_t{64} << 10});
  auto grown = std::make_unique_for_overwrite<char[]>(capacity);
  if (arena_size_ > 0) std::memcpy(grown.get(), arena_.get(), arena_size_);
  arena_ = std::move(grown);
  arena_capacity_ = capacity;
}

// ---------------------------------------------------------------------------------------------
// CsvReader

CsvReader::CsvReader(std::string path, CsvOptions options, int fd)
    : path_(std::move(path)), options_(options), fd_(fd) {
  options_.read_chunk_bytes = std::max<size_t>(options_.read_chunk_bytes, 1);
  options_.max_record_bytes = std::max<size_t>(options_.max_record_bytes, 1);
  capacity_ = options_.read_chunk_bytes;
  buf_ = std::make_unique_for_overwrite<char[]>(capacity_ + 1);  // + sentinel
  buf_[0] = kSentinel;
}

CsvReader::~CsvReader() {
  if (fd_ >= 0) ::close(fd_);
}

StatusOr<std::unique_ptr<CsvReader>> CsvReader::Open(const std::string& path, CsvOptions options) {
  int64_t size_bytes = -1;
  VEIL_ASSIGN_OR_RETURN(int fd, OpenForRead(path, &size_bytes));
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  // Small files get a small buffer (it still grows if the file does).
  if (size_bytes >= 0) {
    options.read_chunk_bytes = std::min(
        options.read_chunk_bytes, std::max(static_cast<size_t>(size_bytes) + 1, size_t{64} << 10));
  }
  std::unique_ptr<CsvReader> reader(new CsvReader(path, options, fd));
  VEIL_RETURN_IF_ERROR(reader->ReadHeader());
  return reader;
}

Status CsvReader::Refill() {
  if (eof_) return Status();
  if (begin_ > 0) {
    std::memmove(buf_.get(), buf_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (end_ == capacity_) {  // one record fills the whole buffer: grow it
    const size_t capacity = capacity_ + std::max(capacity_, options_.read_chunk_bytes);
    auto grown = std::make_unique_for_overwrite<char[]>(capacity + 1);
    std::memcpy(grown.get(), buf_.get(), end_);
    buf_ = std::move(grown);
    capacity_ = capacity;
  }
  const size_t want = std::min(capacity_ - end_, options_.read_chunk_bytes);
  ssize_t n;
  do {
    n = ::read(fd_, buf_.get() + end_, want);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    return ParameterError("file_unreadable", "error reading '" + path_ + "': " + ErrnoText(errno));
  }
  if (n == 0) eof_ = true;
  end_ += static_cast<size_t>(n);
  buf_[end_] = kSentinel;
  return Status();
}

Status CsvReader::SyntaxError(std::string_view code, const char* record_start, const char* where,
                              size_t field_index, std::string_view what) const {
  int64_t line = line_;
  const char* line_start = record_start;
  for (const char* q = record_start; q < where; ++q) {
    if (*q == '\n') {
      ++line;
      line_start = q + 1;
    }
  }
  int64_t byte_column = (where - line_start) + 1;
  if (line == 1 && begin_offset_ == static_cast<int64_t>(kBom.size()) &&
      line_start == record_start && record_start == buf_.get() + begin_) {
    // Header record after a BOM: count the BOM's bytes in the byte column.
    byte_column += static_cast<int64_t>(kBom.size());
  }
  return ParameterError(std::string(code), path_ + ": line " + std::to_string(line) + ", column " +
                                               std::to_string(field_index + 1) + " (byte " +
                                               std::to_string(byte_column) +
                                               "): " + std::string(what));
}

CsvReader::Parse CsvReader::ParseRecord(size_t expected_fields, RowBatch* batch, Status* error) {
  const char* const start = buf_.get() + begin_;
  const char* const end = buf_.get() + end_;  // *end == kSentinel
  const char* p = start;

  // Blank line: LF or CRLF alone.
  if (*p == '\n' || *p == '\r') {
    size_t len = 0;
    if (*p == '\n') {
      len = 1;
    } else if (p + 1 == end) {
      if (!eof_) return Parse::kNeedMore;
    } else if (p[1] == '\n') {
      len = 2;
    }
    if (len > 0) {
      record_bytes_ = len;
      record_newlines_ = 1;
      if (expected_fields != 1) return Parse::kBlank;
      // One-column file: a blank line is a record holding one empty cell.
      batch->spans_.push_back({batch->arena_size_, 0});
      return Parse::kRecord;
    }
    // A bare CR falls through to the field loop, which reports it.
  }

  batch->ReserveArena(static_cast<size_t>(end - start));  // cells never exceed raw bytes
  char* const arena = batch->arena_.get();
  char* out = arena + batch->arena_size_;
  const size_t spans_before = batch->spans_.size();
  auto need_more = [&] {
    batch->spans_.resize(spans_before);
    return Parse::kNeedMore;
  };
  auto fail = [&](std::string_view code, const char* where, size_t field, std::string_view what) {
    batch->spans_.resize(spans_before);
    *error = SyntaxError(code, start, where, field, what);
    return Parse::kError;
  };
  auto bad_utf8 = [&](const char* where, size_t field) {
    return fail("invalid_utf8", where, field, "invalid UTF-8 byte sequence");
  };

  size_t field = 0;  // index of the field being parsed
  int64_t newlines = 0;
  const char* first_extra = nullptr;  // start of the first field beyond expected_fields
  const char* record_end = nullptr;   // where the terminator (or EOF) was found
  for (;;) {
    const char* const field_start = p;
    char* const field_out = out;
    if (field == expected_fields && first_extra == nullptr) first_extra = p;
    if (*p == '"' && p < end) {
      ++p;
      for (;;) {
        const char* run = p;
        while (kQuoted[static_cast<uint8_t>(*p)] == kPlain) ++p;
        std::memcpy(out, run, p - run);
        out += p - run;
        if (p == end) {
          if (!eof_) return need_more();
          return fail("malformed_csv", field_start, field,
                      "unterminated quoted field: the quote opened here is never closed");
        }
        const uint8_t c = static_cast<uint8_t>(*p);
        if (c == '"') {
          if (p + 1 == end) {
            if (!eof_) return need_more();
            ++p;  // closing quote at end of file
            break;
          }
          if (p[1] == '"') {
            *out++ = '"';
            p += 2;
            continue;
          }
          ++p;  // closing quote
          break;
        }
        if (c == '\n') {
          ++newlines;
          *out++ = '\n';
          ++p;
          continue;
        }
        const int n = Utf8Sequence(reinterpret_cast<const unsigned char*>(p),
                                   reinterpret_cast<const unsigned char*>(end));
        if (n < 0 && !eof_) return need_more();
        if (n <= 0) return bad_utf8(p, field);
        std::memcpy(out, p, n);
        out += n;
        p += n;
      }
      if (p < end && *p != ',' && *p != '\n' && *p != '\r') {
        return fail("malformed_csv", p, field,
                    "unexpected character after the closing quote of a quoted field");
      }
    } else {
      const char* run = p;
      for (;;) {
        while (kUnquoted[static_cast<uint8_t>(*p)] == kPlain) ++p;
        if (p == end || kUnquoted[static_cast<uint8_t>(*p)] != kHigh) break;
        const int n = Utf8Sequence(reinterpret_cast<const unsigned char*>(p),
                                   reinterpret_cast<const unsigned char*>(end));
        if (n < 0 && !eof_) return need_more();
        if (n <= 0) return bad_utf8(p, field);
        p += n;
      }
      if (*p == '"' && p < end) {
        return fail("malformed_csv", p, field,
                    "quote inside an unquoted field (quote the whole field and double it)");
      }
      std::memcpy(out, run, p - run);
      out += p - run;
    }
    batch->spans_.push_back(
        {static_cast<size_t>(field_out - arena), static_cast<size_t>(out - field_out)});
    ++field;
    // p is at a delimiter, CR, LF or the end of the buffer.
    if (p == end) {
      if (!eof_) return need_more();
      record_end = p;
      break;
    }
    if (*p == ',') {
      ++p;
      continue;
    }
    if (*p == '\n') {
      record_end = p;
      ++p;
      ++newlines;
      break;
    }
    // CR: must be followed by LF.
    if (p + 1 == end && !eof_) return need_more();
    if (p + 1 == end || p[1] != '\n') {
      return fail("malformed_csv", p, field - 1, "carriage return not followed by line feed");
    }
    record_end = p;
    p += 2;
    ++newlines;
    break;
  }

  if (expected_fields != 0 && field != expected_fields) {
    const std::string what =
        "expected " + std::to_string(expected_fields) + " fields, got " + std::to_string(field);
    if (field > expected_fields) return fail("malformed_csv", first_extra, expected_fields, what);
    return fail("malformed_csv", record_end, field, what);
  }
  record_bytes_ = static_cast<size_t>(p - start);
  if (record_bytes_ > options_.max_record_bytes) {
    batch->spans_.resize(spans_before);
    *error = ParameterError("record_too_large",
                            path_ + ": line " + std::to_string(line_) + ": record of " +
                                std::to_string(record_bytes_) + " bytes exceeds the limit of " +
                                std::to_string(options_.max_record_bytes) + " bytes");
    return Parse::kError;
  }
  record_newlines_ = newlines;
  batch->arena_size_ = static_cast<size_t>(out - arena);
  return Parse::kRecord;
}

Status CsvReader::ReadHeader() {
  // Skip a UTF-8 BOM.
  while (end_ - begin_ < kBom.size() && !eof_) VEIL_RETURN_IF_ERROR(Refill());
  if (std::string_view(buf_.get() + begin_, std::min(end_ - begin_, kBom.size())) == kBom) {
    begin_ += kBom.size();
    begin_offset_ += static_cast<int64_t>(kBom.size());
  }
  RowBatch header;
  header.num_columns_ = 0;
  for (;;) {
    if (begin_ == end_) {
      if (eof_) {
        return ParameterError("empty_file", "file '" + path_ + "' is empty: it has no header row");
      }
      VEIL_RETURN_IF_ERROR(Refill());
      continue;
    }
    Status error;
    const Parse result = ParseRecord(0, &header, &error);
    if (result == Parse::kError) return error;
    if (result == Parse::kNeedMore) {
      if (eof_) return InternalError("csv_parser", "parser asked for more input at end of file");
      if (end_ - begin_ >= options_.max_record_bytes) {
        return ParameterError("record_too_large", path_ + ": line " + std::to_string(line_) +
                                                      ": header record exceeds the limit of " +
                                                      std::to_string(options_.max_record_bytes) +
                                                      " bytes");
      }
      VEIL_RETURN_IF_ERROR(Refill());
      continue;
    }
    const int64_t line = line_;
    header_record_ = {begin_offset_, static_cast<int64_t>(record_bytes_)};
    begin_ += record_bytes_;
    begin_offset_ += static_cast<int64_t>(record_bytes_);
    line_ += record_newlines_;
    if (result == Parse::kBlank) continue;

    for (size_t i = 0; i < header.spans_.size(); ++i) {
      const RowBatch::Span& s = header.spans_[i];
      std::string name(header.arena_.get() + s.offset, s.size);
      if (name.empty()) {
        return ParameterError("bad_header", path_ + ": line " + std::to_string(line) + ": column " +
                                                std::to_string(i + 1) +
                                                " of the header has an empty name");
      }
      for (size_t j = 0; j < header_.size(); ++j) {
        if (header_[j] == name) {
          return ParameterError(
              "bad_header", path_ + ": line " + std::to_string(line) + ": column name '" + name +
                                "' appears twice in the header (columns " + std::to_string(j + 1) +
                                " and " + std::to_string(i + 1) + ")");
        }
      }
      header_.push_back(std::move(name));
    }
    return Status();
  }
}

std::optional<size_t> CsvReader::ColumnIndex(std::string_view name) const {
  for (size_t i = 0; i < header_.size(); ++i) {
    if (header_[i] == name) return i;
  }
  return std::nullopt;
}

StatusOr<std::vector<size_t>> CsvReader::ResolveColumns(
    const std::vector<std::string>& names) const {
  std::vector<size_t> indices;
  indices.reserve(names.size());
  std::string missing;
  int missing_count = 0;
  for (const std::string& name : names) {
    if (std::optional<size_t> i = ColumnIndex(name)) {
      indices.push_back(*i);
    } else {
      missing += (missing_count++ ? ", '" : "'") + name + "'";
    }
  }
  if (missing_count == 0) return indices;
  std::string available;
  for (size_t i = 0; i < header_.size() && i < 20; ++i) {
    available += (i ? ", '" : "'") + header_[i] + "'";
  }
  if (header_.size() > 20) available += ", ...";
  return ParameterError("unknown_column", "file '" + path_ + "' has no column" +
                                              (missing_count > 1 ? "s " : " ") + missing +
                                              " (columns: " + available + ")");
}

StatusOr<bool> CsvReader::NextBatch(size_t max_rows, RowBatch* batch) {
  if (!failed_.ok()) return failed_;
  if (max_rows == 0 || batch == nullptr) {
    return InternalError("invalid_argument", "CsvReader::NextBatch needs max_rows > 0 and a batch");
  }
  batch->Clear();
  batch->num_columns_ = header_.size();
  const size_t columns = header_.size();
  size_t rows = 0;
  while (rows < max_rows) {
    if (begin_ == end_) {
      if (eof_) break;
      if (Status s = Refill(); !s.ok()) {
        batch->Clear();
        return failed_ = s;
      }
      continue;
    }
    Status error;
    switch (ParseRecord(columns, batch, &error)) {
      case Parse::kNeedMore: {
        Status s;
        if (eof_) {
          s = InternalError("csv_parser", "parser asked for more input at end of file");
        } else if (end_ - begin_ >= options_.max_record_bytes) {
          s = ParameterError("record_too_large", path_ + ": line " + std::to_string(line_) +
                                                     ": record exceeds the limit of " +
                                                     std::to_string(options_.max_record_bytes) +
                                                     " bytes");
        } else {
          s = Refill();
        }
        if (!s.ok()) {
          batch->Clear();
          return failed_ = s;
        }
        continue;
      }
      case Parse::kError:
        batch->Clear();
        return failed_ = error;
      case Parse::kRecord:
        batch->rows_.push_back({begin_offset_, static_cast<int64_t>(record_bytes_), line_});
        ++rows;
        [[fallthrough]];
      case Parse::kBlank:
        begin_ += record_bytes_;
        begin_offset_ += static_cast<int64_t>(record_bytes_);
        line_ += record_newlines_;
        break;
    }
  }
  rows_read_ += static_cast<int64_t>(rows);
  return rows > 0;
}

StatusOr<int64_t> CountRows(const std::string& path, CsvOptions options) {
  VEIL_ASSIGN_OR_RETURN(std::unique_ptr<CsvReader> reader, CsvReader::Open(path, options));
  RowBatch batch;
  for (;;) {
    VEIL_ASSIGN_OR_RETURN(bool more, reader->NextBatch(size_t{1} << 16, &batch));
    if (!more) break;
  }
  return reader->rows_read();
}

// ---------------------------------------------------------------------------------------------
// CsvRowFile

StatusOr<std::unique_ptr<CsvRowFile>> CsvRowFile::Open(const std::string& path) {
  int64_t size_bytes = 0;
  VEIL_ASSIGN_OR_RETURN(int fd, OpenForRead(path, &size_bytes));
  return std::unique_ptr<CsvRowFile>(new CsvRowFile(path, fd, size_bytes));
}

CsvRowFile::~CsvRowFile() {
  if (fd_ >= 0) ::close(fd_);
}

Status CsvRowFile::ReadError(int err, int64_t end_offset) const {
  if (err != 0) {
    return ParameterError("file_unreadable", "error reading '" + path_ + "': " + ErrnoText(err));
  }
  return ParameterError("file_unreadable", "'" + path_ + "' ends before byte " +
                                               std::to_string(end_offset) +
                                               " (was it changed or truncated after it was read?)");
}

template <typename Sink>
Status CsvRowFile::ForEachRecord(std::span<const RecordRef> refs, Sink&& sink) const {
  // Records whose bytes lie within kMaxGapBytes of each other are fetched by one pread of at
  // most kMaxReadBytes (a single longer record is read alone).
  constexpr int64_t kMaxGapBytes = 8 << 10;
  constexpr int64_t kMaxReadBytes = 1 << 20;
  std::unique_ptr<char[]> scratch;
  int64_t scratch_capacity = 0;
  auto check = [&](const RecordRef& r) {
    if (r.offset_bytes < 0 || r.length_bytes < 0) {
      return InternalError("bad_record_ref", "negative record offset or length for '" + path_ +
                                                 "': " + std::to_string(r.offset_bytes) + "+" +
                                                 std::to_string(r.length_bytes));
    }
    return Status();
  };
  size_t i = 0;
  while (i < refs.size()) {
    VEIL_RETURN_IF_ERROR(check(refs[i]));
    const int64_t lo = refs[i].offset_bytes;
    int64_t hi = lo + refs[i].length_bytes;
    size_t j = i + 1;
    for (; j < refs.size(); ++j) {
      const RecordRef& r = refs[j];
      VEIL_RETURN_IF_ERROR(check(r));
      if (r.offset_bytes < lo || r.offset_bytes > hi + kMaxGapBytes) break;
      const int64_t new_hi = std::max(hi, r.offset_bytes + r.length_bytes);
      if (new_hi - lo > kMaxReadBytes) break;
      hi = new_hi;
    }
    const int64_t size = hi - lo;
    if (size > scratch_capacity) {
      scratch = std::make_unique_for_overwrite<char[]>(static_cast<size_t>(size));
      scratch_capacity = size;
    }
    int64_t done = 0;
    while (done < size) {
      const ssize_t n = ::pread(fd_, scratch.get() + done, static_cast<size_t>(size - done),
                                static_cast<off_t>(lo + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return ReadError(n < 0 ? errno : 0, hi);
      done += n;
    }
    for (size_t k = i; k < j; ++k) {
      VEIL_RETURN_IF_ERROR(sink(std::string_view(scratch.get() + (refs[k].offset_bytes - lo),
                                                 static_cast<size_t>(refs[k].length_bytes))));
    }
    i = j;
  }
  return Status();
}

Status CsvRowFile::AppendRecords(std::span<const RecordRef> refs, std::string* out) const {
  if (refs.size() == 1 && refs[0].offset_bytes >= 0 && refs[0].length_bytes >= 0) {
    // One record: read straight into the output, no scratch buffer.
    const size_t old_size = out->size();
    const auto size = static_cast<size_t>(refs[0].length_bytes);
    out->resize(old_size + size);
    size_t done = 0;
    while (done < size) {
      const ssize_t n = ::pread(fd_, out->data() + old_size + done, size - done,
                                static_cast<off_t>(refs[0].offset_bytes + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        out->resize(old_size);
        return ReadError(n < 0 ? errno : 0, refs[0].offset_bytes + refs[0].length_bytes);
      }
      done += static_cast<size_t>(n);
    }
    return Status();
  }
  return ForEachRecord(refs, [out](std::string_view raw) {
    out->append(raw);
    return Status();
  });
}

Status CsvRowFile::CopyRecords(std::span<const RecordRef> refs, CsvWriter* writer) const {
  return ForEachRecord(refs, [writer](std::string_view raw) { return writer->WriteRaw(raw); });
}

// ---------------------------------------------------------------------------------------------
// CsvWriter

namespace {
constexpr size_t kWriterBufferBytes = size_t{1} << 20;

Status WriteFailed(const std::string& path, std::string_view what, int err) {
  return ResultSaveError("write_failed", "cannot write '" + path + "': " + std::string(what) +
                                             (err != 0 ? ": " + ErrnoText(err) : ""));
}
}  // namespace

CsvWriter::CsvWriter(std::string path, std::string temp_path, int fd, size_t num_columns)
    : path_(std::move(path)), temp_path_(std::move(temp_path)), fd_(fd), num_columns_(num_columns) {
  buffer_.reserve(kWriterBufferBytes + 4096);
}

CsvWriter::~CsvWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!finished_) ::unlink(temp_path_.c_str());
}

StatusOr<std::unique_ptr<CsvWriter>> CsvWriter::Create(const std::string& path,
                                                       const std::vector<std::string>& header) {
  if (header.empty()) {
    return ParameterError("bad_header", "output '" + path + "' needs at least one column");
  }
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i].empty()) {
      return ParameterError("bad_header", "output '" + path + "': column " + std::to_string(i + 1) +
                                              " has an empty name");
    }
    for (size_t j = 0; j < i; ++j) {
      if (header[j] == header[i]) {
        return ParameterError("bad_header", "output '" + path + "': column name '" + header[i] +
                                                "' appears twice (columns " +
                                                std::to_string(j + 1) + " and " +
                                                std::to_string(i + 1) + ")");
      }
    }
  }
  namespace fs = std::filesystem;
  const fs::path final_path(path);
  if (!final_path.has_filename()) return WriteFailed(path, "not a file path", 0);
  const fs::path dir = final_path.parent_path();
  if (!dir.empty()) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
      return ResultSaveError("write_failed", "cannot create directory '" + dir.string() +
                                                 "' for '" + path + "': " + ec.message());
    }
  }
  // Hidden temporary next to the destination, so the final rename stays on one filesystem.
  std::string temp_path;
  int fd = -1;
  for (int attempt = 0; fd < 0; ++attempt) {
    uint8_t random[8];
    RandomBytes(random, sizeof random);
    temp_path =
        (dir / ("." + final_path.filename().string() + ".tmp-" + ToHex(random, sizeof random)))
            .string();
    fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && !(errno == EEXIST && attempt < 8) && errno != EINTR) {
      return WriteFailed(path, "cannot create temporary file '" + temp_path + "'", errno);
    }
  }
  std::unique_ptr<CsvWriter> writer(new CsvWriter(path, temp_path, fd, header.size()));
  for (size_t i = 0; i < header.size(); ++i) {
    if (i) writer->buffer_.push_back(',');
    writer->AppendField(header[i], i == 0);
  }
  writer->buffer_.push_back('\n');
  return writer;
}

void CsvWriter::AppendField(std::string_view field, bool first_in_file) {
  bool quote = first_in_file && field.starts_with(kBom);  // else a reader would skip it as a BOM
  for (char c : field) {
    if (kNeedsQuote[static_cast<uint8_t>(c)]) {
      quote = true;
      break;
    }
  }
  if (!quote) {
    buffer_.append(field);
    return;
  }
  buffer_.push_back('"');
  size_t from = 0;
  for (size_t q = field.find('"'); q != std::string_view::npos; q = field.find('"', q + 1)) {
    buffer_.append(field.substr(from, q + 1 - from));
    buffer_.push_back('"');
    from = q + 1;
  }
  buffer_.append(field.substr(from));
  buffer_.push_back('"');
}

Status CsvWriter::CheckWritable() const {
  if (!failed_.ok()) return failed_;
  if (finished_) return InternalError("writer_finished", "'" + path_ + "' was already finished");
  return Status();
}

Status CsvWriter::Fail(std::string_view what, int err) {
  failed_ = WriteFailed(path_, what, err);
  return failed_;
}

Status CsvWriter::Flush() {
  size_t done = 0;
  while (done < buffer_.size()) {
    const ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Fail("write to '" + temp_path_ + "' failed", errno);
    done += static_cast<size_t>(n);
  }
  buffer_.clear();
  return Status();
}

Status CsvWriter::MaybeFlush() {
  ++rows_written_;
  return buffer_.size() >= kWriterBufferBytes ? Flush() : Status();
}

Status CsvWriter::WriteRow(const std::vector<std::string_view>& fields) {
  VEIL_RETURN_IF_ERROR(CheckWritable());
  if (fields.size() != num_columns_) {
    return InternalError("field_count_mismatch",
                         "row for '" + path_ + "' has " + std::to_string(fields.size()) +
                             " fields, the header has " + std::to_string(num_columns_));
  }
  if (num_columns_ == 1 && fields[0].empty()) {
    buffer_.append("\"\"\n");
    return MaybeFlush();
  }
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) buffer_.push_back(',');
    AppendField(fields[i], false);
  }
  buffer_.push_back('\n');
  return MaybeFlush();
}

Status CsvWriter::WriteRaw(std::string_view raw_record) {
  VEIL_RETURN_IF_ERROR(CheckWritable());
  // A blank raw record would read back as no row (or be ambiguous): write empty cells instead.
  if (raw_record.empty() || raw_record == "\n" || raw_record == "\r\n") return WriteEmptyRow();
  buffer_.append(raw_record);
  if (raw_record.back() != '\n') buffer_.push_back('\n');
  return MaybeFlush();
}

Status CsvWriter::WriteEmptyRow() {
  VEIL_RETURN_IF_ERROR(CheckWritable());
  if (num_columns_ == 1) {
    buffer_.append("\"\"\n");
  } else {
    buffer_.append(num_columns_ - 1, ',');
    buffer_.push_back('\n');
  }
  return MaybeFlush();
}

Status CsvWriter::Finish() {
  VEIL_RETURN_IF_ERROR(CheckWritable());
  VEIL_RETURN_IF_ERROR(Flush());
  if (::fsync(fd_) != 0) return Fail("fsync of '" + temp_path_ + "' failed", errno);
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) return Fail("close of '" + temp_path_ + "' failed", errno);
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    return Fail("rename from '" + temp_path_ + "' failed", errno);
  }
  finished_ = true;
  // Best effort: make the rename itself durable.
  const std::filesystem::path dir = std::filesystem::path(path_).parent_path();
  const int dir_fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return Status();
}

}  // namespace veil::data
