#include "veil/psi/join_builder.h"

#include <cstring>

namespace veil::psi {

namespace {

// Item record: fp.hi (8, big-endian) ‖ fp.lo (8, big-endian) ‖ party (1) ‖ row (8, big-endian)
// ‖ sort key. Big-endian so that memcmp order is numeric order.
constexpr size_t kItemHeader = 8 + 8 + 1 + 8;

void PutBe64(std::string* s, uint64_t v) {
  for (int i = 7; i >= 0; --i) s->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint64_t GetBe64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
// Rows are ≥ -1; +1 makes them order-preserving as unsigned.
uint64_t EncodeRow(int64_t row) { return static_cast<uint64_t>(row + 1); }
int64_t DecodeRow(uint64_t v) { return static_cast<int64_t>(v) - 1; }

bool BytesLess(std::string_view a, std::string_view b) { return a < b; }

// Ordered record: u32 key length (big-endian) ‖ key ‖ rows (8 bytes each, big-endian, party
// order with the receiver first). Comparing (key, receiver row, other rows) bytewise needs the
// key's end known, so the comparator parses the length.
bool OrderedLess(std::string_view a, std::string_view b) {
  auto key = [](std::string_view r) {
    uint32_t n = (static_cast<uint8_t>(r[0]) << 24) | (static_cast<uint8_t>(r[1]) << 16) |
                 (static_cast<uint8_t>(r[2]) << 8) | static_cast<uint8_t>(r[3]);
    return std::make_pair(r.substr(4, n), r.substr(4 + n));
  };
  auto [ka, ra] = key(a);
  auto [kb, rb] = key(b);
  if (ka != kb) return ka < kb;
  return ra < rb;
}
// OrderedLess's summary: records with an empty key (no `sort`) come first and are summarised by
// their leading row bytes, the others by their key's first bytes; both truncated to 63 bits
// (truncation keeps the order) under a top bit that puts empty keys first, as OrderedLess does.
uint64_t OrderedPrefix(std::string_view r) {
  const uint32_t n = (static_cast<uint8_t>(r[0]) << 24) | (static_cast<uint8_t>(r[1]) << 16) |
                     (static_cast<uint8_t>(r[2]) << 8) | static_cast<uint8_t>(r[3]);
  if (n == 0) return BytewisePrefix(r.substr(4)) >> 1;
  return (uint64_t{1} << 63) | (BytewisePrefix(r.substr(4, n)) >> 1);
}

}  // namespace

StatusOr<std::unique_ptr<JoinBuilder>> JoinBuilder::Create(JoinBuilderOptions options) {
  VEIL_ASSIGN_OR_RETURN(auto rules, internal::JoinRules::Create(options.type, options.parties,
                                                                options.receiver, options.left));
  if (options.receiver >= options.parties || options.left >= options.parties) {
    return InternalError("bad_join_options", "receiver or left side out of range");
  }
  VEIL_ASSIGN_OR_RETURN(auto items,
                        ExternalSorter::Create(options.sort_options, BytesLess, BytewisePrefix));
  VEIL_ASSIGN_OR_RETURN(auto ordered,
                        ExternalSorter::Create(options.sort_options, OrderedLess, OrderedPrefix));
  VEIL_ASSIGN_OR_RETURN(auto tail,
                        ExternalSorter::Create(options.sort_options, BytesLess, BytewisePrefix));
  return std::unique_ptr<JoinBuilder>(new JoinBuilder(std::move(options), rules, std::move(items),
                                                      std::move(ordered), std::move(tail)));
}

Status JoinBuilder::Add(size_t party, int64_t row, const Fingerprint& fp,
                        std::string_view sort_key) {
  scratch_.clear();
  PutBe64(&scratch_, fp.hi);
  PutBe64(&scratch_, fp.lo);
  // The receiver sorts first within a key so that its sort key is at hand for the group.
  const uint8_t rank = party == options_.receiver ? 0 : static_cast<uint8_t>(party + 1);
  scratch_.push_back(static_cast<char>(rank));
  PutBe64(&scratch_, EncodeRow(row));
  if (options_.sort && party == options_.receiver) scratch_.append(sort_key);
  return items_->Add(scratch_);
}

Status JoinBuilder::AddOrdered(std::string_view key, const std::vector<int64_t>& rows) {
  scratch_.clear();
  const uint32_t n = static_cast<uint32_t>(key.size());
  for (int i = 3; i >= 0; --i) scratch_.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  scratch_.append(key);
  PutBe64(&scratch_, EncodeRow(rows[options_.receiver]));
  for (size_t p = 0; p < rows.size(); ++p) {
    if (p != options_.receiver) PutBe64(&scratch_, EncodeRow(rows[p]));
  }
  return ordered_->Add(scratch_);
}

Status JoinBuilder::AddTail(int64_t row) {
  scratch_.clear();
  PutBe64(&scratch_, EncodeRow(row));
  return tail_->Add(scratch_);
}

Status JoinBuilder::Group(const std::vector<std::vector<int64_t>>& rows, std::string_view key) {
  return rules_.ForKey(rows, [&](const std::vector<int64_t>& out, bool tail) -> Status {
    return tail ? AddTail(out[1 - options_.receiver]) : AddOrdered(key, out);
  });
}

StatusOr<int64_t> JoinBuilder::Finish(const Emit& emit) {
  const size_t n = options_.parties, recv = options_.receiver;
  // Pass 1: group items by fingerprint.
  {
    VEIL_ASSIGN_OR_RETURN(auto items, items_->Finish());
    std::vector<std::vector<int64_t>> rows(n);
    std::string key, cur_fp;
    bool have = false;
    while (true) {
      VEIL_ASSIGN_OR_RETURN(auto rec, items->Next());
      if (!rec || !have || rec->substr(0, 16) != cur_fp) {
        if (have) {
          // Receiver rows with several sort keys cannot share a fingerprint: equal keys give
          // equal sort keys, so `key` (the first receiver row's) serves the whole group.
          VEIL_RETURN_IF_ERROR(Group(rows, key));
        }
        if (!rec) break;
        for (auto& r : rows) r.clear();
        key.clear();
        cur_fp.assign(rec->substr(0, 16));
        have = true;
      }
      const uint8_t rank = static_cast<uint8_t>((*rec)[16]);
      const size_t party = rank == 0 ? recv : rank - 1;
      if (party >= n) return InternalError("bad_item", "corrupt join item");
      if (party == recv && rows[recv].empty()) key.assign(rec->substr(kItemHeader));
      rows[party].push_back(DecodeRow(GetBe64(rec->data() + 17)));
    }
  }
  items_.reset();
  // Pass 2: receiver-ordered rows, then the trailing rows.
  int64_t complete = 0;
  std::vector<int64_t> out(n);
  {
    VEIL_ASSIGN_OR_RETURN(auto ordered, ordered_->Finish());
    while (true) {
      VEIL_ASSIGN_OR_RETURN(auto rec, ordered->Next());
      if (!rec) break;
      const uint32_t klen =
          (static_cast<uint8_t>((*rec)[0]) << 24) | (static_cast<uint8_t>((*rec)[1]) << 16) |
          (static_cast<uint8_t>((*rec)[2]) << 8) | static_cast<uint8_t>((*rec)[3]);
      const char* p = rec->data() + 4 + klen;
      out[recv] = DecodeRow(GetBe64(p));
      size_t k = 1;
      for (size_t q = 0; q < n; ++q) {
        if (q != recv) out[q] = DecodeRow(GetBe64(p + 8 * k++));
      }
      bool all = true;
      for (int64_t r : out) all = all && r >= 0;
      complete += all;
      VEIL_RETURN_IF_ERROR(emit(out, false));
    }
  }
  {
    VEIL_ASSIGN_OR_RETURN(auto tail, tail_->Finish());
    const size_t other = 1 - recv;
    while (true) {
      VEIL_ASSIGN_OR_RETURN(auto rec, tail->Next());
      if (!rec) break;
      std::fill(out.begin(), out.end(), -1);
      out[other] = DecodeRow(GetBe64(rec->data()));
      VEIL_RETURN_IF_ERROR(emit(out, true));
    }
  }
  return complete;
}

}  // namespace veil::psi
