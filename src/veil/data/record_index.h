// RecordIndex: where each data row of a CSV file lives (a RecordRef per row), kept in a file
// instead of memory so that tasks over very large inputs stay within a fixed memory budget.
// Written once while streaming the file (RecordIndexWriter), then read by row number through a
// read-only memory map (pages come from the page cache and are evictable).
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "veil/base/status.h"
#include "veil/data/csv.h"

namespace veil::data {

class RecordIndexWriter {
 public:
  // Creates `path` (truncating). ResourceError "temp_io" on failure.
  static StatusOr<std::unique_ptr<RecordIndexWriter>> Create(const std::string& path);
  ~RecordIndexWriter();
  RecordIndexWriter(const RecordIndexWriter&) = delete;
  RecordIndexWriter& operator=(const RecordIndexWriter&) = delete;

  Status Add(const RecordRef& ref);
  int64_t rows() const { return rows_; }
  // Flushes and closes; the file can then be opened with RecordIndex::Open.
  Status Close();

 private:
  RecordIndexWriter(std::string path, std::FILE* f) : path_(std::move(path)), f_(f) {}
  std::string path_;
  std::FILE* f_;
  int64_t rows_ = 0;
};

// Thread-compatible; Get is const and safe to call concurrently.
class RecordIndex {
 public:
  static StatusOr<std::unique_ptr<RecordIndex>> Open(const std::string& path);
  ~RecordIndex();
  RecordIndex(const RecordIndex&) = delete;
  RecordIndex& operator=(const RecordIndex&) = delete;

  int64_t rows() const { return rows_; }
  // The record of data row `row` (0-based); row must be in [0, rows()).
  RecordRef Get(int64_t row) const { return refs_[row]; }

 private:
  RecordIndex(const RecordRef* refs, int64_t rows, size_t map_bytes)
      : refs_(refs), rows_(rows), map_bytes_(map_bytes) {}
  const RecordRef* refs_;
  int64_t rows_;
  size_t map_bytes_;
};

}  // namespace veil::data
