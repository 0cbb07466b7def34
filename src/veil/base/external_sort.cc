#include "veil/base/external_sort.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <queue>

#include "veil/base/random.h"
#include "veil/base/record_file.h"

namespace veil {

namespace {

namespace fs = std::filesystem;

// Per-record bookkeeping in memory besides the bytes themselves.
constexpr size_t kIndexOverheadBytes = 24;  // sizeof(ExternalSorter::Entry)

void RemoveFiles(const std::vector<std::string>& paths) {
  std::error_code ec;
  for (const auto& p : paths) fs::remove(p, ec);
}

// k-way merge of run files; ties go to the lower run index, which keeps the sort stable because
// runs are numbered in input order.
class MergeStream : public SortedStream {
 public:
  static StatusOr<std::unique_ptr<MergeStream>> Open(std::vector<std::string> runs,
                                                     ExternalSorter::Less less,
                                                     ExternalSorter::Prefix prefix) {
    auto m =
        std::unique_ptr<MergeStream>(new MergeStream(std::move(runs), std::move(less), prefix));
    for (size_t i = 0; i < m->runs_.size(); ++i) {
      VEIL_ASSIGN_OR_RETURN(auto r, RecordFileReader::Open(m->runs_[i]));
      m->readers_.push_back(std::move(r));
      VEIL_ASSIGN_OR_RETURN(bool any, m->readers_.back()->Advance());
      if (any) m->heap_.push(i);
    }
    return m;
  }
  ~MergeStream() override {
    readers_.clear();
    RemoveFiles(runs_);
  }

  StatusOr<std::optional<std::string_view>> Next() override {
    if (pending_ != kNone) {
      VEIL_ASSIGN_OR_RETURN(bool any, readers_[pending_]->Advance());
      if (any) heap_.push(pending_);
      pending_ = kNone;
    }
    if (heap_.empty()) return std::optional<std::string_view>();
    pending_ = heap_.top();
    heap_.pop();
    return std::optional<std::string_view>(readers_[pending_]->current());
  }

 private:
  static constexpr size_t kNone = static_cast<size_t>(-1);
  struct Greater {
    MergeStream* self;
    bool operator()(size_t a, size_t b) const {
      auto ra = self->readers_[a]->current(), rb = self->readers_[b]->current();
      if (self->prefix_) {
        const uint64_t pa = self->prefix_(ra), pb = self->prefix_(rb);
        if (pa != pb) return pb < pa;
      }
      if (self->less_(rb, ra)) return true;
      if (self->less_(ra, rb)) return false;
      return a > b;
    }
  };
  MergeStream(std::vector<std::string> runs, ExternalSorter::Less less,
              ExternalSorter::Prefix prefix)
      : runs_(std::move(runs)), less_(std::move(less)), prefix_(prefix), heap_(Greater{this}) {}

  std::vector<std::string> runs_;
  ExternalSorter::Less less_;
  ExternalSorter::Prefix prefix_;
  std::vector<std::unique_ptr<RecordFileReader>> readers_;
  std::priority_queue<size_t, std::vector<size_t>, Greater> heap_;
  size_t pending_ = kNone;
};

// Streams the in-memory buffer when everything fit (no run was written).
class MemoryStream : public SortedStream {
 public:
  MemoryStream(std::string arena, std::vector<std::pair<uint64_t, uint64_t>> index)
      : arena_(std::move(arena)), index_(std::move(index)) {}
  StatusOr<std::optional<std::string_view>> Next() override {
    if (pos_ == index_.size()) return std::optional<std::string_view>();
    const auto [off, len] = index_[pos_++];
    return std::optional<std::string_view>(std::string_view(arena_).substr(off, len));
  }

