// The sorted distinct values ("classes", "categories") of one column, as scikit-learn's
// LabelEncoder / OneHotEncoder find them in a column that pandas read: a numeric column (every
// non-missing cell a number) is compared and sorted by value ("1" and "1.0" are one class), a
// text column by its raw strings (Python's code-point order = UTF-8 byte order). Missing cells
// are no class.
//
// Class names (result keys, one-hot column suffixes): the text itself; for numeric columns the
// integer ("3") when every value is integral, else Python's float repr ("3.5", "2.0").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "veil/base/status.h"
#include "veil/data/columns.h"

namespace veil::tasks {

class Categories {
 public:
  // `column` must have been read with keep_text. ParameterError "all_missing_column" when the
  // column has no value.
  static StatusOr<Categories> Fit(const data::ColumnTable& table, const data::Column& column);

  size_t size() const { return names_.size(); }
  const std::vector<std::string>& names() const { return names_; }
  // The class index of data row `row`, or -1 where the cell is missing.
  int64_t IndexOf(int64_t row) const { return codes_[static_cast<size_t>(row)]; }

 private:
  std::vector<std::string> names_;
  std::vector<int64_t> codes_;  // per row
};

}  // namespace veil::tasks
