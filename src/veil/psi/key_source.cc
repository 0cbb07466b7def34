#include "veil/psi/key_source.h"

namespace veil::psi {

void KeyBatch::AddKey(const std::vector<std::string_view>& columns) {
  for (auto c : columns) {
    const uint32_t n = static_cast<uint32_t>(c.size());
    data.append(reinterpret_cast<const char*>(&n), sizeof n);
    data.append(c.data(), c.size());
  }
  ends.push_back(static_cast<uint32_t>(data.size()));
}

StatusOr<size_t> VectorKeySource::Next(size_t max_items, KeyBatch* batch) {
  batch->clear();
  size_t n = 0;
  std::vector<std::string_view> cols;
  while (n < max_items && pos_ < rows_.size()) {
    cols.assign(rows_[pos_].begin(), rows_[pos_].end());
    batch->AddKey(cols);
    ++pos_;
    ++n;
  }
  return n;
}

}  // namespace veil::psi
