// ExternalSorter: sorts more records than fit in memory. Records accumulate in a buffer of at
// most `memory_budget_bytes`; a full buffer is sorted and written to a run file in `temp_dir`;
// Finish() merges the runs (k-way, several passes if there are more than kMaxMergeFanIn) and
// streams the records back in order. Memory stays bounded by the budget whatever the input
// size; disk use is about twice the input.
//
//   auto sorter = ExternalSorter::Create({.temp_dir = dir, .memory_budget_bytes = 64 << 20},
//                                        [](std::string_view a, std::string_view b) { return a < b;
//                                        });
//   for (...) VEIL_RETURN_IF_ERROR((*sorter)->Add(record));
//   VEIL_ASSIGN_OR_RETURN(auto stream, (*sorter)->Finish());
//   while (true) { VEIL_ASSIGN_OR_RETURN(auto rec, stream->Next()); if (!rec) break; ... }
//
// Records are arbitrary byte strings (variable length). An optional `prefix` function speeds the
// comparisons up: it maps a record to a 64-bit summary with prefix(a) < prefix(b) ⇒ less(a, b)
// (so equal summaries say nothing and fall back to `less`); the sorter computes it once per
// record and compares summaries first, which avoids calling `less` for nearly every comparison
// of records with random-looking leading bytes (fingerprints). BytewisePrefix is the summary for
// plain bytewise order. The sort is stable: records that
// compare equal come out in the order they were added. Errors: ResourceError "temp_io" naming
// the file for any I/O failure. Single-threaded; run files are deleted when the sorter or the
// stream is destroyed.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "veil/base/status.h"

namespace veil {

inline constexpr size_t kDefaultSortMemoryBytes = size_t{64} << 20;
// Runs merged at once; more runs are merged in several passes.
inline constexpr size_t kMaxMergeFanIn = 64;

struct ExternalSortOptions {
  std::string temp_dir;  // must exist; empty: std::filesystem::temp_directory_path()
  size_t memory_budget_bytes = kDefaultSortMemoryBytes;
};

class SortedStream {
 public:
  virtual ~SortedStream() = default;
  // The next record, or nullopt at the end. The view is valid until the next call.
  virtual StatusOr<std::optional<std::string_view>> Next() = 0;
};

// The first 8 bytes of `record` as a big-endian integer, zero-padded: a `prefix` for bytewise
// order (and for any order that compares a leading bytewise field first, applied to that field).
uint64_t BytewisePrefix(std::string_view record);

class ExternalSorter {
 public:
  using Less = std::function<bool(std::string_view a, std::string_view b)>;
  using Prefix = uint64_t (*)(std::string_view record);

  static StatusOr<std::unique_ptr<ExternalSorter>> Create(ExternalSortOptions options, Less less,
                                                          Prefix prefix = nullptr);
  ~ExternalSorter();
  ExternalSorter(const ExternalSorter&) = delete;
  ExternalSorter& operator=(const ExternalSorter&) = delete;

  Status Add(std::string_view record);
  // Ends input and returns the sorted records. Call once; the sorter is then empty.
  StatusOr<std::unique_ptr<SortedStream>> Finish();

  int64_t records_added() const { return records_; }
  size_t runs_written() const { return runs_.size(); }

 private:
  struct Entry {
    uint64_t prefix;  // prefix_(record), 0 without a prefix function
    uint64_t offset;  // into arena_
    uint64_t length;
  };
  ExternalSorter(ExternalSortOptions options, Less less, Prefix prefix)
      : options_(std::move(options)), less_(std::move(less)), prefix_(prefix) {}
  void SortIndex();
  Status FlushRun();

  ExternalSortOptions options_;
  Less less_;
  Prefix prefix_;
  std::string arena_;              // records, back to back
  std::vector<Entry> index_;       // one per record in arena_
  std::vector<std::string> runs_;  // run file paths
  int64_t records_ = 0;
};

}  // namespace veil