 private:
  std::string arena_;
  std::vector<std::pair<uint64_t, uint64_t>> index_;  // (offset, length) in sorted order
  size_t pos_ = 0;
};

}  // namespace

uint64_t BytewisePrefix(std::string_view record) {
  if (record.size() >= 8) {
    uint64_t v;
    std::memcpy(&v, record.data(), 8);
    return __builtin_bswap64(v);
  }
  uint64_t v = 0;
  const size_t n = std::min<size_t>(8, record.size());
  for (size_t i = 0; i < n; ++i)
    v |= static_cast<uint64_t>(static_cast<uint8_t>(record[i])) << (56 - 8 * i);
  return v;
}

StatusOr<std::unique_ptr<ExternalSorter>> ExternalSorter::Create(ExternalSortOptions options,
                                                                 Less less, Prefix prefix) {
  if (options.temp_dir.empty()) options.temp_dir = fs::temp_directory_path().string();
  std::error_code ec;
  if (!fs::is_directory(options.temp_dir, ec)) {
    return ResourceError("temp_io",
                         "temporary directory '" + options.temp_dir + "' does not exist");
  }
  options.memory_budget_bytes = std::max<size_t>(options.memory_budget_bytes, 4096);
  return std::unique_ptr<ExternalSorter>(
      new ExternalSorter(std::move(options), std::move(less), prefix));
}

ExternalSorter::~ExternalSorter() { RemoveFiles(runs_); }

Status ExternalSorter::Add(std::string_view record) {
  if (record.size() > UINT32_MAX) return InternalError("record_too_large", "record over 4 GiB");
  index_.push_back(Entry{prefix_ ? prefix_(record) : 0, arena_.size(), record.size()});
  arena_.append(record);
  ++records_;
  if (arena_.size() + index_.size() * kIndexOverheadBytes >= options_.memory_budget_bytes) {
    return FlushRun();
  }
  return Status();
}

// Stable without std::stable_sort's extra moves: equal records keep their arena order, which
// is their insertion order.
void ExternalSorter::SortIndex() {
  const std::string_view arena(arena_);
  std::sort(index_.begin(), index_.end(), [&](const Entry& a, const Entry& b) {
    if (a.prefix != b.prefix) return a.prefix < b.prefix;
    const std::string_view ra = arena.substr(a.offset, a.length),
                           rb = arena.substr(b.offset, b.length);
    if (less_(ra, rb)) return true;
    if (less_(rb, ra)) return false;
    return a.offset < b.offset;
  });
}

Status ExternalSorter::FlushRun() {
  if (index_.empty()) return Status();
  SortIndex();
  const std::string_view arena(arena_);
  const std::string path =
      (fs::path(options_.temp_dir) / ("veil-sort-" + RandomUuid() + ".run")).string();
  runs_.push_back(path);
  VEIL_ASSIGN_OR_RETURN(auto w, RecordFileWriter::Create(path));
  for (const Entry& e : index_) VEIL_RETURN_IF_ERROR(w->Add(arena.substr(e.offset, e.length)));
  VEIL_RETURN_IF_ERROR(w->Close());
  arena_.clear();  // capacity kept for the next run
  index_.clear();
  return Status();
}

StatusOr<std::unique_ptr<SortedStream>> ExternalSorter::Finish() {
  if (runs_.empty()) {
    SortIndex();
    std::vector<std::pair<uint64_t, uint64_t>> order(index_.size());
    for (size_t i = 0; i < index_.size(); ++i) order[i] = {index_[i].offset, index_[i].length};
    std::vector<Entry>().swap(index_);
    return std::unique_ptr<SortedStream>(new MemoryStream(std::move(arena_), std::move(order)));
  }
  VEIL_RETURN_IF_ERROR(FlushRun());
  std::string().swap(arena_);
  std::vector<Entry>().swap(index_);
  std::vector<std::string> runs = std::move(runs_);
  runs_.clear();
  // Multi-pass: merge groups of kMaxMergeFanIn runs into new runs until one pass suffices.
  while (runs.size() > kMaxMergeFanIn) {
    std::vector<std::string> next;
    for (size_t i = 0; i < runs.size(); i += kMaxMergeFanIn) {
      std::vector<std::string> group(runs.begin() + i,
                                     runs.begin() + std::min(runs.size(), i + kMaxMergeFanIn));
      const std::string path =
          (fs::path(options_.temp_dir) / ("veil-sort-" + RandomUuid() + ".run")).string();
      next.push_back(path);
      auto merged = MergeStream::Open(group, less_, prefix_);
      if (!merged.ok()) {
        RemoveFiles(runs);
        RemoveFiles(next);
        return merged.status();
      }
      VEIL_ASSIGN_OR_RETURN(auto w, RecordFileWriter::Create(path));
      while (true) {
        VEIL_ASSIGN_OR_RETURN(auto rec, (*merged)->Next());
        if (!rec) break;
        VEIL_RETURN_IF_ERROR(w->Add(*rec));
      }
      VEIL_RETURN_IF_ERROR(w->Close());
      // The group's files are removed by the MergeStream destructor.
    }
    runs = std::move(next);
  }
  VEIL_ASSIGN_OR_RETURN(auto stream, MergeStream::Open(runs, less_, prefix_));
  return std::unique_ptr<SortedStream>(std::move(stream));
}

}  // namespace veil
