// KeySource: how a PSI protocol reads one party's join keys, batch by batch, without knowing
// where they come from (a CSV file in production, vectors in tests).
//
// A key is the canonical byte string of a row's key columns: for each column its u32 length
// then its UTF-8 bytes, so ("a,b","c") and ("a","b,c") never collide.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "veil/base/status.h"

namespace veil::psi {

struct KeyBatch {
  std::string data;            // concatenated canonical keys
  std::vector<uint32_t> ends;  // ends[i] = end offset of key i in data

  size_t size() const { return ends.size(); }
  std::string_view key(size_t i) const {
    const uint32_t begin = i == 0 ? 0 : ends[i - 1];
    return std::string_view(data).substr(begin, ends[i] - begin);
  }
  void clear() {
    data.clear();
    ends.clear();
  }
  // Appends one key made of `columns` in canonical form.
  void AddKey(const std::vector<std::string_view>& columns);
};

class KeySource {
 public:
  virtual ~KeySource() = default;
  // Clears *batch and fills it with up to max_items keys in input order. Returns the number
  // read; 0 means the source is exhausted.
  virtual StatusOr<size_t> Next(size_t max_items, KeyBatch* batch) = 0;
};

// A KeySource over an in-memory list (tests, benchmarks). Each element is one key; multi-column
// keys are given as their column lists.
class VectorKeySource : public KeySource {
 public:
  explicit VectorKeySource(std::vector<std::vector<std::string>> rows) : rows_(std::move(rows)) {}
  StatusOr<size_t> Next(size_t max_items, KeyBatch* batch) override;

 private:
  std::vector<std::vector<std::string>> rows_;
  size_t pos_ = 0;
};

}  // namespace veil::psi
